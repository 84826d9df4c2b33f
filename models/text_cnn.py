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

import json
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
    config_from_dict,
    load_state_into,
    read_config,
    save_artifact,
)
from models.vocab import Vocab

FORMAT = "textcnn-v1"
EMBEDDING_MODES = ("rand", "static", "non-static", "multichannel")
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

    def __post_init__(self) -> None:
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
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def max_width(self) -> int:
        return max(self.filter_sizes)

    @property
    def num_features(self) -> int:
        return self.num_filters * len(self.filter_sizes)


class TextCNN(nn.Module):
    def __init__(self, config: TextCNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=c.padding_idx)
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

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(input_ids)  # (B, T, E)
        if self.embedding_static is not None:
            # Kim: each filter is applied to both channels and the results are added. Convolution is
            # linear, so conv(a) + conv(b) - bias == conv(a + b): convolve the sum, with the bias once.
            x = x + self.embedding_static(input_ids)  # (B, T, E)
        return x

    # ------------------------------------------------------------------ forward

    def _valid_mask(self, input_ids: torch.Tensor, lengths: torch.Tensor | None,
                    mask: torch.Tensor | None) -> torch.Tensor:
        if mask is not None:
            return mask.to(torch.bool)
        if lengths is not None:
            T = input_ids.size(1)
            return torch.arange(T, device=input_ids.device)[None, :] < lengths.to(input_ids.device)[:, None]
        return input_ids != self.config.padding_idx

    def _features(
        self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Pooled features (B, F*W), the argmax window start per width [(B, F)], and lengths (B,)."""
        valid = self._valid_mask(input_ids, lengths, mask)  # (B, T)
        n_tokens = valid.sum(dim=1)  # (B,)
        T = input_ids.size(1)
        if T < self.config.max_width:  # shorter than the widest filter: pad so every width has a window
            pad = self.config.max_width - T
            input_ids = F.pad(input_ids, (0, pad), value=self.config.padding_idx)
            valid = F.pad(valid, (0, pad), value=False)
        # zero the padding positions explicitly (a mask may mark real ids as padding)
        x = self._embed(input_ids) * valid.unsqueeze(-1).to(self.embedding.weight.dtype)  # (B, T, E)
        x = x.transpose(1, 2)  # (B, E, T)
        pooled, starts = [], []
        for k, conv in zip(self.config.filter_sizes, self.convs):
            h = conv(x)  # (B, F, T-k+1): h[:, :, t] sees tokens t .. t+k-1
            # windows that start inside the text and end inside it; texts shorter than k keep window 0
            n_windows = torch.clamp(n_tokens - k + 1, min=1)  # (B,)
            positions = torch.arange(h.size(2), device=h.device)  # (T-k+1,)
            ok = positions[None, :] < n_windows[:, None]  # (B, T-k+1)
            h = h.masked_fill(~ok.unsqueeze(1), float("-inf"))  # pads never win the max
            best, arg = h.max(dim=2)  # (B, F), (B, F)
            pooled.append(F.relu(best))  # ReLU then max == max then ReLU (monotone)
            starts.append(arg)
        return torch.cat(pooled, dim=1), starts, n_tokens  # (B, F*W)

    def forward(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``input_ids`` (B, T) right-padded; ``lengths`` (B,) or ``mask`` (B, T) (True = token).
        Without either, positions equal to ``padding_idx`` are padding. Returns logits (B, C)."""
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
    ) -> list[Explanation]:
        """The exact decomposition of one class logit per example (the predicted one by default).

        Dropout is skipped (as in eval mode). For every filter f: its width, the token index where
        its max-pooled window starts, the pooled activation and ``contribution = pooled * W[c, f]``.
        Filters whose windows share a start and width read the same n-gram; ``ngrams`` groups them,
        sorted by contribution, largest first. ``bias + sum(contributions) == logit``.
        Each explanation also carries all class ``logits`` so one call serves prediction too.
        """
        z, starts, n_tokens = self._features(input_ids, lengths, mask)  # (B, F*W)
        logits = self.fc(z)  # (B, C)
        if targets is None:
            target_t = logits.argmax(dim=1)  # (B,)
        else:
            target_t = torch.as_tensor(list(targets), dtype=torch.long, device=logits.device)
        W = self.fc.weight[target_t]  # (B, F*W)
        contrib = z * W  # (B, F*W)
        start_all = torch.cat(starts, dim=1)  # (B, F*W)
        widths = torch.tensor([k for k in self.config.filter_sizes for _ in range(self.config.num_filters)])
        out = []
        for b in range(input_ids.size(0)):
            c = int(target_t[b])
            filters = []
            groups: dict[tuple[int, int], list[int]] = {}
            for f in range(z.size(1)):
                ev = FilterEvidence(filter=f, width=int(widths[f]), start=int(start_all[b, f]),
                                    activation=float(z[b, f]), contribution=float(contrib[b, f]))
                filters.append(ev)
                if ev.activation > 0.0:
                    groups.setdefault((ev.start, ev.width), []).append(f)
            ngrams = []
            for (start, width), fs in groups.items():
                total = float(contrib[b, fs].sum())
                end = min(start + width, max(int(n_tokens[b]), 0))
                ngrams.append(NgramEvidence(start=start, width=width, end=max(end, start),
                                            contribution=total, filters=tuple(fs)))
            ngrams.sort(key=lambda g: (-g.contribution, g.start, g.width))
            out.append(Explanation(target=c, logit=float(logits[b, c]), bias=float(self.fc.bias[c]),
                                   filters=filters, ngrams=ngrams, logits=tuple(logits[b].tolist()),
                                   num_tokens=int(n_tokens[b])))
        return out


