"""The exact tier: each scenario and plan at a fixed seed, through the storm's peak, must reproduce its baseline.

Numbers are rounded to 6 significant digits (times in the claims digest to 1e-6 h, money to 0.01) before they
are compared or hashed: differences smaller than that (the last bits of libm functions, summation order
across numpy builds) are tolerated; anything larger is a change, named by scenario, plan and figure.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from sim.execution import RunSpec
from sim.regress.outcome import Row, verdict

SIG_DIGITS = 6


def round_sig(x: float, digits: int = SIG_DIGITS) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits - 1}e}")


def flatten(d: Any, prefix: str = "") -> dict[str, float | None]:
    """Numeric leaves of a figures dict, by dotted key (None: a figure that has no value, NaN included)."""
    out: dict[str, float | None] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(d, bool):
        out[prefix[:-1]] = float(d)
    elif isinstance(d, int | float):
        out[prefix[:-1]] = round_sig(float(d)) if math.isfinite(d) else None
    elif d is None:
        out[prefix[:-1]] = None
    return out


def claims_digest(claims: Any) -> str:
    """sha256 of the claims table with times rounded to 1e-6 h and money to 0.01 (see module docstring)."""
    h = hashlib.sha256()
    for col in claims.columns:
        v = claims[col]
        h.update(col.encode())
        if v.dtype.kind == "f":
            scale = 100.0 if col.endswith("amount") else 1e6
            arr = np.where(np.isnan(v.to_numpy()), np.nan, np.round(v.to_numpy() * scale))
            h.update(np.nan_to_num(arr, nan=-1.0).astype(np.int64).tobytes())
        else:
            h.update("\x1f".join(map(str, v.tolist())).encode())
    return h.hexdigest()


def exact_task(spec: RunSpec) -> dict[str, Any]:
    """Worker task of the exact tier: every figure (rounded) and the claims digest."""
    from sim.execution import simulate_spec

    res = simulate_spec(spec)
    return {"plan": spec.plan, "figures": flatten(res.summary["figures"]), "claims_digest": claims_digest(res.claims),
            "claims": len(res.claims)}


def fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.6g}"


def check_exact(name: str, measured: dict[str, Any], base: dict[str, Any] | None) -> list[Row]:
    """Rows of the exact tier for one scenario: every figure and the claims digest of every plan."""
    rows: list[Row] = []
    base = base or {}
    for plan, e in measured["plans"].items():
        b = (base.get("plans") or {}).get(plan)
        if b is None:
            rows.append(Row("exact", name, plan, "(baseline)", False,
                            message="no exact baseline for this plan: run `claimsim regress --update`"))
            continue
        if (base.get("seed"), base.get("hours")) != (measured["seed"], measured["hours"]):
            rows.append(Row("exact", name, plan, "(setup)", False, f"seed {base.get('seed')}, {base.get('hours')} h",
                            f"seed {measured['seed']}, {measured['hours']} h",
                            message="the baseline was made with another seed or horizon: run `claimsim regress "
                                    "--update`"))
            continue
        for k in sorted(set(e["figures"]) | set(b["figures"])):
            new, old = e["figures"].get(k), b["figures"].get(k)
            ok = new == old
            diff = None if new is None or old is None else new - old
            rows.append(Row("exact", name, plan, k, ok, fmt(old), fmt(new), change=diff,
                            verdict="" if ok else verdict(k, diff),
                            message="" if ok else f"{k} changed: {fmt(old)} -> {fmt(new)}"))
        ok = b.get("claims_digest") == e["claims_digest"]
        rows.append(Row("exact", name, plan, "claims_digest", ok, str(b.get("claims_digest"))[:12],
                        e["claims_digest"][:12], verdict="" if ok else "changed",
                        message="" if ok else f"claims table changed ({b.get('claims')} -> {e['claims']} claims)"))
    return rows
