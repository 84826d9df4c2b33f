"""What spaCy's parser changes in lemmatize: the ``rule`` engine (parser excluded) vs ``full``
(parser on), and spaCy's complete pipeline (parser and NER) as the reference.

    LEXIFLOW_DATA_CACHE=... python bench/bench_lemmatize_engines.py [--sentences 3000] [--reviews 2000]

Text: natural English from two corpora fetched as the training code fetches them (nothing is
downloaded from a hub): a seeded sample of Tatoeba's English sentences (short, conversational,
many auxiliaries) and MR movie-review snippets (longer, written). Prints, per corpus:

- words/s of each engine (one thread, ``nlp.pipe`` in batches of 64, best of 3 interleaved rounds);
- the share of tokens whose universal POS / lemma / fine tag differs from the complete pipeline's,
  and the most frequent POS changes with examples.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import spacy  # noqa: E402

from pipelines import Lemmatizer  # noqa: E402
from pipelines.lemmatize import DEFAULT_RULE_MODEL  # noqa: E402


def corpora(n_sentences: int, n_reviews: int, seed: int) -> dict[str, list[str]]:
    from training.datasets import load_mr, load_tatoeba_spa

    english = sorted({p.source for p in load_tatoeba_spa()})
    reviews = [r.text for r in load_mr()]
    rng = random.Random(seed)
    return {"tatoeba-en": rng.sample(english, n_sentences), "mr-snippets": rng.sample(reviews, n_reviews)}


def complete_pipeline() -> Lemmatizer:
    nlp = spacy.load(DEFAULT_RULE_MODEL)  # parser and NER on, senter off: spaCy's default
    return Lemmatizer(nlp, engine="full", model="complete", version=str(nlp.meta["version"]))


def throughput(engines: dict[str, Lemmatizer], texts: list[str], words: int, rounds: int = 3) -> dict[str, float]:
    """words/s of each engine, best of ``rounds``; the engines take turns within each round, so
    load from other processes on a shared machine falls on all of them alike."""
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(rounds):
        for name, lem in engines.items():
            t0 = time.perf_counter()
            lem.lemmatize(texts)
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: words / t for name, t in best.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("``", ""))
    ap.add_argument("--sentences", type=int, default=3000, help="Tatoeba English sentences (default 3000)")
    ap.add_argument("--reviews", type=int, default=2000, help="MR snippets (default 2000)")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    engines = {"rule": Lemmatizer.load("rule"), "full": Lemmatizer.load("full"), "complete": complete_pipeline()}
    print(f"spaCy {spacy.__version__}, {DEFAULT_RULE_MODEL}; pipes: "
          + "; ".join(f"{k}: {'+'.join(v.nlp.pipe_names)}" for k, v in engines.items()))
    for name, texts in corpora(args.sentences, args.reviews, args.seed).items():
        ref = engines["complete"].lemmatize(texts)
        words = sum(1 for doc in ref for t in doc.tokens if not (t.is_punct or t.is_space))
        tokens = sum(len(doc.tokens) for doc in ref)
        print(f"\n## {name}: {len(texts)} texts, {tokens} tokens, {words} words")
        print("| engine | words/s (1 thread) | POS differs | lemma differs | tag differs | sentences differ |")
        print("|---|---|---|---|---|---|")
        speed = throughput(engines, texts, words)
        for ename, lem in engines.items():
            out = lem.lemmatize(texts)
            pos = lemma = tag = sents = 0
            changes: collections.Counter[tuple[str, str]] = collections.Counter()
            examples: dict[tuple[str, str], str] = {}
            for a, b in zip(out, ref):
                sents += [(s.start, s.end) for s in a.sentences] != [(s.start, s.end) for s in b.sentences]
                for x, y in zip(a.tokens, b.tokens, strict=True):
                    if x.pos != y.pos:
                        pos += 1
                        changes[(x.pos, y.pos)] += 1
                        examples.setdefault((x.pos, y.pos), x.text)
                    lemma += x.lemma != y.lemma
                    tag += x.tag != y.tag
            print(f"| {ename} | {speed[ename]:,.0f} | {pos / tokens:.2%} ({pos}) | {lemma / tokens:.2%} ({lemma}) "
                  f"| {tag / tokens:.2%} | {sents / len(texts):.1%} |")
            if ename == "rule":
                common = ", ".join(f"{a}->{b} {n} (\"{examples[(a, b)]}\")" for (a, b), n in changes.most_common(6))
                print(f"\nrule vs complete, most frequent POS changes: {common}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
