"""The seq2seq artifact: its folder format (config + weights + vocabularies), loading with
cross-file checks, and the text side shared by training and serving (tokenisation, detokenisation,
padding). Training lives in ``training/seq2seq.py``; serving in ``pipelines/translate.py``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.checkpoint import ArtifactError, load_config, load_state_into, save_artifact
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import BOS, EOS, PAD, UNK, Vocab, tokenize

FORMAT = "seq2seq-attn-v1"
SRC_VOCAB_FILE = "src_vocab.txt"
TGT_VOCAB_FILE = "tgt_vocab.txt"
METRICS_FILE = "metrics.json"
DATA_CARD_FILE = "data_card.json"
SPECIALS = (PAD, UNK, BOS, EOS)


# -- tokenisation shared by training and serving --------------------------------------

_OPENING = {"¿", "¡", "(", "[", "«", "“"}


def source_tokens(text: str) -> list[str]:
    return tokenize(text, lower=True)


def target_tokens(text: str, keep_capital: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Cased tokens, the sentence-initial word lowercased unless it is in ``keep_capital``."""
    toks = tokenize(text, lower=False)
    for i, t in enumerate(toks):
        if t in _OPENING or not any(ch.isalpha() for ch in t):
            continue
        if t not in keep_capital:
            toks[i] = t.lower()
        break
    return toks


def capitalised_words(targets: Sequence[str]) -> set[str]:
    """Words that appear capitalised mid-sentence more often than lowercased (names)."""
    counts: Counter[str] = Counter()
    for text in targets:
        toks = tokenize(text, lower=False)
        counts.update(toks[1:])
    return {w for w, c in counts.items() if w[:1].isupper() and c > counts.get(w.lower(), 0)}


_NO_SPACE_BEFORE = re.compile(r"^[.,;:!?%)\]»”…]+$")
_NUMBER_JOIN = re.compile(r"(\d)([.,:]) (?=\d)")


def detokenize(tokens: Sequence[str], *, capitalize: bool = True) -> str:
    """Join target tokens the Spanish way: no space before closing punctuation, none after
    ¿ ¡ and other openers, straight double quotes attached inside their pair, "10 : 30" -> "10:30";
    the first letter is capitalised."""
    out = ""
    prev = None
    open_quote = False
    for tok in tokens:
        space = prev is not None and not _NO_SPACE_BEFORE.match(tok) and prev not in _OPENING
        if tok == '"':
            space = space and not open_quote      # a closing quote hugs the previous word
            open_quote = not open_quote
        elif prev == '"' and open_quote:
            space = False                         # the word after an opening quote hugs it
        if space:
            out += " "
        out += tok
        prev = tok
    out = _NUMBER_JOIN.sub(r"\1\2", out)
    if capitalize:
        for i, ch in enumerate(out):
            if ch.isalpha():
                out = out[:i] + ch.upper() + out[i + 1:]
                break
    return out


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.full((len(seqs), max(1, int(lengths.max()) if len(seqs) else 1)), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out, lengths


KEEP_CAPITAL_FILE = "keep_capital.txt"


def save(
    folder: str | Path, model: Seq2Seq, config: Seq2SeqConfig, src_vocab: Vocab, tgt_vocab: Vocab,
    keep_capital: set[str], metrics: dict[str, Any], data_card: dict[str, Any], *, fp16: bool = True,
) -> Path:
    return save_artifact(
        folder, config=config, state_dict=model.state_dict(),
        files={SRC_VOCAB_FILE: "\n".join(src_vocab.itos) + "\n", TGT_VOCAB_FILE: "\n".join(tgt_vocab.itos) + "\n",
               KEEP_CAPITAL_FILE: "".join(w + "\n" for w in sorted(keep_capital))},
        json_files={METRICS_FILE: metrics, DATA_CARD_FILE: data_card},
        dtype=torch.float16 if fp16 else None,
    )


@dataclass
class LoadedModel:
    model: Seq2Seq
    config: Seq2SeqConfig
    src_vocab: Vocab
    tgt_vocab: Vocab
    keep_capital: set[str]
    metrics: dict[str, Any]
    data_card: dict[str, Any]


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc


def load(folder: str | Path) -> LoadedModel:
    """Rebuild the model from config.json, check it against both vocabularies, load the weights (fp32)."""
    folder = Path(folder)
    config = load_config(folder, Seq2SeqConfig, expected_format=FORMAT)
    vocabs = []
    for name, size_field in ((SRC_VOCAB_FILE, "src_vocab_size"), (TGT_VOCAB_FILE, "tgt_vocab_size")):
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{path}: missing")
        try:
            vocab = Vocab.load(path)
        except ValueError as exc:
            raise ArtifactError(f"{path}: {exc}") from exc
        if len(vocab) != getattr(config, size_field):
            raise ArtifactError(f"{path}: has {len(vocab)} tokens but config.json says {size_field}="
                                f"{getattr(config, size_field)}")
        for tok, field in ((PAD, "pad_id"), (UNK, "unk_id"), (BOS, "bos_id"), (EOS, "eos_id")):
            if vocab.stoi.get(tok) != getattr(config, field):
                raise ArtifactError(f"{path}: {tok} has id {vocab.stoi.get(tok)} but config.json says "
                                    f"{field}={getattr(config, field)}")
        vocabs.append(vocab)
    model = Seq2Seq(config)
    load_state_into(model, folder)
    rows = {"src_embed.weight": config.src_vocab_size, "tgt_embed.weight": config.tgt_vocab_size,
            "out.weight": config.tgt_vocab_size}
    for key, expected in rows.items():
        got = model.state_dict()[key].shape[0]
        if got != expected:  # load_state_into already guards shapes; kept as an explicit invariant
            raise ArtifactError(f"{folder / 'model.safetensors'}: {key} has {got} rows, expected {expected}")
    model.eval()
    kc_path = folder / KEEP_CAPITAL_FILE
    keep = set(kc_path.read_text(encoding="utf-8").split()) if kc_path.is_file() else set()
    return LoadedModel(model, config, vocabs[0], vocabs[1], keep, read_json(folder / METRICS_FILE),
                       read_json(folder / DATA_CARD_FILE))
