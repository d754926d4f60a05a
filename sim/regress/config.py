"""What `claimsim regress` checks: the config file, each scenario's storm peak and the horizons derived from it.

The exact tier's horizon is derived from the scenario's hazard so that it sees the storm: it runs through
the latest peak of any storm variable in any region (snowfall, freezing rain, rain, wind above the storm
thresholds of sim/hazard.py, and a region's coldest hour when colder than `cold_c`; the coldest hour when
nothing falls, blows or freezes hard) and `after_peak_h` hours
more, at least `hours`, and the whole run when the scenario lasts at most `whole_run_h`. The statistical
tier also runs through the peak and `after_peak_h` hours more, at least its own `hours`. An explicit exact
horizon in the config that ends before the peak is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.errors import InputError
from sim.figures import UnknownFigure, figure
from sim.inputs import Lines, line_of, read_document
from sim.scenario import Scenario, ScenarioFile, load_scenario

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "scenarios" / "regress" / "regress.yaml"
BASELINES = ROOT / "results" / "baselines"
Tier = Literal["exact", "stat"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ExactConfig(_Frozen):
    seed: int = Field(1, ge=0, strict=True)
    hours: int = Field(24, ge=1, strict=True)             # the shortest exact horizon
    after_peak_h: int = Field(12, ge=0, strict=True)      # hours run after the storm's peak
    whole_run_h: int = Field(72, ge=0, strict=True)       # scenarios this short run whole
    budget_s: float = Field(120, gt=0)                    # stated CI time budget of the tier (a warning if over)
    # A region's coldest hour is a peak too when colder than this: the model's "cold day" for drivers (-25 C,
    # sim/scenario/populations.py), when batteries fail and crops freeze.
    cold_c: float = Field(-25.0, ge=-70, le=10)


class StatConfig(_Frozen):
    reps: int = Field(16, ge=3, strict=True)
    hours: int = Field(48, ge=1, strict=True)
    seed: int = Field(1000, ge=0, strict=True)
    alpha: float = Field(0.05, gt=0, lt=1)
    # Figures of the registry compared beyond the headline ones (sim.figures.REPLICATED), by key or name.
    extra_figures: list[str] = Field(default_factory=list)
    budget_s: float = Field(480, gt=0)

    @field_validator("extra_figures")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        out = []
        for name in v:
            try:
                out.append(figure(name).name)
            except UnknownFigure as err:
                raise ValueError(str(err)) from None
        return out


class ScenarioEntry(_Frozen):
    plans: list[str] | None = None                # default: every plan
    stat_plans: list[str] | None = None           # plans of the stat tier (default: `plans`)
    tiers: list[Tier] = Field(default_factory=lambda: ["exact", "stat"], min_length=1)
    exact_hours: int | None = Field(None, ge=1, strict=True)
    stat_hours: int | None = Field(None, ge=1, strict=True)
    reps: int | None = Field(None, ge=3, strict=True)
    plans_file: str | None = None                 # a plans file (relative to the config) added to the scenario


class RegressConfig(_Frozen):
    """scenarios/regress/regress.yaml: what the regression check runs."""

    description: str = ""
    exact: ExactConfig = ExactConfig()
    stat: StatConfig = StatConfig()
    baselines: str = "../../results/baselines"
    scenarios: dict[str, ScenarioEntry | list[str]] = Field(min_length=1)


@dataclass(frozen=True)
class StormPeak:
    """The hour the storm peaks (the latest peak over regions and variables) and what peaks then."""

    hour: int
    what: str


@dataclass
class Target:
    """One scenario to check, resolved."""

    path: Path
    file: ScenarioFile
    plans: list[str]
    stat_plans: list[str]
    tiers: list[str]
    exact_hours: int
    stat_hours: int
    reps: int
    plans_file: Path | None = None
    peak: StormPeak | None = None

    @property
    def name(self) -> str:
        return self.file.name


def storm_peak(s: Scenario, cold_c: float = -25.0) -> StormPeak:
    """The latest hour at which the storm peaks in some region: a storm variable's maximum, or deep cold.

    Every region's peak of every variable that reaches storm strength (sim.hazard's thresholds) is covered, and
    a region's coldest hour when it is colder than `cold_c`; a scenario with neither peaks at its coldest hour.
    """
    from sim import hazard
    from sim.vocab import HAZARD_LABELS

    field = hazard.build_hazard(s)
    limits = {"snowfall_cm_h": hazard.STORM_SNOW_CM_H, "ice_mm_h": hazard.STORM_ICE_MM_H,
              "rain_mm_h": hazard.STORM_RAIN_MM_H, "wind_ms": hazard.STORM_WIND_MS}
    peaks: list[StormPeak] = []
    for i, region in enumerate(field.region_ids):
        for var, limit in limits.items():
            series = getattr(field, var)[i]
            if series.size and float(series.max()) > limit:
                peaks.append(StormPeak(int(series.argmax()), f"{HAZARD_LABELS[var].split(' (')[0]} in {region}"))
        temp = field.temp_c[i]
        if temp.size and float(temp.min()) < cold_c:
            peaks.append(StormPeak(int(temp.argmin()), f"the cold in {region} ({float(temp.min()):.0f} °C)"))
    if peaks:
        return max(peaks, key=lambda p: p.hour)
    coldest = min(range(len(field.region_ids)), key=lambda i: float(field.temp_c[i].min()))
    return StormPeak(int(field.temp_c[coldest].argmin()), f"the coldest hour in {field.region_ids[coldest]}")


def exact_horizon(s: Scenario, peak: StormPeak, cfg: ExactConfig) -> int:
    """Hours of the exact tier: through the peak and `after_peak_h` more, at least `hours`, whole if short."""
    if s.duration_h <= cfg.whole_run_h:
        return s.duration_h
    return min(s.duration_h, max(cfg.hours, peak.hour + 1 + cfg.after_peak_h))


def read_config(path: Path, names: list[Path] | None = None) -> tuple[RegressConfig, list[Target], Path]:
    """The config, its scenarios resolved (only `names` when given) and the baselines folder."""
    cfg, lines = read_document(path, RegressConfig, "regression config")
    targets = []
    chosen = {Path(n).resolve() for n in names} if names else None
    for key, entry in cfg.scenarios.items():
        e = ScenarioEntry(plans=entry) if isinstance(entry, list) else entry
        scen = _file(path, key, lines, ("scenarios", key), "scenario file")
        if chosen is not None and scen not in chosen:
            continue
        targets.append(_target(scen, e, cfg, path, lines, key))
    if chosen is not None:
        known = {t.path for t in targets}
        for n in sorted(chosen - known):  # a scenario not in the config: every plan, both tiers
            targets.append(_target(n, ScenarioEntry(), cfg, path, lines, str(n)))
    names_seen: dict[str, str] = {}
    for t in targets:
        if t.name in names_seen:
            raise InputError(f"two scenarios are named '{t.name}' ({names_seen[t.name]} and {t.path}): their "
                             "baselines would share a file", file=path, line=lines.get(("scenarios",)),
                             key_path="scenarios")
        names_seen[t.name] = str(t.path)
    folder = _resolve(path, cfg.baselines, lines, ("baselines",))
    if folder.exists() and not folder.is_dir():
        raise InputError("not a folder (the baselines folder is expected)", file=path,
                         line=line_of(lines, ("baselines",)), key_path="baselines")
    return cfg, targets, folder


def _where(where: tuple) -> str:
    """A key path fit to print (a part with control characters or too long is not echoed)."""
    return ".".join(str(w) if str(w).isprintable() and len(str(w)) <= 200 else "?" for w in where)


def _resolve(config: Path, text: str, lines: Lines, where: tuple) -> Path:
    """A path of the config, relative to it; a path no file system accepts is a located InputError."""
    try:
        if not text or not text.isprintable():
            raise ValueError
        return (config.parent / text).resolve()
    except (OSError, ValueError, RuntimeError):
        raise InputError("not a usable path", file=config, line=line_of(lines, where), key_path=_where(where)) \
            from None


def _file(config: Path, text: str, lines: Lines, where: tuple, what: str) -> Path:
    """An existing file named in the config."""
    p = _resolve(config, text, lines, where)
    try:
        found = p.is_file()
    except OSError:
        found = False
    if not found:
        raise InputError(f"{what} not found", file=config, line=line_of(lines, where), key_path=_where(where))
    return p


def _target(scen: Path, e: ScenarioEntry, cfg: RegressConfig, path: Path, lines: Lines, key: str) -> Target:
    where = ("scenarios", key)
    sf = load_scenario(scen)
    plans_file = None
    if e.plans_file:
        plans_file = _file(path, e.plans_file, lines, where + ("plans_file",), "plans file")
        sf.add_plans_file(plans_file)
    plans = e.plans or list(sf.plans)
    stat_plans = e.stat_plans or plans
    for what, names in (("plans", plans), ("stat_plans", stat_plans)):
        for i, plan in enumerate(names):
            if plan not in sf.plans:
                shown = plan if plan.isprintable() and len(plan) <= 64 else "?"
                raise InputError(f"{scen.name} has no plan '{shown}' (plans: {', '.join(sf.plans)})", file=path,
                                 line=lines.get(where + (what, i)) or lines.get(where + (i,)) or lines.get(where),
                                 key_path=_where(where))
    base = sf.resolve("baseline")
    peak = storm_peak(base, cfg.exact.cold_c)
    derived = exact_horizon(base, peak, cfg.exact)
    exact_hours = e.exact_hours or derived
    if exact_hours <= peak.hour:
        raise InputError(f"the exact tier would end at hour {exact_hours}, before the storm's peak at hour "
                         f"{peak.hour} ({peak.what}): leave exact_hours out (derived: {derived} h) or raise it",
                         file=path, line=line_of(lines, where + ("exact_hours",)),
                         key_path=_where(where + ("exact_hours",)))
    stat_hours = min(base.duration_h, max(e.stat_hours or cfg.stat.hours, peak.hour + 1 + cfg.exact.after_peak_h))
    return Target(scen, sf, plans, stat_plans, list(e.tiers), min(exact_hours, base.duration_h), stat_hours,
                  e.reps or cfg.stat.reps, plans_file, peak)

