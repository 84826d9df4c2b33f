"""Wordpiece states and word alignment for classifiers with their own fine-tuned encoder top.

Such a classifier (``TextCNNConfig.encoder_top_layers = k``) takes, from the shared
``ContextualEncoder`` (whatever backend it runs on), the hidden states of layer ``L - k`` for every
wordpiece of a text, runs its own copy of the top ``k`` layers on them, and only then forms words:
a word's vector is the mean of the wordpieces overlapping its characters, exactly as
``ContextualEncoder.word_features`` does for the frozen contextual CNN (same cut for long texts,
same [UNK] count). Training (``training.classifier_finetune``) and serving use these functions,
so the two read the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pipelines.embeddings.contextual import ContextualEncoder, Forward
from pipelines.wordpiece import Encoded

__all__ = ["PieceStates", "piece_alignment", "piece_states", "pad_pieces"]


@dataclass(frozen=True, slots=True)
class PieceStates:
    """One text: ``states`` (S, P, H), S hidden layers over all P positions ([CLS] and [SEP] included);
    ``align`` (n, P): each of the n words kept (a prefix of the words asked for; fewer when the
    encoder cut the text) as equal weights over the wordpieces overlapping it; ``unknown``: words
    overlapping an [UNK] wordpiece."""

    states: np.ndarray
    align: np.ndarray
    unknown: int = 0

    @property
    def num_words(self) -> int:
        return int(self.align.shape[0])


def piece_alignment(encoded: Encoded, words: Sequence[tuple[int, int]], unk_id: int) -> tuple[np.ndarray, int]:
    """(n, P) float32 word-from-wordpiece weights (rows sum to 1, or 0 for a word no wordpiece covers)
    and the number of words overlapping an [UNK] piece; the rules of ``word_features``."""
    P = encoded.length
    pieces = [i for i in range(P) if encoded.sequence_ids[i] == 0 and not encoded.special_tokens_mask[i]]
    if not pieces or not len(words):
        return np.zeros((0 if not pieces else len(words), P), np.float32), 0
    p_start = np.array([encoded.offsets[i][0] for i in pieces])  # (p,)
    p_end = np.array([encoded.offsets[i][1] for i in pieces])  # (p,)
    w = np.asarray(words, dtype=np.int64).reshape(-1, 2)  # (W, 2)
    if encoded.truncated:  # keep the words that start before the last wordpiece ends
        w = w[: int((w[:, 0] < p_end.max()).sum())]
    cover = (p_start[None, :] < w[:, 1:2]) & (p_end[None, :] > w[:, 0:1])  # (W, p)
    weights = cover / np.maximum(cover.sum(axis=1, keepdims=True), 1)  # (W, p)
    align = np.zeros((len(w), P), np.float32)
    align[:, pieces] = weights
    unk = np.array([encoded.input_ids[i] == unk_id for i in pieces])  # (p,)
    return align, int((cover & unk[None, :]).any(axis=1).sum())


def piece_states(encoder: ContextualEncoder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                 layers: Sequence[int], *, forward: Forward | None = None) -> list[PieceStates]:
    """Run the shared encoder once and keep hidden states ``layers`` (0 = embeddings) of every
    wordpiece, (S, P, H), with each text's word alignment. Texts longer than the model are cut
    (longest_first)."""
    layers = list(layers)
    if not layers or not all(0 <= j <= encoder.num_layers for j in layers):
        raise ValueError(f"layers must be in 0..{encoder.num_layers}, got {layers}")
    states = encoder.encode(texts, max_length=encoder.tokenizer.model_max_length, truncation="longest_first",
                            forward=forward)
    out = []
    for st, words in zip(states, spans):
        align, unknown = piece_alignment(st.encoded, words, encoder.tokenizer.unk_id)
        out.append(PieceStates(np.ascontiguousarray(st.hidden[layers], dtype=np.float32), align, unknown))
    return out


def pad_pieces(items: Sequence[PieceStates], min_words: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad a batch: states (B, S, P, H) float32, piece mask (B, P) bool, align (B, T, P) with
    T >= ``min_words``, and word counts (B,)."""
    B = len(items)
    S, _, H = (int(n) for n in items[0].states.shape)
    P = max(int(x.states.shape[1]) for x in items)
    lengths = torch.tensor([x.num_words for x in items], dtype=torch.long)
    T = max(min_words, int(lengths.max()) if B else 0)
    states = torch.zeros(B, S, P, H)  # (B, S, P, H)
    mask = torch.zeros(B, P, dtype=torch.bool)  # (B, P)
    align = torch.zeros(B, T, P)  # (B, T, P)
    for r, x in enumerate(items):
        p = x.states.shape[1]
        states[r, :, :p] = torch.as_tensor(np.asarray(x.states, dtype=np.float32))
        mask[r, :p] = True
        if x.num_words:
            align[r, : x.num_words, :p] = torch.as_tensor(np.asarray(x.align, dtype=np.float32))
    return states, mask, align, lengths
