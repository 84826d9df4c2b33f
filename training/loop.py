"""Training utilities shared by every trainer in ``models/``: seeding, optimizers, schedules,
weight initialisation, early stopping, Kim's max-norm constraint, progress bars and a
classification report.

Public names are kept stable: ``training/classifier.py`` and ``training/seq2seq.py``
both import them.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

__all__ = [
    "set_seed",
    "OPTIMIZERS",
    "make_optimizer",
    "SCHEDULES",
    "make_scheduler",
    "time_schedule",
    "INITS",
    "init_weights",
    "EarlyStopping",
    "apply_max_norm",
    "progress",
    "classification_report",
    "format_report",
]

T = TypeVar("T")


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and, when present, CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():  # pragma: no cover - CPU-only CI
        torch.cuda.manual_seed_all(seed)


# --------------------------------------------------------------------------- optimizers

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta")


def make_optimizer(
    name: str,
    params: Iterable[Any],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Build one of ``OPTIMIZERS`` over ``params`` (only parameters with ``requires_grad``).

    ``sgd`` is plain SGD (no momentum); ``momentum`` and ``nesterov`` use ``momentum``.
    ``adadelta`` follows Kim (2014): rho=0.95, eps=1e-6; ``lr`` scales its update (1.0 is standard).
    ``adamw`` uses decoupled weight decay; the others add ``weight_decay`` as an L2 term.
    """
    params = [p for p in params if not isinstance(p, torch.Tensor) or p.requires_grad]
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=0.95, eps=1e-6, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


# --------------------------------------------------------------------------- schedules

SCHEDULES = ("constant", "step", "cosine", "linear-warmup")


def make_scheduler(
    name: str,
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    warmup_steps: int = 0,
    step_size: int = 1,
    gamma: float = 0.5,
) -> torch.optim.lr_scheduler.LRScheduler:
    """A learning-rate schedule stepped once per optimizer step (call ``.step()`` after each).

    - ``constant``: the base rate throughout (after an optional linear warm-up).
    - ``step``: multiply by ``gamma`` every ``step_size`` steps.
    - ``cosine``: linear warm-up for ``warmup_steps``, then cosine decay to 0 at ``total_steps``.
    - ``linear-warmup``: linear warm-up for ``warmup_steps``, then linear decay to 0 at ``total_steps``.
    """
    total_steps = max(1, int(total_steps))
    warmup_steps = max(0, min(int(warmup_steps), total_steps))

    def warm(step: int) -> float | None:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        return None

    if name == "constant":
        def f(step: int) -> float:
            w = warm(step)
            return 1.0 if w is None else w
    elif name == "step":
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")

        def f(step: int) -> float:
            return gamma ** (step // step_size)
    elif name == "cosine":
        def f(step: int) -> float:
            w = warm(step)
            if w is not None:
                return w
            span = max(1, total_steps - warmup_steps)
            t = min(1.0, (step - warmup_steps) / span)
            return 0.5 * (1.0 + math.cos(math.pi * t))
    elif name == "linear-warmup":
        def f(step: int) -> float:
            w = warm(step)
            if w is not None:
                return w
            span = max(1, total_steps - warmup_steps)
            return max(0.0, 1.0 - (step - warmup_steps) / span)
    else:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, f)


