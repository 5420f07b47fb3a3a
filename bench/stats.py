"""Small statistics helpers."""

from __future__ import annotations

import math


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(values, scale: float = 1.0, digits: int = 1) -> dict:
    """p50/p95/p99/mean/max of `values` times `scale`, rounded."""
    values = [v * scale for v in values]
    if not values:
        return {"n": 0}
    out = {"n": len(values), "mean": sum(values) / len(values), "max": max(values)}
    for q in (50, 95, 99):
        out[f"p{q}"] = percentile(values, q)
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in out.items()}
