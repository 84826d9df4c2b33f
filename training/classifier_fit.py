"""The TextCNN trainer's batches, epoch, evaluation and early-stopped fit (word ids or cached
contextual features alike)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.tensors import pad_batch
from models.text_cnn import TextCNN
from models.vocab import Vocab, tokenize
from training.datasets import LabelledText
from training.loop import (
    EarlyStopping,
    apply_max_norm,
    classification_report,
    make_optimizer,
    make_scheduler,
    progress,
)


def _log(msg: str) -> None:
    print(f"[train_classifier] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- batches


@dataclass
class Encoded:
    ids: list[list[int]]
    labels: list[int]
    features: list[np.ndarray] | None = None  # contextual: (n_words, L+1, H) per text, fp16

    def __len__(self) -> int:
        return len(self.labels)


def encode(items: Sequence[LabelledText], vocab: Vocab, label_index: dict[str, int], *, lower: bool,
           scheme: str = "words", features: list[np.ndarray] | None = None) -> Encoded:
    """Token ids (and, for a contextual model, each text's word features) with label indices."""
    ids = [vocab.encode(tokenize(x.text, lower=lower, scheme=scheme)) for x in items]
    if features is not None and [len(f) for f in features] != [len(i) for i in ids]:
        raise ValueError("word features do not line up with the tokenized texts")
    return Encoded(ids, [label_index[x.label] for x in items], features)


class Batches(Sequence):
    """Batches built when read (contextual features are too big to pad all at once):
    (input_ids (B, T) or features (B, T, K, E), lengths (B,), labels (B,))."""

    def __init__(self, data: Encoded, groups: list[list[int]], *, pad_id: int, min_length: int,
                 layers: Sequence[int] | None = None) -> None:
        self.data, self.groups, self.pad_id, self.min_length = data, groups, pad_id, min_length
        self.layers = list(layers) if layers is not None else None

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return Batches(self.data, self.groups[i], pad_id=self.pad_id, min_length=self.min_length,
                           layers=self.layers)
        idx = self.groups[i]
        y = torch.tensor([self.data.labels[j] for j in idx], dtype=torch.long)
        if self.data.features is None:
            ids, lengths = pad_batch([self.data.ids[j] for j in idx], pad_id=self.pad_id, min_length=self.min_length)
            return ids, lengths, y
        feats = [self.data.features[j] for j in idx]
        lengths = torch.tensor([len(f) for f in feats], dtype=torch.long)
        K, E = feats[0].shape[1:] if self.layers is None else (len(self.layers), feats[0].shape[2])
        x = torch.zeros(len(idx), max(self.min_length, int(lengths.max())), K, E)  # (B, T, K, E)
        for r, f in enumerate(feats):
            if len(f):
                x[r, : len(f)] = torch.from_numpy(np.asarray(f if self.layers is None else f[:, self.layers],
                                                             dtype=np.float32))
        return x, lengths, y


def batches(data: Encoded, *, batch_size: int, pad_id: int, min_length: int,
            generator: torch.Generator | None = None, layers: Sequence[int] | None = None) -> Batches:
    """(input_ids (B, T), lengths (B,), labels (B,)) batches (features (B, T, K, E) for contextual
    data, ``layers`` choosing K of its hidden states); shuffled when a generator is given."""
    order = torch.randperm(len(data), generator=generator).tolist() if generator is not None else range(len(data))
    order = list(order)
    groups = [order[s: s + batch_size] for s in range(0, len(order), batch_size)]
    return Batches(data, groups, pad_id=pad_id, min_length=min_length, layers=layers)


# ---------------------------------------------------------------------- train / evaluate


def train_one_epoch(
    model: TextCNN,
    batch_list: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    *,
    class_weights: torch.Tensor | None = None,
    max_norm: float | None = None,
    desc: str = "train",
    show_progress: bool = True,
    force_progress: bool = False,
) -> dict[str, float]:
    """One pass over ``batch_list``; returns mean loss and accuracy on the training batches."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    bar = progress(batch_list, desc=desc, total=len(batch_list), enabled=show_progress, force=force_progress)
    for ids, lengths, y in bar:
        logits = model(ids, lengths)  # (B, C)
        loss = F.cross_entropy(logits, y, weight=class_weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if max_norm:
            apply_max_norm(model.fc, max_norm)
        n = y.numel()
        total_loss += float(loss.detach()) * n
        correct += int((logits.argmax(1) == y).sum())
        seen += n
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1)}


@torch.inference_mode()
def evaluate(model: TextCNN, batch_list: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
             labels: Sequence[str]) -> dict[str, Any]:
    """Eval mode, no dropout: ``classification_report`` plus the mean cross-entropy ``loss``."""
    model.eval()
    y_true: list[int] = []
    y_pred: list[int] = []
    total_loss = 0.0
    for ids, lengths, y in batch_list:
        logits = model(ids, lengths)  # (B, C)
        total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
        y_true += y.tolist()
        y_pred += logits.argmax(1).tolist()
    report = classification_report(y_true, y_pred, list(labels))
    report["loss"] = total_loss / max(len(y_true), 1)
    return report


@dataclass
class FitResult:
    model: TextCNN
    best_epoch: int
    best_dev: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float


def fit(
    model: TextCNN,
    train: Encoded,
    dev: Encoded,
    labels: Sequence[str],
    *,
    optimizer_name: str = "adadelta",
    lr: float = 1.0,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    schedule: str = "constant",
    warmup_steps: int = 0,
    batch_size: int = 50,
    epochs: int = 25,
    patience: int = 5,
    max_norm: float | None = 3.0,
    class_weights: torch.Tensor | None = None,
    seed: int = 0,
    max_batches: int | None = None,
    show_progress: bool = True,
    force_progress: bool = False,
) -> FitResult:
    """Train with early stopping on dev accuracy; the weights of the best dev epoch are restored."""
    g = torch.Generator().manual_seed(seed)
    pad, width = model.config.padding_idx, model.config.max_width
    layers = list(model.config.encoder_layers) or None
    dev_batches = batches(dev, batch_size=256, pad_id=pad, min_length=width, layers=layers)
    steps_per_epoch = (len(train) + batch_size - 1) // batch_size
    if max_batches is not None:
        steps_per_epoch = min(steps_per_epoch, max_batches)
    optimizer = make_optimizer(optimizer_name, model.parameters(), lr=lr, weight_decay=weight_decay, momentum=momentum)
    scheduler = make_scheduler(schedule, optimizer, total_steps=steps_per_epoch * epochs, warmup_steps=warmup_steps)
    stopper = EarlyStopping(patience, mode="max")
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best_dev: dict[str, Any] = {}
    best_epoch, history = 0, []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        train_batches = batches(train, batch_size=batch_size, pad_id=pad, min_length=width, generator=g, layers=layers)
        if max_batches is not None:
            train_batches = train_batches[:max_batches]
        stats = train_one_epoch(model, train_batches, optimizer, scheduler, class_weights=class_weights,
                                max_norm=max_norm, desc=f"epoch {epoch}/{epochs}", show_progress=show_progress,
                                force_progress=force_progress)
        report = evaluate(model, dev_batches, labels)
        improved = stopper.step(report["accuracy"])
        if improved:
            best_epoch, best_dev = epoch, report
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        row = {"epoch": epoch, "train_loss": round(stats["loss"], 5), "train_accuracy": round(stats["accuracy"], 5),
               "dev_loss": round(report["loss"], 5), "dev_accuracy": round(report["accuracy"], 5),
               "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 2)}
        history.append(row)
        _log(f"epoch {epoch:3d}  train loss {stats['loss']:.4f} acc {stats['accuracy']:.4f}  "
             f"dev loss {report['loss']:.4f} acc {report['accuracy']:.4f}{'  *best' if improved else ''}")
        if stopper.should_stop:
            _log(f"early stop: no dev improvement for {stopper.bad_steps} epochs (best epoch {best_epoch})")
            break
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(model, best_epoch, best_dev, history, time.perf_counter() - t0)
