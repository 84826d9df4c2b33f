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
import io
import mmap
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

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


class _Records:
    """One kind of ``kind<TAB>key<TAB>value`` lines of the artifact's text, left in one buffer
    (bytes, or a read-only memory map shared by every worker) and found by binary search over the
    sorted keys: no Python object per record (a dict of 265,000 strings cost about 100 MB)."""

    def __init__(self, buf: bytes | mmap.mmap, starts: np.ndarray, tabs: np.ndarray, ends: np.ndarray, *,
                 checked: bool = False) -> None:
        """``checked``: the offsets are known sorted by key, without duplicates (read from the cache)."""
        self.buf = buf
        self.starts, self.tabs, self.ends = starts, tabs, ends  # key start, the tab after the key, line end
        n = len(starts)
        if not checked and n and any(self._key(i) >= self._key(i + 1) for i in range(n - 1)):  # unsorted or duplicated
            keys = {self._key(i): i for i in range(n)}  # the last record of a key wins, as in a dict
            order = np.array([keys[k] for k in sorted(keys)], dtype=np.int64)
            self.starts, self.tabs, self.ends = starts[order], tabs[order], ends[order]

    def _key(self, i: int) -> bytes:
        return self.buf[self.starts[i]:self.tabs[i]]

    def _find(self, key: str) -> int | None:
        k = key.encode("utf-8")
        lo, hi = 0, len(self.starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._key(mid) < k:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self.starts) and self._key(lo) == k else None

    def get(self, key: str) -> str | None:
        i = self._find(key)
        return None if i is None else self.buf[self.tabs[i] + 1:self.ends[i]].decode("utf-8")

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self) -> Iterator[str]:
        return (self._key(i).decode("utf-8") for i in range(len(self.starts)))

    def offsets(self) -> np.ndarray:
        return np.stack([self.starts, self.tabs, self.ends])


def _parse(buf: bytes | mmap.mmap, source: str) -> tuple[dict, _Records, _Records]:
    """(header, synset records, index records) of the artifact's text, checked line by line."""
    data = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    first_end = int(newlines[0]) if len(newlines) else len(data)
    try:
        header = json.loads(bytes(buf[:first_end]).decode("utf-8"))
    except ValueError as exc:
        raise ResourceError(f"{source}: the first line is not a JSON header ({exc})") from None
    if not isinstance(header, dict) or header.get("format") not in FORMATS:
        got = header.get("format") if isinstance(header, dict) else None
        raise ResourceError(f"{source}: format {got!r}, expected one of {list(FORMATS)}")
    starts = np.concatenate([newlines + 1, [len(data)]])[:-1] if len(newlines) else np.zeros(0, np.int64)
    ends = np.concatenate([newlines[1:], [len(data)]]) if len(newlines) else np.zeros(0, np.int64)
    keep = ends > starts  # empty lines (the last newline) are skipped
    starts, ends = starts[keep].astype(np.int64), ends[keep].astype(np.int64)
    numbers = np.flatnonzero(keep) + 2  # 1-based line numbers, for errors
    tab_pos = np.flatnonzero(data == 9)
    second = np.searchsorted(tab_pos, starts + 2)  # the first tab after "k<TAB>": the end of the key
    tabs = ends.copy()
    found = second < len(tab_pos)
    tabs[found] = tab_pos[second[found]]
    kind = data[starts]
    ok = ((kind == ord("s")) | (kind == ord("i"))) & (ends - starts >= 3)
    ok &= data[np.minimum(starts + 1, max(len(data) - 1, 0))] == 9
    ok &= (tabs > starts + 2) & (tabs < ends)
    if not ok.all():
        raise ResourceError(f"{source}: line {int(numbers[np.argmin(ok)])} is not an 's' or 'i' record")
    lexnames = header.get("lexnames")
    if not isinstance(lexnames, list) or not lexnames:
        raise ResourceError(f"{source}: the header has no lexnames")
    is_s = kind == ord("s")
    return (header, _Records(buf, starts[is_s] + 2, tabs[is_s], ends[is_s]),
            _Records(buf, starts[~is_s] + 2, tabs[~is_s], ends[~is_s]))


