"""Train and evaluate the LSTM encoder-decoder (models/seq2seq.py) on sentence pairs.

    python -m training.seq2seq --data tatoeba-en-es --max-words 10 --output artifacts/seq2seq/en-es-attn
    python -m training.seq2seq --dry-run --data pairs.tsv --output /tmp/s2s     # seconds, for CI
    python -m training.seq2seq eval artifacts/seq2seq/en-es-attn --beam 1,5 [--json]

Splits are by English sentence: Tatoeba repeats a source with alternative translations, so all
pairs of one (normalised) source go to the same split, and the test BLEU uses every translation
of a test source as a reference. The split is a pure function of (data, max_words, seed,
test_size, dev_size), all recorded in the data card, so evaluation rebuilds exactly the same
test set (and checks it against a hash in the card). The test set is never used for training
or model selection; model selection (best epoch, early stopping) uses the dev set only.

Targets keep their case except the sentence-initial word, which is lowercased unless it is
usually capitalised mid-sentence (names such as "Tom" keep their capital); the detokenizer
capitalises the first letter of the output again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import random
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

from models.checkpoint import ArtifactError
from models.seq2seq_artifact import (
    DATA_CARD_FILE,
    METRICS_FILE,
    SPECIALS,
    capitalised_words,
    detokenize,
    load,
    read_json,
    pad_batch,
    save,
    source_tokens,
    target_tokens,
)
from models.seq2seq import ATTENTION_TYPES, Seq2Seq, Seq2SeqConfig, beam_search, greedy_decode
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
)
from models.vocab import BOS, EOS, PAD, UNK, Vocab, tokenize, write_text_atomic

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


def build_vocabs(
    train: Sequence[Example], *, max_vocab: int | None, min_freq: int, keep_capital: set[str]
) -> tuple[Vocab, Vocab]:
    src = Vocab.build((source_tokens(e.source) for e in train), min_freq=min_freq, max_size=max_vocab,
                      specials=SPECIALS)
    tgt = Vocab.build((target_tokens(e.target, keep_capital) for e in train), min_freq=min_freq,
                      max_size=max_vocab, specials=SPECIALS)
    return src, tgt


@dataclass
class Encoded:
    src: list[list[int]]
    tgt: list[list[int]]  # with <bos> ... <eos>


def encode_examples(examples: Sequence[Example], src_vocab: Vocab, tgt_vocab: Vocab, keep_capital: set[str]) -> Encoded:
    bos, eos = tgt_vocab.stoi[BOS], tgt_vocab.stoi[EOS]
    return Encoded(
        [src_vocab.encode(source_tokens(e.source)) for e in examples],
        [[bos, *tgt_vocab.encode(target_tokens(e.target, keep_capital)), eos] for e in examples],
    )


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
    src, src_len = pad_batch([data.src[i] for i in ids], pad_id)   # (B, S), (B,)
    tgt, _ = pad_batch([data.tgt[i] for i in ids], pad_id)         # (B, T + 1)
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
    teacher_forcing: float = 1.0,
    label_smoothing: float = 0.0,
    clip: float = 1.0,
    desc: str = "train",
    show_progress: bool = True,
    deadline: float | None = None,
    log_every: int = 0,
) -> dict[str, float]:
    """One pass over ``data``; returns mean token loss, tokens seen and whether the deadline cut it short."""
    model.train()
    pad = model.config.pad_id
    total_loss, total_tokens, steps = 0.0, 0, 0
    plan = batches(data, batch_size, shuffle=True, rng=rng)
    bar = progress(plan, desc=desc, total=len(plan), enabled=show_progress)
    cut = False
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    for ids in bar:
        if deadline is not None and time.monotonic() > deadline:
            cut = True
            break
        src, src_len, tgt_in, gold = make_tensors(data, ids, pad)
        logits, _ = model(src, src_len, tgt_in, teacher_forcing=teacher_forcing, generator=gen)  # (B, T, V)
        loss = sequence_loss(logits, gold, pad, label_smoothing)
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


@torch.no_grad()
def translate_batch(
    model: Seq2Seq,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    sources: Sequence[str],
    *,
    beam: int = 1,
    length_penalty: float = 1.0,
    batch_size: int = 128,
) -> list[str]:
    model.eval()
    out: list[str] = []
    for i in range(0, len(sources), batch_size):
        chunk = [src_vocab.encode(source_tokens(s)) for s in sources[i:i + batch_size]]
        src, src_len = pad_batch(chunk, model.config.pad_id)
        if beam <= 1:
            hyps = greedy_decode(model, src, src_len)
        else:
            hyps = beam_search(model, src, src_len, beam_size=beam, length_penalty=length_penalty)
        out.extend(detokenize(tgt_vocab.decode(h.tokens)) for h in hyps)
    return out


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


def evaluate_bleu(
    model: Seq2Seq, src_vocab: Vocab, tgt_vocab: Vocab, examples: Sequence[Example], *, beam: int = 1,
    length_penalty: float = 1.0, limit: int | None = None,
) -> dict[str, Any]:
    """Corpus BLEU/chrF against all references of each distinct source (first ``limit`` sources)."""
    grouped = group_references(examples)[:limit]
    hyps = translate_batch(model, src_vocab, tgt_vocab, [s for s, _ in grouped], beam=beam,
                           length_penalty=length_penalty)
    return corpus_scores(hyps, [r for _, r in grouped])


def fit(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    """Load, split, build vocabularies, train with dev-based selection, save the best artifact."""
    t0 = time.monotonic()
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    pairs, data_info = load_pairs(args.data, max_words=args.max_words)
    train, dev, test = split(pairs, test_size=args.test_size, dev_size=args.dev_size, seed=args.seed)
    if args.dry_run:
        train, dev = train[:300], dev[:60]
    keep_capital = capitalised_words([e.target for e in train])
    src_vocab, tgt_vocab = build_vocabs(train, max_vocab=args.max_vocab, min_freq=args.min_freq,
                                        keep_capital=keep_capital)
    config = Seq2SeqConfig(
        src_vocab_size=len(src_vocab), tgt_vocab_size=len(tgt_vocab), embed_dim=args.embed_dim,
        hidden=args.hidden, layers=args.layers, bidirectional=args.bidirectional, dropout=args.dropout,
        attention=args.attention, pad_id=src_vocab.stoi[PAD], unk_id=src_vocab.stoi[UNK],
        bos_id=tgt_vocab.stoi[BOS], eos_id=tgt_vocab.stoi[EOS],
    )
    model = Seq2Seq(config)
    init_weights(model, args.init)
    train_data = encode_examples(train, src_vocab, tgt_vocab, keep_capital)
    dev_data = encode_examples(dev, src_vocab, tgt_vocab, keep_capital)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    optimizer = make_optimizer(args.optimizer, model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = make_scheduler(args.schedule, optimizer, total_steps=steps_per_epoch * args.epochs,
                               warmup_steps=args.warmup_steps)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{len(train)} train / {len(dev)} dev / {len(test)} test pairs; vocab {len(src_vocab)} src, "
        f"{len(tgt_vocab)} tgt; {n_params / 1e6:.2f}M parameters; {steps_per_epoch} steps/epoch")

    data_card = {
        "version": args.model_version,
        "data": data_info,
        "task": "translation en->es" if args.data == TATOEBA else "translation",
        "split": {
            "data": args.data, "max_words": args.max_words, "seed": args.seed, "test_size": args.test_size,
            "dev_size": args.dev_size, "unit": "distinct normalised source sentences; all their pairs go together",
            "pairs": {"train": len(train), "dev": len(dev), "test": len(test)},
            "sources": {"train": len(group_references(train)), "dev": len(group_references(dev)),
                        "test": len(group_references(test))},
            "test_sha256": split_hash(test),
            "dry_run": bool(args.dry_run),
        },
        "preprocessing": {
            "source": "models.vocab.tokenize, lowercased",
            "target": "models.vocab.tokenize, cased; sentence-initial word lowercased unless usually capitalised",
            "max_vocab": args.max_vocab, "min_freq": args.min_freq,
        },
        "command": "python -m training.seq2seq " + shlex.join(argv),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "torch": torch.__version__, "threads": args.threads},
    }

    mode = "min" if args.select_on == "loss" else "max"
    stopper = EarlyStopping(args.patience, mode)
    rng = random.Random(args.seed)
    deadline = t0 + args.max_minutes * 60 if args.max_minutes else None
    history = []
    best: dict[str, Any] | None = None
    for epoch in range(args.epochs):
        tf = max(0.0, min(1.0, args.teacher_forcing - args.tf_decay * epoch))
        e0 = time.monotonic()
        stats = train_one_epoch(model, train_data, optimizer, scheduler, batch_size=args.batch_size, rng=rng,
                                teacher_forcing=tf, label_smoothing=args.label_smoothing, clip=args.clip,
                                desc=f"epoch {epoch + 1}/{args.epochs}", show_progress=not args.quiet,
                                deadline=deadline, log_every=args.log_every)
        dev_loss = evaluate_loss(model, dev_data)
        dev_bleu = evaluate_bleu(model, src_vocab, tgt_vocab, dev, beam=1,
                                 limit=args.dev_bleu_sources)["bleu"] if args.select_on == "bleu" or args.dev_bleu else None
        row = {"epoch": epoch + 1, "train_loss": round(stats["loss"], 4), "dev_loss": round(dev_loss, 4),
               "dev_ppl": round(math.exp(min(dev_loss, 50)), 2), "dev_bleu_greedy": dev_bleu,
               "teacher_forcing": tf, "lr": optimizer.param_groups[0]["lr"], "steps": stats["steps"],
               "epoch_seconds": round(time.monotonic() - e0, 1), "cut_by_deadline": stats["cut"]}
        history.append(row)
        log(json.dumps(row))
        improved = stopper.step(dev_loss if args.select_on == "loss" else dev_bleu)
        if improved:
            best = dict(row)
            elapsed = time.monotonic() - t0
            metrics = {"select_on": args.select_on, "best_epoch": row["epoch"], "best": best, "history": history,
                       "parameters": n_params, "training_seconds": round(elapsed, 1)}
            data_card["training"] = {"seconds": round(elapsed, 1), "epochs_run": epoch + 1,
                                     "best_epoch": row["epoch"], "stopped": "in progress"}
            save(args.output, model, config, src_vocab, tgt_vocab, keep_capital, metrics, data_card, fp16=args.fp16)
            log(f"saved epoch {epoch + 1} to {args.output}")
        if stopper.should_stop or stats["cut"]:
            break
    elapsed = time.monotonic() - t0
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


# ----------------------------------------------------------------------------- artifact


# ----------------------------------------------------------------------------- CLI


def log(msg: str) -> None:
    print(f"[train_seq2seq] {msg}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.seq2seq",
                                description="Train an LSTM encoder-decoder with attention (eval: see 'eval --help').")
    p.add_argument("--data", default=TATOEBA, help=f"{TATOEBA!r} or a TSV file source<TAB>target")
    p.add_argument("--max-words", type=int, default=10, help="keep pairs whose source has <= N words")
    p.add_argument("--test-size", type=int, default=2000, help="held-out distinct sources for test")
    p.add_argument("--dev-size", type=int, default=2000, help="held-out distinct sources for dev (selection)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--attention", choices=ATTENTION_TYPES, default="general")
    p.add_argument("--embed-dim", type=int, default=None, help="default 256 (16 with --dry-run)")
    p.add_argument("--hidden", type=int, default=None, help="default 512 (16 with --dry-run)")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--teacher-forcing", type=float, default=1.0, help="probability of feeding the gold token")
    p.add_argument("--tf-decay", type=float, default=0.0,
                   help="subtract this from the teacher-forcing ratio after each epoch (linear schedule)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0 = off)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=SCHEDULES, default="linear-warmup")
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--init", choices=INITS, default="default")
    p.add_argument("--batch-size", type=int, default=96)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--select-on", choices=("loss", "bleu"), default="bleu")
    p.add_argument("--dev-bleu", action="store_true", help="also report dev BLEU when selecting on loss")
    p.add_argument("--dev-bleu-sources", type=int, default=1000, help="dev sources decoded for dev BLEU")
    p.add_argument("--max-vocab", type=int, default=10000)
    p.add_argument("--min-freq", type=int, default=2)
    p.add_argument("--output", required=True, help="artifact folder to write")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None, help="stop training after this many minutes")
    p.add_argument("--fp16", action=argparse.BooleanOptionalAction, default=True, help="save weights as fp16")
    p.add_argument("--model-version", default="1", help="version string recorded in the data card")
    p.add_argument("--dry-run", action="store_true", help="tiny model and subset, one epoch: seconds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--log-every", type=int, default=0, help="log the running loss every N steps (0 = off)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        return eval_main(argv[1:])
    args = build_parser().parse_args(argv)
    small = args.dry_run
    args.embed_dim = args.embed_dim or (16 if small else 256)
    args.hidden = args.hidden or (16 if small else 512)
    if args.dry_run:
        args.epochs = 1
        args.test_size, args.dev_size = min(args.test_size, 20), min(args.dev_size, 20)
        args.dev_bleu_sources, args.warmup_steps = 20, 0
    metrics = fit(args, argv)
    print(json.dumps({"best_epoch": metrics["best_epoch"], "best": metrics["best"],
                      "training_seconds": metrics["training_seconds"]}, indent=2))
    return 0


# ----------------------------------------------------------------------------- evaluation


def rebuild_test_split(card: dict[str, Any], *, data: str | None = None) -> list[Example]:
    """The exact test set of a trained artifact, from its data card (checked against the stored hash)."""
    s = card.get("split")
    if not s:
        raise ArtifactError("data_card.json: no 'split' section; cannot rebuild the test set")
    pairs, _ = load_pairs(data or s["data"], max_words=s["max_words"])
    _, _, test = split(pairs, test_size=s["test_size"], dev_size=s["dev_size"], seed=s["seed"])
    if split_hash(test) != s["test_sha256"]:
        raise ArtifactError("data_card.json: the rebuilt test set does not match test_sha256 "
                            "(different data file or split code)")
    return test


def build_eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.seq2seq eval",
                                description="Corpus BLEU and chrF (sacrebleu) on an artifact's held-out test set.")
    p.add_argument("artifact", help="artifact folder")
    p.add_argument("--beam", default="1,5", help="comma-separated beam sizes; 1 = greedy")
    p.add_argument("--length-penalty", type=float, default=1.0, help="GNMT alpha for beam search")
    p.add_argument("--data", default=None, help="override the data source recorded in the data card")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N test sources")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--save", action="store_true", help="record the results under 'test' in metrics.json")
    p.add_argument("--samples", type=int, default=0, help="print N sample translations")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    args = build_eval_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    lm = load(args.artifact)
    test = rebuild_test_split(lm.data_card, data=args.data)
    grouped = group_references(test)[: args.limit]
    sources, refs = [s for s, _ in grouped], [r for _, r in grouped]
    results = []
    for beam in [int(b) for b in args.beam.split(",") if b.strip()]:
        t0 = time.monotonic()
        hyps = translate_batch(lm.model, lm.src_vocab, lm.tgt_vocab, sources, beam=beam,
                               length_penalty=args.length_penalty)
        scores = corpus_scores(hyps, refs)
        scores.update(beam=beam, decoding="greedy" if beam <= 1 else f"beam {beam}",
                      length_penalty=args.length_penalty if beam > 1 else None,
                      seconds=round(time.monotonic() - t0, 1))
        results.append(scores)
        for s, h, r in list(zip(sources, hyps, refs))[: args.samples]:
            log(f"beam {beam}: {s!r} -> {h!r}   refs: {r[:3]}")
    summary = {"artifact": str(args.artifact), "attention": lm.config.attention, "test_sources": len(sources),
               "test_pairs": len(test), "references": "all translations of each source (variable count)",
               "results": results}
    if args.save:
        path = Path(args.artifact) / METRICS_FILE
        metrics = read_json(path)
        metrics["test"] = summary
        write_text_atomic(path, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(f"{args.artifact} (attention={lm.config.attention}); {len(sources)} test sources, "
              f"{len(test)} pairs, multi-reference")
        print(f"{'decoding':<10} {'BLEU':>6} {'chrF':>6} {'seconds':>8}")
        for r in results:
            print(f"{r['decoding']:<10} {r['bleu']:6.2f} {r['chrf']:6.2f} {r['seconds']:8.1f}")
        print(results[0]["bleu_signature"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
