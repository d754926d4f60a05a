"""Running many replications: failures, resuming, killed sweeps, Dask against the local pool, sweep grids."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL

from sim import execution as ex
from sim import sweep as sw
from sim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def spec(plan: str, seed: int, folder: Path | None = None, scenario: Path = SMALL, hours: int = 12) -> ex.RunSpec:
    return ex.RunSpec(str(scenario), None, plan, seed, hours, str(folder) if folder else None)


def same(a: dict, b: dict) -> None:
    assert (a["plan"], a["seed"]) == (b["plan"], b["seed"])
    np.testing.assert_equal(a["figures"], b["figures"])  # NaN (no payment yet) equals NaN
    assert np.array_equal(a["latency"], b["latency"])
    assert np.array_equal(a["backlog"], b["backlog"])


@pytest.mark.parametrize("workers", [1, 2])
def test_one_failed_run_is_named_and_the_others_finish(workers: int) -> None:
    specs = [spec("baseline", 1), spec("no-such-plan", 2), spec("baseline", 3, scenario=SMALL.with_name("gone.yaml")),
             spec("sms", 4)]
    out = ex.execute(specs, workers=workers)
    assert [type(r).__name__ for r in out] == ["dict", "Failure", "Failure", "dict"]
    assert "plan no-such-plan seed 2" in out[1].line() and "no plan named 'no-such-plan'" in out[1].line()
    assert "gone.yaml" in out[2].line() and "file not found" in out[2].line()
    assert (out[0]["seed"], out[3]["plan"]) == (1, "sms")


def test_resume_reuses_a_complete_folder_with_identical_results(tmp_path: Path) -> None:
    specs = [spec("baseline", s, tmp_path / f"seed-{s}") for s in (1, 2)]
    first = ex.execute(specs)
    seen: list[ex.Status] = []
    again = ex.execute(specs, progress=lambda st: seen.append(ex.Status(**vars(st))))
    assert all(r.get("reused") for r in again) and not any(r.get("reused") for r in first)
    assert seen[-1].reused == 2 and seen[-1].done == 2
    for a, b in zip(first, again, strict=True):
        same(a, b)
    fresh = ex.execute(specs, resume=False)
    assert not any(r.get("reused") for r in fresh)


def test_a_changed_scenario_or_an_incomplete_folder_is_run_again(tmp_path: Path) -> None:
    scen = tmp_path / "s.yaml"
    shutil.copy(SMALL, scen)
    s = spec("baseline", 1, tmp_path / "runs" / "seed-1", scenario=scen)
    ex.execute([s])
    key = json.loads((Path(s.folder) / "summary.json").read_text())["run_key"]
    assert key["plan"] == "baseline" and key["seed"] == 1 and key["hours"] == 12 and key["code"] == ex.code_digest()
    assert ex.execute([s])[0].get("reused")
    scen.write_text(scen.read_text() + "\n# edited\n")  # any byte changes the key
    assert not ex.execute([s])[0].get("reused")
    (Path(s.folder) / "summary.json").unlink()  # a folder without its summary is not complete
    assert not ex.reusable(s, ex.run_key(s, "x"))
    partial = tmp_path / "runs" / ".seed-2.abc.partial"
    partial.mkdir()
    assert ex.clean_partials(tmp_path / "runs") == 1 and not partial.exists()


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "events.parquet deleted": lambda f: (f / "events.parquet").unlink(),
    "claims.parquet truncated": lambda f: (f / "claims.parquet").write_bytes((f / "claims.parquet").read_bytes()[:200]),
    "a byte of series.parquet flipped": lambda f: flip_a_byte(f / "series.parquet"),
    "a byte of a plot flipped": lambda f: flip_a_byte(f / "backlog_by_stage.png"),
    "summary.json without its manifest": lambda f: (f / "summary.json").write_text(json.dumps(
        {k: v for k, v in json.loads((f / "summary.json").read_text()).items() if k != "files"})),
}


def test_resume_redoes_a_damaged_run_and_reuses_an_intact_one(tmp_path: Path) -> None:
    """A finished-looking folder is reused only if every file it recorded is there with the same size and
    sha256; a damaged one is run again, to the same result."""
    specs = [spec("baseline", s, tmp_path / f"seed-{s}", hours=6) for s in range(len(DAMAGE) + 1)]
    first = ex.execute(specs)
    for s, damage in zip(specs, DAMAGE.values(), strict=False):
        damage(Path(s.folder))
    again = ex.execute(specs)
    assert [bool(r.get("reused")) for r in again] == [False] * len(DAMAGE) + [True]  # the last one is intact
    for a, b in zip(first, again, strict=True):
        same(a, b)
    assert all(r.get("reused") for r in ex.execute(specs))  # the redone folders are whole again
    assert not ex.reusable(specs[0], {"other": "key"})


def test_bundles_give_the_same_results_in_the_same_order() -> None:
    specs = [spec(p, s) for p in ("baseline", "more_phone") for s in (5, 6, 7)]
    one = ex.execute(specs, workers=1)
    bundled = ex.execute(specs, workers=2, bundle=2)
    for a, b in zip(one, bundled, strict=True):
        same(a, b)


def test_default_bundle() -> None:
    assert ex.default_bundle(1000, 2, "local") == 1
    assert ex.default_bundle(4, 8, "dask") == 1
    assert ex.default_bundle(80, 2, "dask") == 8
    assert ex.default_bundle(40, 2, "dask") == 5


def test_dask_local_cluster_gives_the_results_of_the_local_pool(tmp_path: Path) -> None:
    """A real LocalCluster with 2 worker processes, bundles of 2: identical figures and identical files."""
    specs_local = [spec(p, s, tmp_path / "local" / p / f"seed-{s}") for p in ("baseline", "sms") for s in (1, 2)]
    specs_dask = [spec(p, s, tmp_path / "dask" / p / f"seed-{s}") for p in ("baseline", "sms") for s in (1, 2)]
    local = ex.execute(specs_local, workers=2)
    with ex.executor_for("dask", 2) as (pool, capacity):
        assert capacity == 2
        dask = ex.execute(specs_dask, executor=pool, capacity=capacity, bundle=2)
    for a, b in zip(local, dask, strict=True):
        same(a, b)
    for a, b in zip(specs_local, specs_dask, strict=True):
        for name in ("claims.parquet", "events.parquet"):
            assert hashlib.sha256((Path(a.folder) / name).read_bytes()).digest() == \
                hashlib.sha256((Path(b.folder) / name).read_bytes()).digest()


def test_executor_options_are_checked() -> None:
    with pytest.raises(InputError, match="--scheduler needs --executor dask"), ex.executor_for("local", 2, "tcp://x"):
        pass
    with pytest.raises(InputError, match="unknown executor"), ex.executor_for("ray", 2):
        pass


# ---------------------------------------------------------------------------- sweeps


def test_a_grid_file_plans_every_scenario_plan_and_seed(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    shutil.copy(SMALL, tmp_path / "small.yaml")
    grid.write_text("scenarios: [small.yaml]\nplans: [baseline, sms]\nseeds: {first: 3, count: 4}\nhours: 6\n")
    g, lines = sw.read_grid(grid)
    plan = sw.plan_sweep(g, tmp_path / "out", grid.parent, lines, grid)
    assert [(s.plan, s.seed) for s in plan.specs] == [(p, s) for p in ("baseline", "sms") for s in range(3, 7)]
    assert all(s.hours == 6 and "out/runs/small/" in s.folder for s in plan.specs)


@pytest.mark.parametrize("text, where, message", [
    ("scenarios: [small.yaml]\nplanz: [baseline]\n", "grid.yaml:2: planz", "unknown key"),
    ("scenarios: [small.yaml]\nplans: [baseline, nope]\n", "grid.yaml:2: plans[1]", "has no plan 'nope'"),
    ("scenarios: [small.yaml, missing.yaml]\n", "grid.yaml:1: scenarios[1]", "file not found"),
    ("scenarios: [small.yaml]\nseeds: {first: -1}\n", "grid.yaml:2: seeds", "greater than or equal to 0"),
    ("scenarios: [small.yaml]\nhours: 1.5\n", "grid.yaml:2: hours", "integer"),
    ("scenarios: []\n", "grid.yaml:1: scenarios", "at least 1"),
    ("scenarios: [small.yaml\n", "grid.yaml", "malformed YAML"),
])
def test_a_bad_grid_file_is_one_line_naming_file_line_and_key(tmp_path: Path, text: str, where: str,
                                                                message: str) -> None:
    shutil.copy(SMALL, tmp_path / "small.yaml")
    grid = tmp_path / "grid.yaml"
    grid.write_text(text)
    with pytest.raises(InputError) as err:
        g, lines = sw.read_grid(grid)
        sw.plan_sweep(g, tmp_path / "out", grid.parent, lines, grid)
    line = err.value.one_line()
    assert where in line and message in line and "\n" not in line


def test_parse_seeds() -> None:
    assert sw.parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    for bad in ("3-1", "a", "", "-2"):
        with pytest.raises(InputError, match="--seeds"):
            sw.parse_seeds(bad)


def claimsim(*args: str, cwd: Path = ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, **kw)


def test_sweep_cli_writes_tables_and_exits_1_when_a_run_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture) -> None:
    from sim import cli

    real = ex.run_replication

    def flaky(s: ex.RunSpec) -> dict:
        if s.plan == "sms" and s.seed == 1:
            raise RuntimeError("disk full")
        return real(s)

    monkeypatch.setattr(ex, "run_replication", flaky)
    out = tmp_path / "sweep"
    args = ["sweep", str(SMALL), "--plans", "baseline,sms", "--seeds", "0-1", "--hours", "6", "--out", str(out),
            "--workers", "1", "-q"]
    with pytest.raises(SystemExit) as done:
        cli.main(args)
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "failed: " in err and "plan sms seed 1: RuntimeError: disk full" in err
    table = pd.read_parquet(out / "sweep.parquet")
    assert table["status"].tolist() == ["ok", "ok", "ok", "failed"] and table["claims"].iloc[:3].gt(0).all()
    assert "disk full" in (out / "failures.csv").read_text() and "## Failed runs" in (out / "report.md").read_text()
    monkeypatch.setattr(ex, "run_replication", real)
    with pytest.raises(SystemExit) as done:
        cli.main(args)
    assert done.value.code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["reused"], summary["failed"]) == (4, 3, 0)


def test_a_killed_sweep_loses_no_finished_run_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(SMALL), "--plans", "baseline", "--seeds", "0-7", "--hours", "24", "--out", str(out),
            "--workers", "1", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = out / "runs" / "small" / "baseline"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(runs.glob("seed-*/summary.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(p.parent.name for p in runs.glob("seed-*/summary.json"))
    assert 2 <= len(finished) < 8, finished
    assert not (out / "summary.json").exists()  # the sweep does not look complete
    for folder in runs.iterdir():  # every folder is complete or visibly partial
        assert (folder / "summary.json").exists() or folder.name.endswith(".partial")
    r = claimsim(*args)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] == 8 and summary["reused"] >= len(finished)
    assert not list(runs.glob(".*.partial"))
    table = pd.read_parquet(out / "sweep.parquet").set_index("seed")
    for name in finished[:2]:  # what was reused equals a fresh run of the same seed
        seed = int(name.split("-")[1])
        fresh = ex.run_replication(spec("baseline", seed, hours=24))
        for k, v in fresh["figures"].items():
            if k not in table.columns:  # the sweep table keeps the headline figures (sim.figures.REPLICATED)
                continue
            assert table.loc[seed, k] == pytest.approx(v, nan_ok=True, rel=0, abs=0)


@pytest.mark.parametrize(("args", "words"), [
    (["--seeds", "9-1"], "--seeds"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
    (["--plans", "nope"], "has no plan 'nope'"),
])
def test_sweep_cli_bad_input_is_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    from helpers import cli

    assert words in cli("sweep", str(SMALL), *args, "--out", str(tmp_path / "x")).error_line()
    assert "name scenario files or a --grid file" in cli("sweep", "--out", str(tmp_path / "x")).error_line()
    assert not (tmp_path / "x").exists()


def test_shipped_grid_files_are_valid(tmp_path: Path) -> None:
    grids = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert grids
    for grid in grids:
        g, lines = sw.read_grid(grid)
        plan = sw.plan_sweep(g, tmp_path, grid.parent, lines, grid)
        assert len(plan.specs) >= 2


def test_sweep_cli_on_a_local_dask_cluster_matches_the_process_pool(tmp_path: Path) -> None:
    common = ["sweep", str(SMALL), "--plans", "baseline,sms", "--seeds", "3-4", "--hours", "6", "-q", "--workers", "2"]
    from helpers import cli

    a = cli(*common, "--out", str(tmp_path / "local"))
    b = cli(*common, "--out", str(tmp_path / "dask"), "--executor", "dask", "--bundle", "2")
    assert a.code == 0 and b.code == 0, a.err + b.err
    cols = ["scenario", "plan", "seed", "status", *sw.FIGURE_KEYS]
    ta = pd.read_parquet(tmp_path / "local" / "sweep.parquet")[cols]
    tb = pd.read_parquet(tmp_path / "dask" / "sweep.parquet")[cols]
    pd.testing.assert_frame_equal(ta, tb)
    assert json.loads((tmp_path / "dask" / "summary.json").read_text())["executor"] == "dask"


# ---------------------------------------------------------------------------- interrupts


def alive_in_group(pgid: int) -> list[str]:
    """Processes of a process group that are still alive (zombies are dead: only their exit status is left)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is in the test environment, /proc is the fallback
        psutil = None
    if psutil is not None:
        out = []
        for p in psutil.process_iter(["pid", "status", "cmdline"]):
            try:
                if os.getpgid(p.info["pid"]) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    out.append(" ".join(p.info["cmdline"] or [])[:100])
            except (ProcessLookupError, psutil.Error):
                continue
        return out
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(stat.parent.name)
    return out


