"""Shared fixtures. The network is blocked: only loopback connections are allowed.

Unit tests build tiny artifacts in-process (a WordPiece vocabulary of a few dozen tokens, a
blank spaCy pipeline with an in-memory lookup table); a smaller set of tests runs the real
shipped models end to end.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # noqa: ANN001
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise OSError(f"tests may not reach the network: connection to {address!r} blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "kid", "##s", "play", "##ing", "##ed", "who", "was", "is", "a", "b", "c", "x", "y", "z",
    ".", ",", "?", "!", "'", "un", "##believ", "##able", "re", "##play", "bank", "river", "money",
]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from pipelines import WordPieceTokenizer

    return WordPieceTokenizer.from_vocab(TINY_VOCAB, name="tiny", version="test", model_max_length=32)


@pytest.fixture(scope="module")
def tiny_encoder(tiny_tokenizer):
    """A 2-layer BERT with random weights (seed 0) over the tiny vocabulary, not the shipped model."""
    import torch
    from transformers import BertConfig, BertModel

    from pipelines import ContextualEncoder

    torch.manual_seed(0)
    config = BertConfig(vocab_size=tiny_tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    return ContextualEncoder(BertModel(config), tiny_tokenizer, name="tiny-bert", version="test")


@pytest.fixture(scope="session")
def tiny_lemmatizer():
    """A blank English pipeline with a lookup table made here, not the shipped model."""
    import spacy
    from spacy.lookups import Lookups

    from pipelines import Lemmatizer

    nlp = spacy.blank("en")
    lookups = Lookups()
    lookups.add_table("lemma_lookup", {"mice": "mouse", "ran": "run", "geese": "goose", "were": "be"})
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize(lookups=lookups)
    nlp.add_pipe("sentencizer")
    return Lemmatizer(nlp, engine="lookup", model="tiny-lookup", version="test")


@pytest.fixture(scope="session")
def real_pipelines():
    """The shipped models: en_core_web_sm (rule), spacy-lookups-data (lookup), BERT uncased vocab."""
    from pipelines import load_pipelines
    from service.settings import Settings

    return load_pipelines(Settings(torch_threads=1).load_plan())  # tasks without an artifact are left out


@pytest.fixture(scope="session")
def real_encoder(real_pipelines):
    return real_pipelines.encoder


@pytest.fixture(scope="session")
def client():
    """The real app with the real shipped models, through real HTTP semantics (ASGI)."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings(load_in_background=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM a server started by a test, then SIGKILL it if it is not gone within ``grace`` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
