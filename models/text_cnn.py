"""Kim (2014) convolutional n-gram sentence classifier: one model, one file.

    token ids (B, T) -> embeddings (B, T, E) -> Conv1d of each width k, ReLU   (B, F, T-k+1)
    -> max over time, padding masked out (B, F) per width -> concat (B, F*W) -> dropout -> linear (B, C)

Embedding modes (Kim's names): ``rand`` (random, trained), ``static`` (pretrained, frozen),
``non-static`` (pretrained, fine-tuned) and ``multichannel`` (a frozen and a fine-tuned copy of
the pretrained table; every filter is applied to both channels and the results are added).

Because the classifier is linear in the pooled features, each prediction decomposes exactly:
``logit_c = bias_c + sum_f pooled_f * W[c, f]``, and each pooled feature comes from one n-gram
(the argmax window). ``TextCNN.explain`` returns that decomposition.

Saved as a versioned artifact folder (``format: textcnn-v1``): config.json, model.safetensors,
vocab.txt, labels.json, metrics.json, data_card.json and a README.md model card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.checkpoint import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ArtifactError,
    load_config,
    load_state_into,
    read_json,
    save_artifact,
)
from models import text_cnn_card
from models.bert_top import BertTopConfig, EncoderTop, parameter_count, words_from_pieces
from models.vocab import TOKENIZERS, Vocab

FORMAT = "textcnn-v1"
EMBEDDING_MODES = ("rand", "static", "non-static", "multichannel", "contextual")
CONV_PADDINGS = ("valid", "wide")
VOCAB_FILE = "vocab.txt"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
DATA_CARD_FILE = "data_card.json"
MODEL_CARD_FILE = "README.md"


@dataclass
class TextCNNConfig:
    format: str = FORMAT
    vocab_size: int = 2
    embed_dim: int = 50
    num_classes: int = 2
    filter_sizes: tuple[int, ...] = (3, 4, 5)
    num_filters: int = 100  # feature maps per width
    dropout: float = 0.5  # on the pooled features, training only
    embedding_mode: str = "rand"
    padding_idx: int = 0  # id of <pad>: its embedding is zero and it never wins the max-pool
    max_norm: float | None = 3.0  # Kim's l2 constraint s on the output weight rows (applied by the trainer)
    lower: bool = True  # the tokenizer lower-cases text before lookup
    # "valid": windows lie inside the text; "wide" (Kim's code): k-1 zero vectors pad each end, so
    # windows may hang over the sentence boundaries and a filter can see "first word is What"
    conv_padding: str = "valid"
    # how text becomes tokens (models.vocab.TOKENIZERS); artifacts saved before this field read "words"
    tokenizer: str = "words"
    # "contextual": the input is each word's hidden states from a frozen encoder that ships separately
    # (never inside the artifact): (B, T, K, E) for the K hidden states ``encoder_layers`` (0 = the
    # encoder's embedding layer), mixed by a learned softmax over K times a learned scale (ELMo's
    # scalar mix; K = 1 is one fixed layer). The loader checks the encoder's name and sizes.
    encoder: str | None = None
    encoder_layers: tuple[int, ...] = ()
    encoder_num_layers: int = 0  # the encoder's transformer layers (it has encoder_num_layers + 1 hidden states)
    # k > 0: the artifact holds its own fine-tuned copy of the encoder's top k layers (models.bert_top)
    # and reads the shared encoder's wordpiece states of layer encoder_num_layers - k (and of any lower
    # layer among encoder_layers, frozen); encoder_layers above that come from its own copy
    encoder_top_layers: int = 0
    encoder_num_heads: int = 0
    encoder_intermediate_size: int = 0
    encoder_layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        self.encoder_layers = tuple(int(k) for k in self.encoder_layers)
        self.filter_sizes = tuple(int(k) for k in self.filter_sizes)
        if self.format != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {self.format!r}")
        if self.embedding_mode not in EMBEDDING_MODES:
            raise ValueError(f"embedding_mode must be one of {EMBEDDING_MODES}, got {self.embedding_mode!r}")
        if not self.filter_sizes or min(self.filter_sizes) < 1:
            raise ValueError(f"filter_sizes must be positive widths, got {self.filter_sizes}")
        if len(set(self.filter_sizes)) != len(self.filter_sizes):
            raise ValueError(f"filter_sizes must be distinct, got {self.filter_sizes}")
        if self.vocab_size < 1 or self.embed_dim < 1 or self.num_classes < 1 or self.num_filters < 1:
            raise ValueError("vocab_size, embed_dim, num_classes and num_filters must be positive")
        if not 0 <= self.padding_idx < self.vocab_size:
            raise ValueError(f"padding_idx {self.padding_idx} outside the vocabulary (size {self.vocab_size})")
        if self.conv_padding not in CONV_PADDINGS:
            raise ValueError(f"conv_padding must be one of {CONV_PADDINGS}, got {self.conv_padding!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {self.tokenizer!r}")
        if self.contextual:
            if not self.encoder or not self.encoder_layers or self.encoder_num_layers < 1:
                raise ValueError("a contextual model needs encoder, encoder_layers and encoder_num_layers")
            if len(set(self.encoder_layers)) != len(self.encoder_layers) or not all(
                    0 <= k <= self.encoder_num_layers for k in self.encoder_layers):
                raise ValueError(f"encoder_layers must be distinct hidden-state indices in 0..{self.encoder_num_layers}, "
                                 f"got {self.encoder_layers}")
        elif self.encoder_layers:
            raise ValueError(f"encoder_layers is for embedding_mode 'contextual', not {self.embedding_mode!r}")
        if self.encoder_top_layers:
            k, L = self.encoder_top_layers, self.encoder_num_layers
            if not self.contextual or not 1 <= k <= L:
                raise ValueError(f"encoder_top_layers needs a contextual model and 1..{L} layers, got {k}")
            if self.encoder_num_heads < 1 or self.encoder_intermediate_size < 1:
                raise ValueError("encoder_top_layers needs encoder_num_heads and encoder_intermediate_size")

    @property
    def contextual(self) -> bool:
        return self.embedding_mode == "contextual"

    @property
    def cut_layer(self) -> int:
        """The shared encoder's hidden state a fine-tuned top starts from (L - k)."""
        return self.encoder_num_layers - self.encoder_top_layers

    @property
    def shared_layers(self) -> tuple[int, ...]:
        """Fine-tuned top: the shared encoder's hidden states it reads (the frozen ones it mixes, then L - k)."""
        return tuple(sorted({j for j in self.encoder_layers if j < self.cut_layer} | {self.cut_layer}))

    def top_config(self) -> BertTopConfig | None:
        if not self.encoder_top_layers:
            return None
        return BertTopConfig(self.encoder_top_layers, self.embed_dim, self.encoder_num_heads,
                             self.encoder_intermediate_size, self.encoder_layer_norm_eps)

    @property
    def max_width(self) -> int:
        return max(self.filter_sizes)

    @property
    def num_features(self) -> int:
        return self.num_filters * len(self.filter_sizes)

    def edge_padding(self, width: int) -> int:
        """Zero vectors added at each end of the text before a convolution of this width."""
        return width - 1 if self.conv_padding == "wide" else 0


