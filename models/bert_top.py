"""The top transformer layers of a BERT encoder, as a classifier's own fine-tuned copy.

A contextual classifier that fine-tunes the top ``k`` of an encoder's ``L`` layers reads the
hidden states of layer ``L - k`` from the shared (frozen, shipped separately) encoder and runs its
own copy of layers ``L - k + 1 .. L`` on them:

    states (B, P, H) of layer L-k, piece mask (B, P)
    -> k x [self-attention (padding masked) + add & LayerNorm -> GELU MLP + add & LayerNorm]
    -> k + 1 hidden states [(B, P, H)]  (the input first)
    -> words: mean of the wordpieces over each word's characters, align (B, T, P)   -> (B, T, k+1, H)

The layer is Hugging Face's ``BertLayer`` (post-LayerNorm, exact GELU), written out here so that
the artifact depends on torch alone; parameter names match ``BertLayer``'s, so
``load_bert_layers`` copies weights from an ``encoder.layer.{i}.`` state dict as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BertTopConfig:
    num_layers: int  # k: the encoder layers this copy recomputes (the top ones)
    hidden_size: int
    num_heads: int
    intermediate_size: int
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1  # hidden and attention dropout while training (BERT's)

    def __post_init__(self) -> None:
        if self.num_layers < 1 or self.hidden_size < 1 or self.num_heads < 1 or self.intermediate_size < 1:
            raise ValueError("num_layers, hidden_size, num_heads and intermediate_size must be positive")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")


class _SelfAttention(nn.Module):
    def __init__(self, c: BertTopConfig) -> None:
        super().__init__()
        self.num_heads = c.num_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout_p = c.dropout

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, P, H = x.shape
        n, d = self.num_heads, H // self.num_heads

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, P, n, d).transpose(1, 2)  # (B, n, P, d)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        # keep (B, 1, 1, P): True = a real wordpiece; padding is never attended to
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1.0 / math.sqrt(d),
                                           dropout_p=self.dropout_p if self.training else 0.0)  # (B, n, P, d)
        return y.transpose(1, 2).reshape(B, P, H)  # (B, P, H)


class _Dense(nn.Module):
    """BERT's ``*Output``: dense, dropout, add the residual, LayerNorm."""

    def __init__(self, d_in: int, c: BertTopConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class _Attention(nn.Module):
    def __init__(self, c: BertTopConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Dense(c.hidden_size, c)


class _Intermediate(nn.Module):
    def __init__(self, c: BertTopConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class BertBlock(nn.Module):
    """One post-LayerNorm BERT layer (``BertLayer``'s parameter names)."""

    def __init__(self, c: BertTopConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _Dense(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        a = self.attention.output(self.attention.self(x, keep), x)  # (B, P, H)
        h = F.gelu(self.intermediate.dense(a))  # (B, P, I)
        return self.output(h, a)  # (B, P, H)


class EncoderTop(nn.Module):
    """The classifier's own copy of an encoder's top ``k`` layers."""

    def __init__(self, config: BertTopConfig) -> None:
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList(BertBlock(config) for _ in range(config.num_layers))

    def forward(self, states: torch.Tensor, piece_mask: torch.Tensor) -> list[torch.Tensor]:
        """``states`` (B, P, H): the encoder's hidden states of layer L-k, right-padded; ``piece_mask``
        (B, P), True for real wordpieces. Returns the k + 1 hidden states [(B, P, H)], input first."""
        keep = piece_mask.to(torch.bool)[:, None, None, :]  # (B, 1, 1, P)
        out = [states]
        x = states
        for block in self.layer:
            x = block(x, keep)  # (B, P, H)
            out.append(x)
        return out


def words_from_pieces(hidden: list[torch.Tensor], align: torch.Tensor) -> torch.Tensor:
    """Word vectors from wordpiece vectors: ``align`` (B, T, P) holds, for each word, equal weights
    summing to 1 over the wordpieces that overlap its characters (a zero row for padding words).
    [(B, P, H)] x K -> (B, T, K, H)."""
    stacked = torch.stack(hidden, dim=2)  # (B, P, K, H)
    return torch.einsum("btp,bpkh->btkh", align.to(stacked.dtype), stacked)  # (B, T, K, H)


def load_bert_layers(top: EncoderTop, state: Mapping[str, torch.Tensor], first: int, *,
                     prefix: str = "encoder.layer.") -> None:
    """Copy the encoder's layers ``first .. first + k - 1`` (0-based ``encoder.layer.{i}.`` keys of a
    ``BertModel`` state dict) into ``top``."""
    own = top.state_dict()
    wanted = {}
    for name in own:
        i, rest = name.split(".", 2)[1:]  # "layer.{j}.{rest}"
        key = f"{prefix}{first + int(i)}.{rest}"
        if key not in state:
            raise KeyError(f"the encoder's state dict has no {key!r}")
        if tuple(state[key].shape) != tuple(own[name].shape):
            raise ValueError(f"{key}: shape {tuple(state[key].shape)} != {tuple(own[name].shape)}")
        wanted[name] = state[key].detach().to(own[name].dtype)
    top.load_state_dict(wanted)


def parameter_count(config: BertTopConfig) -> int:
    H, I = config.hidden_size, config.intermediate_size
    per_layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H
    return per_layer * config.num_layers


__all__ = ["BertTopConfig", "BertBlock", "EncoderTop", "words_from_pieces", "load_bert_layers", "parameter_count"]
