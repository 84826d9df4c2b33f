"""lexiflow pipelines: the NLP work, returning plain dataclasses.

The only layer that reads artifact folders and model packages. Imports no FastAPI.
"""

from pipelines.errors import InputError, NotFound, PipelineError, ResourceError
from pipelines.lemmatize import ENGINES, LemmaToken, LemmatizedText, Lemmatizer, Sentence, WordSpan
from pipelines.loading import LoadPlan, Pipelines, check_plan, load_pipelines
from pipelines.wordpiece import PADDINGS, TRUNCATIONS, CutToken, Encoded, UnknownSpan, WordAlignment, WordPieceTokenizer

__all__ = [
    "ENGINES",
    "PADDINGS",
    "TRUNCATIONS",
    "LoadPlan",
    "Pipelines",
    "UnknownSpan",
    "WordSpan",
    "check_plan",
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
