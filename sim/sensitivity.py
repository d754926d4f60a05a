"""Sensitivity of a plan: which lever matters most, and which unknown matters most (`claimsim sensitivity`).

- One at a time (tornado): from a centre plan, each lever of the space and each uncertain parameter is set to
  each end of its range (each option of a set) with everything else held; every setting runs on the same
  seeds as the centre (common random numbers), so the bar of a setting is the setting's effect, with a paired
  interval.
- Global (SALib): the uncertain parameters vary together over their ranges in a Sobol (Saltelli) or Morris
  design; Sobol's total index says what share of a figure's variance over that design each unknown explains,
  alone and through its interactions; Morris's mu* screens for the parameters whose effect is large.

Both run through the same executors as compare and sweep, each run in a folder keyed by its inputs (resumable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.compare import Engine, run_all
from sim.errors import InputError
from sim.execution import RunSpec, Status
from sim.figures import Figure
from sim.scenario import deep_merge, load_scenario
from sim.space import Lever, LeverSpace, read_space, show_value
from sim.stats import paired_t

METHODS = ("sobol", "morris")


@dataclass
class Setting:
    """One point of a design: which parameter is where, and its overrides on the centre plan."""

    key: str
    name: str | None          # the lever or unknown moved (None: the centre)
    value: Any
    overrides: dict[str, Any]
    values: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Sensitivity:
    """The tornado rows, the global indices, and the sentences that answer the two questions."""

    scenario: str
    plan: str
    currency: str
    figures: list[Figure]
    seeds: list[int]
    centre: dict[str, float]
    tornado: list[dict[str, Any]]
    method: str | None = None
    indices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    design_points: int = 0
    global_seeds: list[int] = field(default_factory=list)
    runs: int = 0

    def top(self, kind: str, fig: Figure) -> dict[str, Any] | None:
        rows = [r for r in self.tornado if r["kind"] == kind and math.isfinite(r.get(f"{fig.name}.swing", math.nan))]
        return max(rows, key=lambda r: r[f"{fig.name}.swing"]) if rows else None

    def sentences(self) -> dict[str, str]:
        """'Which lever matters most' and 'which unknown matters most', on the first figure, in plain words."""
        fig = self.figures[0]
        out: dict[str, str] = {}
        for kind, question in (("lever", "Which lever matters most"), ("unknown", "Which unknown matters most")):
            r = self.top(kind, fig)
            if r is None:
                continue
            text = (f"{question}: **{r['label']}**. Moved over its range ({r['low_value']} to {r['high_value']}) "
                    f"with everything else held, it moves {fig.label} between "
                    f"{fig.format(r[fig.name + '.min'], self.currency)} and "
                    f"{fig.format(r[fig.name + '.max'], self.currency)} (a swing of "
                    f"{fig.format(r[fig.name + '.swing'], self.currency)}; centre "
                    f"{fig.format(self.centre[fig.name], self.currency)}), more than any other {kind}.")
            if kind == "unknown" and self.indices.get(fig.name):
                g = max(self.indices[fig.name], key=lambda x: x["index"])
                if self.method == "sobol":
                    what = (f"total Sobol index, {g['index']:.2f} ± {g['conf']:.2f} (the share of the variance of "
                            f"{fig.label} it explains alone and with others; over 1 or a wide ± means the design "
                            "is small)")
                else:
                    what = (f"Morris mu*, {fig.format(g['index'], self.currency)} ± "
                            f"{fig.format(g['conf'], self.currency)} (its mean absolute effect on {fig.label})")
                text += (f" Over all unknowns varied together ({self.method}, {self.design_points} design points), "
                         f"**{g['label']}** has the largest {what}.")
            out[kind] = text
        return out


class _Runner:
    def __init__(self, path: Path, plans_file: Path | None, plan: str, hours: int | None, out: Path, engine: Engine,
                 progress: Callable[[Status], None] | None, total: int) -> None:
        self.path, self.plans_file, self.plan, self.hours = path, plans_file, plan, hours
        self.out, self.engine, self.progress = out, engine, progress
        self.done, self.total = 0, total

    def run(self, settings: list[Setting], seeds: list[int], keep: list[str]) -> None:
        specs, slots = [], []
        for st in settings:
            ov = json.dumps(st.overrides, sort_keys=True) if st.overrides else None
            for s in seeds:
                specs.append(RunSpec(str(self.path), str(self.plans_file) if self.plans_file else None, self.plan, s,
                                     self.hours, str(self.out / "runs" / st.key / f"seed-{s}"), ov))
                slots.append(st)
        offset = self.done

        def tick(status: Status) -> None:
            if self.progress:
                self.progress(Status(max(self.total, offset + len(specs)), offset + status.done, status.running,
                                     status.failed, status.reused))

        for st, r in zip(slots, run_all(specs, self.engine, tick), strict=True):
            for k in keep:
                st.values.setdefault(k, []).append(float(r["figures"].get(k, math.nan)))
        self.done += len(specs)


def _key(overrides: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _settings_of(lever: Lever) -> list[Any]:
    return list(dict.fromkeys(lever.choices)) if lever.set is not None else list(lever.ends())


def run_sensitivity(path: Path, space_file: Path, figures: list[Figure], out: Path, engine: Engine, *,
                    plans_file: Path | None = None, plan: str | None = None, centre: dict[str, Any] | None = None,
                    reps: int = 3, seed: int | None = None, hours: int | None = None, method: str | None = "sobol",
                    samples: int = 8, global_reps: int = 1,
                    progress: Callable[[Status], None] | None = None) -> Sensitivity:
    """Tornado of every lever and unknown around the centre plan (`plan`, plus `centre` overrides), and global
    indices of the unknowns (`method` None: tornado only)."""
    if method is not None and method not in METHODS:
        raise InputError(f"unknown method '{method}' ({', '.join(METHODS)})", key_path="--method")
    sf = load_scenario(path)
    if plans_file is not None:
        sf.add_plans_file(plans_file)
    ls: LeverSpace = read_space(space_file, sf)
    plan = plan or ls.space.plan
    if plan not in sf.plans:
        raise InputError(f"no plan named '{plan}' (plans: {', '.join(sf.plans)})", key_path="--plan")
    centre = centre or {}
    scen = sf.variant(centre, plan) if centre else sf.resolve(plan)
    ls = replace(ls, dump=scen.model_dump(mode="json", by_alias=True))
    seeds = list(range(scen.seed if seed is None else seed, (scen.seed if seed is None else seed) + reps))
    keep = list(dict.fromkeys(f.name for f in figures))
    points: list[Setting] = [Setting(_key(centre), None, None, centre)]
    for section in ("levers", "uncertain"):
        for name, lever in getattr(ls, section).items():
            for value in _settings_of(lever):
                ov = deep_merge(centre, ls.overrides({name: value}))
                points.append(Setting(_key(ov), name, value, ov))
    unknowns = list(ls.uncertain)
    design: np.ndarray | None = None
    problem = {"num_vars": len(unknowns), "names": unknowns, "bounds": [[0.0, 1.0]] * len(unknowns)}
    if method and len(unknowns) >= 2:
        design = _design(method, problem, samples)
    gseeds = seeds[:global_reps]
    total = len(points) * len(seeds) + (len(design) * len(gseeds) if design is not None else 0)
    runner = _Runner(Path(path), plans_file, plan, hours, out, engine, progress, total)
    runner.run(points, seeds, keep)
    ctr = points[0]
    centre_means = {k: float(np.nanmean(ctr.values[k])) for k in keep}
    rows = []
    for section, kind in (("levers", "lever"), ("uncertain", "unknown")):
        for name in getattr(ls, section):
            mine = [p for p in points if p.name == name]
            row: dict[str, Any] = {"name": name, "label": ls.label(name), "kind": kind,
                                   "low_value": show_value(mine[0].value), "high_value": show_value(mine[-1].value),
                                   "centre_value": show_value(ls.current(name))}
            for f in figures:
                means = [float(np.nanmean(p.values[f.name])) for p in mine]
                row[f"{f.name}.low"], row[f"{f.name}.high"] = means[0], means[-1]
                row[f"{f.name}.min"] = min(means + [centre_means[f.name]])
                row[f"{f.name}.max"] = max(means + [centre_means[f.name]])
                row[f"{f.name}.swing"] = row[f"{f.name}.max"] - row[f"{f.name}.min"]
                d = np.asarray(mine[-1].values[f.name]) - np.asarray(mine[0].values[f.name])
                (m, lo, hi), p = paired_t(d)
                row[f"{f.name}.effect"], row[f"{f.name}.effect_low"], row[f"{f.name}.effect_high"] = m, lo, hi
            row["settings"] = ", ".join(f"{show_value(p.value)}" for p in mine)
            rows.append(row)
    result = Sensitivity(sf.name, plan, scen.currency, figures, seeds, centre_means, rows)
    if design is not None:
        gpoints = []
        for x in design:
            values = {n: ls.uncertain[n].unit_value(float(u)) for n, u in zip(unknowns, x, strict=True)}
            ov = deep_merge(centre, ls.overrides(values))
            gpoints.append(Setting(_key(ov), "design", values, ov))
        runner.run(gpoints, gseeds, keep)
        result.method, result.design_points, result.global_seeds = method, len(design), gseeds
        for f in figures:
            y = np.array([float(np.nanmean(p.values[f.name])) for p in gpoints])
            result.indices[f.name] = _analyze(method or "", problem, design, y, [ls.label(n) for n in unknowns])
    result.runs = runner.done
    return result


def _design(method: str, problem: dict[str, Any], samples: int) -> np.ndarray:
    """The SALib design in the unit cube (Saltelli/Sobol with first and total indices, or Morris trajectories)."""
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        n = 1 << max(1, int(math.ceil(math.log2(max(2, samples)))))  # a power of two, as Sobol' sequences want
        return sobol_sample.sample(problem, n, calc_second_order=False, seed=0)
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem, max(2, samples), num_levels=4, seed=0)


def _analyze(method: str, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, labels: list[str]
             ) -> list[dict[str, Any]]:
    """Indices per unknown: Sobol total (ST, with S1) or Morris mu* (with sigma), each with its confidence."""
    y = np.where(np.isnan(y), np.nanmean(y) if np.isfinite(np.nanmean(y)) else 0.0, y)
    out = []
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(problem, y, calc_second_order=False, print_to_console=False, seed=0)
        for i, name in enumerate(problem["names"]):
            out.append({"name": name, "label": labels[i], "index": float(si["ST"][i]), "conf": float(si["ST_conf"][i]),
                        "first_order": float(si["S1"][i]), "first_order_conf": float(si["S1_conf"][i])})
    else:
        from SALib.analyze import morris

        si = morris.analyze(problem, x, y, num_levels=4, print_to_console=False, seed=0)
        for i, name in enumerate(problem["names"]):
            out.append({"name": name, "label": labels[i], "index": float(si["mu_star"][i]),
                        "conf": float(si["mu_star_conf"][i]), "sigma": float(si["sigma"][i])})
    return out

