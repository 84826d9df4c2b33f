"""Lemmatize: lemmas, POS tags, offsets and sentences (spaCy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from tasks.base import Batch, Operation, Request, Task, build, option
from tasks.inputs import TextInput, as_list, check_total
from tasks.limits import described

if TYPE_CHECKING:
    from pipelines import LemmatizedText, Pipelines


class LemmatizeRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "One text or a list of texts to lemmatize. {note}", examples=[
            {"text": "The striped bats were hanging on their feet and ate best fishes."},
            {"text": ["I'm going to the bank.", "The geese swam by."], "engine": "lookup"},
        ]))

    text: TextInput = Field(description="one text, or a list of texts")
    engine: Literal["rule", "lookup", "full"] = Field(
        "rule", description="rule: POS-aware lemmas from the trained English pipeline; "
                            "lookup: fast table lookup without context; full (when the server loads it, "
                            "LEXIFLOW_LEMMATIZE_ENGINES): the same pipeline with its parser, spaCy's own POS")

    @model_validator(mode="after")
    def _total(self, info: ValidationInfo) -> LemmatizeRequest:
        check_total(info, self.text)
        return self


class LemmaTokenOut(BaseModel):
    text: str
    lemma: str
    pos: str | None = Field(description="universal POS tag (null for the lookup engine)")
    tag: str | None = Field(description="fine-grained (Penn Treebank) tag (null for the lookup engine)")
    morph: str | None = Field(description="morphological features, e.g. Number=Plur")
    start: int = Field(description="character offset of the token in its text")
    end: int
    whitespace: str = Field(description="whitespace after the token")
    is_punct: bool
    is_stop: bool
    is_space: bool
    sentence: int = Field(description="index into `sentences`")


class SentenceOut(BaseModel):
    start: int
    end: int
    text: str


class LemmatizeResult(BaseModel):
    tokens: list[LemmaTokenOut]
    sentences: list[SentenceOut]


class LemmatizeResponse(BaseModel):
    engine: Literal["rule", "lookup", "full"]
    model: str
    model_version: str
    spacy_version: str
    results: list[LemmatizeResult] = Field(description="one result per input text, in order")


def result(doc: LemmatizedText) -> LemmatizeResult:
    """Read from the pipeline's dataclasses by pydantic itself (their fields are the model's), a
    model per token: several times faster than building them one by one in Python."""
    return LemmatizeResult.model_validate(doc, from_attributes=True)


def run(pipelines: Pipelines, request: LemmatizeRequest) -> LemmatizeResponse:
    """POS-aware lemmas (`rule`, the default) or table lookups (`lookup`).

    A batch goes through spaCy's `nlp.pipe`; each result equals lemmatizing that text alone.
    """
    lemmatizer = pipelines.lemmatizer(request.engine)
    docs = lemmatizer.lemmatize(as_list(request.text))
    info = lemmatizer.info()
    return build(LemmatizeResponse, engine=lemmatizer.engine, model=info["model"], model_version=info["version"],
                 spacy_version=info["spacy"], results=[result(d) for d in docs])


def _narrow(plan: dict, options: dict) -> dict:
    return {"lemmatize_engines": (options.get("engine", LemmatizeRequest.model_fields["engine"].default),)}


TASK = Task(
    name="lemmatize",
    needs=("lemmatizers",),
    operations=(Operation(
        name="lemmatize", path="/lemmatize", request=LemmatizeRequest, response=LemmatizeResponse, run=run,
        summary="Lemmas, POS tags, offsets and sentences for one text or a batch", tag="lemmatize",
        metric="lemmatize",
        batch=Batch(command="lemmatize", help="lemmas, POS, offsets, sentences (as POST /v1/lemmatize)",
                    header=("engine", "model", "model_version", "spacy_version"), narrow=_narrow, options=(
                        option("--engine", choices=["rule", "lookup", "full"],
                               help="rule (default): POS-aware; lookup: table lookup"),)),
    ),),
)
