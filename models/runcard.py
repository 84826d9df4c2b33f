"""The machine a number was measured on, and the cores a process may use: one helper for the
trainers' run cards, the evaluations and the benchmarks (stdlib only; torch's version when loaded)."""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["cpu_model", "machine", "machine_line", "package_version", "usable_cores"]


def package_version(name: str) -> str:
    """The installed version of a distribution, "unknown" when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return re.sub(r"\s+", " ", line.split(":", 1)[1]).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine(**extra: Any) -> dict[str, Any]:
    """What a run card records: platform, Python, usable cores, CPU model, load average, and
    torch's version and threads when torch is loaded; ``extra`` adds fields (e.g. threads=2)."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on this platform
        load = None
    out: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                           "cpus": usable_cores(), "cpu": cpu_model(), "loadavg_1_5_15": load}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
    out.update(extra)
    return out


def machine_line() -> str:
    """``N cores (CPU), OS release, Python X``: the one line a BENCHMARKS.md section records."""
    return (f"{usable_cores()} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")
