"""The ONNX Runtime encoder backend: real exports and real sessions (a tiny BERT made here, and the
shipped all-MiniLM-L6-v2), compared with PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines import ContextualEncoder, LayerChoice, ResourceError
from pipelines.embeddings import onnx_encoder
from pipelines.embeddings.onnx_encoder import OnnxRunner

SENTENCES = [
    "I deposited my salary at the bank this morning.",
    "We had a picnic on the grassy bank of the river.",
    "Who wrote Hamlet?",
    "How far is it from Denver to Aspen?",
    "a gorgeous, witty, seductive movie.",
    "The striped bats were hanging on their feet and ate best fishes.",
    "Tom wants to buy a new car, but he doesn't have enough money yet.",
    "It",
]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, tiny_encoder):
    """The tiny BERT (conftest) saved as a Hugging Face folder (config.json + model.safetensors)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    tiny_encoder.model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_pair(tiny_folder, tiny_tokenizer, tmp_path_factory):
    from transformers import BertModel

    model = BertModel.from_pretrained(tiny_folder)
    torch_enc = ContextualEncoder(model, tiny_tokenizer, name="tiny", version="test")
    path = onnx_encoder.build(tiny_folder, tmp_path_factory.mktemp("cache"))
    onnx_enc = ContextualEncoder(None, tiny_tokenizer, name="tiny", version="test", config=model.config,
                                 runner=OnnxRunner(path, threads=1))
    return torch_enc, onnx_enc, path


def test_tiny_export_gives_every_hidden_state_of_pytorch(tiny_pair):
    torch_enc, onnx_enc, _ = tiny_pair
    texts = ["the kids playing", "a", "who was playing the bank river money ?", "x y z a b c the kids were"]
    for a, b in zip(torch_enc.encode(texts), onnx_enc.encode(texts)):  # one padded batch, different lengths
        assert b.hidden.shape == a.hidden.shape == (3, a.encoded.length, 16)
        assert b.hidden.dtype == np.float32
        np.testing.assert_allclose(b.hidden, a.hidden, atol=1e-5)
        for pooling in ("mean", "cls"):
            np.testing.assert_allclose(onnx_enc.pool(b, LayerChoice(-1), pooling),
                                       torch_enc.pool(a, LayerChoice(-1), pooling), atol=1e-5)


def test_streams_run_groups_side_by_side_with_the_same_answers(tiny_pair, tiny_tokenizer, monkeypatch):
    import threading

    from pipelines.embeddings.contextual import _spread

    torch_enc, onnx_enc, path = tiny_pair
    two = ContextualEncoder(None, tiny_tokenizer, name="tiny", version="test", config=torch_enc.model.config,
                            runner=OnnxRunner(path, threads=1), streams=2, max_batch_tokens=16)
    assert two.streams == 2 and two.info()["streams"] == 2
    seen: set[str] = set()
    run = two._forward_group

    def spy(group):  # noqa: ANN001, ANN202
        seen.add(threading.current_thread().name)
        return run(group)

    monkeypatch.setattr(two, "_forward_group", spy)
    texts = ["the kids playing", "a", "who was playing the bank river money ?", "x y z a b c the kids were", "the"]
    for a, b in zip(onnx_enc.encode(texts), two.encode(texts)):
        np.testing.assert_allclose(b.hidden, a.hidden, atol=1e-6)
    assert seen and all(name.startswith("lexiflow-encoder") for name in seen)  # the streams' threads ran them
    seen.clear()
    (one,) = two.encode(["a lone sentence"])  # one sentence: no split, run on the caller's thread
    assert seen == {threading.current_thread().name} and one.hidden.shape[0] == 3
    # at least as many groups as streams when there are that many sequences; largest first
    assert _spread([[0, 1, 2, 3, 4]], 2) == [[2, 3, 4], [0, 1]]
    assert _spread([[0]], 2) == [[0]] and _spread([[0, 1, 2]], 4) == [[0], [1], [2]]
    assert ContextualEncoder(torch_enc.model, tiny_tokenizer, name="t", version="t", streams=2).streams == 1


