"""The WordNet 3.0 sense inventory (read-only), built offline by ``python -m training.wordnet``.

``SenseInventory.senses("bank", "n")`` gives the senses of a lemma in WordNet's order: sense 1
is the most frequent in WordNet's tagged corpus. Each sense carries its synset id (``08420278-n``:
the byte offset in WordNet 3.0's data file and the synset type, ``s`` for satellite adjectives),
its part of speech (n, v, a, r), lemma names, definition, examples and lexicographer file
("supersense", e.g. ``noun.group``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Sequence

from pipelines.errors import ResourceError

FORMAT = "wordnet-senses-v2"
FORMATS = ("wordnet-senses-v1", FORMAT)  # v1: no related synsets (read as none)
POS_TAGS = ("n", "v", "a", "r")
# spaCy's universal POS -> WordNet's part of speech
UPOS_TO_WN = {"NOUN": "n", "PROPN": "n", "VERB": "v", "AUX": "v", "ADJ": "a", "ADV": "r"}


@dataclass(frozen=True, slots=True)
class WordSense:
    synset: str  # "08420278-n"
    pos: str  # n, v, a, r (satellite adjectives are "a")
    sense_number: int  # 1-based, WordNet's order for this lemma and part of speech
    lemma_names: tuple[str, ...]  # as WordNet spells them ("depository_financial_institution")
    definition: str
    examples: tuple[str, ...]
    lexname: str  # "noun.group"
    tag_count: int = 0  # times tagged in WordNet's semantic concordance (SemCor), from index.sense
    # (hypernym ids, hyponym ids most tagged first, other related ids); empty from a v1 inventory
    related: tuple[tuple[str, ...], ...] = ()

    def gloss_text(self, lemma: str) -> str:
        """What the encoder reads for this sense: ``lemma (synonyms): definition``."""
        lemma = lemma.replace("_", " ")
        others = [n.replace("_", " ") for n in self.lemma_names if n.lower().replace("_", " ") != lemma.lower()]
        head = f"{lemma} ({', '.join(others)})" if others else lemma
        return f"{head}: {self.definition}"


class SenseInventory:
    """Lemma -> senses. Records stay as their JSON text until a lemma is looked up (loading the
    whole of WordNet as Python objects would cost about 400 MB per worker)."""

    def __init__(self, lexnames: Sequence[str], synsets: dict[str, str], index: dict[str, str], *,
                 source: str = "in memory", version: str = "local") -> None:
        self.lexnames = tuple(lexnames)
        self._synsets = synsets  # id -> JSON [lex_filenum, lemma names, definition, examples]
        self._index = index  # lemma -> JSON {pos: [synset ids in sense order]}
        self.source = source
        self.version = version

    @classmethod
    def from_lines(cls, text: str, *, source: str = "in memory", version: str = "local") -> SenseInventory:
        """Parse the artifact's text (a JSON header line, then ``s``/``i`` records, tab-separated)."""
        header_line, _, body = text.partition("\n")
        try:
            header = json.loads(header_line)
        except ValueError as exc:
            raise ResourceError(f"{source}: the first line is not a JSON header ({exc})") from None
        if not isinstance(header, dict) or header.get("format") not in FORMATS:
            got = header.get("format") if isinstance(header, dict) else None
            raise ResourceError(f"{source}: format {got!r}, expected one of {list(FORMATS)}")
        synsets: dict[str, str] = {}
        index: dict[str, str] = {}
        for number, line in enumerate(body.split("\n"), start=2):
            if not line:
                continue
            parts = line.split("\t", 2)
            if len(parts) != 3 or parts[0] not in ("s", "i"):
                raise ResourceError(f"{source}: line {number} is not an 's' or 'i' record")
            (synsets if parts[0] == "s" else index)[parts[1]] = parts[2]
        lexnames = header.get("lexnames")
        if not isinstance(lexnames, list) or not lexnames:
            raise ResourceError(f"{source}: the header has no lexnames")
        return cls(lexnames, synsets, index, source=source, version=version)

    @classmethod
    def load(cls, folder: str | Path) -> SenseInventory:
        folder = Path(folder)
        config_path = folder / "config.json"
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResourceError(f"{config_path}: missing; build the WordNet inventory with "
                                "`python -m training.wordnet` (LEXIFLOW_WORDNET_PATH)") from None
        if config.get("format") not in FORMATS:
            raise ResourceError(f"{config_path}: format {config.get('format')!r}, expected one of {list(FORMATS)}")
        path = folder / config.get("file", "senses.tsv.gz")
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ResourceError(f"{path}: missing; rebuild with `python -m training.wordnet`") from None
        if config.get("sha256") and hashlib.sha256(raw).hexdigest() != config["sha256"]:
            raise ResourceError(f"{path}: sha256 differs from {config_path} (corrupt or replaced file)")
        inv = cls.from_lines(gzip.decompress(raw).decode("utf-8"), source=str(path),
                             version=str(config.get("sha256", ""))[:12] or "local")
        for key in ("synsets", "lemmas"):
            have = len(inv._synsets) if key == "synsets" else len(inv._index)
            if key in config and config[key] != have:
                raise ResourceError(f"{path}: {have} {key}, but {config_path} says {config[key]}")
        return inv

    # ----- lookups ---------------------------------------------------------------------------------
    @staticmethod
    def key(word: str) -> str:
        return "_".join(word.strip().lower().split())

    def __contains__(self, word: str) -> bool:
        return self.key(word) in self._index

    def __len__(self) -> int:
        return len(self._index)

    def lemmas(self) -> list[str]:
        """Every lemma (lower case, '_' for spaces)."""
        return list(self._index)

    def parts_of_speech(self, word: str) -> tuple[str, ...]:
        raw = self._index.get(self.key(word))
        entry = json.loads(raw) if raw is not None else {}
        return tuple(p for p in POS_TAGS if p in entry)

    def senses(self, word: str, pos: str | None = None) -> tuple[WordSense, ...]:
        """Senses of ``word`` (a lemma), nouns first then verbs, adjectives, adverbs, each in
        WordNet's order; only ``pos`` when given. Empty when WordNet does not know the word."""
        raw = self._index.get(self.key(word))
        entry = json.loads(raw) if raw is not None else {}
        tags = entry.get("tags", {})
        out = []
        for p in POS_TAGS if pos is None else (pos,):
            counts = tags.get(p, ())
            for number, sid in enumerate(entry.get(p, ()), start=1):
                s = self.synset(sid, p, number)
                if number <= len(counts) and counts[number - 1]:
                    s = replace(s, tag_count=int(counts[number - 1]))
                out.append(s)
        return tuple(out)

    def _record(self, sid: str) -> list:
        try:
            return json.loads(self._synsets[sid])
        except KeyError:
            raise ResourceError(f"{self.source}: synset {sid!r} is named by the index but missing") from None

    def synset(self, sid: str, pos: str | None = None, sense_number: int = 0) -> WordSense:
        lex, names, definition, examples, *rest = self._record(sid)
        related = tuple(tuple(k) for k in rest[0]) if rest else ()
        return WordSense(synset=sid, pos=pos or ("a" if sid.endswith("-s") else sid[-1]), sense_number=sense_number,
                         lemma_names=tuple(names), definition=definition, examples=tuple(examples),
                         lexname=self.lexnames[lex] if 0 <= lex < len(self.lexnames) else str(lex), related=related)

    def lemma_names(self, sid: str) -> tuple[str, ...]:
        return tuple(self._record(sid)[1])

    def definition(self, sid: str) -> str:
        return str(self._record(sid)[2])

    def describe(self) -> dict[str, object]:
        return {"name": "wordnet-3.0", "version": self.version, "lemmas": len(self._index),
                "synsets": len(self._synsets), "source": self.source}
