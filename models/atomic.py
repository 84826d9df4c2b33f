"""Atomic writes, without torch: one file (``write_bytes_atomic``, ``write_text_atomic``: vocabularies,
metrics, data cards, calibrations, ``lexiflow batch`` progress files) and a whole folder
(``swap_in_folder``: artifacts, caches; ``models.checkpoint`` and the static-vector cache)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["old_path", "swap_in_folder", "write_bytes_atomic", "write_text_atomic"]


def write_bytes_atomic(path: Path, data: bytes, *, sync_dir: bool = False) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``: a reader
    sees the old content or the new, never a part. ``sync_dir`` also fsyncs the folder, so that
    the rename itself survives a power cut (a progress record that must not go back in time)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str, *, sync_dir: bool = False) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), sync_dir=sync_dir)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder: the rename is still atomic
        pass
    finally:
        os.close(fd)


def old_path(target: Path) -> Path:
    """Where a folder's previous version waits while a new one is swapped in."""
    return target.with_name(f".{target.name}.old")


def swap_in_folder(new: Path, target: Path) -> None:
    """Rename the finished folder ``new`` to ``target``: an existing ``target`` is first renamed to
    ``.NAME.old`` (restored if the second rename fails, deleted after it succeeds); a ``.NAME.old``
    left by a process killed between the two renames is restored before anything else."""
    old = old_path(target)
    if not target.exists() and old.is_dir():  # a save killed between its two renames: restore first
        os.replace(old, target)
    if not target.exists():
        os.replace(new, target)
        return
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