INTERRUPTED = {
    "sweep": (["sweep", str(SMALL), "--plans", "baseline", "--seeds", "0-7", "--hours", "6", "--workers", "2", "-q"],
              "runs", ""),
    "compare": (["compare", str(SMALL), "--plans", "baseline,sms", "--reps", "4", "--hours", "6", "--workers", "2",
                 "--no-crn-check"], "small/runs", "small"),
}


@pytest.mark.parametrize(("command", "sig", "to_group"), [("sweep", signal.SIGINT, True),
                                                         ("compare", signal.SIGTERM, False)],
                         ids=["sweep-ctrl-c-to-the-group", "compare-sigterm-to-the-parent"])
def test_an_interrupt_stops_every_worker_and_a_rerun_resumes(tmp_path: Path, command: str, sig: int,
                                                             to_group: bool) -> None:
    """Ctrl-C reaches the whole foreground group; `kill PID` only the parent, which must stop its workers."""
    from helpers import cli

    args, runs_under, result = INTERRUPTED[command]
    out = tmp_path / command
    args = [*args, "--out", str(out)]
    # as a terminal's foreground job: Ctrl-C not ignored (a test run started in the background of a script
    # inherits SIGINT ignored, and Python then leaves it ignored, as `cmd &` in a script should)
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    runs = out / runs_under
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(runs.glob("**/seed-*/summary.json"))) < 2:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    stopped = time.monotonic() - sent
    assert proc.returncode == 128 + sig, err
    assert stopped < 10, stopped  # promptly: running runs are killed, not waited for
    assert f"interrupted ({signal.Signals(sig).name})" in err and "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while alive_in_group(proc.pid) and time.monotonic() < deadline:  # the parent is gone; no orphan stays
        time.sleep(0.1)
    assert alive_in_group(proc.pid) == []
    finished = len(list(runs.glob("**/seed-*/summary.json")))
    assert 2 <= finished < 8
    assert not (out / result / "summary.json").exists()  # the result does not look complete
    done = cli(*args)  # the same command again resumes
    assert done.code == 0, done.err
    summary = json.loads((out / result / "summary.json").read_text())
    assert summary["reused"] >= finished and summary["runs"] == 8
    assert not list(runs.glob("**/.*.partial"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c-to-the-group", "sigterm"])
def test_an_interrupted_run_stops_its_world_process(tmp_path: Path, sig: int) -> None:
    """`claimsim run --world-process` stopped mid-run: one line, 128 + the signal, no run folder, and the world
    process (in a process group of its own) gone with it."""
    import psutil

    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", "scenarios/henan-flood-2021.yaml", "--out",
                             str(tmp_path), "--world-process", "-q"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    world: list[psutil.Process] = []
    while time.monotonic() < deadline and not world:
        world = [c for c in parent.children() if "sim.world" in " ".join(c.cmdline())]
        time.sleep(0.1)
    assert world, proc.communicate()
    time.sleep(2)   # well into the run
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"interrupted ({signal.Signals(sig).name})" in err and "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while world[0].is_running() and world[0].status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not world[0].is_running() or world[0].status() == psutil.STATUS_ZOMBIE
    assert not list(tmp_path.glob("**/summary.json"))