def time_schedule(optimizer: torch.optim.Optimizer, *, warmup_steps: int, budget: float, spent: float,
                  start: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then a linear decay over the wall-clock budget (to 2% of the peak at its end),
    so the rate is annealed whenever the deadline stops training, however busy the machine is.
    Not reproducible step for step: the rate depends on the machine's speed."""
    def f(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        used = spent + time.monotonic() - start
        return warm * max(0.02, 1.0 - used / budget)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, f)


# --------------------------------------------------------------------------- initialisation

INITS = ("default", "xavier", "he")


def init_weights(module: nn.Module, scheme: str) -> None:
    """Re-initialise the weights of every Linear and Conv1d/2d layer in ``module``; biases -> 0.

    ``default`` leaves PyTorch's own initialisation alone. ``xavier`` is Glorot-uniform,
    ``he`` is Kaiming-normal for ReLU. Embedding tables are never touched here, so vectors
    loaded from a pretrained file (GloVe, word2vec) survive; call this before or after loading
    them, it makes no difference.
    """
    if scheme not in INITS:
        raise ValueError(f"unknown init {scheme!r}; choose one of {', '.join(INITS)}")
    if scheme == "default":
        return
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            if scheme == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------- early stopping


class EarlyStopping:
    """Track a validation metric; ``step(value)`` returns True when it improved on the best so far.

    ``should_stop`` becomes True after ``patience`` consecutive steps without improvement
    (``patience=0`` behaves like 1).
    ``mode="max"`` for accuracy-like metrics, ``"min"`` for losses. ``min_delta`` is the
    smallest change that counts as an improvement.
    """

    def __init__(self, patience: int, mode: str = "max", *, min_delta: float = 0.0) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_step: int | None = None
        self.bad_steps = 0
        self.steps = 0

    def step(self, value: float) -> bool:
        value = float(value)
        if math.isnan(value):
            improved = False
        elif self.best is None:
            improved = True
        elif self.mode == "max":
            improved = value > self.best + self.min_delta
        else:
            improved = value < self.best - self.min_delta
        if improved:
            self.best = value
            self.best_step = self.steps
            self.bad_steps = 0
        else:
            self.bad_steps += 1
        self.steps += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.bad_steps >= max(1, self.patience)


# --------------------------------------------------------------------------- constraints


@torch.no_grad()
def apply_max_norm(linear: nn.Linear, max_norm: float) -> None:
    """Kim (2014)'s l2 constraint: rescale each row of ``linear.weight`` (one per output class)
    whose Euclidean norm exceeds ``max_norm`` back to ``max_norm``. Call after each optimizer step.
    """
    if max_norm is None or max_norm <= 0:
        return
    w = linear.weight
    norms = w.norm(p=2, dim=1, keepdim=True)  # (C, 1)
    scale = torch.clamp(max_norm / (norms + 1e-12), max=1.0)
    w.mul_(scale)


# --------------------------------------------------------------------------- progress


def progress(
    iterable: Iterable[T],
    *,
    desc: str,
    total: int | None = None,
    enabled: bool = True,
    force: bool = False,
) -> Any:
    """A tqdm bar on stderr, shown only when ``enabled`` and stderr is a terminal, or when ``force``.

    Always returns a tqdm object (a no-op one when hidden), so callers may call ``set_postfix``.
    """
    from tqdm import tqdm

    is_tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    disable = not (force or (enabled and is_tty))
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, disable=disable,
                dynamic_ncols=True, leave=False, mininterval=0.5)


# --------------------------------------------------------------------------- metrics


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and a confusion matrix.

    ``confusion[i][j]`` counts examples of true class ``i`` predicted as ``j`` (rows = true).
    Precision/recall of a class with no predictions/examples is 0.0 (not NaN). Macro-F1
    averages over classes that have at least one true or predicted example.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items, y_pred {len(y_pred)}")
    n = len(labels)
    confusion = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred):
        if not (0 <= t < n and 0 <= p < n):
            raise ValueError(f"class index out of range 0..{n - 1}: true={t}, pred={p}")
        confusion[t][p] += 1
    total = len(y_true)
    correct = sum(confusion[i][i] for i in range(n))
    per_class: dict[str, dict[str, float | int]] = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = confusion[i][i]
        support = sum(confusion[i])
        predicted = sum(confusion[r][i] for r in range(n))
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        if support or predicted:
            f1s.append(f1)
    return {
        "accuracy": correct / total if total else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "n": total,
        "labels": list(labels),
        "per_class": per_class,
        "confusion": confusion,
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text rendering of ``classification_report``'s dict."""
    labels = report["labels"]
    width = max(8, *(len(lab) for lab in labels))
    lines = [f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   n={report['n']}", ""]
    lines.append(f"{'class':<{width}}  precision  recall     f1  support")
    for lab in labels:
        c = report["per_class"][lab]
        lines.append(f"{lab:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  {c['f1']:.4f}  {c['support']:7d}")
    lines.append("")
    lines.append("confusion (rows = true, columns = predicted)")
    cw = max(5, *(len(lab) for lab in labels))
    lines.append(" " * width + "  " + " ".join(f"{lab:>{cw}}" for lab in labels))
    for lab, row in zip(labels, report["confusion"]):
        lines.append(f"{lab:<{width}}  " + " ".join(f"{v:>{cw}d}" for v in row))
    return "\n".join(lines)
