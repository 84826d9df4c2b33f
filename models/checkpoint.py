"""Versioned artifact folders: ``config.json`` (with a ``format`` field) + ``model.safetensors`` + extras.

Never a pickled module: a model is rebuilt from its config, then its weights are loaded.
A folder is written to a temporary sibling and swapped in with renames, so an interrupted
save leaves the previous artifact intact and loadable.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.atomic import old_path, swap_in_folder

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class ArtifactError(RuntimeError):
    """An artifact folder is missing, corrupt or does not match what the loader expects."""


def config_to_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"config must be a dataclass or a mapping, not {type(config).__name__}")


def save_artifact(
    folder: str | os.PathLike[str],
    *,
    config: Any,
    state_dict: Mapping[str, torch.Tensor],
    files: Mapping[str, str | bytes] | None = None,
    json_files: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write an artifact folder atomically.

    ``config`` must carry a ``format`` key (e.g. ``"textcnn-v1"``). ``files`` are extra text or
    binary files (vocabularies, data cards); ``json_files`` are dumped as indented JSON.
    ``dtype`` casts floating-point weights (e.g. ``torch.float16`` to halve the size).
    """
    folder = Path(folder)
    cfg = config_to_dict(config)
    if not cfg.get("format"):
        raise ValueError("config needs a non-empty 'format' field, e.g. 'textcnn-v1'")
    tensors = {}
    for name, t in state_dict.items():
        t = t.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        (tmp / CONFIG_FILE).write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": str(cfg["format"])})
        for name, content in (files or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (tmp / name).write_bytes(data)
        for name, obj in (json_files or {}).items():
            (tmp / name).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for p in tmp.iterdir():
            os.chmod(p, 0o644)  # readable by the service's own user (mkdtemp made the folder private)
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o755)
        swap_in_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def read_config(folder: str | os.PathLike[str], *, expected_format: str | None = None) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / CONFIG_FILE
    if not path.is_file():
        if (old_path(folder) / CONFIG_FILE).is_file():
            raise ArtifactError(f"{path}: missing, but {old_path(folder)} holds the previous artifact (a save was "
                                f"interrupted between two renames): rename it back to {folder.name}")
        raise ArtifactError(f"{path}: missing (is {folder} an artifact folder?)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(cfg, dict):
        raise ArtifactError(f"{path}: expected a JSON object")
    if expected_format is not None and cfg.get("format") != expected_format:
        raise ArtifactError(f"{path}: format is {cfg.get('format')!r}, expected {expected_format!r}")
    return cfg


def load_weights(folder: str | os.PathLike[str], *, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise ArtifactError(f"{path}: missing")
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several error types for corrupt files
        raise ArtifactError(f"{path}: cannot be read as safetensors ({exc})") from exc
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in tensors.items()}


def load_state_into(model: torch.nn.Module, folder: str | os.PathLike[str]) -> None:
    """Load weights into a model built from the folder's config; shape mismatches name the file."""
    state = load_weights(folder)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactError(f"{Path(folder) / WEIGHTS_FILE}: does not match its config.json ({exc})") from exc


def config_from_dict(cls: type, data: Mapping[str, Any]) -> Any:
    """Build a config dataclass, ignoring unknown keys and converting lists back to tuples."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key in fields:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def load_config(folder: str | os.PathLike[str], cls: type, *, expected_format: str) -> Any:
    """``config.json`` of an artifact folder as the config dataclass ``cls``; an ``ArtifactError``
    names the file when it is missing, of another format, or does not fit ``cls``."""
    raw = read_config(folder, expected_format=expected_format)
    try:
        return config_from_dict(cls, raw)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{Path(folder) / CONFIG_FILE}: invalid {cls.__name__} ({exc})") from exc


def read_json(path: str | os.PathLike[str], *, required: bool = False) -> Any:
    """A JSON file of an artifact folder: ``{}`` when it is absent (unless ``required``), an
    ``ArtifactError`` naming the file when it is not valid JSON."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise ArtifactError(f"{path}: missing")
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc
