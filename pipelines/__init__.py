"""lexiflow pipelines: the NLP work, returning plain dataclasses.

The only layer that reads artifact folders and model packages. Imports no FastAPI. The names
below load on first use: ``from pipelines import Lemmatizer`` imports spaCy, not torch.
"""

from __future__ import annotations


import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it: imported on first use (PEP 562), so that importing one
# light module (pipelines.errors, the task layer's models) does not load torch, spaCy and transformers.
_EXPORTS: dict[str, str] = {
    "POOLINGS": "pipelines.embeddings.contextual",
    "ContextualEncoder": "pipelines.embeddings.contextual",
    "LayerChoice": "pipelines.embeddings.contextual",
    "TokenStates": "pipelines.embeddings.contextual",
    "WordVector": "pipelines.embeddings.contextual",
    "cosine_matrix": "pipelines.embeddings.contextual",
    "encode_base64": "pipelines.embeddings.contextual",
    "Classification": "pipelines.classify",
    "Evidence": "pipelines.classify",
    "TextClassifier": "pipelines.classify",
    "attention_svg": "pipelines.heatmap",
    "AttentionResult": "pipelines.translate",
    "SourceToken": "pipelines.translate",
    "Translation": "pipelines.translate",
    "Translator": "pipelines.translate",
    "InputError": "pipelines.errors",
    "NotFound": "pipelines.errors",
    "PipelineError": "pipelines.errors",
    "ResourceError": "pipelines.errors",
    "ENGINES": "pipelines.lemmatize",
    "LemmaToken": "pipelines.lemmatize",
    "LemmatizedText": "pipelines.lemmatize",
    "Lemmatizer": "pipelines.lemmatize",
    "Sentence": "pipelines.lemmatize",
    "WordSpan": "pipelines.lemmatize",
    "COMPONENTS": "pipelines.loading",
    "Component": "pipelines.loading",
    "LoadPlan": "pipelines.loading",
    "Pipelines": "pipelines.loading",
    "build_onnx_encoder": "pipelines.loading",
    "check_plan": "pipelines.loading",
    "discover_artifacts": "pipelines.loading",
    "discover_static_models": "pipelines.loading",
    "load_pipelines": "pipelines.loading",
    "usable_cores": "models.runcard",
    "Calibration": "pipelines.senses",
    "SenseComparer": "pipelines.senses",
    "SenseComparison": "pipelines.senses",
    "SenseInventory": "pipelines.wordnet",
    "WordSense": "pipelines.wordnet",
    "Candidate": "pipelines.wsd",
    "Disambiguator": "pipelines.wsd",
    "DisambiguationResult": "pipelines.wsd",
    "WsdParams": "pipelines.wsd",
    "PADDINGS": "pipelines.wordpiece",
    "TRUNCATIONS": "pipelines.wordpiece",
    "CutToken": "pipelines.wordpiece",
    "Encoded": "pipelines.wordpiece",
    "UnknownSpan": "pipelines.wordpiece",
    "WordAlignment": "pipelines.wordpiece",
    "WordPieceTokenizer": "pipelines.wordpiece",
}

if TYPE_CHECKING:  # the same names, for type checkers and readers
    from pipelines.embeddings.contextual import POOLINGS
    from pipelines.embeddings.contextual import ContextualEncoder
    from pipelines.embeddings.contextual import LayerChoice
    from pipelines.embeddings.contextual import TokenStates
    from pipelines.embeddings.contextual import WordVector
    from pipelines.embeddings.contextual import cosine_matrix
    from pipelines.embeddings.contextual import encode_base64
    from pipelines.classify import Classification
    from pipelines.classify import Evidence
    from pipelines.classify import TextClassifier
    from pipelines.heatmap import attention_svg
    from pipelines.translate import AttentionResult
    from pipelines.translate import SourceToken
    from pipelines.translate import Translation
    from pipelines.translate import Translator
    from pipelines.errors import InputError
    from pipelines.errors import NotFound
    from pipelines.errors import PipelineError
    from pipelines.errors import ResourceError
    from pipelines.lemmatize import ENGINES
    from pipelines.lemmatize import LemmaToken
    from pipelines.lemmatize import LemmatizedText
    from pipelines.lemmatize import Lemmatizer
    from pipelines.lemmatize import Sentence
    from pipelines.lemmatize import WordSpan
    from pipelines.loading import COMPONENTS
    from pipelines.loading import Component
    from pipelines.loading import LoadPlan
    from pipelines.loading import Pipelines
    from pipelines.loading import check_plan
    from pipelines.loading import discover_artifacts
    from pipelines.loading import discover_static_models
    from pipelines.loading import load_pipelines
    from models.runcard import usable_cores
    from pipelines.senses import Calibration
    from pipelines.senses import SenseComparer
    from pipelines.senses import SenseComparison
    from pipelines.wordnet import SenseInventory
    from pipelines.wordnet import WordSense
    from pipelines.wsd import Candidate
    from pipelines.wsd import Disambiguator
    from pipelines.wsd import DisambiguationResult
    from pipelines.wsd import WsdParams
    from pipelines.wordpiece import PADDINGS
    from pipelines.wordpiece import TRUNCATIONS
    from pipelines.wordpiece import CutToken
    from pipelines.wordpiece import Encoded
    from pipelines.wordpiece import UnknownSpan
    from pipelines.wordpiece import WordAlignment
    from pipelines.wordpiece import WordPieceTokenizer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "AttentionResult",
    "Classification",
    "Evidence",
    "SourceToken",
    "TextClassifier",
    "Translation",
    "Translator",
    "attention_svg",
    "COMPONENTS",
    "Component",
    "POOLINGS",
    "Calibration",
    "ContextualEncoder",
    "LayerChoice",
    "SenseComparer",
    "SenseComparison",
    "SenseInventory",
    "WordSense",
    "Candidate",
    "Disambiguator",
    "DisambiguationResult",
    "WsdParams",
    "TokenStates",
    "WordVector",
    "cosine_matrix",
    "encode_base64",
    "ENGINES",
    "PADDINGS",
    "TRUNCATIONS",
    "LoadPlan",
    "Pipelines",
    "UnknownSpan",
    "WordSpan",
    "build_onnx_encoder",
    "check_plan",
    "discover_artifacts",
    "discover_static_models",
    "load_pipelines",
    "CutToken",
    "Encoded",
    "InputError",
    "LemmaToken",
    "LemmatizedText",
    "Lemmatizer",
    "NotFound",
    "PipelineError",
    "ResourceError",
    "Sentence",
    "WordAlignment",
    "WordPieceTokenizer",
    "usable_cores",
]
