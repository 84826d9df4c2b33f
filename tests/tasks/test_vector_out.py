"""How the API writes a vector: the fast rounding gives exactly Python's round(x, 6)."""

from __future__ import annotations

import numpy as np

from tasks.embeddings import vector_out


def test_rounded_floats_are_pythons_round_to_six_places():
    rng = np.random.default_rng(7)
    for scale in (1e-4, 0.05, 1.0, 300.0):
        v = (rng.standard_normal(4096) * scale).astype(np.float32)
        got = vector_out(v, "float")
        assert got == [round(float(x), 6) for x in v]
        assert all(type(x) is float for x in got[:5])
    unit = vector_out(np.array([3.0, 4.0], np.float32), "float", normalize=True)
    assert unit == [0.6, 0.8]
