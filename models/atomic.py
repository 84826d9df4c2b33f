"""Atomic replacement of a whole folder (artifacts, caches), without torch: shared by
``models.checkpoint`` and the static-vector cache in ``pipelines.embeddings.static``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["old_path", "swap_in_folder"]


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
