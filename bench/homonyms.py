"""Sanity check on ten everyday homonyms, sentences written for this check (not from WordNet).

NEVER used to choose anything: every weight and threshold is fitted on WordNet dev lemmas by
``lexiflow eval senses --wordnet``. This only reports how the shipped pipeline does on plain
sentences: per word, ``/v1/senses/compare``'s grouping (k automatic) against the intended two
senses (adjusted Rand index, exactly right or not), and whether each sentence's most probable
WordNet sense is one of the synsets that fit the intended sense.

    PYTHONPATH=$PWD python bench/homonyms.py [--set 1|2|3|4|5] [--json]

The sets are data, ``bench/data/homonyms.json``. ``--set 2`` runs the second (ten other words,
sentences typed as people type them), written after the first set had been looked at and before
anything was run on it; ``--set 3`` the third, written the same way in session 6; ``--set 4`` the fourth, written in session 7
after that session's changes and before anything was run on it; ``--set 5`` the fifth, written the
same way in session 8.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "homonyms.json"


def load_set(number: int) -> dict[str, list[tuple[set[str], list[str]]]]:
    """Set ``number`` of ``bench/data/homonyms.json``: word -> two senses, each (acceptable WordNet
    3.0 synsets, three sentences)."""
    words = json.loads(DATA.read_text(encoding="utf-8"))["sets"][str(number)]["words"]
    return {w: [(set(s["synsets"]), s["sentences"]) for s in senses] for w, senses in words.items()}


def run(comparer, homonyms: dict[str, list[tuple[set[str], list[str]]]]) -> dict[str, object]:  # noqa: ANN001
    from sklearn.metrics import adjusted_rand_score

    rows = []
    for word, senses in homonyms.items():
        sentences = [s for _, group in senses for s in group]
        truth = [k for k, (_, group) in enumerate(senses) for _ in group]
        allowed = [ok for ok, group in senses for _ in group]
        t0 = time.perf_counter()
        c = comparer.compare(word, sentences)
        ms = (time.perf_counter() - t0) * 1000
        first = {o.sentence: i for i, o in reversed(list(enumerate(c.occurrences)))}
        group_of = {i: s.id for s in c.senses for i in s.occurrences}
        pred = [group_of[first[k]] for k in range(len(sentences))]
        top = [c.occurrences[first[k]].sense for k in range(len(sentences))]
        right = [t is not None and t.synset in ok for t, ok in zip(top, allowed)]
        ari = float(adjusted_rand_score(truth, pred))
        rows.append({"word": word, "ari": round(ari, 4), "exact": ari > 0.999, "groups": len(c.senses),
                     "top_sense_right": sum(right), "sentences": len(sentences), "ms": round(ms),
                     "group_senses": [s.sense.synset if s.sense else None for s in c.senses],
                     "wrong": [f"{sentences[k]!r} -> {top[k].synset if top[k] else None} "
                               f"({top[k].gloss[:50] if top[k] else ''})" for k in range(len(sentences))
                               if not right[k]]})
    n_sent = sum(r["sentences"] for r in rows)
    return {"rows": rows, "mean_ari": round(sum(r["ari"] for r in rows) / len(rows), 4),
            "exact": sum(r["exact"] for r in rows), "words": len(rows),
            "top_sense_accuracy": round(sum(r["top_sense_right"] for r in rows) / n_sent, 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--set", type=int, choices=(1, 2, 3, 4, 5), default=1,
                   help="which set of bench/data/homonyms.json (default 1)")
    args = p.parse_args(argv)
    import torch

    from pipelines import load_pipelines
    from service.settings import Settings

    torch.set_num_threads(1)
    pipelines = load_pipelines(Settings(tasks=["senses"], lemmatize_engines=["rule"]).load_plan())
    out = run(pipelines.senses, load_set(args.set))
    out["set"] = args.set
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print("| word | groups | ARI | exact | top sense right | ms |\n|---|---:|---:|---|---:|---:|")
    for r in out["rows"]:
        print(f"| {r['word']} | {r['groups']} | {r['ari']:.2f} | {'yes' if r['exact'] else 'no'} | "
              f"{r['top_sense_right']}/{r['sentences']} | {r['ms']} |")
    print(f"\nmean ARI {out['mean_ari']:.3f}; exactly right {out['exact']}/{out['words']}; "
          f"top WordNet sense right {out['top_sense_accuracy']:.1%}")
    for r in out["rows"]:
        for w in r["wrong"]:
            print(f"  {r['word']}: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
