"""Request and response schemas of ``POST /v1/senses/disambiguate`` (beside ``service.schemas``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.settings import Limits

MAX_DISAMBIGUATE_SENTENCES = 64


def build_disambiguate_request(limits: Limits, text: Any, limit_note: str) -> type[BaseModel]:
    from service.schemas import _check_total, check_text

    max_sentences = min(limits.max_items, MAX_DISAMBIGUATE_SENTENCES)

    class DisambiguateRequest(BaseModel):
        __doc__ = ("Which WordNet sense does the target have in each sentence? Every occurrence, its candidate "
                   f"senses ranked with calibrated probabilities. {limit_note}")
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"target": "bank", "sentences": ["I deposited the cheque at the bank.",
                                             "We had a picnic on the bank of the river."]},
            {"target": "bass", "sentences": ["He plays bass in a jazz band."], "pos": "n", "top_k": 3},
        ]})

        target: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text)] = Field(
            description="one word; found in each sentence by surface form or lemma (case-insensitive)")
        sentences: Annotated[list[text], Field(min_length=1, max_length=max_sentences)] = Field(
            description=f"1 to {max_sentences} sentences, each containing the target")
        pos: Literal["n", "v", "a", "r"] | None = Field(
            None, description="restrict candidates to nouns, verbs, adjectives or adverbs; default: spaCy's tag "
                              "of each occurrence")
        top_k: int | None = Field(None, ge=1, le=100, description="candidates per occurrence; default: all")

        @model_validator(mode="after")
        def _total(self) -> DisambiguateRequest:
            _check_total(limits, self.sentences)
            return self

    return DisambiguateRequest


class CandidateOut(BaseModel):
    synset: str = Field(description="WordNet 3.0 synset: 8-digit offset and type (n, v, a, s, r), e.g. 08420278-n")
    pos: Literal["n", "v", "a", "r"]
    sense_number: int = Field(description="1-based, WordNet's order for this lemma and part of speech")
    lemma_names: list[str]
    gloss: str = Field(description="WordNet's definition")
    lexname: str = Field(description="WordNet lexicographer file (supersense), e.g. noun.group")
    score: float = Field(description="probability of this sense among the candidates (calibrated on WordNet)")


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
