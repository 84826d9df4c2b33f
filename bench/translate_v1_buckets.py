"""BLEU by source length for a first-generation (word-level, seq2seq-attn-v1) translation model on
the held-out sets of a v2 artifact, so old and new models are scored on the same sentences.

    PYTHONPATH=$PWD python -m training.seq2seq eval artifacts/seq2seq/en-es-attn --export /tmp/held_out.json
    PYTHONPATH=/path/to/v1/checkout python bench/translate_v1_buckets.py V1_ARTIFACT /tmp/held_out.json --beam 1,5

Buckets are by English words (whitespace-separated), as in training/seq2seq_eval.py; scores are
sacrebleu corpus BLEU and chrF against every reference of a source.
"""

from __future__ import annotations

import argparse
import json

import torch
from sacrebleu.metrics import BLEU, CHRF

BUCKETS = ((1, 5), (6, 10), (11, 15), (16, 20), (21, None))


def scores(hyps: list[str], refs: list[list[str]]) -> dict[str, float]:
    n = max(len(r) for r in refs)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(n)]
    return {"bleu": round(BLEU().corpus_score(hyps, streams).score, 2),
            "chrf": round(CHRF().corpus_score(hyps, streams).score, 2)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("artifact")
    p.add_argument("held_out")
    p.add_argument("--beam", default="1,5")
    args = p.parse_args()
    torch.set_num_threads(1)
    from training.seq2seq import load, translate_batch  # the v1 code on PYTHONPATH

    lm = load(args.artifact)
    data = json.loads(open(args.held_out, encoding="utf-8").read())
    for beam in [int(b) for b in args.beam.split(",")]:
        out = {"artifact": args.artifact, "beam": beam}
        everything = []
        for name in ("test", "long_test"):
            grouped = data[name]
            hyps = translate_batch(lm.model, lm.src_vocab, lm.tgt_vocab, [s for s, _ in grouped], beam=beam,
                                   batch_size=64)
            out[name] = {**scores(hyps, [r for _, r in grouped]), "sources": len(grouped),
                         "unk_outputs": sum("<unk>" in h for h in hyps)}
            everything += [(s, r, h) for (s, r), h in zip(grouped, hyps)]
        rows = []
        for lo, hi in BUCKETS:
            sel = [x for x in everything if len(x[0].split()) >= lo and (hi is None or len(x[0].split()) <= hi)]
            label = f"{lo}-{hi}" if hi else f"{lo}+"
            rows.append({"bucket": label, "sources": len(sel),
                         **(scores([h for _, _, h in sel], [r for _, r, _ in sel]) if sel else {})})
        out["buckets"] = rows
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
