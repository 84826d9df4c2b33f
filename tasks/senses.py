"""Senses: does a word mean the same thing in these sentences?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from pipelines.errors import NotFound
from tasks.base import Operation, Request, Task, build
from tasks.embeddings import Neighbour
from tasks.inputs import Text, check_text, check_total
from tasks.limits import MaxLen, described

if TYPE_CHECKING:
    from pipelines import DisambiguationResult, Pipelines, SenseComparison

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
        description="a word, or an expression of up to 8 tokens as WordNet has them (\"ice cream\", \"T-shirt\"); "
                    "found in each sentence by surface form or lemma (the last word's), ignoring case, accents and "
                    "hyphens between words")
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


class CandidateOut(BaseModel):
    synset: str = Field(description="WordNet 3.0 synset: 8-digit offset and type (n, v, a, s, r), e.g. 08420278-n")
    pos: Literal["n", "v", "a", "r"]
    sense_number: int = Field(description="1-based, WordNet's order for this lemma and part of speech")
    lemma_names: list[str]
    gloss: str = Field(description="WordNet's definition")
    lexname: str = Field(description="WordNet lexicographer file (supersense), e.g. noun.group")
    score: float = Field(description="probability of this sense among the candidates (calibrated on WordNet)")


class OccurrenceOut(BaseModel):
    sentence: int
    text: str
    start: int
    end: int
    lemma: str
    pos: str | None
    count: int = Field(description="how often the target occurs in the sentence (every occurrence is compared)")
    index: int = Field(0, description="which of them (0-based)")
    sense: CandidateOut | None = Field(None, description="its most probable WordNet sense")
    note: str | None = None


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
    sentences: list[int] = Field(description="sentence indices with an occurrence in this group")
    occurrences: list[int] = Field([], description="indices into `occurrences`")
    label: str | None = Field(description="the caller's label (with labelled examples)")
    sense: CandidateOut | None = Field(None, description="the WordNet sense most probable over the group's "
                                                         "occurrences; score: their mean probability of it")


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
    occurrences: list[OccurrenceOut] = Field(description="every occurrence of the target, in sentence order; the "
                                                         "similarity matrices are over these")
    method: str = Field("", description="how the number of groups was decided")
    static: StaticSensesOut | None
    contextual: dict[str, Any] = Field(description="encoder, layer, similarity matrix, p(same) matrix, threshold")
    layers: list[LayerOut]
    grouping: str
    projection: dict[str, Any] = Field(description="2-D PCA of the occurrences (and examples), for plotting")
    assignments: list[AssignmentOut] | None = None
    example_occurrences: list[OccurrenceOut] | None = None


def _candidate(c: Any) -> CandidateOut | None:
    if c is None:
        return None
    return build(CandidateOut, synset=c.synset, pos=c.pos, sense_number=c.sense_number,
                 lemma_names=list(c.lemma_names), gloss=c.gloss, lexname=c.lexname, score=c.score)


def _occurrence(o: Any) -> OccurrenceOut:
    return build(OccurrenceOut, sentence=o.sentence, text=o.text, start=o.start, end=o.end, lemma=o.lemma,
                 pos=o.pos, count=o.count, index=getattr(o, "index", 0), sense=_candidate(getattr(o, "sense", None)),
                 note=getattr(o, "note", None))


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
        senses=[build(SenseOut, id=s.id, sentences=list(s.members), occurrences=list(s.occurrences), label=s.label,
                      sense=_candidate(s.sense)) for s in c.senses],
        occurrences=[_occurrence(o) for o in c.occurrences],
        method=c.method,
        static=static,
        contextual={"encoder": c.encoder, "layer": c.layer, "similarity": c.contextual_similarity,
                    "p_same": c.p_same, "threshold": c.threshold, "silhouette": c.silhouette},
        layers=[build(LayerOut, layer=lay.layer, separation=lay.separation) for lay in c.layers],
        grouping=c.grouping,
        projection={"method": "pca", "explained_variance": c.explained_variance,
                    "sentences": c.projection[:n], "examples": c.projection[n:],
                    "senses": [{"synset": cand.synset, "sense_number": cand.sense_number, "gloss": cand.gloss,
                                "point": point} for cand, point in c.sense_points]},
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


# ----- POST /v1/senses/disambiguate ---------------------------------------------------------------

class DisambiguateRequest(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra=described(
        "Which WordNet sense does the target have in each sentence? Every occurrence, its candidate "
        "senses ranked with calibrated probabilities. {note}", examples=[
            {"target": "bank", "sentences": ["I deposited the cheque at the bank.",
                                             "We had a picnic on the bank of the river."]},
            {"target": "bass", "sentences": ["He plays bass in a jazz band."], "pos": "n", "top_k": 3},
        ]))

    target: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text)] = Field(
        description="a word, or an expression of up to 8 tokens as WordNet has them (\"ice cream\", \"T-shirt\"); "
                    "found in each sentence by surface form or lemma (the last word's), ignoring case, accents and "
                    "hyphens between words")
    sentences: Annotated[list[Text], Field(min_length=1),
                         MaxLen("max_items", cap=64, describe="1 to {} sentences, each containing the target")]
    pos: Literal["n", "v", "a", "r"] | None = Field(
        None, description="restrict candidates to nouns, verbs, adjectives or adverbs; default: spaCy's tag "
                          "of each occurrence")
    top_k: int | None = Field(None, ge=1, le=100, description="candidates per occurrence; default: all")

    @model_validator(mode="after")
    def _total(self, info: ValidationInfo) -> DisambiguateRequest:
        check_total(info, self.sentences)
        return self


class TargetOccurrenceOut(BaseModel):
    start: int
    end: int
    text: str
    lemma: str
    pos: str | None = Field(description="spaCy's universal POS tag")
    index: int = Field(description="0-based among this sentence's occurrences of the target")
    wordnet_lemma: str | None = Field(description="the WordNet entry looked up; null when WordNet does not know it")
    wordnet_pos: str | None = Field(description="the part of speech the candidates were drawn from")
    candidates: list[CandidateOut] = Field(description="most probable first; empty when the word is not in WordNet")
    note: str | None = None


class SentenceSensesOut(BaseModel):
    sentence: int
    text: str
    occurrences: list[TargetOccurrenceOut]


class DisambiguateResponse(BaseModel):
    target: str
    lemma: str
    known: bool = Field(description="whether WordNet has senses for the target")
    note: str | None = Field(description="e.g. that the target is not in WordNet")
    encoder: str
    inventory: str
    results: list[SentenceSensesOut] = Field(description="aligned with the request's sentences")


def disambiguation(result: DisambiguationResult, encoder: str, inventory: str) -> DisambiguateResponse:
    return build(
        DisambiguateResponse, target=result.target, lemma=result.lemma, known=result.known, note=result.note,
        encoder=encoder, inventory=inventory,
        results=[build(SentenceSensesOut, sentence=r.sentence, text=r.text, occurrences=[
            build(TargetOccurrenceOut, start=d.occurrence.start, end=d.occurrence.end, text=d.occurrence.text,
                  lemma=d.occurrence.lemma, pos=d.occurrence.pos, index=d.occurrence.index, wordnet_lemma=d.lemma,
                  wordnet_pos=d.occurrence.wordnet_pos, candidates=[_candidate(c) for c in d.candidates],
                  note=d.note) for d in r.occurrences]) for r in result.results])


def run_disambiguate(pipelines: Pipelines, request: DisambiguateRequest, *, forward: Any = None) -> DisambiguateResponse:
    """Every occurrence of the target in each sentence (found by lemma with spaCy) with its WordNet 3.0
    senses ranked by a calibrated probability: the sentence against each sense's gloss, the word's
    contextual vector against its vector in the gloss and in WordNet's examples, and WordNet's sense
    order. A word WordNet does not know gets `known: false` and no candidates, not an error."""
    if pipelines.wsd is None:
        raise NotFound("sense disambiguation is not loaded in this service (LEXIFLOW_TASKS)", code="not-loaded")
    result = pipelines.wsd.disambiguate(request.target, request.sentences, pos=request.pos, top_k=request.top_k)
    return disambiguation(result, pipelines.wsd.encoder.name, pipelines.wsd.inventory.describe()["name"])


TASK = Task(
    name="senses",
    needs=("lemmatizers", "tokenizer", "encoder", "static", "senses"),
    operations=(Operation(
        name="compare", path="/senses/compare", request=SensesRequest, response=SensesResponse, run=run,
        summary="Does a word mean the same thing in these sentences?", tag="senses", metric="senses",
        count=_sentences, problems=("unknown-model", "queue"), encoder=True),
        Operation(
        name="disambiguate", path="/senses/disambiguate", request=DisambiguateRequest,
        response=DisambiguateResponse, run=run_disambiguate,
        summary="Which WordNet sense does a word have in each sentence?", tag="senses", metric="senses",
        count=_sentences, problems=("queue",), encoder=True)),
)
