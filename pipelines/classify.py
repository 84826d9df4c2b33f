"""Text classification with a shipped Kim (2014) CNN, with n-gram evidence.

    clf = TextClassifier.load("artifacts/classifier/trec-cnn")
    [c] = clf.classify(["Who wrote Hamlet ?"], top_k=3)
    c.label, c.probabilities, [(e.text, e.start, e.end, e.contribution) for e in c.evidence]

``TextClassifier.load(folder)`` reads a ``textcnn-v1`` artifact folder once, checking that its
vocabulary, labels and weights agree (a ``ResourceError`` names the file that does not);
``classify(texts)`` returns plain frozen dataclasses, never tensors. Each result carries the
probability of every label and the n-grams that contributed most to the predicted label's logit,
with their exact contributions (pooled activation x output weight, summed over the filters whose
maximum fell on that n-gram) and character offsets into the text.

Any length is accepted: texts are batched by a token budget (long texts go alone), a text shorter
than the widest filter is padded inside the model, and ``max_tokens`` truncation is explicit and
reported per result (``truncated_tokens``).

Two kinds of artifact: word-embedding CNNs (GloVe, word2vec, random) and contextual CNNs, whose
input is each word's hidden states from the shipped encoder (the mean of its wordpieces'). A
contextual artifact holds only the CNN: ``load(folder, encoder=...)`` takes the service's one
``ContextualEncoder`` and checks its name, layer count and width against the artifact's config.
A contextual artifact with fine-tuned top layers (``encoder_top_layers = k``) also holds its own
copy of the encoder's top k layers: it takes the shared encoder's wordpiece states of layer L - k
(``pipelines.classify_pieces``), runs its layers on them in torch, then forms words; the shared
encoder itself is never changed (``/v1/embeddings`` and ``/v1/senses`` read it as shipped).
Text is tokenized with the scheme recorded in the artifact (``models.vocab.TOKENIZERS``).

Evidence: the model explains its logit per (window, width); windows of different widths that
cover the same words (at the text's edges, or short texts) are merged into one entry per span,
``width`` the widest filter among them, ``widths`` all of them and ``contribution`` their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import text_cnn
from models.checkpoint import ArtifactError, load_config
from models.tensors import pad_batch
from models.text_cnn import TextCNN
from models.vocab import Vocab, tokenize_with_spans
from pipelines.classify_pieces import pad_pieces, piece_states
from pipelines.embeddings.contextual import ContextualEncoder
from pipelines.errors import ResourceError
from pipelines.typed_text import read_typed

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
    widths: tuple[int, ...] = ()  # every filter width whose window covers exactly this span (widest last)


@dataclass(frozen=True)
class Classification:
    label: str
    score: float  # probability of ``label``
    probabilities: dict[str, float]  # every label, most probable first
    evidence: tuple[Evidence, ...]  # the top-k n-grams by contribution, largest first
    logit: float  # the predicted label's logit == bias + sum of all n-gram contributions
    bias: float
    num_tokens: int  # tokens the model read (after any truncation)
    unknown_tokens: int  # of those, tokens not in the model's vocabulary (read as <unk>)
    truncated_tokens: int = 0  # tokens cut from the end by ``max_tokens`` (0: nothing was cut)


class TextClassifier:
    """A loaded TextCNN with its vocabulary and labels. Build with ``load``; read-only afterwards.

    ``batch_size`` caps the texts per forward pass and ``max_batch_tokens`` the padded tokens
    (texts are sorted by length first, so one long text does not pad a whole batch);
    ``max_tokens`` (None: no limit) truncates each text explicitly, reported per result.
    """

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
        max_batch_tokens: int = 16384,
        max_tokens: int | None = None,
        encoder: ContextualEncoder | None = None,
    ) -> None:
        cfg = model.config
        if cfg.contextual:
            if encoder is None:
                raise ResourceError(f"classifier {name!r} reads the hidden states of the encoder {cfg.encoder!r}, "
                                    "which is not loaded", code="bad-artifact")
            if (encoder.name, encoder.num_layers, encoder.hidden_size) != (
                    cfg.encoder, cfg.encoder_num_layers, cfg.embed_dim):
                raise ResourceError(
                    f"classifier {name!r} was trained on encoder {cfg.encoder!r} ({cfg.encoder_num_layers} layers, "
                    f"{cfg.embed_dim}-d) but the loaded encoder is {encoder.name!r} ({encoder.num_layers} layers, "
                    f"{encoder.hidden_size}-d)", code="bad-artifact")
        self.encoder = encoder if cfg.contextual else None
        if len(labels) != model.config.num_classes:
            raise ValueError(f"{len(labels)} labels for a model with {model.config.num_classes} outputs")
        if len(vocab) != model.config.vocab_size:
            raise ValueError(f"vocabulary of {len(vocab)} for a model with {model.config.vocab_size} rows")
        if vocab.pad_id != model.config.padding_idx:
            raise ValueError(f"vocabulary pad id {vocab.pad_id} != model padding_idx {model.config.padding_idx}")
        if batch_size < 1 or max_batch_tokens < 1:
            raise ValueError(f"batch_size and max_batch_tokens must be >= 1, got {batch_size}, {max_batch_tokens}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 or None, got {max_tokens}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.vocab = vocab
        self.labels = tuple(labels)
        self.meta = meta
        self.name = name
        self.path = path
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_tokens = max_tokens

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        name: str | None = None,
        batch_size: int = 64,
        max_batch_tokens: int = 16384,
        max_tokens: int | None = None,
        encoder: ContextualEncoder | None = None,
    ) -> TextClassifier:
        """Load an artifact folder. Raises ``ResourceError`` naming the missing, corrupt or
        inconsistent file (vocabulary size vs embedding rows, pad id, labels vs output layer, weights
        vs config) and how to make a new one; for a contextual artifact, when ``encoder`` is missing
        or is not the one it was trained on."""
        folder = Path(folder)
        try:
            model, vocab, labels, meta = text_cnn.load(folder)
        except ArtifactError as exc:
            raise ResourceError(f"{exc} (train a classifier with: lexiflow train classifier --output {folder})",
                                code="bad-artifact") from exc
        default_name = str(meta.get("data_card", {}).get("name") or folder.name)
        return cls(model, vocab, labels, meta, name=name or default_name, path=folder, batch_size=batch_size,
                   max_batch_tokens=max_batch_tokens, max_tokens=max_tokens, encoder=encoder)

    @staticmethod
    def needs_encoder(folder: str | Path) -> bool:
        """Whether the artifact in ``folder`` is a contextual one (reads only its config)."""
        try:
            return bool(load_config(Path(folder), text_cnn.TextCNNConfig, expected_format=text_cnn.FORMAT).contextual)
        except ArtifactError:
            return False  # ``load`` reports the bad artifact

    @property
    def version(self) -> str:
        return str(self.meta.get("data_card", {}).get("version", "0"))

    def classify(self, texts: Sequence[str], *, top_k: int = 5, max_tokens: int | None = None) -> list[Classification]:
        """Classify each text (in input order); ``top_k`` n-grams of evidence per text (0 for none).

        ``max_tokens`` overrides the classifier's own limit for this call (None: use it)."""
        if isinstance(texts, str):
            raise TypeError("classify takes a list of texts, not a single string")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        limit = self.max_tokens if max_tokens is None else max_tokens
        if limit is not None and limit < 1:
            raise ValueError(f"max_tokens must be >= 1, got {limit}")
        cfg = self.model.config
        # contractions typed without apostrophes read as the training data writes them ("whats" as
        # "what's"); spans are mapped back to the typed text for the evidence
        typed = [read_typed(t, sentence=False) for t in texts]
        model_texts = [tt.text for tt in typed]
        tokenized = []
        cut = []
        for t in model_texts:
            spans = tokenize_with_spans(t, lower=cfg.lower, scheme=cfg.tokenizer)
            cut.append(max(0, len(spans) - limit) if limit is not None else 0)
            tokenized.append(spans[:limit] if limit is not None else spans)
        pieces = None
        if self.encoder is not None and cfg.encoder_top_layers:  # own fine-tuned top: wordpiece states
            pieces = piece_states(self.encoder, model_texts, [[(s, e) for _, s, e in sp] for sp in tokenized],
                                  cfg.shared_layers)
            for i, ps in enumerate(pieces):  # words after the encoder's own length limit are cut too
                cut[i] += len(tokenized[i]) - ps.num_words
                tokenized[i] = tokenized[i][: ps.num_words]
            unknown = [ps.unknown for ps in pieces]
            lengths_all = [ps.num_words for ps in pieces]
        elif self.encoder is not None:
            states = self.encoder.word_features(model_texts, [[(s, e) for _, s, e in sp] for sp in tokenized],
                                                cfg.encoder_layers)
            for i, st in enumerate(states):  # words after the encoder's own length limit are cut too
                cut[i] += len(tokenized[i]) - len(st.vectors)
                tokenized[i] = tokenized[i][: len(st.vectors)]
            unknown = [st.unknown for st in states]
            lengths_all = [len(st.vectors) for st in states]
        else:
            id_lists = [self.vocab.encode(tok for tok, _, _ in spans) for spans in tokenized]
            unknown = [ids.count(self.vocab.unk_id) for ids in id_lists]
            lengths_all = [len(ids) for ids in id_lists]
        out: list[Classification | None] = [None] * len(texts)
        with torch.inference_mode():
            for batch in self._batches(lengths_all):
                if pieces is not None:
                    p_states, p_mask, align, lengths = pad_pieces([pieces[i] for i in batch], cfg.max_width)
                    x = self.model.contextual_input(p_states, p_mask, align)  # (B, T, K, E)
                elif self.encoder is not None:
                    x, lengths = _pad_features([states[i].vectors for i in batch], cfg.max_width)
                else:
                    x, lengths = pad_batch([id_lists[i] for i in batch], pad_id=self.vocab.pad_id,
                                           min_length=cfg.max_width)
                for i, ex in zip(batch, self.model.explain(x, lengths, per_filter=False)):
                    typed_spans = [(tok, *typed[i].span(a, b)) for tok, a, b in tokenized[i]]  # type: ignore[misc]
                    out[i] = self._result(texts[i], typed_spans, unknown[i], cut[i], ex, top_k)
        return out  # type: ignore[return-value]

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped shortest first, each group within ``batch_size`` texts and
        ``max_batch_tokens`` padded tokens (a single longer text forms its own group)."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        groups: list[list[int]] = []
        current: list[int] = []
        for i in order:
            width = max(lengths[i], self.model.config.max_width)
            if current and (len(current) >= self.batch_size or width * (len(current) + 1) > self.max_batch_tokens):
                groups.append(current)
                current = []
            current.append(i)
        if current:
            groups.append(current)
        return groups

    def _result(self, text: str, spans: list[tuple[str, int, int]], unknown: int, truncated: int,
                ex: text_cnn.Explanation, top_k: int) -> Classification:
        probs = torch.softmax(torch.tensor(ex.logits, dtype=torch.float64), dim=0).tolist()
        ranked = sorted(zip(self.labels, probs), key=lambda kv: (-kv[1], kv[0]))
        evidence = []
        for (ts, te), group in merge_spans(ex.ngrams)[:top_k]:
            start, end = spans[ts][1], spans[te - 1][2]
            widths = tuple(sorted({g.width for g in group}))
            evidence.append(Evidence(text=text[start:end], start=start, end=end, token_start=ts, token_end=te,
                                     width=widths[-1], contribution=sum(g.contribution for g in group),
                                     filters=tuple(sorted(f for g in group for f in g.filters)), widths=widths))
        return Classification(
            label=self.labels[ex.target],
            score=float(probs[ex.target]),
            probabilities={k: float(v) for k, v in ranked},
            evidence=tuple(evidence),
            logit=ex.logit,
            bias=ex.bias,
            num_tokens=ex.num_tokens,
            unknown_tokens=unknown,
            truncated_tokens=truncated,
        )

    def summary(self, *, seq_len: int = 32) -> dict[str, Any]:
        """The layer table: ``{"layers": [{name, input_shape, output_shape, parameters, trainable}],
        "total", "trainable", "seq_len"}`` (see ``models.text_cnn.summary``)."""
        return text_cnn.summary(self.model.config, seq_len=seq_len)

    def info(self) -> dict[str, Any]:
        """Plain-data description for ``/v1/models``: name, version, format, labels, embedding mode,
        filter sizes, number of filters, vocabulary size, max_tokens, metrics, data card and the
        layer summary."""
        cfg = self.model.config
        return {
            "name": self.name,
            "version": self.version,
            "format": cfg.format,
            "labels": list(self.labels),
            "embedding_mode": cfg.embedding_mode,
            "filter_sizes": list(cfg.filter_sizes),
            "num_filters": cfg.num_filters,
            "embed_dim": cfg.embed_dim,
            "vocab_size": len(self.vocab),
            "lowercase": cfg.lower,
            "tokenizer": cfg.tokenizer,
            "encoder": ({"name": cfg.encoder, "layers": list(cfg.encoder_layers),
                         "fine_tuned_layers": list(range(cfg.cut_layer + 1, cfg.encoder_num_layers + 1)),
                         "layer_weights": [round(w, 4) for w in self.model.layer_weights()],
                         "version": self.encoder.version if self.encoder is not None else None}
                        if cfg.contextual else None),
            "max_tokens": self.max_tokens,
            "metrics": self.meta.get("metrics", {}),
            "data_card": self.meta.get("data_card", {}),
            "summary": self.summary(),
        }