class TextCNN(nn.Module):
    def __init__(self, config: TextCNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = (None if c.contextual else
                          nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=c.padding_idx))
        # contextual: softmax-weighted mix of the K hidden states, times a scale
        self.layer_logits = nn.Parameter(torch.zeros(len(c.encoder_layers))) if c.contextual else None
        self.layer_scale = nn.Parameter(torch.ones(())) if c.contextual else None
        top = c.top_config()
        self.encoder_top = EncoderTop(top) if top is not None else None
        if c.embedding_mode == "static":
            self.embedding.weight.requires_grad_(False)
        # multichannel: a second, frozen copy of the table
        self.embedding_static = (
            nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=c.padding_idx)
            if c.embedding_mode == "multichannel" else None
        )
        if self.embedding_static is not None:
            self.embedding_static.weight.requires_grad_(False)
        self.convs = nn.ModuleList(nn.Conv1d(c.embed_dim, c.num_filters, kernel_size=k) for k in c.filter_sizes)
        self.dropout = nn.Dropout(c.dropout)
        self.fc = nn.Linear(c.num_features, c.num_classes)

    # ------------------------------------------------------------------ embeddings

    @torch.no_grad()
    def load_pretrained(self, vectors: torch.Tensor, found: torch.Tensor | None = None) -> None:
        """Copy a (V, E) table into the embedding(s); rows where ``found`` is False keep their
        random initialisation. The padding row is set to zero."""
        if self.embedding is None:
            raise ValueError("a contextual model has no embedding table")
        if tuple(vectors.shape) != (self.config.vocab_size, self.config.embed_dim):
            raise ValueError(f"vectors have shape {tuple(vectors.shape)}, expected "
                             f"({self.config.vocab_size}, {self.config.embed_dim})")
        tables = [self.embedding] + ([self.embedding_static] if self.embedding_static is not None else [])
        for emb in tables:
            if found is None:
                emb.weight.copy_(vectors)
            else:
                emb.weight[found] = vectors[found].to(emb.weight.dtype)
            emb.weight[self.config.padding_idx].zero_()
        if self.embedding_static is not None:
            self.embedding_static.weight.copy_(self.embedding.weight)

    def layer_weights(self) -> list[float]:
        """The contextual mix: softmax weight of each of ``encoder_layers`` (empty otherwise)."""
        if self.layer_logits is None:
            return []
        return torch.softmax(self.layer_logits.detach().float(), dim=0).tolist()

    def contextual_input(self, states: torch.Tensor, piece_mask: torch.Tensor, align: torch.Tensor) -> torch.Tensor:
        """A fine-tuned top's input to ``forward``/``explain``: the shared encoder's wordpiece states of
        ``config.shared_layers`` (B, S, P, H) (the last is layer ``cut_layer``; (B, P, H) when S = 1)
        with their mask (B, P) and the word alignment (B, T, P) -> word features (B, T, K, E) of
        ``encoder_layers``."""
        if self.encoder_top is None:
            raise ValueError("this model has no fine-tuned encoder layers")
        c = self.config
        states = states.to(self.fc.weight.dtype)
        if states.dim() == 3:
            states = states.unsqueeze(1)  # (B, 1, P, H)
        if states.size(1) != len(c.shared_layers):
            raise ValueError(f"expected the states of layers {c.shared_layers}, got {states.size(1)}")
        by_layer = {j: states[:, i] for i, j in enumerate(c.shared_layers)}  # frozen: (B, P, H) each
        top = self.encoder_top(by_layer[c.cut_layer], piece_mask)  # k+1 x (B, P, H): layers cut..L
        by_layer.update({c.cut_layer + i: h for i, h in enumerate(top)})
        return words_from_pieces([by_layer[j] for j in c.encoder_layers], align)  # (B, T, K, E)

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.embedding is None:  # contextual: input_ids are the features (B, T, K, E)
            w = torch.softmax(self.layer_logits, dim=0)  # (K,)
            return self.layer_scale * torch.einsum("btke,k->bte", input_ids.to(w.dtype), w)  # (B, T, E)
        dtype = self.fc.weight.dtype  # a served table may be kept in fp16 (``load``): rows are cast on lookup
        x = self.embedding(input_ids).to(dtype)  # (B, T, E)
        if self.embedding_static is not None:
            # Kim: each filter is applied to both channels and the results are added. Convolution is
            # linear, so conv(a) + conv(b) - bias == conv(a + b): convolve the sum, with the bias once.
            x = x + self.embedding_static(input_ids).to(dtype)  # (B, T, E)
        return x

    # ------------------------------------------------------------------ forward

    def _valid_mask(self, input_ids: torch.Tensor, lengths: torch.Tensor | None,
                    mask: torch.Tensor | None) -> torch.Tensor:
        if mask is not None:
            return mask.to(torch.bool)
        if lengths is not None:
            T = input_ids.size(1)
            return torch.arange(T, device=input_ids.device)[None, :] < lengths.to(input_ids.device)[:, None]
        if self.config.contextual:
            raise ValueError("a contextual model needs lengths or a mask")
        return input_ids != self.config.padding_idx

    def _features(
        self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Pooled features (B, F*W), the start token of each filter's winning window per width
        [(B, F)] (negative when a wide window hangs over the start), and lengths (B,)."""
        valid = self._valid_mask(input_ids, lengths, mask)  # (B, T)
        n_tokens = valid.sum(dim=1)  # (B,)
        T = input_ids.size(1)
        if T < self.config.max_width:  # shorter than the widest filter: pad so every width has a window
            pad = self.config.max_width - T
            if self.config.contextual:  # features (B, T, K, E)
                input_ids = F.pad(input_ids, (0, 0, 0, 0, 0, pad))
            else:
                input_ids = F.pad(input_ids, (0, pad), value=self.config.padding_idx)
            valid = F.pad(valid, (0, pad), value=False)
        # zero the padding positions explicitly (a mask may mark real ids as padding)
        x = self._embed(input_ids) * valid.unsqueeze(-1).to(self.fc.weight.dtype)  # (B, T, E)
        x = x.transpose(1, 2)  # (B, E, T)
        pooled, starts = [], []
        for k, conv in zip(self.config.filter_sizes, self.convs):
            p = self.config.edge_padding(k)
            h = conv(F.pad(x, (p, p)) if p else x)  # (B, F, T+2p-k+1): h[:, :, j] sees tokens j-p .. j-p+k-1
            # windows that hold at least one token (wide) or lie inside the text (valid);
            # a text shorter than k (or empty) keeps window 0
            n_windows = torch.clamp(n_tokens + (k - 1 if p else 1 - k), min=1)  # (B,)
            positions = torch.arange(h.size(2), device=h.device)  # (T+2p-k+1,)
            ok = positions[None, :] < n_windows[:, None]  # (B, T+2p-k+1)
            h = h.masked_fill(~ok.unsqueeze(1), float("-inf"))  # pads never win the max
            best, arg = h.max(dim=2)  # (B, F), (B, F)
            pooled.append(F.relu(best))  # ReLU then max == max then ReLU (monotone)
            starts.append(arg - p)
        return torch.cat(pooled, dim=1), starts, n_tokens  # (B, F*W)

    def forward(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``input_ids`` (B, T) right-padded (contextual: features (B, T, K, E)); ``lengths`` (B,) or
        ``mask`` (B, T) (True = token). Without either, positions equal to ``padding_idx`` are padding
        (contextual models need one of them). Returns logits (B, C)."""
        z, _, _ = self._features(input_ids, lengths, mask)  # (B, F*W)
        z = self.dropout(z)  # (B, F*W)
        return self.fc(z)  # (B, C)

    # ------------------------------------------------------------------ explanation

    @torch.no_grad()
    def explain(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        *,
        targets: Sequence[int] | None = None,
        per_filter: bool = True,
    ) -> list[Explanation]:
        """The exact decomposition of one class logit per example (the predicted one by default).

        Dropout is skipped (as in eval mode). The output layer is recomputed in float64 from the
        pooled features, so ``logit_c = bias_c + sum_f pooled_f * W[c, f]`` holds to float64
        rounding; ``logits`` (every class, float64) are the ones to take the softmax of.
        ``ngrams`` groups the firing filters (pooled activation > 0) whose winning windows share a
        start and width (they read the same n-gram), largest total contribution first; filters that
        do not fire contribute exactly 0. With ``per_filter`` each explanation also lists every
        filter's width, winning start, pooled activation and contribution (``filters``).
        """
        z, starts, n_tokens = self._features(input_ids, lengths, mask)  # (B, F*W)
        z64 = z.to(torch.float64)
        W = self.fc.weight.to(torch.float64)  # (C, F*W)
        bias = self.fc.bias.to(torch.float64)  # (C,)
        logits = z64 @ W.T + bias  # (B, C)
        if targets is None:
            target_t = logits.argmax(dim=1)  # (B,)
        else:
            target_t = torch.as_tensor(list(targets), dtype=torch.long, device=logits.device)
            if target_t.shape != (input_ids.size(0),):
                raise ValueError(f"targets must give one class per example ({input_ids.size(0)})")
        contrib = z64 * W[target_t]  # (B, F*W)
        start_all = torch.cat(starts, dim=1)  # (B, F*W)
        widths = torch.tensor([k for k in self.config.filter_sizes for _ in range(self.config.num_filters)],
                              device=z.device)  # (F*W,)
        offset = self.config.max_width  # starts of wide windows go down to -(k-1)
        key = (start_all + offset) * (self.config.max_width + 1) + widths  # (B, F*W): one key per (start, width)
        out = []
        for b in range(input_ids.size(0)):
            c = int(target_t[b])
            n = int(n_tokens[b])
            firing = torch.nonzero(z[b] > 0).squeeze(1)  # (n_firing,)
            ngrams = []
            if firing.numel():
                uniq, inverse = torch.unique(key[b, firing], return_inverse=True)
                totals = torch.zeros(uniq.numel(), dtype=torch.float64).index_add_(0, inverse, contrib[b, firing])
                members: list[list[int]] = [[] for _ in range(uniq.numel())]
                for f, g in zip(firing.tolist(), inverse.tolist()):
                    members[g].append(f)
                for g, fs in enumerate(members):
                    window, width = int(start_all[b, fs[0]]), int(widths[fs[0]])
                    start = max(window, 0)
                    ngrams.append(NgramEvidence(start=start, width=width, end=max(start, min(window + width, n)),
                                                contribution=float(totals[g]), filters=tuple(fs), window=window))
                ngrams.sort(key=lambda e: (-e.contribution, e.start, e.width))
            filters = []
            if per_filter:
                filters = [FilterEvidence(filter=f, width=w, start=s, activation=a, contribution=ct)
                           for f, (w, s, a, ct) in enumerate(zip(widths.tolist(), start_all[b].tolist(),
                                                                 z64[b].tolist(), contrib[b].tolist()))]
            out.append(Explanation(target=c, logit=float(logits[b, c]), bias=float(bias[c]), filters=filters,
                                   ngrams=ngrams, logits=tuple(logits[b].tolist()), num_tokens=n))
        return out


@dataclass(frozen=True)
class FilterEvidence:
    filter: int  # index into the pooled feature vector
    width: int
    start: int  # token index where its winning window starts (negative: hangs over the text's start)
    activation: float  # the max-pooled ReLU activation
    contribution: float  # activation * W[target, filter]


@dataclass(frozen=True)
class NgramEvidence:
    start: int  # first real token covered
    width: int  # filter width
    end: int  # one past the last real token covered (fewer than ``width`` tokens at the text's edges)
    contribution: float  # sum of the contributions of ``filters``
    filters: tuple[int, ...]
    window: int = 0  # where the window starts; negative when a wide window hangs over the text's start


@dataclass(frozen=True)
class Explanation:
    target: int
    logit: float
    bias: float
    filters: list[FilterEvidence]
    ngrams: list[NgramEvidence]
    logits: tuple[float, ...] = ()  # every class's logit, for probabilities
    num_tokens: int = 0


# ---------------------------------------------------------------------- batching helper


# ---------------------------------------------------------------------- summary


@dataclass(frozen=True)
class LayerRow:
    name: str
    input_shape: str
    output_shape: str
    parameters: int
    trainable: bool


def summary(config: TextCNNConfig, *, seq_len: int = 32) -> dict[str, Any]:
    """The layer table, computed from the config alone, for a batch of B texts of ``seq_len`` tokens
    (at least the widest filter: shorter texts are padded up to it).

    Returns ``{"layers": [{name, input_shape, output_shape, parameters, trainable}], "total": int,
    "trainable": int, "seq_len": T}``. Counts: embedding V*E (twice for multichannel, the second
    copy frozen), each convolution k*E*F + F, the output layer (F*W)*C + C.
    """
    c = config
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    T = max(seq_len, c.max_width)
    V, E, Fn, C = c.vocab_size, c.embed_dim, c.num_filters, c.num_classes
    if c.contextual and c.encoder_top_layers:
        K, top, P = len(c.encoder_layers), c.top_config(), "P"
        S = len(c.shared_layers)
        rows = [LayerRow(f"encoder {c.encoder} hidden state{'s' if S > 1 else ''} "
                         f"{', '.join(map(str, c.shared_layers))}, wordpieces (frozen, shipped separately)",
                         f"(B, {P}) wordpieces", f"(B, {S}, {P}, {E})" if S > 1 else f"(B, {P}, {E})", 0, False),
                LayerRow(f"encoder layers {c.cut_layer + 1}-{c.encoder_num_layers} (own fine-tuned copy, "
                         f"{c.encoder_num_heads} heads, MLP {c.encoder_intermediate_size})", f"(B, {P}, {E})",
                         f"{c.encoder_top_layers + 1} x (B, {P}, {E})", parameter_count(top), True),
                LayerRow(f"words = mean of their wordpieces, states {list(c.encoder_layers)}",
                         f"{c.encoder_top_layers + 1} x (B, {P}, {E})", f"(B, {T}, {K}, {E})", 0, False),
                LayerRow(f"layer mix (softmax over {K} + scale)", f"(B, {T}, {K}, {E})", f"(B, {T}, {E})", K + 1, True)]
    elif c.contextual:
        K = len(c.encoder_layers)
        rows = [LayerRow(f"encoder {c.encoder} hidden states {list(c.encoder_layers)}, word = mean of its "
                         "wordpieces (frozen, shipped separately)", f"(B, {T}) words", f"(B, {T}, {K}, {E})", 0, False),
                LayerRow(f"layer mix (softmax over {K} + scale)", f"(B, {T}, {K}, {E})", f"(B, {T}, {E})", K + 1, True)]
    else:
        rows = [LayerRow("embedding", f"(B, {T})", f"(B, {T}, {E})", V * E, c.embedding_mode != "static")]
    if c.embedding_mode == "multichannel":
        rows.append(LayerRow("embedding_static", f"(B, {T})", f"(B, {T}, {E})", V * E, False))
    out_len = {k: T + 2 * c.edge_padding(k) - k + 1 for k in c.filter_sizes}
    for i, k in enumerate(c.filter_sizes):
        rows.append(LayerRow(f"convs.{i} (width {k}) + ReLU", f"(B, {E}, {T})", f"(B, {Fn}, {out_len[k]})",
                             k * E * Fn + Fn, True))
    rows.append(LayerRow("max-over-time pool + concat", " + ".join(f"(B, {Fn}, {out_len[k]})" for k in c.filter_sizes),
                         f"(B, {c.num_features})", 0, False))
    rows.append(LayerRow(f"dropout (p={c.dropout})", f"(B, {c.num_features})", f"(B, {c.num_features})", 0, False))
    rows.append(LayerRow("fc", f"(B, {c.num_features})", f"(B, {C})", c.num_features * C + C, True))
    return {
        "layers": [asdict(r) for r in rows],
        "total": sum(r.parameters for r in rows),
        "trainable": sum(r.parameters for r in rows if r.trainable),
        "seq_len": T,
    }


def format_summary(table: Mapping[str, Any]) -> str:
    """``summary``'s dict as a fixed-width text table (the CLI prints it)."""
    head = ("layer", "input", "output", "parameters")
    rows = [(r["name"], r["input_shape"], r["output_shape"],
             f"{r['parameters']:,}" + ("" if r["trainable"] or not r["parameters"] else " (frozen)"))
            for r in table["layers"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + f"  {{:>{widths[-1]}}}"
    out = [line.format(*head), "  ".join("-" * w for w in widths)]
    out += [line.format(*r) for r in rows]
    out.append(f"total parameters {table['total']:,}, trainable {table['trainable']:,}")
    return "\n".join(out)


# ---------------------------------------------------------------------- save / load


def save(
    model: TextCNN,
    folder: str | Path,
    *,
    vocab: Vocab,
    labels: Sequence[str],
    metrics: Mapping[str, Any],
    data_card: Mapping[str, Any],
    model_card: str | None = None,
    dtype: torch.dtype | None = torch.float16,
) -> Path:
    """Write the artifact folder atomically; weights in fp16 by default (the loader casts to fp32)."""
    cfg = model.config
    if len(vocab) != cfg.vocab_size:
        raise ValueError(f"vocabulary has {len(vocab)} tokens, the model {cfg.vocab_size} embedding rows")
    if len(labels) != cfg.num_classes:
        raise ValueError(f"{len(labels)} labels for a model with {cfg.num_classes} outputs")
    if vocab.pad_id != cfg.padding_idx:
        raise ValueError(f"vocabulary pad id {vocab.pad_id} != config padding_idx {cfg.padding_idx}")
    vocab_text = "\n".join(vocab.itos) + "\n"
    if any("\n" in t or "\r" in t for t in vocab.itos):
        raise ValueError("a vocabulary token contains a line break")
    card = model_card if model_card is not None else render_model_card(cfg, labels, metrics, data_card)
    return save_artifact(
        folder,
        config=cfg,
        state_dict=model.state_dict(),
        files={VOCAB_FILE: vocab_text, MODEL_CARD_FILE: card},
        json_files={LABELS_FILE: list(labels), METRICS_FILE: dict(metrics), DATA_CARD_FILE: dict(data_card)},
        dtype=dtype,
    )


def _stored_dtype(path: Path, name: str) -> torch.dtype | None:
    """torch.float16 when the tensor ``name`` is stored in fp16 in the safetensors file, else None."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        if name not in f.keys():
            return None
        return torch.float16 if f.get_slice(name).get_dtype() == "F16" else None


def load(folder: str | Path) -> tuple[TextCNN, Vocab, list[str], dict[str, Any]]:
    """Rebuild the model from config.json, load its weights (as fp32; an embedding table stored in fp16
    stays fp16, its rows cast on lookup) and check that the vocabulary,
    labels and padding id agree with it. Returns (model in eval mode, vocab, labels, meta) where meta
    holds ``config``, ``metrics``, ``data_card`` and ``model_card`` (README text or None)."""
    folder = Path(folder)
    config = load_config(folder, TextCNNConfig, expected_format=FORMAT)

    vocab_path = folder / VOCAB_FILE
    if not vocab_path.is_file():
        raise ArtifactError(f"{vocab_path}: missing")
    try:
        vocab = Vocab.load(vocab_path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{vocab_path}: {exc}") from exc
    if len(vocab) != config.vocab_size:
        raise ArtifactError(f"{vocab_path}: {len(vocab)} tokens but {folder / CONFIG_FILE} says "
                            f"vocab_size={config.vocab_size} embedding rows")
    if vocab.pad_id != config.padding_idx:
        raise ArtifactError(f"{vocab_path}: pad token {vocab.pad_token!r} has id {vocab.pad_id} but "
                            f"{folder / CONFIG_FILE} says padding_idx={config.padding_idx}")

    labels_path = folder / LABELS_FILE
    labels = read_json(labels_path, required=True)
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ArtifactError(f"{labels_path}: expected a JSON list of label strings")
    if len(labels) != config.num_classes:
        raise ArtifactError(f"{labels_path}: {len(labels)} labels but {folder / CONFIG_FILE} says "
                            f"num_classes={config.num_classes} outputs")
    if len(set(labels)) != len(labels):
        raise ArtifactError(f"{labels_path}: duplicate labels")

    model = TextCNN(config)
    load_state_into(model, folder)
    for pname, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ArtifactError(f"{folder / WEIGHTS_FILE}: {pname} holds NaN or infinite values")
    tables = [t for t in (model.embedding, model.embedding_static) if t is not None]
    for emb in tables:
        if not torch.all(emb.weight[config.padding_idx] == 0):
            raise ArtifactError(f"{folder / WEIGHTS_FILE}: the padding row {config.padding_idx} of the embedding "
                                "is not zero")
    if _stored_dtype(folder / WEIGHTS_FILE, "embedding.weight") == torch.float16:
        for emb in tables:  # stored in fp16: keeping it so halves its memory and changes no value
            emb.to(torch.float16)
    model.eval()
    metrics = read_json(folder / METRICS_FILE) if (folder / METRICS_FILE).exists() else {}
    data_card = read_json(folder / DATA_CARD_FILE) if (folder / DATA_CARD_FILE).exists() else {}
    for path, obj in ((folder / METRICS_FILE, metrics), (folder / DATA_CARD_FILE, data_card)):
        if not isinstance(obj, dict):
            raise ArtifactError(f"{path}: expected a JSON object")
    card_path = folder / MODEL_CARD_FILE
    meta = {
        "config": asdict(config),
        "metrics": metrics,
        "data_card": data_card,
        "model_card": card_path.read_text(encoding="utf-8") if card_path.is_file() else None,
    }
    return model, vocab, list(labels), meta


def render_model_card(config: TextCNNConfig, labels: Sequence[str], metrics: Mapping[str, Any],
                      data_card: Mapping[str, Any]) -> str:
    """A short Markdown model card from the config, metrics and data card."""
    return text_cnn_card.render(config, labels, metrics, data_card, parameters=summary(config)["total"])


__all__ = [
    "FORMAT",
    "EMBEDDING_MODES",
    "TextCNNConfig",
    "TextCNN",
    "FilterEvidence",
    "NgramEvidence",
    "Explanation",
    "LayerRow",
    "summary",
    "format_summary",
    "save",
    "load",
    "render_model_card",
]