def test_build_is_cached_deterministic_and_described(tiny_pair, tiny_folder, tmp_path):
    _, onnx_enc, path = tiny_pair
    manifest = json.loads((path.parent / "manifest.json").read_text())
    assert manifest["format"] == onnx_encoder.FORMAT and manifest["variant"] == "fp32"
    assert manifest["sha256"] == onnx_encoder._sha256(path)
    mtime = path.stat().st_mtime_ns
    assert onnx_encoder.build(tiny_folder, path.parent.parent.parent) == path  # reused, not rebuilt
    assert path.stat().st_mtime_ns == mtime
    again = onnx_encoder.build(tiny_folder, tmp_path)  # a fresh cache: the same bytes
    assert again != path and onnx_encoder._sha256(again) == manifest["sha256"]
    info = onnx_enc.info()
    assert info["backend"] == "onnxruntime" and info["onnx_sha256"] == manifest["sha256"]


def test_info_counts_the_same_parameters_as_pytorch(tiny_pair):
    torch_enc, onnx_enc, _ = tiny_pair
    assert onnx_enc.info()["parameters"] == torch_enc.info()["parameters"]
    assert (onnx_enc.num_layers, onnx_enc.hidden_size) == (torch_enc.num_layers, torch_enc.hidden_size)


def test_a_file_that_is_not_an_encoder_export_is_refused(tmp_path):
    with pytest.raises(ResourceError, match="no ONNX model"):
        OnnxRunner(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(ResourceError, match="cannot load"):
        OnnxRunner(tmp_path / "bad.onnx")


@pytest.mark.slow
def test_shipped_encoder_on_onnx_agrees_with_pytorch(real_encoder):
    """The service's default backend (ONNX) against PyTorch on the shipped model: every hidden state."""
    from pipelines.loading import ENCODER_NAME, default_encoder_path

    assert real_encoder.backend == "onnxruntime" and real_encoder.streams == 2  # the default settings
    torch_enc = ContextualEncoder.load(default_encoder_path(), name=ENCODER_NAME, tokenizer=real_encoder.tokenizer)
    for a, b in zip(torch_enc.encode(SENTENCES), real_encoder.encode(SENTENCES)):
        num = (a.hidden * b.hidden).sum(-1)
        cos = num / (np.linalg.norm(a.hidden, axis=-1) * np.linalg.norm(b.hidden, axis=-1))
        assert cos.min() > 0.9999, cos.min()
        np.testing.assert_allclose(b.hidden, a.hidden, atol=2e-3)
    assert real_encoder.info()["parameters"] == torch_enc.info()["parameters"]


@pytest.mark.slow
def test_the_shipped_encoder_export_is_reproducible(tmp_path):
    """Exporting the installed model again gives the bytes recorded in artifacts/encoder-onnx/build.json
    (with the pinned torch, transformers and onnx)."""
    from pipelines.loading import ARTIFACTS_DIR, default_encoder_path

    recorded = json.loads((ARTIFACTS_DIR / "encoder-onnx" / "build.json").read_text())
    path = onnx_encoder.build(default_encoder_path(), tmp_path)
    manifest = json.loads((path.parent / "manifest.json").read_text())
    if manifest["versions"] != recorded["versions"]:
        pytest.skip(f"other library versions than the recorded build: {manifest['versions']}")
    assert manifest["sha256"] == recorded["sha256"]


def test_memory_arena_is_off_by_default_and_changes_no_answer(tiny_pair, tiny_tokenizer):
    _, onnx_enc, path = tiny_pair
    assert onnx_enc.runner.session.get_session_options().enable_cpu_mem_arena is False
    assert onnx_enc.runner.info()["memory_arena"] is False
    arena = OnnxRunner(path, threads=1, arena=True)
    assert arena.session.get_session_options().enable_cpu_mem_arena is True
    with_arena = ContextualEncoder(None, tiny_tokenizer, name="tiny", version="test", config=onnx_enc.config,
                                   runner=arena)
    texts = ["the kids playing", "who was playing the bank river money ?"]
    for a, b in zip(onnx_enc.encode(texts), with_arena.encode(texts)):
        assert np.array_equal(a.hidden, b.hidden)


def test_the_arena_setting_reaches_the_runner():
    from service.settings import Settings

    assert Settings().load_plan().encoder_arena is False
    assert Settings(encoder_memory_arena=True).load_plan().encoder_arena is True
