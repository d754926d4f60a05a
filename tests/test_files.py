"""No command loses a user's files: marked output folders, --force, `--out .`, umask, unwritable outputs.

Every command that writes (run, compare and its matrix, sweep, validate with --doc, tabletop --replay) is run
against the same situations: a folder claimsim did not write, the working folder, its own earlier result,
--force, and an output that cannot be written. Commands run in this process (`helpers.cli`); the umask test
runs a real process.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import REPO, SMALL, cli

from sim import files
from sim.errors import InputError
from sim.files import MARKER, WRITTEN

ROOT_USER = os.geteuid() == 0


@pytest.fixture(scope="module")
def exercise_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short exercise log of the small scenario (for `tabletop --replay`)."""
    from sim.exercise import Exercise
    from sim.scenario import load_scenario

    ex = Exercise(load_scenario(SMALL), "baseline", 1, [], hours=6)
    ex.run_to(4)
    path = tmp_path_factory.mktemp("log") / "exercise-log.yaml"
    path.write_text(ex.log_yaml())
    return path


@pytest.fixture
def quick_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """`claimsim validate` without its hour of replications: two fixed rows (the writing is what is tested)."""
    from sim import validation

    rows = [validation.Row("1 a", "cfg", "P(wait)", 0.5, 0.5, 0.4, 0.6, 4, True)]
    monkeypatch.setattr(validation, "validate", lambda *a, **k: rows)


def second_scenario(folder: Path) -> Path:
    path = folder / "other.yaml"
    path.write_text(SMALL.read_text().replace("name: small", "name: other"))
    return path


# Each command: (arguments writing to OUT, the folder that holds its result, a file in that result).
COMMANDS: dict[str, Callable[[Path, Path], tuple[list, Path, str]]] = {
    "run": lambda out, tmp: (["run", SMALL, "--hours", "2", "-q"], out / "small" / "baseline" / "seed-7",
                             "summary.json"),
    "compare": lambda out, tmp: (["compare", SMALL, "--plans", "baseline", "--reps", "2", "--hours", "1",
                                  "--workers", "1", "--no-crn-check"], out / "small", "summary.json"),
    "compare-matrix": lambda out, tmp: (["compare", SMALL, second_scenario(tmp), "--plans", "baseline",
                                         "--reps", "2", "--hours", "2", "--workers", "1", "--no-crn-check"],
                                        out / "matrix", "matrix.json"),
    "sweep": lambda out, tmp: (["sweep", SMALL, "--plans", "baseline", "--seeds", "0", "--hours", "2", "--workers",
                                "1", "-q"], out, "summary.json"),
    "validate": lambda out, tmp: (["validate", "--cases", "1"], out, "summary.json"),
    "tabletop": lambda out, tmp: (["tabletop", SMALL, "--replay", tmp / "log.yaml"], out, "figures.json"),
}


@pytest.fixture
def command(request: pytest.FixtureRequest, tmp_path: Path, exercise_log: Path,
            quick_validation: None) -> Callable[[Path], tuple[list, Path, str]]:
    """The command under test, as a function of its --out folder."""
    (tmp_path / "log.yaml").write_text(exercise_log.read_text())

    def make(out: Path) -> tuple[list, Path, str]:
        args, result, name = COMMANDS[request.param](out, tmp_path)
        return [*args, "--out", out], result, name

    return make


ALL = pytest.mark.parametrize("command", list(COMMANDS), indirect=True)


def foreign_folder(path: Path, which: Path) -> Path:
    """A folder of the user's (no marker) with a file in it, at `which` (the result folder or its root)."""
    which.mkdir(parents=True)
    keep = which / "thesis.txt"
    keep.write_text("four years of work")
    return keep


@ALL
def test_a_foreign_folder_is_refused_and_left_as_it_was(tmp_path: Path, command: Callable) -> None:
    out = tmp_path / "out"
    args, result, _ = command(out)
    keep = foreign_folder(out, result)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    line = cli(*args).error_line()
    assert "not written by claimsim" in line and "--force" in line and str(out) in line
    assert keep.read_text() == "four years of work"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing added or removed


