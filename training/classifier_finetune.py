"""Fine-tune the top k encoder layers jointly with the contextual TextCNN, cheaply on a CPU.

    python -m training.classifier --data mr --embeddings contextual --finetune-layers 2 \\
        --optimizer adam --lr 1e-3 --encoder-lr 3e-5 --filter-sizes 1,2,3 --epochs 4 --output DIR

The bottom L - k layers stay frozen, so their output (the wordpiece states of layer L - k) is
computed once per sentence and cached (fp16, ``training.contextual_features.CACHE``); each step
then runs only the k trainable layers and the CNN. The classifier's copy of the top layers starts
from the shipped encoder's weights and is trained with AdamW at a small rate (``--encoder-lr``,
linear warm-up over ``--warmup-fraction`` of the steps, then linear decay), the CNN head with
``--optimizer``/``--lr`` as usual; BERT's dropout (0.1) in the copied layers while training. The
dev split (never the test split) chooses the best checkpoint: evaluated ``--evals-per-epoch``
times per epoch, early stopping after ``--patience`` evaluations without a gain.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models import text_cnn
from models.bert_top import load_bert_layers
from models.runcard import machine_line
from models.text_cnn import TextCNN, TextCNNConfig, format_summary, summary
from models.vocab import PAD, UNK, Vocab, tokenize_with_spans
from pipelines.classify_pieces import PieceStates, pad_pieces, piece_states
from pipelines.embeddings.contextual import ContextualEncoder
from training.datasets import LabelledText
from training.loop import EarlyStopping, apply_max_norm, classification_report, format_report, make_optimizer, set_seed

CHUNK = 256


def _log(msg: str) -> None:
    print(f"[finetune] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- cached wordpiece states


def cached_piece_states(encoder: ContextualEncoder, texts: Sequence[str], *, layers: Sequence[int], scheme: str,
                        lower: bool = True, label: str = "texts", use_cache: bool = True) -> list[PieceStates]:
    """``pipelines.classify_pieces.piece_states`` for every text (states kept as fp16), read from or
    written to the feature cache, keyed by the encoder, tokenizer, layers and texts."""
    from training.contextual_features import CACHE, _key

    if not texts:
        return []
    layers = list(layers)
    tag = "-".join(map(str, layers))
    path = CACHE / f"{label}-pieces{tag}-{_key(encoder, texts, scheme, lower)}.npz" if use_cache else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            states, s_off, align, a_off, n_words, unknown = (z[k] for k in ("states", "s_off", "align", "a_off",
                                                                             "n_words", "unknown"))
        if states.ndim == 2:  # one layer, cached as (sum P, H)
            states = states[:, None, :]
        _log(f"{label}: {len(texts)} texts' layer-{tag} wordpiece states read from {path}")
    else:
        t0 = time.perf_counter()
        items: list[PieceStates] = []
        for s in range(0, len(texts), CHUNK):
            chunk = list(texts[s: s + CHUNK])
            spans = [[(a, b) for _, a, b in tokenize_with_spans(t, lower=lower, scheme=scheme)] for t in chunk]
            items += [PieceStates(x.states.astype(np.float16), x.align, x.unknown)
                      for x in piece_states(encoder, chunk, spans, layers)]
            _log(f"{label}: {min(s + CHUNK, len(texts))}/{len(texts)} texts ({time.perf_counter() - t0:.0f} s)")
        H = encoder.hidden_size
        # (sum P, S, H): wordpieces first, so that one text is one contiguous slice
        states = (np.concatenate([x.states.transpose(1, 0, 2) for x in items]) if items
                  else np.zeros((0, len(layers), H), np.float16))
        s_off = np.cumsum([0] + [x.states.shape[1] for x in items]).astype(np.int64)
        align = np.concatenate([x.align.ravel() for x in items]) if items else np.zeros(0, np.float32)
        a_off = np.cumsum([0] + [x.align.size for x in items]).astype(np.int64)
        n_words = np.array([x.num_words for x in items], np.int64)
        unknown = np.array([x.unknown for x in items], np.int64)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, states=states, s_off=s_off, align=align, a_off=a_off, n_words=n_words, unknown=unknown)
            os.replace(tmp, path)
            _log(f"{label}: cached {states.nbytes / 1e6:.0f} MB in {path} ({time.perf_counter() - t0:.0f} s)")
    out = []
    for i in range(len(texts)):
        st = states[s_off[i]: s_off[i + 1]].transpose(1, 0, 2)  # (S, P, H)
        out.append(PieceStates(st, align[a_off[i]: a_off[i + 1]].reshape(int(n_words[i]), st.shape[1]),
                               int(unknown[i])))
    return out


# ---------------------------------------------------------------------- batches, evaluation, fit


def piece_batches(items: Sequence[PieceStates], labels: Sequence[int], *, batch_size: int, min_words: int,
                  generator: torch.Generator | None = None, device: str = "cpu"):  # noqa: ANN201 - a generator
    """(states (B, P, H), piece mask (B, P), align (B, T, P), lengths (B,), labels (B,)), shuffled when
    a generator is given."""
    order = torch.randperm(len(items), generator=generator).tolist() if generator is not None else range(len(items))
    order = list(order)
    for s in range(0, len(order), batch_size):
        idx = order[s: s + batch_size]
        batch = (*pad_pieces([items[i] for i in idx], min_words), torch.tensor([labels[i] for i in idx]))
        yield tuple(t.to(device) for t in batch)


@torch.inference_mode()
def evaluate_pieces(model: TextCNN, items: Sequence[PieceStates], labels: Sequence[int], label_names: Sequence[str],
                    *, batch_size: int = 128, device: str = "cpu") -> dict[str, Any]:
    """Eval mode: ``classification_report`` plus the mean cross-entropy ``loss`` and ``predictions``."""
    model.eval()
    y_pred: list[int] = []
    total = 0.0
    for states, mask, align, lengths, y in piece_batches(items, labels, batch_size=batch_size,
                                                         min_words=model.config.max_width, device=device):
        logits = model(model.contextual_input(states, mask, align), lengths)  # (B, C)
        total += float(F.cross_entropy(logits, y, reduction="sum"))
        y_pred += logits.argmax(1).tolist()
    report = classification_report(list(labels), y_pred, list(label_names))
    report["loss"] = total / max(len(labels), 1)
    report["predictions"] = y_pred
    return report


def fit_finetune(model: TextCNN, train: Sequence[PieceStates], y_train: Sequence[int], dev: Sequence[PieceStates],
                 y_dev: Sequence[int], label_names: Sequence[str], *, optimizer_name: str = "adam", lr: float = 1e-3,
                 encoder_lr: float = 3e-5, encoder_weight_decay: float = 0.01, warmup_fraction: float = 0.1,
                 batch_size: int = 32, epochs: int = 4, patience: int = 3, evals_per_epoch: int = 2,
                 max_norm: float | None = 3.0, seed: int = 0, max_batches: int | None = None,
                 device: str = "cpu") -> dict[str, Any]:
    """Train the copied top layers (AdamW, ``encoder_lr``, warm-up then linear decay) and the head
    (``optimizer_name``, ``lr``, the same schedule's shape); keep the best dev evaluation's weights."""
    assert model.encoder_top is not None
    g = torch.Generator().manual_seed(seed)
    top = list(model.encoder_top.parameters())
    top_ids = {id(p) for p in top}
    head = [p for p in model.parameters() if id(p) not in top_ids]
    opt_top = torch.optim.AdamW(top, lr=encoder_lr, weight_decay=encoder_weight_decay)
    opt_head = make_optimizer(optimizer_name, head, lr=lr)
    steps_per_epoch = (len(train) + batch_size - 1) // batch_size
    if max_batches is not None:
        steps_per_epoch = min(steps_per_epoch, max_batches)
    total = max(1, steps_per_epoch * epochs)
    warm = max(1, int(warmup_fraction * total))

    def shape(step: int) -> float:
        return (step + 1) / warm if step < warm else max(0.0, 1.0 - (step - warm) / max(1, total - warm))

    scheds = [torch.optim.lr_scheduler.LambdaLR(o, shape) for o in (opt_top, opt_head)]
    eval_at = {round(steps_per_epoch * (j + 1) / evals_per_epoch) for j in range(evals_per_epoch)}
    stopper = EarlyStopping(patience, mode="max")
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best: dict[str, Any] = {"accuracy": -1.0}
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    stop = False
    for epoch in range(1, epochs + 1):
        model.train()
        seen = correct = 0
        loss_sum = 0.0
        for step, (states, mask, align, lengths, y) in enumerate(
                piece_batches(train, y_train, batch_size=batch_size, min_words=model.config.max_width,
                              generator=g, device=device), start=1):
            if max_batches is not None and step > max_batches:
                break
            logits = model(model.contextual_input(states, mask, align), lengths)  # (B, C)
            loss = F.cross_entropy(logits, y)
            opt_top.zero_grad(set_to_none=True)
            opt_head.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top, 1.0)
            opt_top.step()
            opt_head.step()
            for s in scheds:
                s.step()
            if max_norm:
                apply_max_norm(model.fc, max_norm)
            seen += y.numel()
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += float(loss.detach()) * y.numel()
            if step in eval_at:
                report = evaluate_pieces(model, dev, y_dev, label_names, device=device)
                model.train()
                improved = stopper.step(report["accuracy"])
                point = round(epoch - 1 + step / steps_per_epoch, 2)
                row = {"epoch": point, "train_loss": round(loss_sum / seen, 5), "train_accuracy": round(correct / seen, 5),
                       "dev_loss": round(report["loss"], 5), "dev_accuracy": round(report["accuracy"], 5),
                       "encoder_lr": opt_top.param_groups[0]["lr"], "seconds": round(time.perf_counter() - t0, 1)}
                history.append(row)
                _log(f"epoch {point:5.2f}  train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f}  dev loss "
                     f"{row['dev_loss']:.4f} acc {row['dev_accuracy']:.4f}  {row['seconds']:.0f} s"
                     f"{'  *best' if improved else ''}")
                if improved:
                    best = {k: v for k, v in report.items() if k != "predictions"} | {"epoch": point}
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if stopper.should_stop:
                    _log(f"early stop: no dev gain in {stopper.bad_steps} evaluations (best at epoch {best['epoch']})")
                    stop = True
                    break
        if stop:
            break
    model.load_state_dict(best_state)
    model.eval()
    return {"best": best, "history": history, "seconds": round(time.perf_counter() - t0, 1)}


# ---------------------------------------------------------------------- the CLI's fine-tuning run


def run(args: argparse.Namespace, argv: Sequence[str], splits: Any, train: list[LabelledText], dev: list[LabelledText],
        test: list[LabelledText], *, started: float, load_at_start: Any, dry_run_batches: int) -> int:
    """``python -m training.classifier ... --finetune-layers K``: what ``training.classifier.main`` does
    for the other kinds, with the fine-tuned top (called from there after the data is split)."""
    from training.classifier import _load_average, round_weights
    from training.contextual_features import load_encoder

    encoder = load_encoder()
    L, k = encoder.num_layers, args.finetune_layers
    if not 1 <= k <= L:
        raise SystemExit(f"--finetune-layers must be in 1..{L}")
    cut = L - k
    # "all": the input to the copied layers and their outputs; "every": every hidden state (the lower
    # ones frozen, read from the shared encoder); else the listed indices
    layers = (tuple(range(cut, L + 1)) if args.encoder_layers == "all" else tuple(range(L + 1))
              if args.encoder_layers == "every" else tuple(int(x) % (L + 1) for x in args.encoder_layers.split(",")))
    hf = encoder.model.config
    config = TextCNNConfig(vocab_size=2, embed_dim=encoder.hidden_size, num_classes=len(splits.labels),
                           filter_sizes=args.filter_sizes, num_filters=args.num_filters, dropout=args.dropout,
                           embedding_mode="contextual", padding_idx=0, max_norm=args.max_norm or None,
                           lower=args.lower, conv_padding=args.conv_padding, tokenizer=args.tokenizer,
                           encoder=encoder.name, encoder_layers=layers, encoder_num_layers=L, encoder_top_layers=k,
                           encoder_num_heads=hf.num_attention_heads, encoder_intermediate_size=hf.intermediate_size,
                           encoder_layer_norm_eps=hf.layer_norm_eps)
    print(format_summary(summary(config)), file=sys.stderr, flush=True)
    data = args.data if args.data in ("trec", "mr") else Path(args.data).stem
    feats = {name: cached_piece_states(encoder, [x.text for x in items], layers=config.shared_layers,
                                       scheme=args.tokenizer,
                                       lower=args.lower, label=f"{data}-{name}")
             for name, items in (("train", train), ("dev", dev), ("test", test))}
    index = {lab: i for i, lab in enumerate(splits.labels)}
    ys = {name: [index[x.label] for x in items] for name, items in (("train", train), ("dev", dev), ("test", test))}
    encoder_state = encoder.model.state_dict()
    save_dtype = torch.float32 if args.fp32 else torch.float16
    best_run: tuple[TextCNN, dict[str, Any], dict[str, Any]] | None = None
    restarts = []
    for r in range(args.restarts):
        seed = args.seed + r
        set_seed(seed)
        model = TextCNN(config)
        load_bert_layers(model.encoder_top, encoder_state, cut)
        result = fit_finetune(model, feats["train"], ys["train"], feats["dev"], ys["dev"], splits.labels,
                              optimizer_name=args.optimizer, lr=args.lr if args.lr is not None else 1e-3,
                              encoder_lr=args.encoder_lr, warmup_fraction=args.warmup_fraction,
                              batch_size=args.batch_size, epochs=min(args.epochs, 2) if args.dry_run else args.epochs,
                              patience=args.patience, evals_per_epoch=args.evals_per_epoch,
                              max_norm=args.max_norm or None, seed=seed,
                              max_batches=dry_run_batches if args.dry_run else None)
        round_weights(model, save_dtype)
        dev_report = evaluate_pieces(model, feats["dev"], ys["dev"], splits.labels)
        dev_report.pop("predictions")
        restarts.append({"seed": seed, "best_epoch": result["best"].get("epoch"), "dev_accuracy": dev_report["accuracy"],
                         "dev_loss": round(dev_report["loss"], 5), "seconds": result["seconds"]})
        _log(f"run {r + 1}/{args.restarts} (seed {seed}): dev accuracy {dev_report['accuracy']:.4f}")
        if best_run is None or (dev_report["accuracy"], -dev_report["loss"]) > (best_run[2]["accuracy"],
                                                                               -best_run[2]["loss"]):
            best_run = (model, result, dev_report)
    assert best_run is not None
    model, result, dev_report = best_run
    train_seconds = time.perf_counter() - started
    metrics: dict[str, Any] = {"best_epoch": result["best"].get("epoch"), "evaluations": len(result["history"]),
                               "weights_dtype": str(save_dtype).removeprefix("torch."), "dev": dev_report,
                               "history": result["history"],
                               "layer_weights": dict(zip(map(str, config.encoder_layers), model.layer_weights()))}
    if args.restarts > 1:
        metrics["restarts"] = restarts
    if test:
        test_report = evaluate_pieces(model, feats["test"], ys["test"], splits.labels)
        test_report.pop("predictions")
        metrics["test"] = test_report
        print(f"test ({splits.splits['test']}):")
        print(format_report(test_report))
    if args.output:
        out = Path(args.output)
        data_card = {
            "name": args.name or out.name, "version": args.version, "task": "text classification",
            "data": args.data if args.data in ("trec", "mr") else Path(args.data).name,
            "source": splits.source, "licence": splits.licence, "labels": splits.labels,
            "sizes": {"train": len(train), "dev": len(dev), "test": len(test)}, "splits": splits.splits,
            "split_seed": args.split_seed,
            "test_fraction": (args.test_fraction or 0.1) if args.data == "mr" else args.test_fraction,
            "label_counts": {"train": dict(Counter(x.label for x in train)),
                             "test": dict(Counter(x.label for x in test))},
            "vectors": {"name": "contextual, top layers fine-tuned",
                        "source": f"{encoder.name} {encoder.version}: the shared encoder's layers 0-{cut} (frozen, "
                                  f"shipped as a package, not part of this artifact) and this artifact's own "
                                  f"fine-tuned copy of layers {cut + 1}-{L}",
                        "licence": "Apache-2.0 (the encoder and the fine-tuned copy of its layers)",
                        "dim": encoder.hidden_size, "layers": list(layers), "fine_tuned_layers": list(range(cut + 1, L + 1))},
            "command": "python -m training.classifier " + shlex.join(argv),
            "metrics": {"best_epoch": metrics["best_epoch"], "dev_accuracy": dev_report["accuracy"],
                        "test_accuracy": metrics["test"]["accuracy"] if test else None},
            "seed": args.seed, "dry_run": args.dry_run, "training_seconds": round(train_seconds, 1),
            "machine": machine_line() + f", torch {torch.__version__} with {torch.get_num_threads()} thread(s)",
            "load_average_1_5_15_min": {"start": load_at_start, "end": _load_average()},
            "date": _dt.date.today().isoformat(),
            "hyperparameters": {k_: (list(v) if isinstance(v, tuple) else v) for k_, v in vars(args).items()
                                if k_ not in ("output", "name", "version", "progress")},
        }
        text_cnn.save(model, out, vocab=Vocab([PAD, UNK]), labels=splits.labels, metrics=metrics, data_card=data_card,
                      dtype=save_dtype)
        size = sum(p.stat().st_size for p in out.iterdir())
        _log(f"saved {out} ({size / 1e6:.1f} MB) in {train_seconds:.0f} s total")
    return 0
