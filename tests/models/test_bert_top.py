"""The classifier's own copy of an encoder's top layers: equal to Hugging Face's BertLayer, saved and
reloaded inside a TextCNN artifact with non-default settings."""

import pytest
import torch

from models import text_cnn
from models.bert_top import BertTopConfig, EncoderTop, load_bert_layers, parameter_count, words_from_pieces
from models.text_cnn import TextCNN, TextCNNConfig
from models.vocab import Vocab


@pytest.fixture(scope="module")
def tiny_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=24, max_position_embeddings=32, layer_norm_eps=1e-7)
    return BertModel(config).eval()


def test_the_copied_top_layers_reproduce_the_encoders_hidden_states_with_padding(tiny_bert):
    ids = torch.tensor([[2, 7, 9, 11, 3], [2, 5, 3, 0, 0]])  # the second row is padded
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        hidden = tiny_bert(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states  # 4 x (B, P, H)
        top = EncoderTop(BertTopConfig(2, 16, 4, 24, layer_norm_eps=1e-7)).eval()
        load_bert_layers(top, tiny_bert.state_dict(), first=1)  # layers 2 and 3 (0-based 1, 2)
        out = top(hidden[1], mask.bool())
    assert len(out) == 3 and torch.equal(out[0], hidden[1])
    for mine, theirs in zip(out[1:], hidden[2:]):
        real = mask.bool()
        assert torch.allclose(mine[real], theirs[real], atol=1e-5)
    assert parameter_count(top.config) == sum(p.numel() for p in top.parameters())


def test_padding_never_changes_a_texts_states(tiny_bert):
    torch.manual_seed(1)
    top = EncoderTop(BertTopConfig(1, 16, 4, 24)).eval()
    x = torch.randn(1, 4, 16)
    alone = top(x, torch.ones(1, 4, dtype=torch.bool))[-1]
    padded = top(torch.cat([x, torch.randn(1, 3, 16)], dim=1), torch.tensor([[True] * 4 + [False] * 3]))[-1]
    assert torch.allclose(alone, padded[:, :4], atol=1e-6)


def test_words_are_the_mean_of_their_wordpieces():
    hidden = [torch.arange(12.0).view(1, 3, 4), torch.ones(1, 3, 4)]  # K = 2, P = 3
    align = torch.tensor([[[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]])  # word 0 = pieces 1, 2; word 1 = piece 0
    w = words_from_pieces(hidden, align)  # (1, 2, 2, 4)
    assert w.shape == (1, 2, 2, 4)
    assert torch.equal(w[0, 0, 0], (hidden[0][0, 1] + hidden[0][0, 2]) / 2) and torch.equal(w[0, 1, 0], hidden[0][0, 0])


def _config(**kw):
    base = dict(vocab_size=2, embed_dim=16, num_classes=3, filter_sizes=(1, 3), num_filters=4, embedding_mode="contextual",
                encoder="tiny", encoder_layers=(2, 3), encoder_num_layers=3, encoder_top_layers=1, encoder_num_heads=4,
                encoder_intermediate_size=24, encoder_layer_norm_eps=1e-7, tokenizer="ptb", conv_padding="wide")
    base.update(kw)
    return TextCNNConfig(**base)


def test_config_checks_the_fine_tuned_top():
    assert _config().cut_layer == 2 and _config().shared_layers == (2,)
    assert _config(encoder_layers=(0, 1, 3)).shared_layers == (0, 1, 2)  # frozen lower states join the mix
    with pytest.raises(ValueError, match="1..3"):
        _config(encoder_top_layers=4, encoder_layers=(3,))
    with pytest.raises(ValueError, match="encoder_num_heads"):
        _config(encoder_num_heads=0)


def test_artifact_round_trip_keeps_the_top_layers(tmp_path):
    torch.manual_seed(3)
    model = TextCNN(_config()).eval()
    folder = tmp_path / "ft"
    text_cnn.save(model, folder, vocab=Vocab(["<pad>", "<unk>"]), labels=["a", "b", "c"], metrics={}, data_card={},
                  dtype=None)
    loaded, _, _, meta = text_cnn.load(folder)
    assert loaded.config == model.config and meta["config"]["encoder_top_layers"] == 1
    states, mask = torch.randn(2, 6, 16), torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    align = torch.zeros(2, 3, 6)
    align[:, 0, 1] = align[:, 1, 2] = 1.0
    align[:, 2, 3:5] = 0.5
    lengths = torch.tensor([3, 3])
    a = model(model.contextual_input(states, mask, align), lengths)
    b = loaded(loaded.contextual_input(states, mask, align), lengths)
    assert torch.equal(a, b)
    table = text_cnn.summary(loaded.config)
    assert table["total"] == sum(p.numel() for p in loaded.parameters())
    assert any("own fine-tuned copy" in row["name"] for row in table["layers"])


def test_frozen_lower_states_are_mixed_with_the_copied_layers_outputs():
    torch.manual_seed(5)
    model = TextCNN(_config(encoder_layers=(0, 2, 3))).eval()  # reads states 0 and 2, computes 3
    states, mask = torch.randn(1, 2, 4, 16), torch.ones(1, 4, dtype=torch.bool)
    align = torch.eye(4)[None, 1:3]  # words = pieces 1 and 2
    x = model.contextual_input(states, mask, align)  # (1, 2, 3, 16)
    top = model.encoder_top(states[:, 1], mask)
    assert torch.equal(x[0, :, 0], states[0, 0, 1:3]) and torch.equal(x[0, :, 1], states[0, 1, 1:3])
    assert torch.allclose(x[0, :, 2], top[1][0, 1:3])
    with pytest.raises(ValueError, match="layers"):
        model.contextual_input(states[:, :1], mask, align)