class SenseInventory:
    """Lemma -> senses. Records stay as their JSON text in one buffer until a lemma is looked up
    (loading the whole of WordNet as Python objects would cost about 400 MB per worker, a dict of
    its record strings about 100 MB; the buffer is 26 MB, or a shared memory map)."""

    def __init__(self, lexnames: Sequence[str], synsets: Mapping[str, str], index: Mapping[str, str], *,
                 source: str = "in memory", version: str = "local") -> None:
        self.lexnames = tuple(lexnames)
        self._synsets = synsets  # id -> JSON [lex_filenum, lemma names, definition, examples]
        self._index = index  # lemma -> JSON {pos: [synset ids in sense order]}
        self.source = source
        self.version = version

    @classmethod
    def from_lines(cls, text: str | bytes | mmap.mmap, *, source: str = "in memory",
                   version: str = "local") -> SenseInventory:
        """Parse the artifact's text (a JSON header line, then ``s``/``i`` records, tab-separated):
        a string, its UTF-8 bytes, or a memory map of them (kept, not copied)."""
        buf = text.encode("utf-8") if isinstance(text, str) else text
        header, synsets, index = _parse(buf, source)
        return cls(header["lexnames"], synsets, index, source=source, version=version)

    @classmethod
    def load(cls, folder: str | Path, cache_dir: str | Path | None = None) -> SenseInventory:
        """The artifact in ``folder``. With ``cache_dir``, its text is unpacked there once
        (``wordnet/<sha256>.tsv``) and memory-mapped: every worker shares the pages it reads."""
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
        version = str(config.get("sha256", ""))[:12] or "local"
        if cache_dir is not None:
            inv = cls._from_cache(raw, Path(cache_dir) / "wordnet" / hashlib.sha256(raw).hexdigest(),
                                  source=str(path), version=version)
        else:
            inv = cls.from_lines(gzip.decompress(raw), source=str(path), version=version)
        for key in ("synsets", "lemmas"):
            have = len(inv._synsets) if key == "synsets" else len(inv._index)
            if key in config and config[key] != have:
                raise ResourceError(f"{path}: {have} {key}, but {config_path} says {config[key]}")
        return inv

    @classmethod
    def _from_cache(cls, raw: bytes, stem: Path, *, source: str, version: str) -> SenseInventory:
        """The unpacked text (``<stem>.tsv``) and the sorted record offsets (``<stem>.s.npy``,
        ``<stem>.i.npy``), written once and memory-mapped after: a worker's load reads the
        header and nothing else, and the records it looks up are pages shared with the others."""
        tsv, s_off, i_off = stem.with_suffix(".tsv"), stem.with_suffix(".s.npy"), stem.with_suffix(".i.npy")
        try:
            if tsv.is_file() and s_off.is_file() and i_off.is_file():
                with open(tsv, "rb") as f:
                    buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                header = json.loads(buf[: buf.find(b"\n")].decode("utf-8"))
                synsets, index = (_Records(buf, *np.load(p, mmap_mode="r"), checked=True) for p in (s_off, i_off))
                return cls(header["lexnames"], synsets, index, source=source, version=version)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged or partial cache is rebuilt below
        text = gzip.decompress(raw)
        inv = cls.from_lines(text, source=source, version=version)  # checked, sorted
        try:
            from models.atomic import write_bytes_atomic

            stem.parent.mkdir(parents=True, exist_ok=True)
            for path, arr in ((s_off, inv._synsets.offsets()), (i_off, inv._index.offsets())):  # type: ignore[union-attr]
                out = io.BytesIO()
                np.save(out, arr)
                write_bytes_atomic(path, out.getvalue())  # a private temporary file per writer
            write_bytes_atomic(tsv, text)  # last: its presence says the offsets are complete
        except OSError:
            return inv  # a read-only cache: the in-memory inventory
        return cls._from_cache(raw, stem, source=source, version=version) if tsv.is_file() else inv

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

    def ancestors(self, sid: str, depth: int = 3) -> set[str]:
        """``sid`` and its hypernyms up to ``depth`` levels up (instance hypernyms included)."""
        out, frontier = {sid}, [sid]
        for _ in range(depth):
            frontier = [h for f in frontier for h in (self.synset(f).related or ((),))[0] if h not in out]
            out.update(frontier)
        return out

    def lemma_names(self, sid: str) -> tuple[str, ...]:
        return tuple(self._record(sid)[1])

    def definition(self, sid: str) -> str:
        return str(self._record(sid)[2])

    def describe(self) -> dict[str, object]:
        return {"name": "wordnet-3.0", "version": self.version, "lemmas": len(self._index),
                "synsets": len(self._synsets), "source": self.source}