def merge_spans(ngrams: Sequence[text_cnn.NgramEvidence]) -> list[tuple[tuple[int, int], list[text_cnn.NgramEvidence]]]:
    """Group the model's n-grams by the words they cover ((token_start, token_end)): windows of
    different widths that cover the same words (they hang over the text's edges) become one span.
    Windows over padding only are dropped. Largest total contribution first (ties: leftmost, shortest)."""
    groups: dict[tuple[int, int], list[text_cnn.NgramEvidence]] = {}
    for g in ngrams:
        if g.end > g.start:
            groups.setdefault((g.start, g.end), []).append(g)
    return sorted(groups.items(), key=lambda kv: (-sum(g.contribution for g in kv[1]), kv[0][0], kv[0][1]))


def _pad_features(vectors: Sequence[Any], min_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad (n, K, H) arrays into (B, T, K, H) float32, T >= ``min_length``; and lengths (B,)."""
    lengths = torch.tensor([len(v) for v in vectors], dtype=torch.long)
    K, H = vectors[0].shape[1:]
    x = torch.zeros(len(vectors), max(min_length, int(lengths.max())), K, H)  # (B, T, K, H)
    for r, v in enumerate(vectors):
        if len(v):
            x[r, : len(v)] = torch.as_tensor(v, dtype=torch.float32)
    return x, lengths
