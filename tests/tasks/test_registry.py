"""The task layer on its own: the registry's invariants, limits from the validation context or the
bound settings (with pydantic's own errors and the configured numbers in the schema), and ``run``
on tiny pipelines built here."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

import tasks
from pipelines import Pipelines
from tasks import Limits, dump
from tasks.lemmatize import LemmatizeRequest
from tasks.lemmatize import run as lemmatize
from tasks.limits import using
from tasks.tokenize import TokenizeRequest
from tasks.tokenize import run as tokenize


# ----- the registry ------------------------------------------------------------------------------------
def test_each_task_and_operation_is_named_once():
    names = [t.name for t in tasks.TASKS.values()]
    aliases = [a for t in tasks.TASKS.values() for a in t.aliases]
    assert len(set(names + aliases)) == len(names) + len(aliases)
    ops = list(tasks.operations())
    assert len({op.path for op in ops}) == len(ops) and len({op.name for op in ops}) == len(ops)
    for op in ops:
        assert op.description and op.summary and op.path.startswith("/")
        assert (op.response is None) == (op.media_type is not None), op.name


def test_aliases_name_the_same_task():
    assert tasks.task("embed") is tasks.task("embeddings") is tasks.TASKS["embeddings"]
    with pytest.raises(KeyError, match="unknown task"):
        tasks.task("entities-that-do-not-exist")


def test_components_come_from_the_tasks_needs_shared_ones_first():
    assert tasks.components([]) == ("lemmatizers", "tokenizer")
    got = tasks.components(["classify", "senses", "embeddings"])
    assert got[:2] == ("lemmatizers", "tokenizer") and len(set(got)) == len(got)
    assert {"classifiers", "encoder", "static", "senses"} <= set(got) and "translators" not in got


def test_batch_commands_are_the_operations_that_declare_one():
    commands = tasks.batch_commands()
    assert list(commands) == ["lemmatize", "tokenize", "embed", "classify", "translate"]
    assert [op.name for op in commands["embed"]] == ["contextual", "static"]
    assert commands["embed"][1].batch.flag == "--static" and commands["embed"][0].batch.flag is None


# ----- limits ---------------------------------------------------------------------------------------------
class Pydantics(BaseModel):
    """The same limits written the plain pydantic way, for the expected errors."""

    text: list[str] = Field(max_length=3)
    word: str = Field(max_length=10)


def _error(exc: ValidationError) -> dict:
    [err] = exc.errors(include_url=False)
    return {k: err[k] for k in ("type", "msg", "ctx")}


def test_a_limit_from_the_context_is_pydantics_own_error():
    small = Limits(max_items=3, max_text_chars=10)
    with pytest.raises(ValidationError) as got:
        LemmatizeRequest.model_validate({"text": ["a"] * 4}, context={"limits": small})
    with pytest.raises(ValidationError) as want:
        Pydantics.model_validate({"text": ["a"] * 4, "word": "w"})
    assert _error(got.value) == _error(want.value) and _error(got.value)["ctx"]["max_length"] == 3
    with pytest.raises(ValidationError) as got:
        LemmatizeRequest.model_validate({"text": "eleven chars"}, context={"limits": small})
    with pytest.raises(ValidationError) as want:
        Pydantics.model_validate({"text": [], "word": "eleven chars"})
    assert _error(got.value) == _error(want.value)
    LemmatizeRequest.model_validate({"text": ["a"] * 4})  # the defaults (128 texts) when nothing is bound


def test_bound_limits_validate_and_document():
    small = Limits(max_items=3, max_total_chars=5)
    with using(small):
        with pytest.raises(ValidationError) as err:
            LemmatizeRequest.model_validate({"text": ["abc", "def"]})
        schema = LemmatizeRequest.model_json_schema()
    assert err.value.errors()[0]["ctx"] == {"limit": 5, "given": 6}
    assert schema["properties"]["text"]["oneOf"][1]["maxItems"] == 3
    assert "3 texts per request" in schema["description"]
    assert LemmatizeRequest.model_json_schema()["properties"]["text"]["oneOf"][1]["maxItems"] == 128
    with using(small):  # an over-long list is too long whatever its items are, as in pydantic
        with pytest.raises(ValidationError) as err:
            LemmatizeRequest.model_validate({"text": ["\x01"] * 4})
    assert [e["type"] for e in err.value.errors()] == ["too_long"]


# ----- run, on pipelines built here -------------------------------------------------------------------------
def test_tokenize_run_builds_the_response_from_the_pipeline(tiny_tokenizer):
    loaded = Pipelines(tokenizer=tiny_tokenizer)
    out = dump(tokenize(loaded, TokenizeRequest(text="the kids", text_pair="who was")))
    [r] = out["results"]
    assert out["model"] == "tiny" and out["max_length"] == 32
    assert r["tokens"] == ["[CLS]", "the", "kid", "##s", "[SEP]", "who", "was", "[SEP]"]
    assert r["token_type_ids"] == [0, 0, 0, 0, 0, 1, 1, 1] and r["alignment"] is None
    few = dump(tokenize(loaded, TokenizeRequest(text=["the", "kids"], fields=["input_ids"])))
    assert [sorted(r) for r in few["results"]] == [["input_ids", "length", "num_truncated", "num_unk"]] * 2


def test_lemmatize_run_keeps_every_token_field(tiny_lemmatizer):
    loaded = Pipelines(lemmatizers={"lookup": tiny_lemmatizer})
    out = dump(lemmatize(loaded, LemmatizeRequest(text="geese ran", engine="lookup")))
    tokens = out["results"][0]["tokens"]
    assert [(t["text"], t["lemma"]) for t in tokens] == [("geese", "goose"), ("ran", "run")]
    assert out["engine"] == "lookup" and out["model"] == "tiny-lookup"
    with pytest.raises(Exception) as err:  # the rule engine is not loaded here
        lemmatize(loaded, LemmatizeRequest(text="x"))
    assert getattr(err.value, "code", None) == "unknown-engine"
