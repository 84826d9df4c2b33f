"""POST /v1/tokenize."""

from typing import Any

from fastapi import APIRouter

from pipelines import Encoded
from service.deps import MetricsDep, PipelinesDep
from service.errors import Problem
from service.responses import FastJSONResponse
from service.routes import PROBLEMS
from service.schemas import TOKENIZE_ALWAYS, RequestModels, TokenizeResponse


def _result(e: Encoded) -> dict[str, Any]:
    return {
        "tokens": e.tokens,
        "input_ids": e.input_ids,
        "token_type_ids": e.token_type_ids,
        "position_ids": e.position_ids,
        "attention_mask": e.attention_mask,
        "special_tokens_mask": e.special_tokens_mask,
        "offsets": e.offsets,
        "sequence_ids": e.sequence_ids,
        "word_ids": e.word_ids,
        "length": e.length,
        "num_unk": e.num_unk,
        "unknown": [{"index": u.index, "sequence": u.sequence, "start": u.start, "end": u.end, "text": u.text}
                    for u in e.unknown],
        "num_truncated": len(e.truncated),
        "truncated": [{"sequence": c.sequence, "token": c.token, "id": c.id, "start": c.start, "end": c.end}
                      for c in e.truncated],
        "alignment": None if e.alignment is None else [
            {"sequence": a.sequence, "text": a.text, "start": a.start, "end": a.end, "wordpieces": list(a.wordpieces)}
            for a in e.alignment],
    }


def router(models: RequestModels) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["tokenize"])
    TokenizeRequest = models.TokenizeRequest

    @r.post("/tokenize", response_model=TokenizeResponse, response_class=FastJSONResponse, responses=PROBLEMS,
            summary="WordPiece ids, segment ids, positions, masks, offsets and word alignment")
    def tokenize(body: TokenizeRequest, pipelines: PipelinesDep, metrics: MetricsDep) -> FastJSONResponse:
        """BERT uncased WordPiece tokenization of a text, a pair, or a batch of either.

        Truncation is explicit: with `truncation: none` (the default) an input over `max_length`
        tokens is refused with 422 giving its token count; any other strategy cuts and lists the
        tokens it cut in `truncated`.
        """
        tokenizer = pipelines.tokenizer
        if tokenizer is None:
            raise Problem(404, "not-loaded", "no WordPiece tokenizer is loaded in this service")
        single = isinstance(body.text, str)
        texts = [body.text] if single else body.text
        pairs = None if body.text_pair is None else ([body.text_pair] if single else body.text_pair)
        words = None
        if body.align_with == "spacy":
            splitter = pipelines.word_splitter()
            words_a = splitter.words(texts)
            words_b = splitter.words(pairs) if pairs is not None else [None] * len(texts)
            words = list(zip(words_a, words_b))
        encoded = tokenizer.encode(
            texts, pairs, add_special_tokens=body.add_special_tokens, max_length=body.max_length,
            truncation=body.truncation, truncation_side=body.truncation_side, padding=body.padding,
            pad_to_multiple_of=body.pad_to_multiple_of, split_special_tokens=body.split_special_tokens, words=words)
        metrics.items.labels("tokenize").inc(len(texts))
        keep = set(body.fields or ()) | set(TOKENIZE_ALWAYS)
        return FastJSONResponse({
            "model": tokenizer.name,
            "model_version": tokenizer.version,
            "vocab_size": tokenizer.vocab_size,
            "max_length": body.max_length or tokenizer.model_max_length,
            "truncation": body.truncation,
            "padding": body.padding,
            "results": [_result(e) for e in encoded] if body.fields is None else [
                {k: v for k, v in _result(e).items() if k in keep} for e in encoded],
        })

    return r
