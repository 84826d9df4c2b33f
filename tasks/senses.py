"""Senses: does a word mean the same thing in these sentences?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from pipelines.errors import NotFound
from tasks.base import Operation, Request, Task, build
from tasks.embeddings import Neighbour
from tasks.inputs import Text, check_text, check_total
from tasks.limits import MaxLen, described

if TYPE_CHECKING:
    from pipelines import Pipelines, SenseComparison

Sentences = Annotated[list[Text], Field(min_length=2),
                      MaxLen("max_items", cap=64, describe="2 to {} sentences, each containing the target")]


class SensesRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "Does a word mean the same thing in these sentences? Static vs contextual similarity, "
        "senses found in the data, a verdict with its confidence. {note}", examples=[
            {"target": "bank", "sentences": ["I deposited the cheque at the bank.",
                                             "We had a picnic on the bank of the river.",
                                             "The bank raised its interest rates.",
                                             "Reeds grew along the muddy banks."]},
            {"target": "bank", "sentences": ["She works at the bank.", "They fished from the bank."],
             "examples": {"finance": ["The bank approved the loan."], "river": ["The river overflowed its bank."]}},
        ]))

    target: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text)] = Field(
        description="one word; found in each sentence by surface form or lemma (case-insensitive)")
    sentences: Sentences
    examples: Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)],
                             Annotated[list[Text], Field(min_length=1, max_length=16)]],
                        Field(min_length=1, max_length=16)] | None = Field(
        None, description="labelled example sentences per sense; each sentence then gets the nearest label")
    static_model: str | None = None
    neighbours: int = Field(10, ge=0, le=50)

    @model_validator(mode="after")
    def _total(self, info: ValidationInfo) -> SensesRequest:
        extra = [s for group in (self.examples or {}).values() for s in group]
        check_total(info, self.sentences, extra)
        return self


class OccurrenceOut(BaseModel):
    sentence: int
    text: str
    start: int
    end: int
    lemma: str
    pos: str | None
    count: int = Field(description="how often the target occurs in the sentence (the first is compared)")


class StaticSensesOut(BaseModel):
    model: str
    words: list[str]
    found: list[bool]
    similarity: list[list[float | None]]
    all_ones: bool
    neighbours: list[Neighbour]
    note: str


class SenseOut(BaseModel):
    id: int
    sentences: list[int]
    label: str | None


class AssignmentOut(BaseModel):
    sentence: int
    label: str
    score: float
    scores: dict[str, float]


class LayerOut(BaseModel):
    layer: int = Field(description="0 = embedding layer")
    separation: float | None = Field(description="mean cosine within groups minus mean cosine between groups")


class SensesResponse(BaseModel):
    target: str
    lemma: str
    verdict: str
    num_senses: int
    confidence: float = Field(description="mean probability, over sentence pairs, that the calibrated model "
                                          "agrees with the grouping")
    senses: list[SenseOut]
    occurrences: list[OccurrenceOut]
    static: StaticSensesOut | None
    contextual: dict[str, Any] = Field(description="encoder, layer, similarity matrix, p(same) matrix, threshold")
    layers: list[LayerOut]
    grouping: str
    projection: dict[str, Any] = Field(description="2-D PCA of the occurrences (and examples), for plotting")
    assignments: list[AssignmentOut] | None = None
    example_occurrences: list[OccurrenceOut] | None = None


def _occurrence(o: Any) -> OccurrenceOut:
    return build(OccurrenceOut, sentence=o.sentence, text=o.text, start=o.start, end=o.end, lemma=o.lemma,
                 pos=o.pos, count=o.count)


def response(c: SenseComparison) -> SensesResponse:
    n = len(c.occurrences)
    static = None
    if c.static is not None:
        s = c.static
        static = build(StaticSensesOut, model=s.model, words=list(s.words), found=list(s.found),
                       similarity=s.similarity, all_ones=s.all_ones,
                       neighbours=[build(Neighbour, word=w, similarity=v) for w, v in s.neighbours], note=s.note)
    return build(
        SensesResponse, target=c.target, lemma=c.lemma, verdict=c.verdict, num_senses=len(c.senses),
        confidence=c.confidence,
        senses=[build(SenseOut, id=s.id, sentences=list(s.members), label=s.label) for s in c.senses],
        occurrences=[_occurrence(o) for o in c.occurrences],
        static=static,
        contextual={"encoder": c.encoder, "layer": c.layer, "similarity": c.contextual_similarity,
                    "p_same": c.p_same, "threshold": c.threshold},
        layers=[build(LayerOut, layer=lay.layer, separation=lay.separation) for lay in c.layers],
        grouping=c.grouping,
        projection={"method": "pca", "explained_variance": c.explained_variance,
                    "sentences": c.projection[:n], "examples": c.projection[n:]},
        assignments=None if c.assignments is None else [
            build(AssignmentOut, sentence=a.sentence, label=a.label, score=a.score, scores=a.scores)
            for a in c.assignments],
        example_occurrences=None if c.example_occurrences is None else [
            _occurrence(o) for o in c.example_occurrences],
    )


def run(pipelines: Pipelines, request: SensesRequest, *, forward: Any = None) -> SensesResponse:
    """Static vs contextual similarity of the target's occurrences, the senses found in the data
    (threshold calibrated on a WordNet WiC benchmark), a one-sentence verdict with its confidence,
    nearest static neighbours, a per-layer separation curve and a 2-D projection."""
    if pipelines.senses is None:
        raise NotFound("sense comparison is not loaded in this service (LEXIFLOW_TASKS)", code="not-loaded")
    static = pipelines.static_model(request.static_model) if pipelines.static else None
    result = pipelines.senses.compare(request.target, request.sentences, static=static, examples=request.examples,
                                      neighbours=request.neighbours)
    return response(result)


def _sentences(request: Any, response: Any) -> int:
    return len(request.sentences)


TASK = Task(
    name="senses",
    needs=("lemmatizers", "tokenizer", "encoder", "static", "senses"),
    operations=(Operation(
        name="compare", path="/senses/compare", request=SensesRequest, response=SensesResponse, run=run,
        summary="Does a word mean the same thing in these sentences?", tag="senses", metric="senses",
        count=_sentences, problems=("unknown-model", "queue"), encoder=True),),
)
