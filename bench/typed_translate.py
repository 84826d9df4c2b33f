"""Translation of text typed without apostrophes against the same sentence written out.

    PYTHONPATH=. python bench/typed_translate.py [--beam 5] [--show]

Reads ``bench/data/typed_contractions.tsv`` (typed form, written form; written before any run and
never used to choose anything) and reports how often the typed form gets the same translation as the
written form (ignoring case and final punctuation), and how often a negation in the written
form's translation ("no", "nunca", "nadie", "nada", "ni") is missing from the typed form's.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pipelines.translate import Translator

DATA = Path(__file__).resolve().parent / "data" / "typed_contractions.tsv"
ART = Path(__file__).resolve().parent.parent / "artifacts" / "seq2seq" / "en-es-attn"
_NEG = re.compile(r"\b(no|nunca|nadie|nada|ni)\b", re.IGNORECASE)


def _key(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text.lower()).strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--show", action="store_true", help="print every pair")
    args = p.parse_args(argv)
    rows = [line.split("\t") for line in DATA.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    tr = Translator.load(ART)
    typed = tr.translate([r[0] for r in rows], beam_size=args.beam)
    written = tr.translate([r[1] for r in rows], beam_size=args.beam)
    same = lost = 0
    for (t_in, w_in), t, w in zip(rows, typed, written):
        same += _key(t.text) == _key(w.text)
        missing = bool(_NEG.search(w.text)) and not _NEG.search(t.text)
        lost += missing
        if args.show or missing:
            print(f"{t_in!r} -> {t.text!r}   |   {w_in!r} -> {w.text!r}{'   NEGATION LOST' if missing else ''}")
    n = len(rows)
    print(f"{n} sentences, beam {args.beam}: same translation as the written form {same}/{n} "
          f"({same / n:.0%}); negation lost {lost}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
