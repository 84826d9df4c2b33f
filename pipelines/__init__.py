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
    ALL_TASKS,
    LoadPlan,
    Pipelines,
    check_plan,
    discover_artifacts,
    discover_static_models,
    load_pipelines,
)
from pipelines.senses import Calibration, SenseComparer, SenseComparison
from pipelines.wordnet import SenseInventory, WordSense
from pipelines.wsd import Candidate, Disambiguator, DisambiguationResult, WsdParams
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
    "ALL_TASKS",
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
]