@ALL
def test_out_dot_is_refused(tmp_path: Path, command: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    monkeypatch.chdir(here)
    args, _, _ = command(Path("."))
    line = cli(*args).error_line()
    assert "--out" in line
    assert sorted(p.name for p in here.iterdir()) == ["notes.txt"] and (here / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["validate", "tabletop"], indirect=True)
def test_a_folder_replaced_whole_is_never_the_working_folder(tmp_path: Path, command: Callable,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the working folder is claimsim's own (marked) or empty."""
    for name, marked in (("empty", False), ("marked", True)):
        here = tmp_path / name
        here.mkdir()
        if marked:
            (here / MARKER).write_text("")
        monkeypatch.chdir(here)
        args, _, _ = command(Path("."))
        assert "current folder" in cli(*args).error_line()
        monkeypatch.chdir(tmp_path)
        args, _, _ = command(tmp_path)  # a folder that holds the working folder
        monkeypatch.chdir(here)
        assert "current folder" in cli(*args).error_line()
        assert here.is_dir()


@ALL
def test_a_marked_folder_is_replaced_and_modes_follow_the_umask(tmp_path: Path, command: Callable,
                                                                umask_027: None) -> None:
    """A second run replaces claimsim's own result; every folder and file follows the umask (027 here)."""
    out = tmp_path / "out"
    args, result, name = command(out)
    first = cli(*args)
    assert first.code == 0, first.err
    assert (result / MARKER).is_file() and (result / name).is_file()
    (result / name).write_text("stale")
    again = cli(*args)
    assert again.code == 0, again.err
    assert (result / name).read_text() != "stale"
    assert not list(result.parent.glob(".*.partial")) and not list(result.parent.glob("*.old-*"))
    assert modes(out) == {("dir", 0o750), ("file", 0o640)}


@ALL
def test_force_writes_into_a_foreign_folder_without_deleting(tmp_path: Path, command: Callable) -> None:
    out = tmp_path / "out"
    args, result, name = command(out)
    keep = foreign_folder(out, result)
    for _ in range(2):  # twice: the second time claimsim replaces only what it wrote itself
        done = cli(*args, "--force")
        assert done.code == 0, done.err
        assert keep.read_text() == "four years of work"
        assert (result / name).is_file()
        assert not (result / MARKER).exists()  # never marked: a later run without --force is refused
        assert name in (result / WRITTEN).read_text().split()
    assert "not written by claimsim" in cli(*args).error_line()


def test_force_never_replaces_a_file_of_the_users(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "report.md").write_text("my own report")
    args = ["sweep", SMALL, "--plans", "baseline", "--seeds", "0", "--hours", "2", "--workers", "1", "-q", "--out",
            out, "--force"]
    line = cli(*args).error_line()
    assert "report.md" in line and "move it away" in line
    assert (out / "report.md").read_text() == "my own report"


def test_files_rules_directly(tmp_path: Path) -> None:
    """atomic_dir and make_output_dir: the rules without a command around them."""
    target = tmp_path / "result"
    with files.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (target / MARKER).is_file() and (target / "a.txt").read_text() == "1"
    with pytest.raises(RuntimeError), files.atomic_dir(target) as tmp:  # a failure leaves the old result
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("crash")
    assert (target / "a.txt").read_text() == "1" and not list(tmp_path.glob(".*.partial"))
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"), files.atomic_dir(link):
        pass
    assert (target / "a.txt").read_text() == "1"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "x").write_text("x")
    with pytest.raises(InputError, match="not written by claimsim"):
        files.make_output_dir(mine)
    files.make_output_dir(mine, force=True)
    assert not (mine / MARKER).exists()
    files.mark_unfinished(mine, force=True)  # only what claimsim wrote there may go
    assert (mine / "x").read_text() == "x"


# ---------------------------------------------------------------- unwritable outputs


def unwritable(tmp_path: Path) -> list[Path]:
    """Outputs that cannot be written: a path under a file, and a read-only folder (as root, where
    permissions do not bind, a path under /proc, which nobody can create)."""
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    paths = [a_file / "out"]
    if ROOT_USER:
        paths.append(Path("/proc") / f"claimsim-test-{os.getpid()}")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        paths.append(locked / "out")
    return paths


@ALL
def test_an_unwritable_output_is_one_line(tmp_path: Path, command: Callable) -> None:
    for out in unwritable(tmp_path):
        args, _, _ = command(out)
        line = cli(*args).error_line()
        assert "--out" in line and ("cannot" in line or "not a folder" in line), line


def test_an_unwritable_marked_folder_is_found_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder claimsim wrote that became read-only: refused before the run, not after it."""
    from sim import runner

    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text("")

    def no_probe(*_a: object, **_k: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(files.tempfile, "mkstemp", no_probe)
    monkeypatch.setattr(runner, "simulate", lambda *a, **k: pytest.fail("ran before checking --out"))
    line = cli("run", SMALL, "--hours", "2", "--out", out).error_line()
    assert "Read-only file system" in line and str(out) in line


# ---------------------------------------------------------------- modes follow the umask


def modes(root: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_results_follow_the_umask_in_a_real_process(tmp_path: Path) -> None:
    """A sweep on two worker processes, started with umask 022: folders 0755, files 0644 (not mkdtemp's 0700)."""
    out = tmp_path / "sweep"
    proc = subprocess.run([sys.executable, "-m", "sim", "sweep", str(SMALL), "--plans", "baseline", "--seeds", "0-1",
                           "--hours", "2", "--workers", "2", "-q", "--out", str(out)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    assert modes(out) == {("dir", 0o755), ("file", 0o644)}


@pytest.fixture
def umask_027() -> object:
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_validate_doc_replaces_only_a_report_claimsim_wrote(tmp_path: Path, quick_validation: None) -> None:
    """`validate --doc FILE`: a file of the user's is refused, one claimsim wrote (it says so) is replaced, and the
    plots go to a marked `validation` folder beside it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "VALIDATION.md"
    doc.write_text("# my notes\n")
    args = ["validate", "--cases", "1", "--out", tmp_path / "out", "--doc", doc]
    line = cli(*args).error_line()
    assert "--doc" in line and "not written by claimsim" in line and doc.read_text() == "# my notes\n"
    assert not (tmp_path / "out").exists()
    doc.write_text("<!-- written by claimsim validate -->\nstale text\n")
    done = cli(*args)
    assert done.code == 0, done.err
    assert "](validation/stationary.png)" in doc.read_text() and "stale text" not in doc.read_text()
    assert (docs / "validation" / MARKER).is_file() and (docs / "validation" / "storm.png").is_file()
    (docs / "validation" / MARKER).unlink()  # the plots folder is the user's now
    (docs / "validation" / "mine.png").write_bytes(b"x")
    assert "validation" in cli(*args).error_line()
    assert (docs / "validation" / "mine.png").read_bytes() == b"x"
