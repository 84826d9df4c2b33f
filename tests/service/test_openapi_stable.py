"""The HTTP API does not change by accident: the OpenAPI document equals the one recorded in
``tests/fixtures/`` (before the task-layer redesign, commit 93315d1) up to ordering (object keys;
lists keep their order), with the default limits and with small configured ones (the limits
reach the documented schema). Building an app is cheap: its models load in its lifespan, which
never runs here.

A deliberate API change regenerates the fixtures (and says so in its commit):
``python tests/service/test_openapi_stable.py --write``.
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


@pytest.mark.parametrize("name", sorted(CASES))
def test_openapi_differs_from_the_recorded_one_only_in_ordering(name):
    want = canonical(json.loads((FIXTURES / name).read_text(encoding="utf-8")))
    got = canonical(spec(**CASES[name]))
    diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), "recorded", "now", lineterm="", n=2))
    assert got == want, f"the OpenAPI document changed:\n{diff[:6000]}"


def test_the_check_sees_a_change():
    """The canonical form ignores key order only: a changed limit is a difference."""
    base = spec()
    assert canonical(base) == canonical(json.loads(json.dumps(base, sort_keys=True)))
    assert canonical(spec(limits=Limits(max_items=129))) != canonical(base)


if __name__ == "__main__" and "--write" in sys.argv:
    for name, settings in CASES.items():
        (FIXTURES / name).write_text(canonical(spec(**settings)) + "\n", encoding="utf-8")
