"""Median and spread of repeated runs: the form every headline number of the report takes.

One run on a shared machine says little; three or more give a median that one
slow run cannot move, and the lowest and highest run show how far the runs disagreed.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any


def spread(values: Iterable[float]) -> dict[str, Any]:
    """``{"median", "min", "max", "runs", "values"}`` of the runs' values, in run order."""
    got = list(values)
    if not got:
        return {"median": None, "min": None, "max": None, "runs": 0, "values": []}
    return {
        "median": statistics.median(got),
        "min": min(got),
        "max": max(got),
        "runs": len(got),
        "values": got,
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max and n of one run's samples (nearest rank, no interpolation)."""
    if not values:
        return {}
    v = sorted(values)

    def p(q: float) -> float:
        return v[min(len(v) - 1, int(q * len(v)))]

    return {"p50": p(0.50), "p95": p(0.95), "p99": p(0.99), "max": v[-1], "n": len(v)}


def spread_of(runs: list[dict[str, Any]], *path: str) -> dict[str, Any]:
    """The spread of ``run[path[0]][path[1]]…`` over ``runs`` (runs lacking it left out)."""
    out = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            out.append(float(value))
    return spread(out)
