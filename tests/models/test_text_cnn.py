import json

import pytest
import torch

from models import text_cnn
from models.checkpoint import ArtifactError
from models.tensors import pad_batch
from models.text_cnn import TextCNN, TextCNNConfig, format_summary, summary
from models.vocab import PAD, UNK, Vocab


def tiny(mode="rand", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = TextCNNConfig(vocab_size=kw.pop("vocab_size", 30), embed_dim=kw.pop("embed_dim", 6),
                        num_classes=kw.pop("num_classes", 3), filter_sizes=kw.pop("filter_sizes", (2, 3, 5)),
                        num_filters=kw.pop("num_filters", 4), embedding_mode=mode, **kw)
    return TextCNN(cfg).eval()


SEQS = [[5, 6, 7, 8, 9, 10], [11], [], [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [4, 4]]


@pytest.mark.parametrize("padding", ["valid", "wide"])
def test_forward_shapes_including_short_and_empty_texts(padding):
    m = tiny(conv_padding=padding)
    ids, lengths = pad_batch(SEQS, pad_id=0)
    assert ids.shape == (5, 12)
    logits = m(ids, lengths)
    assert logits.shape == (5, 3)
    assert torch.isfinite(logits).all()
    one, ln = pad_batch([[7]], pad_id=0)  # T=1 < widest filter (5): padded inside the model
    assert one.shape == (1, 1)
    assert m(one, ln).shape == (1, 3)


@pytest.mark.parametrize("padding", ["valid", "wide"])
def test_lengths_mask_and_pad_ids_agree(padding):
    m = tiny(conv_padding=padding)
    ids, lengths = pad_batch(SEQS, pad_id=0)
    mask = torch.arange(ids.size(1))[None, :] < lengths[:, None]
    a, b, c = m(ids, lengths), m(ids, mask=mask), m(ids)
    assert torch.allclose(a, b) and torch.allclose(a, c)


@pytest.mark.parametrize("padding", ["valid", "wide"])
def test_padding_never_wins_the_max_pool(padding):
    """Make all-zero (padding) windows score far above real ones: masked pooling must ignore them."""
    m = tiny(seed=1, conv_padding=padding)
    with torch.no_grad():
        for conv in m.convs:
            conv.weight.copy_(-conv.weight.abs())
            conv.bias.fill_(5.0)
        m.embedding.weight.abs_()
    for seq in SEQS:
        alone = m(*pad_batch([seq], pad_id=0))
        padded = m(*pad_batch([seq], pad_id=0, min_length=40))
        assert torch.allclose(alone, padded, atol=1e-6), seq
        # and in a batch next to a longer text
        batch = m(*pad_batch([seq, list(range(2, 30))], pad_id=0))
        assert torch.allclose(alone[0], batch[0], atol=1e-6), seq


@pytest.mark.parametrize("padding", ["valid", "wide"])
def test_explain_decomposes_the_logit_exactly(padding):
    m = tiny("multichannel", seed=3, num_filters=5, conv_padding=padding)
    ids, lengths = pad_batch(SEQS, pad_id=0)
    with torch.no_grad():
        logits = m(ids, lengths)
    explanations = m.explain(ids, lengths)
    for b, ex in enumerate(explanations):
        assert ex.target == int(logits[b].argmax())
        assert ex.logit == pytest.approx(float(logits[b, ex.target]), abs=1e-5)
        assert len(ex.filters) == 5 * 3
        # the decomposition is computed in float64: exact up to float64 rounding
        total = ex.bias + sum(f.contribution for f in ex.filters)
        assert total == pytest.approx(ex.logit, abs=1e-12)
        grouped = ex.bias + sum(g.contribution for g in ex.ngrams)
        assert grouped == pytest.approx(ex.logit, abs=1e-12)
        assert len(ex.logits) == 3 and ex.logits[ex.target] == ex.logit == max(ex.logits)
        by_index = {f.filter: f for f in ex.filters}
        for g in ex.ngrams:
            assert all(by_index[f].start == g.window and by_index[f].width == g.width for f in g.filters)
            assert g.contribution == pytest.approx(sum(by_index[f].contribution for f in g.filters), abs=1e-12)
            assert all(by_index[f].activation > 0 for f in g.filters)
            n = lengths[b].item()
            assert 0 <= g.start and g.start < max(n, 1) and g.end <= max(n, 0)
            assert g.start == max(g.window, 0) and g.end == max(g.start, min(g.window + g.width, n))
            if padding == "valid":
                assert g.window >= 0 and (g.window + g.width <= n or g.window == 0)
            else:
                assert -g.width < g.window < max(n, 1)
        assert [g.contribution for g in ex.ngrams] == sorted((g.contribution for g in ex.ngrams), reverse=True)
        # every filter's pooled activation equals contribution / weight
        W = m.fc.weight.detach()[ex.target]
        for f in ex.filters:
            assert f.contribution == pytest.approx(f.activation * float(W[f.filter]), abs=1e-6)
            assert f.activation >= 0
        # every firing filter belongs to exactly one n-gram; silent ones contribute exactly 0
        grouped_filters = sorted(f for g in ex.ngrams for f in g.filters)
        assert grouped_filters == [f.filter for f in ex.filters if f.activation > 0]
        assert all(f.contribution == 0 for f in ex.filters if f.activation == 0)
    other = m.explain(ids, lengths, targets=[0] * len(SEQS))
    for b, ex in enumerate(other):
        assert ex.target == 0
        assert ex.bias + sum(f.contribution for f in ex.filters) == pytest.approx(float(logits[b, 0]), abs=1e-5)
    lean = m.explain(ids, lengths, per_filter=False)
    assert [e.ngrams for e in lean] == [e.ngrams for e in explanations] and all(e.filters == [] for e in lean)
    with pytest.raises(ValueError, match="one class per example"):
        m.explain(ids, lengths, targets=[0])


def test_explain_points_at_the_window_that_maximises_each_filter():
    m = tiny(seed=4)
    ids, lengths = pad_batch([[5, 6, 7, 8, 9, 10, 11]], pad_id=0)
    ex = m.explain(ids, lengths)[0]
    with torch.no_grad():
        x = m.embedding(ids).transpose(1, 2)
        maps = {k: conv(x) for k, conv in zip(m.config.filter_sizes, m.convs)}
    for f in ex.filters:
        assert f.width == m.config.filter_sizes[f.filter // m.config.num_filters]
        h = maps[f.width][0, f.filter % m.config.num_filters, : 7 - f.width + 1]
        assert f.start == int(h.argmax())
        assert f.activation == pytest.approx(max(0.0, float(h.max())), abs=1e-6)


def test_wide_windows_hang_over_the_edges_and_see_the_sentence_start():
    """Kim's wide convolution: k-1 zero vectors at each end, so a width-5 filter has 5 + 3 - 1 = 7 windows on
    a 3-token text and its score for "first word" differs from the same word mid-sentence."""
    m = tiny(seed=6, conv_padding="wide")
    ids, lengths = pad_batch([[5, 6, 7]], pad_id=0)
    ex = m.explain(ids, lengths)[0]
    with torch.no_grad():
        x = m.embedding(ids).transpose(1, 2)  # (1, E, 3)
        for f in ex.filters:
            k = f.width
            conv = m.convs[m.config.filter_sizes.index(k)]
            h = conv(torch.nn.functional.pad(x, (k - 1, k - 1)))[0, f.filter % m.config.num_filters]  # (3 + k - 1,)
            assert h.numel() == 3 + k - 1
            assert f.start == int(h.argmax()) - (k - 1)
            assert f.activation == pytest.approx(max(0.0, float(h.max())), abs=1e-6)
    assert any(f.start < 0 for f in ex.filters)  # some filters prefer the sentence start
    # the same tokens inside a longer text are read differently at the edges than in the middle
    first = m(*pad_batch([[5, 6, 7]], pad_id=0))
    inside = m(*pad_batch([[9, 5, 6, 7, 9]], pad_id=0))
    assert not torch.allclose(first, inside)
    summary_row = summary(m.config, seq_len=3)["layers"][3]
    assert summary_row["output_shape"] == "(B, 4, 9)"  # width 5 on 5 (padded) tokens: 5 + 2*4 - 5 + 1


@pytest.mark.parametrize("mode", ["rand", "static", "non-static", "multichannel"])
def test_summary_matches_hand_counts_and_the_model(mode):
    V, E, Fn, C, widths = 30, 6, 4, 3, (2, 3, 5)
    cfg = TextCNNConfig(vocab_size=V, embed_dim=E, num_classes=C, filter_sizes=widths, num_filters=Fn,
                        embedding_mode=mode)
    s = summary(cfg, seq_len=10)
    # by hand: 30*6 = 180 per table; convs 2*6*4+4 = 52, 3*6*4+4 = 76, 5*6*4+4 = 124; fc 12*3+3 = 39
    tables = 2 if mode == "multichannel" else 1
    hand_total = tables * 180 + 52 + 76 + 124 + 39
    hand_trainable = (0 if mode == "static" else 180) + 52 + 76 + 124 + 39
    model = TextCNN(cfg)
    assert s["total"] == hand_total == sum(p.numel() for p in model.parameters())
    assert s["trainable"] == hand_trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(r["parameters"] for r in s["layers"]) == s["total"]
    rows = {r["name"]: r for r in s["layers"]}
    assert rows["embedding"]["parameters"] == 180
    assert rows["embedding"]["input_shape"] == "(B, 10)" and rows["embedding"]["output_shape"] == "(B, 10, 6)"
    assert ("embedding_static" in rows) == (mode == "multichannel")
    conv5 = rows["convs.2 (width 5) + ReLU"]
    assert conv5["parameters"] == 124
    assert conv5["input_shape"] == "(B, 6, 10)" and conv5["output_shape"] == "(B, 4, 6)"
    assert rows["convs.0 (width 2) + ReLU"]["output_shape"] == "(B, 4, 9)"
    assert rows["max-over-time pool + concat"]["output_shape"] == "(B, 12)"
    assert rows["fc"]["parameters"] == 39 and rows["fc"]["output_shape"] == "(B, 3)"
    assert [r["name"] for r in s["layers"]][-2:] == ["dropout (p=0.5)", "fc"]
    # a text shorter than the widest filter is padded up to it
    short = summary(cfg, seq_len=2)
    assert short["seq_len"] == 5 and short["layers"][0]["output_shape"] == "(B, 5, 6)"
    text = format_summary(s)
    assert "convs.2 (width 5) + ReLU" in text and f"total parameters {hand_total:,}" in text


def test_summary_of_kims_trec_model_by_hand():
    """Kim's CNN on 50-d vectors: widths 3, 4, 5 with 100 maps each, 6 classes, a 10,000-word vocabulary."""
    cfg = TextCNNConfig(vocab_size=10_000, embed_dim=50, num_classes=6, num_filters=100, embedding_mode="non-static")
    s = summary(cfg)
    assert s["total"] == 500_000 + (15_100 + 20_100 + 25_100) + 1_806 == sum(p.numel() for p in TextCNN(cfg).parameters())


def test_static_channels_stay_frozen_while_the_rest_trains():
    m = tiny("multichannel", seed=5)
    m.train()
    static0 = m.embedding_static.weight.detach().clone()
    dyn0 = m.embedding.weight.detach().clone()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.5)
    ids, lengths = pad_batch(SEQS, pad_id=0)
    torch.nn.functional.cross_entropy(m(ids, lengths), torch.tensor([0, 1, 2, 0, 1])).backward()
    opt.step()
    assert torch.equal(m.embedding_static.weight, static0)
    assert not torch.equal(m.embedding.weight, dyn0)
    assert torch.count_nonzero(m.embedding.weight[0]) == 0  # padding row stays zero
    assert not tiny("static").embedding.weight.requires_grad


def test_load_pretrained_copies_found_rows_and_zeroes_padding():
    m = tiny("multichannel")
    vec = torch.randn(30, 6)
    found = torch.zeros(30, dtype=torch.bool)
    found[3:10] = True
    before = m.embedding.weight.detach().clone()
    m.load_pretrained(vec, found)
    assert torch.equal(m.embedding.weight[3:10], vec[3:10])
    assert torch.equal(m.embedding.weight[12:], before[12:])
    assert torch.equal(m.embedding_static.weight, m.embedding.weight)
    assert torch.count_nonzero(m.embedding.weight[0]) == 0


def _vocab(n, specials=(PAD, UNK)):
    return Vocab(list(specials) + [f"w{i}" for i in range(n - len(specials))])


def test_round_trip_keeps_every_non_default_setting(tmp_path):
    vocab = _vocab(30, specials=(UNK, PAD))  # pad id 1, not 0
    cfg = TextCNNConfig(vocab_size=30, embed_dim=5, num_classes=4, filter_sizes=(2, 6), num_filters=7,
                        dropout=0.3, embedding_mode="multichannel", padding_idx=1, max_norm=1.5, lower=False,
                        conv_padding="wide")
    torch.manual_seed(0)
    model = TextCNN(cfg).eval()
    labels = ["w", "x", "y", "z"]
    text_cnn.save(model, tmp_path / "a", vocab=vocab, labels=labels, metrics={"test": {"accuracy": 0.5}},
                  data_card={"name": "tiny", "source": "unit test"}, dtype=None)
    loaded, v2, l2, meta = text_cnn.load(tmp_path / "a")
    assert loaded.config == cfg
    for name in ("filter_sizes", "num_filters", "dropout", "embedding_mode", "padding_idx", "max_norm", "lower",
                 "conv_padding"):
        assert getattr(loaded.config, name) == getattr(cfg, name)
    assert v2.itos == vocab.itos and l2 == labels
    assert meta["metrics"]["test"]["accuracy"] == 0.5 and meta["data_card"]["name"] == "tiny"
    assert "tiny" in meta["model_card"]
    assert not loaded.training
    assert not loaded.embedding_static.weight.requires_grad
    ids, lengths = pad_batch(SEQS, pad_id=1)
    ids[ids >= 30] = 2
    assert torch.equal(loaded(ids, lengths), model(ids, lengths))
    # fp16 storage (the default) halves the file and stays close
    text_cnn.save(model, tmp_path / "b", vocab=vocab, labels=labels, metrics={}, data_card={})
    half, *_ = text_cnn.load(tmp_path / "b")
    # the embedding tables stay as stored (fp16: half the memory), the rest is fp32
    assert half.embedding.weight.dtype == half.embedding_static.weight.dtype == torch.float16
    assert half.fc.weight.dtype == torch.float32
    upcast, *_ = text_cnn.load(tmp_path / "b")
    upcast.embedding.float()
    upcast.embedding_static.float()
    assert torch.equal(half(ids, lengths), upcast(ids, lengths))  # keeping fp16 changes no value
    assert (tmp_path / "b" / "model.safetensors").stat().st_size < 0.6 * (tmp_path / "a" / "model.safetensors").stat().st_size
    assert torch.allclose(half(ids, lengths), model(ids, lengths), atol=2e-2)


def _saved(tmp_path):
    vocab = _vocab(30)
    model = tiny()
    folder = tmp_path / "art"
    text_cnn.save(model, folder, vocab=vocab, labels=["a", "b", "c"], metrics={}, data_card={})
    return folder


def test_load_rejects_a_vocabulary_of_the_wrong_size(tmp_path):
    folder = _saved(tmp_path)
    with open(folder / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra\n")
    with pytest.raises(ArtifactError, match="vocab.txt.*31 tokens.*vocab_size=30"):
        text_cnn.load(folder)


def test_load_rejects_a_label_count_that_does_not_match_the_head(tmp_path):
    folder = _saved(tmp_path)
    (folder / "labels.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(ArtifactError, match="labels.json.*2 labels.*num_classes=3"):
        text_cnn.load(folder)


def test_load_rejects_an_inconsistent_pad_id(tmp_path):
    folder = _saved(tmp_path)
    lines = (folder / "vocab.txt").read_text().split("\n")
    lines[0], lines[1] = lines[1], lines[0]
    (folder / "vocab.txt").write_text("\n".join(lines))
    with pytest.raises(ArtifactError, match="vocab.txt.*padding_idx=0"):
        text_cnn.load(folder)


def test_load_rejects_wrong_format_and_missing_weights(tmp_path):
    folder = _saved(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["format"] = "textcnn-v0"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError, match="config.json.*textcnn-v0"):
        text_cnn.load(folder)
    folder = _saved(tmp_path / "2")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="model.safetensors"):
        text_cnn.load(folder)


def test_load_rejects_non_finite_weights_and_a_live_padding_row(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _saved(tmp_path)
    weights = load_file(str(folder / "model.safetensors"))
    bad = dict(weights, **{"fc.bias": torch.tensor([0.0, float("nan"), 0.0], dtype=weights["fc.bias"].dtype)})
    save_file(bad, str(folder / "model.safetensors"))
    with pytest.raises(ArtifactError, match="model.safetensors: fc.bias holds NaN"):
        text_cnn.load(folder)
    emb = weights["embedding.weight"].clone()
    emb[0] = 1.0
    save_file(dict(weights, **{"embedding.weight": emb}), str(folder / "model.safetensors"))
    with pytest.raises(ArtifactError, match="padding row 0"):
        text_cnn.load(folder)


def test_save_refuses_mismatched_parts(tmp_path):
    with pytest.raises(ValueError, match="embedding rows"):
        text_cnn.save(tiny(), tmp_path / "x", vocab=_vocab(29), labels=["a", "b", "c"], metrics={}, data_card={})
    with pytest.raises(ValueError, match="labels"):
        text_cnn.save(tiny(), tmp_path / "x", vocab=_vocab(30), labels=["a"], metrics={}, data_card={})
    assert not (tmp_path / "x").exists()


def test_config_validation():
    with pytest.raises(ValueError, match="embedding_mode"):
        TextCNNConfig(embedding_mode="dynamic")
    with pytest.raises(ValueError, match="distinct"):
        TextCNNConfig(filter_sizes=(3, 3))
    with pytest.raises(ValueError, match="padding_idx"):
        TextCNNConfig(vocab_size=2, padding_idx=5)
    with pytest.raises(ValueError, match="conv_padding"):
        TextCNNConfig(conv_padding="same")
    with pytest.raises(ValueError, match="tokenizer"):
        TextCNNConfig(tokenizer="spacy")
    with pytest.raises(ValueError, match="contextual model needs"):
        TextCNNConfig(embedding_mode="contextual")
    with pytest.raises(ValueError, match="encoder_layers must be"):
        TextCNNConfig(embedding_mode="contextual", encoder="e", encoder_layers=(0, 7), encoder_num_layers=6)
    with pytest.raises(ValueError, match="encoder_layers is for"):
        TextCNNConfig(encoder_layers=(1,))


def _contextual(layers=(0, 2), **kw):
    cfg = TextCNNConfig(vocab_size=2, embed_dim=6, num_classes=3, filter_sizes=(1, 3), num_filters=4,
                        embedding_mode="contextual", encoder="tiny-bert", encoder_layers=layers, encoder_num_layers=2,
                        tokenizer="ptb", conv_padding="wide", **kw)
    torch.manual_seed(0)
    return TextCNN(cfg).eval()


def test_contextual_model_mixes_layers_and_ignores_padding():
    model = _contextual()
    x = torch.randn(3, 5, 2, 6)  # (B, T, K, E)
    lengths = torch.tensor([5, 2, 0])
    out = model(x, lengths)
    assert out.shape == (3, 3)
    noisy = x.clone()
    noisy[1, 2:] = 100.0  # padding positions never matter
    assert torch.allclose(model(noisy, lengths), out)
    assert model(x[1:2, :2], lengths[1:2]).allclose(out[1:2], atol=1e-6)  # shorter than the widest filter
    with torch.no_grad():
        model.layer_logits.copy_(torch.tensor([0.0, 50.0]))  # all weight on the second layer
    only_second = x.clone()
    only_second[:, :, 0] = torch.randn(3, 5, 6)
    assert torch.allclose(model(only_second, lengths), model(x, lengths), atol=1e-5)
    assert model.layer_weights() == pytest.approx([0.0, 1.0], abs=1e-6)
    ex = model.explain(x, lengths)[0]
    assert ex.bias + sum(g.contribution for g in ex.ngrams) == pytest.approx(ex.logit, abs=1e-9)
    with pytest.raises(ValueError, match="lengths or a mask"):
        model(x)
    with pytest.raises(ValueError, match="no embedding table"):
        model.load_pretrained(torch.zeros(2, 6))


def test_contextual_round_trip_and_summary(tmp_path):
    model = _contextual(layers=(2,), dropout=0.2)
    with torch.no_grad():
        model.layer_scale.fill_(0.7)
    vocab = Vocab([PAD, UNK])
    text_cnn.save(model, tmp_path / "c", vocab=vocab, labels=["a", "b", "c"], metrics={}, data_card={}, dtype=None)
    loaded, v2, labels, meta = text_cnn.load(tmp_path / "c")
    assert loaded.config == model.config
    assert (loaded.config.tokenizer, loaded.config.encoder, loaded.config.encoder_layers) == ("ptb", "tiny-bert", (2,))
    x = torch.randn(2, 4, 1, 6)
    lengths = torch.tensor([4, 3])
    assert torch.equal(loaded(x, lengths), model(x, lengths))
    table = summary(loaded.config, seq_len=4)
    assert table["layers"][0]["parameters"] == 0 and not table["layers"][0]["trainable"]
    assert "tiny-bert" in table["layers"][0]["name"]
    assert table["total"] == sum(p.numel() for p in loaded.parameters())


def test_a_config_saved_before_the_tokenizer_was_recorded_reads_words(tmp_path):
    folder = _saved(tmp_path)
    raw = json.loads((folder / "config.json").read_text())
    del raw["tokenizer"]
    (folder / "config.json").write_text(json.dumps(raw))
    model, *_ = text_cnn.load(folder)
    assert model.config.tokenizer == "words"
