"""Train the LSTM encoder-decoder (models/seq2seq.py) on sentence pairs with a joint subword vocabulary.

    python -m training.seq2seq --data tatoeba-en-es --max-words 20 --output artifacts/seq2seq/en-es-attn
    python -m training.seq2seq --dry-run --data pairs.tsv --output /tmp/s2s     # seconds, for CI
    python -m training.seq2seq eval artifacts/seq2seq/en-es-attn --beam 1,5 [--json]   (training/seq2seq_eval.py)

Splits are by English sentence: Tatoeba repeats a source with alternative translations, so all
pairs of one (normalised) source go to the same split, and the test BLEU uses every translation
of a test source as a reference.

The test and dev sets are those of the first (word-level) model, so the numbers compare: they are
``split(pairs with <= test_max_words words, test_size, dev_size, seed)`` (a pure function of the
data and these numbers, recorded in the data card with a hash of the test set). Training uses the
pairs with up to ``max_words`` words whose source is in neither set, minus a long-sentence test
set (``long_test_size`` distinct sources of more than ``test_max_words`` words, plus every source
longer than ``max_words``) that is never trained on nor used for selection. Model selection (best
epoch, early stopping) uses dev BLEU only.

The subword model (pipelines/subword.py: byte-level BPE, one vocabulary for both languages) is
trained on the training split only; training resumes from ``<output>.train-state.pt`` (every epoch).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import random
import re
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from models.seq2seq import ATTENTION_TYPES, Seq2Seq, Seq2SeqConfig
from models.seq2seq_artifact import DATA_CARD_FILE, METRICS_FILE, save
from models.tensors import pad_batch
from models.vocab import tokenize, write_text_atomic
from pipelines.subword import Subword, train_subword
from pipelines.translate import decode_texts
from training.names import common_lowercase, copyable_names, random_name  # noqa: F401 (re-exported)
from training.loop import (
    INITS,
    OPTIMIZERS,
    SCHEDULES,
    EarlyStopping,
    init_weights,
    make_optimizer,
    make_scheduler,
    progress,
    set_seed,
    time_schedule,
)

TATOEBA = "tatoeba-en-es"


@dataclass(frozen=True)
class Example:
    source: str
    target: str


# ----------------------------------------------------------------------------- data

def load_pairs(data: str, *, max_words: int | None = None) -> tuple[list[Example], dict[str, Any]]:
    """Read pairs from Tatoeba (``tatoeba-en-es``) or a TSV file (source<TAB>target[<TAB>...]).

    Keeps pairs whose source has at most ``max_words`` whitespace-separated words and whose two
    sides both have at least one token. Returns the pairs and a description of the source.
    """
    if data == TATOEBA:
        from training.datasets import TATOEBA_SPA, load_tatoeba_spa

        raw = [(p.source, p.target) for p in load_tatoeba_spa()]
        info = {
            "name": TATOEBA,
            "source": TATOEBA_SPA.source,
            "licence": TATOEBA_SPA.licence,
            "package": f"{TATOEBA_SPA.package}=={TATOEBA_SPA.version}",
            "file": TATOEBA_SPA.inner_path,
            "attribution": ("Sentences and translations from Tatoeba (https://tatoeba.org), CC-BY 2.0 (France). "
                            "Each pair's attribution (sentence ids and contributor names) is the third column "
                            "of the source file and is kept with the raw data; the model is a derived work."),
        }
    else:
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"--data {data}: not {TATOEBA!r} and not a file")
        raw = []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                raw.append((parts[0].strip(), parts[1].strip()))
        info = {"name": path.name, "source": str(path), "licence": "unknown (user-supplied file)",
                "attribution": "user-supplied file"}
    info["pairs_read"] = len(raw)
    pairs = [Example(s, t) for s, t in raw
             if (max_words is None or len(s.split()) <= max_words) and tokenize(s) and tokenize(t)]
    info["pairs_kept"] = len(pairs)
    info["max_words"] = max_words
    return pairs, info


def source_key(text: str) -> str:
    """The normalised form that decides which sentences count as 'the same source'."""
    return " ".join(tokenize(text, lower=True))


def split(
    pairs: Sequence[Example], *, test_size: int, dev_size: int, seed: int
) -> tuple[list[Example], list[Example], list[Example]]:
    """Split into train/dev/test by distinct source sentence (sizes count distinct sources).

    The same source (after ``source_key``) never appears in two splits; the order is a seeded
    shuffle of the sorted distinct sources, so the split depends only on the pairs and the seed.
    """
    groups: dict[str, list[Example]] = defaultdict(list)
    for p in pairs:
        groups[source_key(p.source)].append(p)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    if test_size + dev_size >= len(keys):
        raise ValueError(f"test_size + dev_size = {test_size + dev_size} but only {len(keys)} distinct sources")
    test_keys, dev_keys, train_keys = keys[:test_size], keys[test_size:test_size + dev_size], keys[test_size + dev_size:]
    pick = lambda ks: [p for k in ks for p in groups[k]]  # noqa: E731
    return pick(train_keys), pick(dev_keys), pick(test_keys)


def split_hash(examples: Sequence[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.source}\t{e.target}\n".encode())
    return h.hexdigest()


def group_references(examples: Sequence[Example]) -> list[tuple[str, list[str]]]:
    """One item per distinct source (first-seen order): (source text, all its target translations)."""
    groups: dict[str, tuple[str, list[str]]] = {}
    for e in examples:
        k = source_key(e.source)
        if k not in groups:
            groups[k] = (e.source, [])
        if e.target not in groups[k][1]:
            groups[k][1].append(e.target)
    return list(groups.values())


def n_words(text: str) -> int:
    return len(text.split())


@dataclass
class Splits:
    train: list[Example]
    dev: list[Example]
    test: list[Example]
    long_test: list[Example]


def make_splits(
    pairs: Sequence[Example], *, test_max_words: int, max_words: int, test_size: int, dev_size: int, seed: int,
    long_test_size: int,
) -> Splits:
    """The old test/dev split over short pairs, a held-out long test, and the rest (<= max_words) to train."""
    short = [p for p in pairs if n_words(p.source) <= test_max_words]
    _, dev, test = split(short, test_size=test_size, dev_size=dev_size, seed=seed)
    held = {source_key(p.source) for p in (*dev, *test)}
    long_groups: dict[str, list[Example]] = defaultdict(list)
    over: dict[str, list[Example]] = defaultdict(list)
    for p in pairs:
        k = source_key(p.source)
        if k in held:
            continue
        if n_words(p.source) > max_words:
            over[k].append(p)
        elif n_words(p.source) > test_max_words:
            long_groups[k].append(p)
    keys = sorted(long_groups)
    random.Random(seed + 1).shuffle(keys)
    long_keys = set(keys[:long_test_size]) | set(over)
    long_test = [p for p in pairs if source_key(p.source) in long_keys]
    held |= long_keys
    train = [p for p in pairs if n_words(p.source) <= max_words and source_key(p.source) not in held]
    return Splits(train, dev, test, long_test)


@dataclass
class Encoded:
    src: list[list[int]]
    tgt: list[list[int]]  # with <bos> ... <eos>


def augment_names(examples: Sequence[Example], data: Encoded, sw: Subword, *, rate: float, rng: random.Random,
                  max_tokens: int, common: set[str] = frozenset()) -> tuple[Encoded, int]:
    """A copy of ``data`` where, in a ``rate`` share of the pairs with copyable names, every such name
    is replaced on both sides by a made-up one (new names each call). Returns the data and how many
    pairs changed."""
    changed: list[tuple[int, Example]] = []
    for i, e in enumerate(examples):
        names = copyable_names(e, common)
        if names and rng.random() < rate:
            src, tgt = e.source, e.target
            for n in names:
                new = random_name(rng)
                pattern = re.compile(rf"\b{re.escape(n)}\b")
                src, tgt = pattern.sub(new, src), pattern.sub(new, tgt)
            changed.append((i, Example(src, tgt)))
    out = Encoded(list(data.src), list(data.tgt))
    if changed:
        enc = encode_examples([x for _, x in changed], sw, max_tokens=max_tokens)
        for (i, _), s_ids, t_ids in zip(changed, enc.src, enc.tgt):
            out.src[i], out.tgt[i] = s_ids, t_ids
    return out, len(changed)


def encode_examples(examples: Sequence[Example], sw: Subword, *, max_tokens: int) -> Encoded:
    """Subword ids of both sides (each cut at ``max_tokens``), targets wrapped in <bos> ... <eos>."""
    src = [e.ids[:max_tokens] for e in sw.encode_batch([x.source for x in examples])]
    tgt = [[sw.bos_id, *e.ids[:max_tokens], sw.eos_id] for e in sw.encode_batch([x.target for x in examples])]
    return Encoded(src, tgt)


def batches(data: Encoded, batch_size: int, *, shuffle: bool, rng: random.Random | None = None) -> list[list[int]]:
    """Index batches of similar source length (sorted within shuffled pools of 50 batches)."""
    idx = list(range(len(data.src)))
    if shuffle:
        (rng or random.Random(0)).shuffle(idx)
    pool = batch_size * 50
    out = []
    for i in range(0, len(idx), pool):
        chunk = sorted(idx[i:i + pool], key=lambda j: (len(data.src[j]), len(data.tgt[j])))
        out.extend(chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size))
    if shuffle:
        (rng or random.Random(0)).shuffle(out)
    return out


def make_tensors(data: Encoded, ids: Sequence[int], pad_id: int) -> tuple[torch.Tensor, ...]:
    src, src_len = pad_batch([data.src[i] for i in ids], pad_id=pad_id)   # (B, S), (B,)
    tgt, _ = pad_batch([data.tgt[i] for i in ids], pad_id=pad_id)         # (B, T + 1)
    return src, src_len, tgt[:, :-1], tgt[:, 1:]


# ----------------------------------------------------------------------------- training


def sequence_loss(logits: torch.Tensor, gold: torch.Tensor, pad_id: int, label_smoothing: float = 0.0) -> torch.Tensor:
    # logits (B, T, V); gold (B, T)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1), ignore_index=pad_id,
                           label_smoothing=label_smoothing)


def train_one_epoch(
    model: Seq2Seq,
    data: Encoded,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    *,
    batch_size: int,
    rng: random.Random,
    label_smoothing: float = 0.0,
    clip: float = 1.0,
    desc: str = "train",
    show_progress: bool = True,
    deadline: float | None = None,
    log_every: int = 0,
    bf16: bool = False,
) -> dict[str, float]:
    """One pass over ``data``; returns mean token loss, tokens seen and whether the deadline cut it short."""
    model.train()
    pad = model.config.pad_id
    total_loss, total_tokens, steps = 0.0, 0, 0
    plan = batches(data, batch_size, shuffle=True, rng=rng)
    bar = progress(plan, desc=desc, total=len(plan), enabled=show_progress)
    cut = False
    for ids in bar:
        if deadline is not None and time.monotonic() > deadline:
            cut = True
            break
        src, src_len, tgt_in, gold = make_tensors(data, ids, pad)
        keep = gold != pad                                        # (B, T)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(src, src_len, tgt_in, select=keep)  # (N, V): real target positions only
        loss = F.cross_entropy(logits.float(), gold[keep], label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip and clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = int((gold != pad).sum())
        total_loss += float(loss.detach()) * n
        total_tokens += n
        steps += 1
        if steps % 20 == 0:
            bar.set_postfix(loss=f"{total_loss / max(1, total_tokens):.3f}")
        if log_every and steps % log_every == 0:
            log(f"{desc} step {steps}/{len(plan)} loss {total_loss / max(1, total_tokens):.4f}")
    return {"loss": total_loss / max(1, total_tokens), "tokens": total_tokens, "steps": steps, "cut": cut}


@torch.no_grad()
def evaluate_loss(model: Seq2Seq, data: Encoded, *, batch_size: int = 256) -> float:
    """Mean per-token cross-entropy (no label smoothing, full teacher forcing)."""
    model.eval()
    pad = model.config.pad_id
    total, n = 0.0, 0
    for ids in batches(data, batch_size, shuffle=False):
        src, src_len, tgt_in, gold = make_tensors(data, ids, pad)
        logits, _ = model(src, src_len, tgt_in)
        k = int((gold != pad).sum())
        total += float(sequence_loss(logits, gold, pad)) * k
        n += k
    return total / max(1, n)


def corpus_scores(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """sacrebleu corpus BLEU and chrF; ``refs[i]`` are all references of segment i (variable count)."""
    from sacrebleu.metrics import BLEU, CHRF  # lazy: only evaluation needs it

    n = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(n)]
    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(list(hyps), streams)
    c = chrf.corpus_score(list(hyps), streams)
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2), "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "segments": len(hyps), "max_references": n}


def evaluate_bleu(model: Seq2Seq, sw: Subword, examples: Sequence[Example], *, limit: int | None = None,
                  **decoding: Any) -> dict[str, Any]:
    """Corpus BLEU/chrF against all references of each distinct source (first ``limit`` sources)."""
    grouped = group_references(examples)[:limit]
    hyps = [h.text for h in decode_texts(model, sw, [s for s, _ in grouped], **decoding)]
    return corpus_scores(hyps, [r for _, r in grouped])


def state_path(output: str | Path) -> Path:
    out = Path(output)
    return out.with_name(out.name + ".train-state.pt")


def save_state(path: Path, **state: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def build_model(args: argparse.Namespace, sw: Subword) -> Seq2Seq:
    config = Seq2SeqConfig(
        src_vocab_size=sw.vocab_size, tgt_vocab_size=sw.vocab_size, embed_dim=args.embed_dim, hidden=args.hidden,
        layers=args.layers, bidirectional=args.bidirectional, dropout=args.dropout, attention=args.attention,
        pad_id=sw.pad_id, unk_id=sw.unk_id, bos_id=sw.bos_id, eos_id=sw.eos_id, input_feeding=args.input_feeding,
        share_embeddings=args.tie, tie_output=args.tie,
    )
    model = Seq2Seq(config)
    init_weights(model, args.init)
    return model


def fit(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    """Load, split, train the subword model, train with dev-BLEU selection, save the best artifact."""
    t0 = time.monotonic()
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    pairs, data_info = load_pairs(args.data, max_words=None)
    sp = make_splits(pairs, test_max_words=args.test_max_words, max_words=args.max_words, test_size=args.test_size,
                     dev_size=args.dev_size, seed=args.seed, long_test_size=args.long_test_size)
    train, dev = sp.train, sp.dev
    if args.dry_run:
        train, dev = train[:300], dev[:60]
    resume = state_path(args.output)
    state = torch.load(resume, weights_only=True) if args.resume and resume.is_file() else None
    if state is not None:
        sw = Subword.from_str(state["tokenizer"])
        log(f"resuming from {resume} after epoch {state['epoch']}")
    else:
        sw = train_subword((x for e in train for x in (e.source, e.target)), vocab_size=args.vocab_size,
                           min_frequency=args.min_freq)
    model = build_model(args, sw)
    train_data = encode_examples(train, sw, max_tokens=args.max_tokens)
    dev_data = encode_examples(dev, sw, max_tokens=args.max_tokens)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    optimizer = make_optimizer(args.optimizer, model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    spent = float(state["seconds"]) if state is not None else 0.0
    if args.schedule == "time":
        if not args.max_minutes:
            raise SystemExit("--schedule time needs --max-minutes")
        scheduler = time_schedule(optimizer, warmup_steps=args.warmup_steps, budget=args.max_minutes * 60,
                                  spent=spent, start=t0)
    else:
        scheduler = make_scheduler(args.schedule, optimizer, total_steps=steps_per_epoch * args.epochs,
                                   warmup_steps=args.warmup_steps)
    n_params = sum(p.numel() for p in model.parameters())
    src_len = sum(map(len, train_data.src)) / max(1, len(train))
    tgt_len = sum(map(len, train_data.tgt)) / max(1, len(train)) - 2
    log(f"{len(train)} train / {len(dev)} dev / {len(sp.test)} test / {len(sp.long_test)} long-test pairs; "
        f"subword vocab {sw.vocab_size}; {src_len:.1f} src / {tgt_len:.1f} tgt pieces per sentence; "
        f"{n_params / 1e6:.2f}M parameters; {steps_per_epoch} steps/epoch")
    sources = {name: len(group_references(xs)) for name, xs in
               (("train", train), ("dev", dev), ("test", sp.test), ("long_test", sp.long_test))}
    data_card = {
        "version": args.model_version,
        "data": {**data_info, "pairs_up_to_max_words": sum(n_words(p.source) <= args.max_words for p in pairs)},
        "task": "translation en->es" if args.data == TATOEBA else "translation",
        "split": {
            "data": args.data, "max_words": args.test_max_words, "seed": args.seed, "test_size": args.test_size,
            "dev_size": args.dev_size, "train_max_words": args.max_words, "long_test_size": args.long_test_size,
            "unit": "distinct normalised source sentences; all their pairs go together",
            "test": f"split(pairs with <= {args.test_max_words} words, test_size, dev_size, seed): the first model's",
            "long_test": (f"{args.long_test_size} distinct sources of {args.test_max_words + 1}-{args.max_words} "
                          f"words (seed + 1) plus every source of more than {args.max_words} words"),
            "pairs": {"train": len(train), "dev": len(dev), "test": len(sp.test), "long_test": len(sp.long_test)},
            "sources": sources,
            "test_sha256": split_hash(sp.test), "dev_sha256": split_hash(sp.dev),
            "long_test_sha256": split_hash(sp.long_test),
            "dry_run": bool(args.dry_run),
        },
        "preprocessing": {
            "tokenizer": "byte-level BPE (tokenizers), one vocabulary for English and Spanish, trained on the "
                         "training split only; cased; NFC, curly apostrophes to ', white space collapsed",
            "vocab_size": sw.vocab_size, "min_freq": args.min_freq, "max_tokens": args.max_tokens,
            "pieces_per_sentence": {"source": round(src_len, 2), "target": round(tgt_len, 2)},
            "schedule": args.schedule,
            "augment_names": args.augment_names,
        },
        "command": "python -m training.seq2seq " + shlex.join(argv),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__, "threads": args.threads, "bf16_autocast": args.bf16},
    }

    common = common_lowercase(train) if args.augment_names > 0 else set()
    stopper = EarlyStopping(args.patience, "max")
    rng = random.Random(args.seed)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"]
        stopper.best, stopper.bad_steps, stopper.steps = state["stopper"]
    budget = args.max_minutes * 60 - spent if args.max_minutes else None
    deadline = t0 + budget if budget is not None else None
    for epoch in range(start_epoch, args.epochs):
        e0 = time.monotonic()
        epoch_data, n_aug = train_data, 0
        if args.augment_names > 0:
            epoch_data, n_aug = augment_names(train, train_data, sw, rate=args.augment_names, common=common,
                                              rng=random.Random(args.seed * 1000 + epoch), max_tokens=args.max_tokens)
            log(f"epoch {epoch + 1}: made-up names in {n_aug} pairs")
        stats = train_one_epoch(model, epoch_data, optimizer, scheduler, batch_size=args.batch_size, rng=rng,
                                label_smoothing=args.label_smoothing, clip=args.clip,
                                desc=f"epoch {epoch + 1}/{args.epochs}", show_progress=not args.quiet,
                                deadline=deadline, log_every=args.log_every, bf16=args.bf16)
        dev_loss = evaluate_loss(model, dev_data)
        d0 = time.monotonic()
        dev_bleu = evaluate_bleu(model, sw, dev, beam_size=1, limit=args.dev_bleu_sources)["bleu"]
        row = {"epoch": epoch + 1, "train_loss": round(stats["loss"], 4), "dev_loss": round(dev_loss, 4),
               "dev_ppl": round(math.exp(min(dev_loss, 50)), 2), "dev_bleu_greedy": dev_bleu,
               "lr": optimizer.param_groups[0]["lr"], "steps": stats["steps"],
               "epoch_seconds": round(time.monotonic() - e0, 1), "dev_bleu_seconds": round(time.monotonic() - d0, 1),
               "augmented_pairs": n_aug,
               "cut_by_deadline": stats["cut"]}
        history.append(row)
        log(json.dumps(row))
        elapsed = spent + time.monotonic() - t0
        if stopper.step(dev_bleu):
            best = dict(row)
            metrics = {"select_on": "dev BLEU (greedy)", "best_epoch": row["epoch"], "best": best,
                       "history": history, "parameters": n_params, "training_seconds": round(elapsed, 1)}
            data_card["training"] = {"seconds": round(elapsed, 1), "epochs_run": epoch + 1,
                                     "best_epoch": row["epoch"], "stopped": "in progress"}
            save(args.output, model, sw.to_str(), metrics, data_card, fp16=args.fp16)
            log(f"saved epoch {epoch + 1} to {args.output}")
        save_state(resume, model=model.state_dict(), optimizer=optimizer.state_dict(),
                   scheduler=scheduler.state_dict(), rng=rng.getstate(), torch_rng=torch.get_rng_state(),
                   history=history, best=best, seconds=elapsed, epoch=epoch + 1, tokenizer=sw.to_str(),
                   stopper=(stopper.best, stopper.bad_steps, stopper.steps))
        if stopper.should_stop or stats["cut"]:
            break
    elapsed = spent + time.monotonic() - t0
    stopped = "deadline" if history[-1]["cut_by_deadline"] else (
        "early stopping" if stopper.should_stop else "max epochs")
    # refresh the saved metrics/data card with the full history (weights stay those of the best epoch)
    out = Path(args.output)
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    metrics.update(history=history, training_seconds=round(elapsed, 1))
    card = json.loads((out / DATA_CARD_FILE).read_text(encoding="utf-8"))
    card["training"] = {"seconds": round(elapsed, 1), "epochs_run": len(history),
                        "best_epoch": metrics["best_epoch"], "stopped": stopped}
    write_text_atomic(out / METRICS_FILE, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / DATA_CARD_FILE, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    log(f"done in {elapsed / 60:.1f} min ({stopped}); best epoch {metrics['best_epoch']}")
    return metrics


# ----------------------------------------------------------------------------- CLI


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} train_seq2seq] {msg}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.seq2seq",
                                description="Train an LSTM encoder-decoder with attention (eval: see 'eval --help').")
    p.add_argument("--data", default=TATOEBA, help=f"{TATOEBA!r} or a TSV file source<TAB>target")
    p.add_argument("--max-words", type=int, default=20, help="train on pairs whose source has <= N words")
    p.add_argument("--test-max-words", type=int, default=10, help="test/dev are drawn from sources of <= N words")
    p.add_argument("--test-size", type=int, default=2000, help="held-out distinct sources for test")
    p.add_argument("--dev-size", type=int, default=2000, help="held-out distinct sources for dev (selection)")
    p.add_argument("--long-test-size", type=int, default=1000, help="held-out distinct long sources")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--vocab-size", type=int, default=None, help="joint subword vocabulary (default 8000)")
    p.add_argument("--min-freq", type=int, default=2, help="BPE merges need this many occurrences")
    p.add_argument("--max-tokens", type=int, default=120, help="cut longer training sides (subword pieces)")
    p.add_argument("--attention", choices=ATTENTION_TYPES, default="general")
    p.add_argument("--embed-dim", type=int, default=None, help="default 256 (16 with --dry-run)")
    p.add_argument("--hidden", type=int, default=None, help="default 256 (16 with --dry-run)")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--input-feeding", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--tie", action=argparse.BooleanOptionalAction, default=True,
                   help="one embedding table for source, target and the output projection")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--augment-names", type=float, default=0.0,
                   help="in this share of the pairs with names written alike on both sides, replace the names by "
                        "made-up ones (new each epoch), so that the model learns to copy names")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False,
                   help="bfloat16 autocast for the training forward pass (fp32 weights; faster on CPUs with bf16)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0 = off)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=(*SCHEDULES, "time"), default="linear-warmup",
                   help="'time': warm-up, then linear decay over the --max-minutes budget")
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--init", choices=INITS, default="default")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--dev-bleu-sources", type=int, default=1000, help="dev sources decoded for dev BLEU")
    p.add_argument("--output", required=True, help="artifact folder to write")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from <output>.train-state.pt when it exists")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None, help="stop training after this many minutes in all")
    p.add_argument("--fp16", action=argparse.BooleanOptionalAction, default=True, help="save weights as fp16")
    p.add_argument("--model-version", default="2", help="version string recorded in the data card")
    p.add_argument("--dry-run", action="store_true", help="tiny model and subset, one epoch: seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--log-every", type=int, default=0, help="log the running loss every N steps (0 = off)")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    """``python -m training.seq2seq eval ...`` (training/seq2seq_eval.py)."""
    from training.seq2seq_eval import eval_main as run

    return run(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        return eval_main(argv[1:])
    args = build_parser().parse_args(argv)
    small = args.dry_run
    args.embed_dim = args.embed_dim or (16 if small else 256)
    args.hidden = args.hidden or (16 if small else 256)
    args.vocab_size = args.vocab_size or (400 if small else 8000)
    if args.dry_run:
        args.epochs = 1
        args.test_size, args.dev_size = min(args.test_size, 20), min(args.dev_size, 20)
        args.long_test_size = min(args.long_test_size, 20)
        args.dev_bleu_sources, args.warmup_steps = 20, 0
    metrics = fit(args, argv)
    print(json.dumps({"best_epoch": metrics["best_epoch"], "best": metrics["best"],
                      "training_seconds": metrics["training_seconds"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
