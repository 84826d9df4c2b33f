"""Artifact folders: atomic saves, interrupted saves, corrupt and mismatched files."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from models import checkpoint
from models.checkpoint import ArtifactError, load_state_into, load_weights, read_config, save_artifact


def tiny(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Embedding(7, 3), torch.nn.Linear(3, 2))


def save(folder, model, **kw):
    return save_artifact(folder, config={"format": "tiny-v1", "vocab": 7}, state_dict=model.state_dict(),
                         files={"vocab.txt": "a\nb\n"}, json_files={"metrics.json": {"acc": 1.0}}, **kw)


def test_round_trip_and_fp16(tmp_path):
    m = tiny()
    save(tmp_path / "a", m, dtype=torch.float16)
    assert read_config(tmp_path / "a", expected_format="tiny-v1")["vocab"] == 7
    w = load_weights(tmp_path / "a")
    assert w["1.weight"].dtype == torch.float32
    assert torch.allclose(w["1.weight"], m.state_dict()["1.weight"], atol=1e-3)
    assert (tmp_path / "a" / "vocab.txt").read_text() == "a\nb\n"


def test_files_are_readable_by_other_users(tmp_path):
    save(tmp_path / "a", tiny())
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o755
    for p in (tmp_path / "a").iterdir():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644, p


def test_a_failing_save_leaves_the_previous_artifact(tmp_path, monkeypatch):
    save(tmp_path / "a", tiny(0))
    before = load_weights(tmp_path / "a")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save(tmp_path / "a", tiny(1))
    after = load_weights(tmp_path / "a")
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no temporary folder left behind


def test_a_killed_save_leaves_the_previous_artifact(tmp_path):
    """SIGKILL a process in the middle of saving over an existing artifact: the new files are
    written but not yet swapped in (the child stops itself there so the kill lands mid-save)."""
    save(tmp_path / "a", tiny(0))
    before = load_weights(tmp_path / "a")
    code = textwrap.dedent(f"""
        import os, sys, time, torch
        from models import checkpoint

        def stall(fd):  # the first fsync comes after the new weights are written, before the swap
            print("mid-save", flush=True)
            time.sleep(60)

        checkpoint.os.fsync = stall
        big = {{"0.weight": torch.zeros(7, 3), "extra": torch.ones(512, 512)}}
        checkpoint.save_artifact({str(tmp_path / "a")!r}, config={{"format": "tiny-v1"}}, state_dict=big)
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert proc.stdout.readline().strip() == "mid-save"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    after = load_weights(tmp_path / "a")  # still the old, complete artifact
    assert set(after) == set(before) and all(torch.equal(before[k], after[k]) for k in before)
    load_state_into(tiny(), tmp_path / "a")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "a"]
    assert leftovers and all(p.startswith(".a.") and p.endswith(".tmp") for p in leftovers)  # hidden, ignored
    save(tmp_path / "a", tiny(2))  # the next save still works
    assert read_config(tmp_path / "a")["format"] == "tiny-v1"


def test_interrupted_swap_is_recovered_on_the_next_save(tmp_path):
    save(tmp_path / "a", tiny(0))
    os.replace(tmp_path / "a", tmp_path / ".a.old")  # as if killed between the two renames
    with pytest.raises(ArtifactError, match=r"\.a\.old holds the previous artifact"):
        read_config(tmp_path / "a")
    save(tmp_path / "a", tiny(1))
    assert read_config(tmp_path / "a")["format"] == "tiny-v1"
    assert not (tmp_path / ".a.old").exists()


def test_corrupt_and_mismatched_artifacts_name_the_file(tmp_path):
    save(tmp_path / "a", tiny())
    weights = tmp_path / "a" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(ArtifactError, match=r"model\.safetensors: cannot be read"):
        load_weights(tmp_path / "a")
    save(tmp_path / "b", tiny())
    other = torch.nn.Sequential(torch.nn.Embedding(9, 3), torch.nn.Linear(3, 2))
    with pytest.raises(ArtifactError, match=r"b/model\.safetensors: does not match its config\.json"):
        load_state_into(other, tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text("{not json")
    with pytest.raises(ArtifactError, match=r"config\.json: not valid JSON"):
        read_config(tmp_path / "b")
    with pytest.raises(ArtifactError, match="format is"):
        save(tmp_path / "c", tiny()) and read_config(tmp_path / "c", expected_format="other-v1")
