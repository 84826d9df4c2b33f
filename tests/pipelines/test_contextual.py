"""The contextual encoder on a tiny BERT built in the test, plus one check of the shipped model."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from pipelines import ContextualEncoder, InputError, LayerChoice, ResourceError, encode_base64


def test_shapes_and_layers(tiny_encoder):
    (st,) = tiny_encoder.encode(["the kids playing"])
    assert st.hidden.shape == (3, st.encoded.length, 16)  # embeddings + 2 layers
    assert np.allclose(LayerChoice(-1).select(st.hidden), st.hidden[2])
    assert np.allclose(LayerChoice(0).select(st.hidden), st.hidden[0])
    assert np.allclose(LayerChoice(mean_last=2).select(st.hidden), st.hidden[1:].mean(axis=0))
    with pytest.raises(InputError) as info:
        LayerChoice(3).select(st.hidden)
    assert (info.value.limit, info.value.given) == (2, 3)
    with pytest.raises(InputError):
        LayerChoice(mean_last=3).select(st.hidden)


def test_padding_never_leaks_into_results(tiny_encoder):
    texts = ["a", "the kids were playing a b c x y z", "who was playing ?"]
    together = tiny_encoder.encode(texts)
    for text, st in zip(texts, together):
        (alone,) = tiny_encoder.encode([text])
        assert st.hidden.shape == alone.hidden.shape
        np.testing.assert_allclose(st.hidden, alone.hidden, atol=1e-5)


def test_small_token_budget_splits_batches_without_changing_results(tiny_encoder):
    texts = ["a b c", "the kids", "x y z a b c the kids", "who"]
    encoded = tiny_encoder.tokenizer.encode(texts)
    full = tiny_encoder.forward(encoded)
    budget = tiny_encoder.max_batch_tokens
    tiny_encoder.max_batch_tokens = 8
    try:
        split = tiny_encoder.forward(encoded)
    finally:
        tiny_encoder.max_batch_tokens = budget
    for a, b in zip(full, split):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_pooling_and_word_vectors(tiny_encoder):
    (st,) = tiny_encoder.encode(["the kids"], ["playing"])
    choice = LayerChoice(-1)
    tokens = choice.select(st.hidden)
    np.testing.assert_allclose(ContextualEncoder.pool(st, choice, "mean"), tokens.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(ContextualEncoder.pool(st, choice, "cls"), tokens[0])
    words = ContextualEncoder.word_vectors(st, choice, ("the kids", "playing"))
    assert [(w.sequence, w.text) for w in words] == [(0, "the"), (0, "kids"), (1, "playing")]
    kids = words[1]
    assert [st.encoded.tokens[i] for i in kids.wordpieces] == ["kid", "##s"]
    np.testing.assert_allclose(kids.vector, tokens[list(kids.wordpieces)].mean(axis=0), rtol=1e-6)


def test_span_vectors_average_the_covering_wordpieces(tiny_encoder):
    texts = ["the kids were here", "a kid"]
    spans = [(4, 8), (2, 5)]
    out = tiny_encoder.span_vectors(texts, spans)
    assert out.shape == (2, 3, 16)
    (st,) = tiny_encoder.encode([texts[0]])
    np.testing.assert_allclose(out[0], st.hidden[:, [2, 3]].mean(axis=1), rtol=1e-5)
    with pytest.raises(InputError):
        tiny_encoder.span_vectors(["the kids"], [(50, 60)])


def test_base64_is_little_endian_float32():
    v = np.array([1.5, -2.25, 3.0], dtype=np.float32)
    raw = base64.b64decode(encode_base64(v))
    np.testing.assert_array_equal(np.frombuffer(raw, dtype="<f4"), v)


def test_vocabulary_larger_than_the_embedding_matrix_is_refused(tiny_tokenizer):
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=5, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    with pytest.raises(ResourceError, match="embedding matrix"):
        ContextualEncoder(BertModel(config), tiny_tokenizer, name="bad", version="test")


def test_missing_model_folder_is_named(tmp_path):
    with pytest.raises(ResourceError, match="config.json"):
        ContextualEncoder.load(tmp_path)


@pytest.mark.slow
def test_shipped_encoder_matches_sentence_transformers(real_encoder):
    from sentence_transformers import SentenceTransformer

    from pipelines.loading import default_encoder_path

    texts = ["The bank raised its interest rates.", "We sat on the river bank.", "Short."]
    ours = np.stack([ContextualEncoder.pool(s, LayerChoice(-1), "mean") for s in real_encoder.encode(texts)])
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    reference = SentenceTransformer(str(default_encoder_path()), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
