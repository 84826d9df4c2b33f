"""The malloc arena cap applied by the app factory (flat resident memory under many threads)."""

from __future__ import annotations

import platform

import pytest

from service.app import limit_malloc_arenas
from service.settings import Settings

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are a glibc feature")


@glibc
def test_arena_cap_is_applied_on_glibc(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(2) is True


def test_zero_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(0) is False


@glibc
def test_operator_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False


def test_setting_default_and_bounds(monkeypatch):
    monkeypatch.delenv("LEXIFLOW_MALLOC_ARENA_MAX", raising=False)
    assert Settings().malloc_arena_max == 2
    monkeypatch.setenv("LEXIFLOW_MALLOC_ARENA_MAX", "0")
    assert Settings().malloc_arena_max == 0
    monkeypatch.setenv("LEXIFLOW_MALLOC_ARENA_MAX", "-1")
    with pytest.raises(ValueError):
        Settings()


_MMAP_CHECK = """
import ctypes, sys
from service.app import fix_malloc_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
fixed = fix_malloc_mmap_threshold(int(sys.argv[1])) if sys.argv[1] != "0" else False
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(1 << 20)
grew = libc.mallinfo2().hblkhd - before
libc.free(block)
print(fixed, grew >= (1 << 20), libc.mallinfo2().hblkhd == before)
"""


@glibc
def test_a_fixed_mmap_threshold_keeps_large_blocks_out_of_the_heap():
    """glibc raises its mmap threshold each time a mapped block is freed, so that after a 4 MB block
    a 1 MB one lands on the heap; with the threshold fixed it gets its own mapping, given back when
    freed. In a fresh interpreter (a long-lived one may serve the block from free heap chunks)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])

    def run(kb: int) -> str:
        return subprocess.run([sys.executable, "-c", _MMAP_CHECK, str(kb)], env=env, capture_output=True,
                              text=True, check=True, timeout=60).stdout.split()

    assert run(256) == ["True", "True", "True"]
    assert run(0) == ["False", "False", "True"]  # glibc's own threshold: the 1 MB block went to the heap


def test_mmap_threshold_setting(monkeypatch):
    from service.app import fix_malloc_mmap_threshold

    monkeypatch.delenv("LEXIFLOW_MALLOC_MMAP_THRESHOLD_KB", raising=False)
    assert Settings().malloc_mmap_threshold_kb == 4096
    assert fix_malloc_mmap_threshold(0) is False
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert fix_malloc_mmap_threshold(256) is False  # the operator's variable wins
