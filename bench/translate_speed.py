"""Decoding throughput of a translation artifact: sentences per second, greedy and beam 5, batched.

    PYTHONPATH=$PWD python bench/translate_speed.py artifacts/seq2seq/en-es-attn --n 500
    PYTHONPATH=/path/to/old/checkout python bench/translate_speed.py OLD_ARTIFACT --n 500   # a v1 model

Sources are the first ``--n`` test sources of the artifact (rebuilt from its data card), decoded in
batches of ``--batch-size`` on one thread. It reports both wall-clock and CPU-time rates: on a shared
machine the CPU-time rate (``time.process_time``) is the one that compares runs made under different
loads. Works with the word-level v1 code (``training.seq2seq.translate_batch``) and the subword v2
code (``pipelines.translate.decode_texts``), whichever ``PYTHONPATH`` provides.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("artifact")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--beam", default="1,5")
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(1)
    try:  # v2: subword pipeline
        from pipelines.translate import Translator, decode_texts
        from training.seq2seq_eval import rebuild_splits
        from training.seq2seq import group_references

        tr = Translator.load(args.artifact)
        sources = [s for s, _ in group_references(rebuild_splits(tr.data_card).test)][: args.n]
        d = tr.decoding

        def run(beam: int, sources: list[str]) -> list[str]:
            return [o.text for o in decode_texts(tr.model, tr.subword, sources, beam_size=beam,
                                                 length_penalty=d["length_penalty"],
                                                 coverage_penalty=d["coverage_penalty"],
                                                 no_repeat_ngram=d["no_repeat_ngram"], batch_size=args.batch_size)]
        version = "v2"
    except ImportError:  # v1: word-level code
        from training.seq2seq import group_references, load, rebuild_test_split, translate_batch

        lm = load(args.artifact)
        sources = [s for s, _ in group_references(rebuild_test_split(lm.data_card))][: args.n]

        def run(beam: int, sources: list[str]) -> list[str]:
            return translate_batch(lm.model, lm.src_vocab, lm.tgt_vocab, sources, beam=beam,
                                   batch_size=args.batch_size)
        version = "v1"
    rows = []
    for beam in [int(b) for b in args.beam.split(",")]:
        run(beam, sources[:32])  # warm-up
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            run(beam, sources)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            rows.append({"artifact": args.artifact, "code": version, "beam": beam, "sentences": len(sources),
                         "batch_size": args.batch_size, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                         "sent_per_s_wall": round(len(sources) / wall, 1),
                         "sent_per_s_cpu": round(len(sources) / cpu, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