@dataclass(frozen=True)
class FilterEvidence:
    filter: int  # index into the pooled feature vector
    width: int
    start: int  # token index where its winning window starts
    activation: float  # the max-pooled ReLU activation
    contribution: float  # activation * W[target, filter]


@dataclass(frozen=True)
class NgramEvidence:
    start: int  # first token index
    width: int  # filter width
    end: int  # one past the last real token covered (<= start + width; shorter at the text's end)
    contribution: float  # sum of the contributions of ``filters``
    filters: tuple[int, ...]


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


def pad_batch(sequences: Sequence[Sequence[int]], *, pad_id: int, min_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into (B, T) with T >= ``min_length``; return (input_ids, lengths)."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    T = max([min_length, *lengths.tolist()])
    ids = torch.full((len(sequences), T), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        if len(s):
            ids[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return ids, lengths


# ---------------------------------------------------------------------- summary


@dataclass(frozen=True)
class LayerRow:
    name: str
    input_shape: str
    output_shape: str
    params: int
    trainable: bool


def summary(config: TextCNNConfig, *, seq_len: int = 32) -> dict[str, Any]:
    """Layer table computed from the config alone: rows of (name, input, output, params, trainable)
    for a batch of B texts of ``seq_len`` tokens, plus total and trainable parameter counts."""
    c = config
    T = max(seq_len, c.max_width)
    V, E, Fn, C = c.vocab_size, c.embed_dim, c.num_filters, c.num_classes
    rows = [LayerRow("embedding", f"(B, {T})", f"(B, {T}, {E})", V * E,
                     c.embedding_mode != "static")]
    if c.embedding_mode == "multichannel":
        rows.append(LayerRow("embedding_static", f"(B, {T})", f"(B, {T}, {E})", V * E, False))
    for i, k in enumerate(c.filter_sizes):
        rows.append(LayerRow(f"convs.{i} (width {k})", f"(B, {E}, {T})", f"(B, {Fn}, {T - k + 1})",
                             k * E * Fn + Fn, True))
    rows.append(LayerRow("max-over-time pool + concat", f"(B, {Fn}, *) x {len(c.filter_sizes)}",
                         f"(B, {c.num_features})", 0, False))
    rows.append(LayerRow(f"dropout (p={c.dropout})", f"(B, {c.num_features})", f"(B, {c.num_features})", 0, False))
    rows.append(LayerRow("fc", f"(B, {c.num_features})", f"(B, {C})", c.num_features * C + C, True))
    return {
        "rows": [asdict(r) for r in rows],
        "total_params": sum(r.params for r in rows),
        "trainable_params": sum(r.params for r in rows if r.trainable),
    }


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


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ArtifactError(f"{path}: missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc


def load(folder: str | Path) -> tuple[TextCNN, Vocab, list[str], dict[str, Any]]:
    """Rebuild the model from config.json, load its weights (as fp32) and check that the vocabulary,
    labels and padding id agree with it. Returns (model in eval mode, vocab, labels, meta) where meta
    holds ``config``, ``metrics``, ``data_card`` and ``model_card`` (README text or None)."""
    folder = Path(folder)
    raw = read_config(folder, expected_format=FORMAT)
    try:
        config = config_from_dict(TextCNNConfig, raw)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{folder / CONFIG_FILE}: invalid TextCNN config ({exc})") from exc

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
    labels = _read_json(labels_path)
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ArtifactError(f"{labels_path}: expected a JSON list of label strings")
    if len(labels) != config.num_classes:
        raise ArtifactError(f"{labels_path}: {len(labels)} labels but {folder / CONFIG_FILE} says "
                            f"num_classes={config.num_classes} outputs")
    if len(set(labels)) != len(labels):
        raise ArtifactError(f"{labels_path}: duplicate labels")

    model = TextCNN(config)
    load_state_into(model, folder)
    if not torch.all(model.embedding.weight[config.padding_idx] == 0):
        raise ArtifactError(f"{folder / WEIGHTS_FILE}: the padding row {config.padding_idx} of the embedding "
                            "is not zero")
    model.eval()
    metrics = _read_json(folder / METRICS_FILE) if (folder / METRICS_FILE).exists() else {}
    data_card = _read_json(folder / DATA_CARD_FILE) if (folder / DATA_CARD_FILE).exists() else {}
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
    test = metrics.get("test") or {}
    lines = [
        f"# {data_card.get('name', 'TextCNN classifier')}",
        "",
        "A Kim (2014) convolutional n-gram sentence classifier "
        f"(`{config.embedding_mode}` embeddings, filter widths {', '.join(map(str, config.filter_sizes))}, "
        f"{config.num_filters} feature maps each), format `{config.format}`.",
        "",
        f"- Labels: {', '.join(labels)}",
        f"- Vocabulary: {config.vocab_size} tokens, {config.embed_dim}-d embeddings, lower-cased: {config.lower}",
        f"- Parameters: {summary(config)['total_params']:,}",
    ]
    if data_card:
        lines += [
            f"- Training data: {data_card.get('source', '?')} (licence: {data_card.get('licence', '?')})",
            f"- Splits: {json.dumps(data_card.get('splits', {}))}",
            f"- Pretrained vectors: {data_card.get('vectors', 'none')}",
            f"- Trained with: `{data_card.get('command', '?')}` in {data_card.get('training_seconds', '?')} s "
            f"on {data_card.get('machine', '?')}",
        ]
    if test:
        lines += ["", "## Evaluation (held-out test split, never used for model selection)", "",
                  f"- accuracy: {test.get('accuracy', float('nan')):.4f}",
                  f"- macro-F1: {test.get('macro_f1', float('nan')):.4f}"]
        if test.get("per_class"):
            lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for lab, c in test["per_class"].items():
                lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    lines += [
        "",
        "## Limitations",
        "",
        "Word-level model with a closed vocabulary: unknown words map to `<unk>`. Trained on short English "
        "questions/sentences; expect lower accuracy on other domains. Evidence n-grams are the argmax windows "
        "of the max-pooled filters and their exact contributions to the predicted logit, not a causal account.",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "FORMAT",
    "EMBEDDING_MODES",
    "TextCNNConfig",
    "TextCNN",
    "FilterEvidence",
    "NgramEvidence",
    "Explanation",
    "LayerRow",
    "pad_batch",
    "summary",
    "save",
    "load",
    "render_model_card",
]
