"""Token-id input and the sentence encoder's configured length (issue 17, point 2)."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines import InputError
from pipelines.embeddings.contextual import sentence_max_length


def test_ids_with_or_without_specials_encode_like_the_text(tiny_tokenizer):
    text = "the kids replaying ."
    (enc,) = tiny_tokenizer.encode([text])
    body = enc.input_ids[1:enc.length - 1]
    for given in (enc.input_ids[:enc.length], body):
        (e,) = tiny_tokenizer.encode_ids([given])
        assert e.input_ids == enc.input_ids[:enc.length] and e.tokens == enc.tokens[:enc.length]
        assert e.special_tokens_mask == [1] + [0] * len(body) + [1] and e.attention_mask == [1] * e.length
        assert e.sequence_ids == [None] + [0] * len(body) + [None] and e.truncated == ()


def test_ids_are_checked_and_cut_only_when_asked(tiny_tokenizer):
    with pytest.raises(InputError) as info:
        tiny_tokenizer.encode_ids([[5, 6], [5, tiny_tokenizer.vocab_size]])
    assert info.value.code == "unknown-token-id" and info.value.given == tiny_tokenizer.vocab_size
    assert info.value.extra["item"] == 1 and "item 1" in info.value.detail
    with pytest.raises(InputError) as info:
        tiny_tokenizer.encode_ids([[-1]])
    assert info.value.code == "unknown-token-id"
    with pytest.raises(InputError, match="besides"):
        tiny_tokenizer.encode_ids([[tiny_tokenizer.cls_id, tiny_tokenizer.sep_id]])
    long = [5, 6, 7, 8, 9, 10]
    with pytest.raises(InputError) as info:
        tiny_tokenizer.encode_ids([long], max_length=5)
    assert (info.value.code, info.value.limit, info.value.given) == ("too-many-tokens", 5, 8)
    (e,) = tiny_tokenizer.encode_ids([long], max_length=5, truncate=True)
    assert e.input_ids == [tiny_tokenizer.cls_id, 5, 6, 7, tiny_tokenizer.sep_id]
    assert [c.id for c in e.truncated] == [8, 9, 10]


def test_real_encoder_ids_give_the_same_vectors_as_text(real_encoder):
    text = "The bank raised interest rates again."
    (st_text,) = real_encoder.encode([text])
    ids = st_text.encoded.input_ids[1:st_text.encoded.length - 1]
    (st_ids,) = real_encoder.encode_ids([ids])
    assert np.allclose(st_text.hidden, st_ids.hidden, atol=1e-5)


def test_sentence_max_length_is_read_from_the_model_folder(real_encoder, tmp_path):
    assert real_encoder.sentence_max_length == 256  # all-MiniLM-L6-v2's sentence_bert_config.json
    assert real_encoder.tokenizer.model_max_length == 512
    assert real_encoder.info()["sentence_max_length"] == 256
    assert sentence_max_length(tmp_path) is None
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    assert sentence_max_length(tmp_path) == 128
