"""The LSTM encoder-decoder: attention maths, masks, packing, decoding, saving and the training CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil

import pytest
import torch

from models.checkpoint import ArtifactError
from models.seq2seq import (
    Seq2Seq,
    Seq2SeqConfig,
    attention,
    beam_search,
    block_repeats,
    coverage_penalty_gnmt,
    greedy_decode,
    masked_softmax,
)
from models.seq2seq_artifact import load, save
from pipelines.subword import train_subword
from training.seq2seq import Example, group_references, main, make_splits, n_words, source_key, split
from training.seq2seq_eval import eval_main


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread (and do not fight other processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- attention()

Q = [10.0, 5.0, 10.0]
KV = [[0.0, 1.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 5.0, 1.0]]


def test_attention_dot_example():
    scores, weights, context = attention(torch.tensor(Q), torch.tensor(KV), torch.tensor(KV))
    assert scores.tolist() == [15.0, 60.0, 15.0, 35.0]
    assert weights.sum().item() == pytest.approx(1.0)
    assert weights.argmax().item() == 1
    assert context.tolist() == pytest.approx([5.0, 0.0, 1.0], abs=1e-6)


def test_attention_scaled_divides_by_sqrt_dk():
    scores, weights, _ = attention(torch.tensor(Q), torch.tensor(KV), torch.tensor(KV), scale=True)
    assert scores.tolist() == pytest.approx([s / math.sqrt(3) for s in (15, 60, 15, 35)])
    expected = torch.softmax(torch.tensor([15.0, 60.0, 15.0, 35.0]) / math.sqrt(3), dim=0)
    assert weights.tolist() == pytest.approx(expected.tolist())


def test_attention_mask_zeroes_padding_and_ignores_its_values():
    keys = torch.tensor(KV)
    mask = torch.tensor([True, False, True, True])
    _, w1, c1 = attention(torch.tensor(Q), keys, keys, mask=mask)
    assert w1[1].item() == 0.0
    assert w1.sum().item() == pytest.approx(1.0)
    changed = keys.clone()
    changed[1] = torch.tensor([100.0, -7.0, 3.0])
    _, w2, c2 = attention(torch.tensor(Q), changed, changed, mask=mask)
    assert torch.equal(w1, w2) and torch.equal(c1, c2)
    assert c1.tolist() == pytest.approx([0.0, 5.0, 1.0], abs=1e-6)  # key 3 (score 35) wins once key 1 is masked


def test_attention_batched_queries_and_cosine():
    q = torch.tensor([Q, [0.0, 1.0, 0.0]])
    scores, weights, context = attention(q, torch.tensor(KV), torch.tensor(KV), scoring="cosine")
    assert scores.shape == (2, 4) and context.shape == (2, 3)
    assert scores.abs().max().item() <= 1.0 + 1e-6
    with pytest.raises(ValueError):
        attention(torch.tensor(Q), torch.tensor(KV), torch.tensor(KV), scoring="general")


def test_masked_softmax_fully_masked_row_is_zero_not_nan():
    w = masked_softmax(torch.randn(2, 3), torch.tensor([[False] * 3, [True, True, False]]))
    assert w[0].tolist() == [0.0, 0.0, 0.0]
    assert w[1].sum().item() == pytest.approx(1.0) and w[1, 2].item() == 0.0


# ----------------------------------------------------------------------------- tiny model


def tiny(attention_kind: str = "general", **kw) -> Seq2Seq:
    torch.manual_seed(0)
    kw = {"src_vocab_size": 23, **kw}
    cfg = Seq2SeqConfig(tgt_vocab_size=19, embed_dim=8, hidden=12, attention=attention_kind, dropout=0.0, **kw)
    return Seq2Seq(cfg).eval()


def batch():
    # three sentences of lengths 5, 2, 3, right-padded with 0 (pad id)
    src = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 0, 0, 0], [12, 13, 14, 0, 0]])
    lengths = torch.tensor([5, 2, 3])
    tgt_in = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0], [2, 9, 10, 0]])
    return src, lengths, tgt_in


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_attention_rows_sum_to_one_and_are_zero_on_padding(kind):
    model = tiny(kind)
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    assert logits.shape == (3, 4, 19) and weights.shape == (3, 4, 5)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4), atol=1e-6)
    for b, n in enumerate(lengths.tolist()):
        assert torch.all(weights[b, :, n:] == 0)
        assert torch.all(weights[b, :, :n] > 0)


@pytest.mark.parametrize("kind,feed", [("dot", False), ("additive", False), ("none", False), ("general", True)])
def test_padding_values_do_not_change_outputs(kind, feed):
    model = tiny(kind, input_feeding=feed)
    src, lengths, tgt_in = batch()
    logits, _ = model(src, lengths, tgt_in)
    junk = src.clone()
    junk[1, 2:] = torch.tensor([3, 17, 21])
    junk[2, 3:] = torch.tensor([22, 4])
    logits2, _ = model(junk, lengths, tgt_in)
    assert torch.allclose(logits, logits2, atol=1e-6)
    # and the mask matters: telling the model those positions are real changes its output
    logits3, _ = model(junk, torch.tensor([5, 5, 5]), tgt_in)
    assert not torch.allclose(logits[1], logits3[1], atol=1e-4)


@pytest.mark.parametrize("bidirectional,layers", [(True, 1), (False, 2)])
def test_packed_batch_encoding_equals_one_sentence_at_a_time(bidirectional, layers):
    model = tiny("general", bidirectional=bidirectional, layers=layers)
    src, lengths, _ = batch()
    enc = model.encode(src, lengths)
    for b, n in enumerate(lengths.tolist()):
        one = model.encode(src[b:b + 1, :n], lengths[b:b + 1])
        assert torch.allclose(enc.outputs[b, :n], one.outputs[0], atol=1e-6)
        assert torch.all(enc.outputs[b, n:] == 0)
        assert torch.allclose(enc.state[0][:, b], one.state[0][:, 0], atol=1e-6)
        assert torch.allclose(enc.state[1][:, b], one.state[1][:, 0], atol=1e-6)


@pytest.mark.parametrize("feed", [False, True])
def test_teacher_forced_forward_equals_step_by_step_decoding(feed):
    model = tiny("additive", input_feeding=feed)
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    enc = model.encode(src, lengths)
    state = enc.state
    for t in range(tgt_in.shape[1]):
        logp, w, state = model.step(tgt_in[:, t], enc, state)
        assert torch.allclose(logp, torch.log_softmax(logits[:, t], -1), atol=1e-5)
        assert torch.allclose(w, weights[:, t], atol=1e-6)


def test_scheduled_sampling_path_runs_and_differs_from_full_teacher_forcing():
    model = tiny("dot")
    src, lengths, tgt_in = batch()
    full, _ = model(src, lengths, tgt_in)
    same, _ = model(src, lengths, tgt_in, teacher_forcing=0.0, generator=torch.Generator().manual_seed(0))
    assert same.shape == full.shape
    assert torch.allclose(same[:, 0], full[:, 0], atol=1e-6)  # the first step always sees <bos>


def test_empty_source_does_not_crash():
    model = tiny("general")
    src = torch.tensor([[0, 0], [5, 6]])
    lengths = torch.tensor([0, 2])
    hyps = beam_search(model, src, lengths, beam_size=3, max_length=4)
    assert len(hyps) == 2
    assert all(sum(row) == 0 for row in hyps[0].attention)


# ----------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("kind,feed", [("general", False), ("none", False), ("general", True)])
def test_beam_size_one_equals_greedy(kind, feed):
    model = tiny(kind, input_feeding=feed)
    src, lengths, _ = batch()
    g = greedy_decode(model, src, lengths, max_length=9)
    b = beam_search(model, src, lengths, beam_size=1, length_penalty=0.0, max_length=9)
    for x, y in zip(g, b):
        assert x.tokens == y.tokens
        assert x.score == pytest.approx(y.score, abs=1e-5)
        assert x.finished == y.finished
        assert x.attention == y.attention
        assert len(x.attention) == len(x.tokens)


@pytest.mark.parametrize("feed,beta,ngram", [(False, 0.0, 0), (True, 0.3, 2)])
def test_beam_search_is_independent_of_batching_and_ranks_by_normalised_score(feed, beta, ngram):
    model = tiny("additive", input_feeding=feed)
    src, lengths, _ = batch()
    opts = dict(beam_size=4, length_penalty=0.6, coverage_penalty=beta, no_repeat_ngram=ngram, max_length=8)
    together = beam_search(model, src, lengths, **opts)
    for i, n in enumerate(lengths.tolist()):
        [alone] = beam_search(model, src[i:i + 1, :n], lengths[i:i + 1], **opts)
        assert alone.tokens == together[i].tokens
        assert alone.score == pytest.approx(together[i].score, abs=1e-5)
        length = len(alone.tokens) + (1 if alone.finished else 0)
        if beta == 0.0:
            assert alone.normalized_score == pytest.approx(alone.score / ((5 + length) / 6) ** 0.6)
        else:
            assert alone.normalized_score <= alone.score / ((5 + length) / 6) ** 0.6 + 1e-9
        assert all(len(row) == n for row in alone.attention)
        if ngram:
            grams = [tuple(alone.tokens[k:k + ngram]) for k in range(len(alone.tokens) - ngram + 1)]
            assert len(grams) == len(set(grams))


def test_coverage_penalty_is_zero_when_every_source_word_is_covered():
    full = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 1.0]])          # column sums 1, 1, 1
    assert coverage_penalty_gnmt(full, 0.2) == 0.0
    skipped = torch.tensor([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0]])      # sums 1.8 -> 1, 0.2, 0 -> 1e-4
    assert coverage_penalty_gnmt(skipped, 0.2) == pytest.approx(0.2 * (math.log(0.2) + math.log(1e-4)), rel=1e-5)
    assert coverage_penalty_gnmt(skipped, 0.0) == 0.0


def test_block_repeats_forbids_exactly_the_repeating_tokens():
    logp = torch.zeros(2, 10)
    block_repeats(logp, [[4, 5, 6, 4, 5], [4, 5]], 3)
    assert torch.isinf(logp[0, 6]) and torch.isfinite(logp[0]).sum() == 9   # 4 5 -> 6 would repeat "4 5 6"
    assert torch.isfinite(logp[1]).all()                                   # nothing to repeat yet
    logp = torch.zeros(1, 10)
    block_repeats(logp, [[7, 8]], 1)
    assert torch.isinf(logp[0, 7]) and torch.isinf(logp[0, 8]) and torch.isfinite(logp[0]).sum() == 8


def test_decoders_never_emit_unk_pad_or_bos():
    model = tiny("general")
    with torch.no_grad():
        model.out.bias[:] = 0.0
        model.out.bias[1] = 50.0  # <unk> would win every step
        model.out.bias[0] = 40.0  # then <pad>
    src, lengths, _ = batch()
    for hyps in (greedy_decode(model, src, lengths, max_length=6),
                 beam_search(model, src, lengths, beam_size=3, max_length=6)):
        for h in hyps:
            assert h.tokens and not set(h.tokens) & {0, 1, 2}


def test_tied_and_shared_embeddings_are_one_tensor():
    model = tiny("general", src_vocab_size=19, share_embeddings=True, tie_output=True, input_feeding=True)
    assert model.src_embed.weight is model.tgt_embed.weight is model.out.weight
    assert set(model.tied_parameters()) == {"tgt_embed.weight", "out.weight"}
    with pytest.raises(ValueError):
        Seq2SeqConfig(src_vocab_size=23, tgt_vocab_size=19, share_embeddings=True)


def test_beam_finds_at_least_greedy_raw_score_when_unnormalised():
    # a sharply peaked model: train a few steps to copy token 5 -> 7 so <eos> becomes likely
    torch.manual_seed(1)
    model = tiny("general")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.08)
    src = torch.tensor([[5, 6], [8, 9]])
    lengths = torch.tensor([2, 2])
    tgt_in = torch.tensor([[2, 7, 8], [2, 9, 9]])
    gold = torch.tensor([[7, 8, 3], [9, 9, 3]])
    for _ in range(30):
        logits, _ = model(src, lengths, tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 19), gold.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    g = greedy_decode(model, src, lengths)
    b = beam_search(model, src, lengths, beam_size=5, length_penalty=0.0)
    assert [h.tokens for h in g] == [[7, 8], [9, 9]]
    assert [h.tokens for h in b] == [[7, 8], [9, 9]]
    for x, y in zip(g, b):
        assert y.score >= x.score - 1e-5


def test_config_validation():
    with pytest.raises(ValueError):
        Seq2SeqConfig(attention="multihead")
    with pytest.raises(ValueError):
        Seq2SeqConfig(hidden=15, bidirectional=True)


# ----------------------------------------------------------------------------- data helpers


def test_split_keeps_each_source_in_one_split_and_is_seeded():
    pairs = [Example(f"Sentence number {i % 40}.", f"Frase {i}.") for i in range(120)]
    pairs += [Example("sentence NUMBER 3", "otra")]  # same normalised source as "Sentence number 3."
    train, dev, test = split(pairs, test_size=5, dev_size=5, seed=3)
    keys = [{source_key(e.source) for e in part} for part in (train, dev, test)]
    assert len(keys[2]) == 5 and len(keys[1]) == 5
    assert not (keys[0] & keys[2]) and not (keys[0] & keys[1]) and not (keys[1] & keys[2])
    assert len(train) + len(dev) + len(test) == len(pairs)
    assert split(pairs, test_size=5, dev_size=5, seed=3)[2] == test
    assert split(pairs, test_size=5, dev_size=5, seed=4)[2] != test
    refs = group_references(test)
    assert len(refs) == 5 and all(len(r) >= 3 for _, r in refs)


def test_make_splits_holds_out_test_dev_and_long_sources():
    pairs = [Example(f"Short sentence {i % 60}.", f"Frase {i}.") for i in range(150)]
    pairs += [Example(" ".join(["word"] * 12) + f" {i}.", f"Larga {i}.") for i in range(30)]
    pairs += [Example(" ".join(["many"] * 25) + f" {i}.", f"Muy larga {i}.") for i in range(3)]
    sp = make_splits(pairs, test_max_words=10, max_words=20, test_size=5, dev_size=5, seed=3, long_test_size=4)
    _, dev, test = split([p for p in pairs if n_words(p.source) <= 10], test_size=5, dev_size=5, seed=3)
    assert sp.test == test and sp.dev == dev                     # the short-sentence split is unchanged
    keys = [{source_key(e.source) for e in part} for part in (sp.train, sp.dev, sp.test, sp.long_test)]
    assert not keys[0] & (keys[1] | keys[2] | keys[3])
    assert len(keys[3]) == 4 + 3                                 # 4 of 11-20 words, every one over 20
    assert all(n_words(e.source) <= 20 for e in sp.train)
    assert sum(n_words(e.source) > 10 for e in sp.train) == 30 - 4


# ----------------------------------------------------------------------------- artifacts


@pytest.fixture(scope="module")
def subword():
    texts = ["Where is Tom?", "¿Dónde está Tom?", "The cat sleeps.", "El gato duerme.", "I am hungry.",
             "Tengo hambre.", "Mary lives in Madrid.", "María vive en Madrid."] * 3
    return train_subword(texts, vocab_size=300, min_frequency=1)


def test_round_trip_with_non_default_settings(tmp_path, subword):
    torch.manual_seed(2)
    V = subword.vocab_size
    cfg = Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, embed_dim=10, hidden=14, layers=2,
                        bidirectional=False, dropout=0.3, attention="additive", input_feeding=True,
                        share_embeddings=True, tie_output=True)
    model = Seq2Seq(cfg).eval()
    save(tmp_path / "a", model, subword.to_str(), {"m": 1}, {"c": 2}, fp16=False)
    lm = load(tmp_path / "a")
    assert lm.config == cfg and lm.config.format == "seq2seq-attn-v2"
    assert lm.metrics == {"m": 1} and lm.data_card == {"c": 2} and lm.tokenizer_json == subword.to_str()
    assert lm.model.out.weight is lm.model.src_embed.weight          # ties survive the round trip
    src, lengths, tgt_in = batch()
    assert torch.equal(model(src, lengths, tgt_in)[0], lm.model(src, lengths, tgt_in)[0])
    # fp16 on disk, fp32 in memory, nearly the same outputs
    save(tmp_path / "b", model, subword.to_str(), {}, {}, fp16=True)
    lm16 = load(tmp_path / "b")
    assert all(p.dtype == torch.float32 for p in lm16.model.parameters())
    assert torch.allclose(model(src, lengths, tgt_in)[0], lm16.model(src, lengths, tgt_in)[0], atol=2e-2)


def test_load_checks_invariants_and_names_the_file(tmp_path, subword):
    V = subword.vocab_size
    cfg = Seq2SeqConfig(src_vocab_size=V, tgt_vocab_size=V, embed_dim=8, hidden=12)
    save(tmp_path / "ok", Seq2Seq(cfg), subword.to_str(), {}, {})
    assert load(tmp_path / "ok").config == cfg

    bad = tmp_path / "vocab_size"
    shutil.copytree(tmp_path / "ok", bad)
    conf = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps(dict(conf, src_vocab_size=V + 1, tgt_vocab_size=V + 1)))
    with pytest.raises(ArtifactError, match="tokenizer.json.*src_vocab_size"):
        load(bad)

    bad = tmp_path / "special"
    shutil.copytree(tmp_path / "ok", bad)
    (bad / "config.json").write_text(json.dumps(dict(conf, eos_id=5)))
    with pytest.raises(ArtifactError, match="tokenizer.json.*eos_id"):
        load(bad)

    bad = tmp_path / "no_tokenizer"
    shutil.copytree(tmp_path / "ok", bad)
    (bad / "tokenizer.json").unlink()
    with pytest.raises(ArtifactError, match="tokenizer.json"):
        load(bad)

    bad = tmp_path / "shape"
    shutil.copytree(tmp_path / "ok", bad)
    (bad / "config.json").write_text(json.dumps(dict(conf, hidden=16)))
    with pytest.raises(ArtifactError, match="model.safetensors"):
        load(bad)

    bad = tmp_path / "format"
    shutil.copytree(tmp_path / "ok", bad)
    (bad / "config.json").write_text(json.dumps(dict(conf, format="seq2seq-attn-v1")))
    with pytest.raises(ArtifactError, match="config.json"):
        load(bad)


# ----------------------------------------------------------------------------- CLI


def test_dry_run_cli_then_load_and_eval(tmp_path, capsys):
    rows = []
    words = ["cat", "dog", "house", "tree", "car", "book", "sun", "moon"]
    spanish = ["gato", "perro", "casa", "árbol", "coche", "libro", "sol", "luna"]
    for i, (e, s) in enumerate(zip(words, spanish)):
        for j, (e2, s2) in enumerate(zip(words, spanish)):
            rows.append(f"The {e} and the {e2}.\t¡El {s} y el {s2}!")
    rows.append("A sentence that is far too long to keep with max words.\tDemasiado larga.")
    data = tmp_path / "pairs.tsv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "art"
    rc = main(["--dry-run", "--data", str(data), "--output", str(out), "--attention", "dot", "--hidden", "10",
               "--no-bidirectional", "--max-words", "8", "--test-max-words", "8", "--test-size", "6",
               "--dev-size", "6", "--vocab-size", "300", "--quiet"])
    assert rc == 0
    lm = load(out)
    assert lm.config.attention == "dot" and lm.config.hidden == 10 and lm.config.bidirectional is False
    assert lm.config.input_feeding and lm.config.share_embeddings and lm.config.tie_output
    card = lm.data_card
    assert card["split"]["pairs"]["test"] == 6 and card["split"]["max_words"] == 8
    assert card["split"]["pairs"]["long_test"] == 1                # the one 13-word source
    assert card["data"]["pairs_read"] == 65 and card["data"]["pairs_kept"] == 65
    assert "--dry-run" in card["command"]
    assert lm.metrics["best_epoch"] == 1 and lm.metrics["history"][0]["dev_loss"] > 0
    capsys.readouterr()

    assert eval_main([str(out), "--beam", "1,3", "--json", "--save"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["beam"] for r in result["results"]] == [1, 3]
    assert result["test_sources"] == 6
    assert all(0.0 <= r["bleu"] <= 100.0 and 0.0 <= r["chrf"] <= 100.0 for r in result["results"])
    assert load(out).metrics["test"]["results"][0]["beam"] == 1

    # a different data file gives a different test set: the stored hash catches it
    data.write_text("\n".join(rows[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="test_sha256"):
        eval_main([str(out), "--json"])


def test_config_dataclass_has_format_first():
    assert dataclasses.fields(Seq2SeqConfig)[0].name == "format"
    assert Seq2SeqConfig().format == "seq2seq-attn-v2"


def test_name_augmentation_replaces_names_alike_on_both_sides(subword):
    import random

    from training.seq2seq import augment_names, common_lowercase, copyable_names, encode_examples

    ex = [Example("Tom lives in Boston.", "Tom vive en Boston."), Example("No, thanks.", "No, gracias."),
          Example("The cat sleeps.", "El gato duerme.")] + [Example("no no no no no", "no")]
    common = common_lowercase(ex, min_count=5)
    assert copyable_names(ex[0], common) == ["Boston", "Tom"] and copyable_names(ex[1], common) == []
    data = encode_examples(ex, subword, max_tokens=50)
    out, n = augment_names(ex, data, subword, rate=1.0, rng=random.Random(0), max_tokens=50, common=common)
    assert n == 1 and out.src[1:] == data.src[1:] and out.tgt[1:] == data.tgt[1:]
    src, tgt = subword.decode(out.src[0]), subword.decode(out.tgt[0])
    assert "Tom" not in src and "Boston" not in src
    new = src.replace(" lives in ", " ").rstrip(".").split()
    assert len(new) == 2 and tgt == f"{new[0]} vive en {new[1]}."
    assert subword.decode(data.src[0]) == "Tom lives in Boston."  # the input data is not modified in place
