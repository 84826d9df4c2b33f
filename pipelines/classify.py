"""Text classification with a shipped Kim (2014) CNN, with n-gram evidence.

``TextClassifier.load(folder)`` reads a ``textcnn-v1`` artifact folder once (checking that its
vocabulary, labels and weights agree); ``classify(texts)`` returns plain frozen dataclasses, never
tensors. Each result carries the probability of every label and the n-grams that contributed most
to the predicted label's logit, with their exact contributions and character offsets into the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import text_cnn
from models.text_cnn import TextCNN, pad_batch
from models.vocab import Vocab, tokenize_with_spans

__all__ = ["Evidence", "Classification", "TextClassifier"]


@dataclass(frozen=True)
class Evidence:
    """One n-gram read by one or more max-pooled filters, and its share of the predicted logit."""

    text: str  # exactly ``input_text[start:end]``
    start: int  # character offsets into the input text
    end: int
    token_start: int  # token offsets (end exclusive)
    token_end: int
    width: int  # filter width in tokens (the n of the n-gram; fewer tokens at the end of a short text)
    contribution: float  # sum over ``filters`` of pooled activation * output weight of the predicted label
    filters: tuple[int, ...]  # indices of the filters whose maximum fell on this n-gram


@dataclass(frozen=True)
class Classification:
    label: str
    score: float  # probability of ``label``
    probabilities: dict[str, float]  # every label, most probable first
    evidence: tuple[Evidence, ...]  # the top-k n-grams by contribution, largest first
    logit: float  # the predicted label's logit == bias + sum of all n-gram contributions
    bias: float
    num_tokens: int
    unknown_tokens: int  # tokens not in the model's vocabulary


class TextClassifier:
    """A loaded TextCNN with its vocabulary and labels. Build with ``load``; read-only afterwards."""

    def __init__(
        self,
        model: TextCNN,
        vocab: Vocab,
        labels: Sequence[str],
        meta: dict[str, Any],
        *,
        name: str,
        path: Path | None = None,
        batch_size: int = 64,
    ) -> None:
        if len(labels) != model.config.num_classes:
            raise ValueError(f"{len(labels)} labels for a model with {model.config.num_classes} outputs")
        if len(vocab) != model.config.vocab_size:
            raise ValueError(f"vocabulary of {len(vocab)} for a model with {model.config.vocab_size} rows")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model.eval()
        self.vocab = vocab
        self.labels = tuple(labels)
        self.meta = meta
        self.name = name
        self.path = path
        self.batch_size = batch_size

    @classmethod
    def load(cls, folder: str | Path, *, name: str | None = None, batch_size: int = 64) -> TextClassifier:
        """Load an artifact folder; raises ``models.checkpoint.ArtifactError`` naming the bad file."""
        folder = Path(folder)
        model, vocab, labels, meta = text_cnn.load(folder)
        default_name = str(meta.get("data_card", {}).get("name") or folder.name)
        return cls(model, vocab, labels, meta, name=name or default_name, path=folder, batch_size=batch_size)

    @property
    def version(self) -> str:
        return str(self.meta.get("data_card", {}).get("version", "0"))

    def classify(self, texts: Sequence[str], *, top_k: int = 5) -> list[Classification]:
        """Classify each text; ``top_k`` n-grams of evidence per text (0 for none)."""
        if isinstance(texts, str):
            raise TypeError("classify takes a list of texts, not a single string")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        lower = self.model.config.lower
        tokenized = [tokenize_with_spans(t, lower=lower) for t in texts]
        unk = self.vocab.unk_id
        out: list[Classification] = []
        with torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                chunk = tokenized[s: s + self.batch_size]
                id_lists = [self.vocab.encode(tok for tok, _, _ in spans) for spans in chunk]
                ids, lengths = pad_batch(id_lists, pad_id=self.vocab.pad_id, min_length=self.model.config.max_width)
                explanations = self.model.explain(ids, lengths)
                for j, ex in enumerate(explanations):
                    text, spans = texts[s + j], chunk[j]
                    out.append(self._result(text, spans, id_lists[j].count(unk), ex, top_k))
        return out

    def _result(self, text: str, spans: list[tuple[str, int, int]], unknown: int,
                ex: text_cnn.Explanation, top_k: int) -> Classification:
        probs = torch.softmax(torch.tensor(ex.logits, dtype=torch.float64), dim=0).tolist()
        ranked = sorted(zip(self.labels, probs), key=lambda kv: (-kv[1], kv[0]))
        evidence = []
        for g in ex.ngrams:
            if len(evidence) >= top_k:
                break
            if g.end <= g.start:  # a window over padding only (an empty text): no n-gram to show
                continue
            start, end = spans[g.start][1], spans[g.end - 1][2]
            evidence.append(Evidence(text=text[start:end], start=start, end=end, token_start=g.start,
                                     token_end=g.end, width=g.width, contribution=g.contribution,
                                     filters=g.filters))
        return Classification(
            label=self.labels[ex.target],
            score=probs[ex.target],
            probabilities=dict(ranked),
            evidence=tuple(evidence),
            logit=ex.logit,
            bias=ex.bias,
            num_tokens=ex.num_tokens,
            unknown_tokens=unknown,
        )

    def info(self) -> dict[str, Any]:
        """Plain-data description for ``/readyz`` and model listings."""
        cfg = self.meta.get("config", {})
        return {
            "name": self.name,
            "version": self.version,
            "format": cfg.get("format", text_cnn.FORMAT),
            "labels": list(self.labels),
            "embedding_mode": cfg.get("embedding_mode"),
            "filter_sizes": list(cfg.get("filter_sizes", ())),
            "vocab_size": len(self.vocab),
            "metrics": self.meta.get("metrics", {}),
            "data_card": self.meta.get("data_card", {}),
            "summary": text_cnn.summary(self.model.config),
            "path": str(self.path) if self.path is not None else None,
        }
