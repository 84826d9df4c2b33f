"""lexiflow pipelines: the NLP work, returning plain dataclasses.

The only layer that reads artifact folders and model packages. Imports no FastAPI.
"""

from pipelines.embeddings.contextual import (
    POOLINGS,
    ContextualEncoder,
    LayerChoice,
    TokenStates,
    WordVector,
    cosine_matrix,
    encode_base64,
)
from pipelines.classify import Classification, Evidence, TextClassifier
from pipelines.heatmap import attention_svg
from pipelines.translate import AttentionResult, SourceToken, Translation, Translator
from pipelines.errors import InputError, NotFound, PipelineError, ResourceError
from pipelines.lemmatize import ENGINES, LemmaToken, LemmatizedText, Lemmatizer, Sentence, WordSpan
from pipelines.loading import (
    COMPONENTS,
    Component,
    LoadPlan,
    Pipelines,
    check_plan,
    discover_artifacts,
    discover_static_models,
    load_pipelines,
)
from models.runcard import usable_cores
from pipelines.senses import Calibration, SenseComparer, SenseComparison
from pipelines.wordpiece import PADDINGS, TRUNCATIONS, CutToken, Encoded, UnknownSpan, WordAlignment, WordPieceTokenizer

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
