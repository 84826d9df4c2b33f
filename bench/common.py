"""What every benchmark script shares: a free loopback port and the machine it ran on.

The scripts are run as files (`PYTHONPATH=. python bench/NAME.py`), so this folder is on
``sys.path`` and they import this module as ``common``. The machine description is the one the
trainers' run cards use (``models.runcard``).
"""

from __future__ import annotations

import socket

from models.runcard import cpu_model, machine_line, usable_cores

__all__ = ["cpu_model", "free_port", "machine", "usable_cores"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def machine() -> str:
    """``N cores (CPU), OS release, Python X``: the line each BENCHMARKS.md section records."""
    return machine_line()
