"""Classify: a CNN n-gram classifier, with the n-grams that decided."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from tasks.base import Batch, Operation, Request, Task, build, option
from tasks.inputs import TextInput, as_list, check_total
from tasks.limits import described

if TYPE_CHECKING:
    from pipelines import Classification, Pipelines


class ClassifyRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "One text or a list of texts to classify with a CNN n-gram classifier. {note}", examples=[
            {"text": "How far is it from Denver to Aspen?"},
            {"text": ["Who wrote Hamlet?", "What is the capital of Peru?"], "top_k": 3, "model": "trec-cnn"},
        ]))

    text: TextInput = Field(description="one text, or a list of texts")
    model: str | None = Field(None, description="a loaded classifier (GET /v1/models); default: the first")
    top_k: int = Field(5, ge=0, le=50, description="n-grams of evidence to return per text")

    @model_validator(mode="after")
    def _total(self, info: ValidationInfo) -> ClassifyRequest:
        check_total(info, self.text)
        return self


class EvidenceOut(BaseModel):
    text: str = Field(description="the n-gram, exactly text[start:end]")
    start: int
    end: int
    token_start: int
    token_end: int
    width: int = Field(description="filter width (n): the widest filter whose winning window covers exactly "
                                   "these words (one entry per span)")
    contribution: float = Field(description="sum over its winning filters of pooled activation x output weight "
                                            "of the predicted label")
    filters: list[int]
    widths: list[int] = Field(default_factory=list, description="every filter width merged into this span "
                                                                "(windows at the text's edges cover the same words)")


class ClassificationOut(BaseModel):
    label: str
    score: float
    probabilities: dict[str, float] = Field(description="every label, most probable first")
    evidence: list[EvidenceOut] = Field(description="the n-grams that added most to the predicted label's logit")
    logit: float = Field(description="the predicted label's logit = bias + the contributions of all winning n-grams")
    bias: float
    num_tokens: int
    unknown_tokens: int


class ClassifyResponse(BaseModel):
    model: str
    model_version: str
    labels: list[str]
    results: list[ClassificationOut]


def result(c: Classification) -> ClassificationOut:
    return build(
        ClassificationOut, label=c.label, score=c.score, probabilities=dict(c.probabilities),
        evidence=[build(EvidenceOut, text=e.text, start=e.start, end=e.end, token_start=e.token_start,
                        token_end=e.token_end, width=e.width, contribution=e.contribution, filters=list(e.filters),
                        widths=list(e.widths))
                  for e in c.evidence],
        logit=c.logit, bias=c.bias, num_tokens=c.num_tokens, unknown_tokens=c.unknown_tokens)


def run(pipelines: Pipelines, request: ClassifyRequest) -> ClassifyResponse:
    """A Kim (2014) CNN: every filter is an n-gram detector; max-pooling keeps each filter's best
    n-gram. The evidence lists the n-grams whose filters added most to the predicted label's logit
    (exact contributions: pooled activation x output weight; they sum with the bias to the logit)."""
    clf = pipelines.classifier(request.model)
    results = clf.classify(as_list(request.text), top_k=request.top_k)
    info = clf.info()
    return build(ClassifyResponse, model=clf.name, model_version=str(info.get("version", "1")),
                 labels=list(info.get("labels", [])), results=[result(c) for c in results])


def _narrow(plan: dict, options: dict) -> dict:
    return {"classifiers": {options["model"]: plan["classifiers"][options["model"]]}}


TASK = Task(
    name="classify",
    needs=("classifiers",),
    operations=(Operation(
        name="classify", path="/classify", request=ClassifyRequest, response=ClassifyResponse, run=run,
        summary="Classify texts, with the n-grams that decided", tag="classify", metric="classify",
        batch=Batch(command="classify", help="label, probabilities, n-gram evidence (as POST /v1/classify)",
                    header=("model", "model_version", "labels"), narrow=_narrow, model_choice="classifiers",
                    options=(
                        option("--model", help="a classifier artifact name (default: the service's default, "
                                               "trec-cnn)"),
                        option("--top-k", type=int, help="n-grams of evidence per text (default 5)"))),
    ),),
)
