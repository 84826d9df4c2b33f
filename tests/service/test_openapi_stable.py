"""The HTTP API does not change by accident: the OpenAPI document equals the one recorded in
``tests/fixtures/`` (before the task-layer redesign, at commit 713ed71) up to ordering (object keys;
lists keep their order), with the default limits and with small configured ones (the limits
reach the documented schema). A new task may add operations and schemas; everything recorded
must stay as it was. Building an app is cheap: its models load in its lifespan, never run here.

A deliberate change to a recorded operation regenerates the fixtures (and says so in its commit):
``PYTHONPATH=. python tests/service/test_openapi_stable.py --write``.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Limits, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = {
    "openapi.json": {},
    "openapi-small-limits.json": {"limits": Limits(max_items=3, max_text_chars=10, max_total_chars=50,
                                                   max_body_bytes=4096)},
}


def spec(**settings: object) -> dict:
    return json.loads(json.dumps(create_app(Settings(load_in_background=False, **settings)).openapi()))


def canonical(doc: object) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)


def recorded_part(now: dict, recorded: dict) -> dict:
    """``now`` cut down to what ``recorded`` has: its paths and its component schemas (additions
    are a new task's, checked by ``test_additions_are_task_operations``)."""
    out = dict(now)
    out["paths"] = {p: v for p, v in now.get("paths", {}).items() if p in recorded.get("paths", {})}
    out["components"] = {**now.get("components", {}), "schemas": {
        k: v for k, v in now.get("components", {}).get("schemas", {}).items()
        if k in recorded.get("components", {}).get("schemas", {})}}
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_openapi_differs_from_the_recorded_one_only_in_ordering(name):
    recorded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    want = canonical(recorded)
    got = canonical(recorded_part(spec(**CASES[name]), recorded))
    diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), "recorded", "now", lineterm="", n=2))
    assert got == want, f"the OpenAPI document changed:\n{diff[:6000]}"


def test_additions_are_task_operations():
    """A path that the recording lacks is a task operation of the registry (a new task)."""
    import tasks

    recorded = json.loads((FIXTURES / "openapi.json").read_text(encoding="utf-8"))
    added = set(spec()["paths"]) - set(recorded["paths"])
    assert added <= {"/v1" + op.path for op in tasks.operations()}, added


def test_the_check_sees_a_change():
    """The canonical form ignores key order only: a changed limit is a difference."""
    base = spec()
    assert canonical(base) == canonical(json.loads(json.dumps(base, sort_keys=True)))
    assert canonical(spec(limits=Limits(max_items=129))) != canonical(base)


if __name__ == "__main__" and "--write" in sys.argv:
    for name, settings in CASES.items():
        (FIXTURES / name).write_text(canonical(spec(**settings)) + "\n", encoding="utf-8")
