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
