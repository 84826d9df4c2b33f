"""The seq2seq artifact folder (format ``seq2seq-attn-v2``): config.json + model.safetensors +
tokenizer.json (the joint subword vocabulary, a ``tokenizers`` file) + metrics.json + data_card.json.

This module reads the tokenizer file only as JSON, to check it against the model at load time
(vocabulary size vs embedding rows, special-token ids); the tokenizer itself is built by
``pipelines/translate.py`` (serving) and written by ``training/seq2seq.py`` (training), so
``models/`` does not depend on ``tokenizers``. Tied weights (shared embeddings, tied output) are
stored once and re-linked on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import WEIGHTS_FILE, ArtifactError, load_config, load_weights, read_json, save_artifact
from models.seq2seq import Seq2Seq, Seq2SeqConfig

FORMAT = "seq2seq-attn-v2"
TOKENIZER_FILE = "tokenizer.json"
METRICS_FILE = "metrics.json"
DATA_CARD_FILE = "data_card.json"
SPECIAL_FIELDS = (("<pad>", "pad_id"), ("<unk>", "unk_id"), ("<bos>", "bos_id"), ("<eos>", "eos_id"))


def save(
    folder: str | Path, model: Seq2Seq, tokenizer_json: str, metrics: dict[str, Any], data_card: dict[str, Any],
    *, fp16: bool = True,
) -> Path:
    """Write the artifact atomically; tied tensors are saved under their first name only."""
    tied = model.tied_parameters()
    state = {k: v for k, v in model.state_dict().items() if k not in tied}
    return save_artifact(
        folder, config=model.config, state_dict=state, files={TOKENIZER_FILE: tokenizer_json},
        json_files={METRICS_FILE: metrics, DATA_CARD_FILE: data_card}, dtype=torch.float16 if fp16 else None,
    )


@dataclass
class LoadedModel:
    model: Seq2Seq
    config: Seq2SeqConfig
    tokenizer_json: str
    metrics: dict[str, Any]
    data_card: dict[str, Any]


def tokenizer_vocab(path: Path, text: str) -> dict[str, int]:
    """token -> id of a ``tokenizers`` JSON file (model vocabulary plus added tokens)."""
    try:
        obj = json.loads(text)
        vocab = dict(obj["model"]["vocab"])
        for t in obj.get("added_tokens") or []:
            vocab[t["content"]] = t["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a tokenizers JSON file with a model vocabulary ({exc})") from exc
    return vocab


def check_tokenizer(path: Path, text: str, config: Seq2SeqConfig) -> None:
    vocab = tokenizer_vocab(path, text)
    size = max(vocab.values(), default=-1) + 1
    if len(set(vocab.values())) != size:
        raise ArtifactError(f"{path}: ids are not 0..{size - 1} without gaps")
    for field in ("src_vocab_size", "tgt_vocab_size"):
        if getattr(config, field) != size:
            raise ArtifactError(f"{path}: has {size} tokens but config.json says {field}={getattr(config, field)}")
    for tok, field in SPECIAL_FIELDS:
        if vocab.get(tok) != getattr(config, field):
            raise ArtifactError(f"{path}: {tok} has id {vocab.get(tok)} but config.json says "
                                f"{field}={getattr(config, field)}")


def load(folder: str | Path) -> LoadedModel:
    """Rebuild the model from config.json, check it against tokenizer.json, load the weights (fp32)."""
    folder = Path(folder)
    config = load_config(folder, Seq2SeqConfig, expected_format=FORMAT)
    tok_path = folder / TOKENIZER_FILE
    if not tok_path.is_file():
        raise ArtifactError(f"{tok_path}: missing")
    tokenizer_json = tok_path.read_text(encoding="utf-8")
    check_tokenizer(tok_path, tokenizer_json, config)
    model = Seq2Seq(config)
    state = load_weights(folder)
    for alias, key in model.tied_parameters().items():
        if alias in state:
            raise ArtifactError(f"{folder / WEIGHTS_FILE}: {alias} is tied to {key} and must not be stored")
        if key in state:
            state[alias] = state[key]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactError(f"{folder / WEIGHTS_FILE}: does not match its config.json ({exc})") from exc
    rows = {"src_embed.weight": config.src_vocab_size, "tgt_embed.weight": config.tgt_vocab_size,
            "out.weight": config.tgt_vocab_size}
    for key, expected in rows.items():
        got = model.state_dict()[key].shape[0]
        if got != expected:
            raise ArtifactError(f"{folder / WEIGHTS_FILE}: {key} has {got} rows, expected {expected}")
    model.eval()
    return LoadedModel(model, config, tokenizer_json, read_json(folder / METRICS_FILE),
                       read_json(folder / DATA_CARD_FILE))
