"""The architecture of shared/DESIGN.md holds: layers point one way, no import circles, modules stay small."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest
from helpers import REPO

MAX_LINES = 450


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter's contracts (pyproject.toml) on the `sim` package found under `root`."""
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache", "--config", str(REPO / "pyproject.toml")], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)


def import_cycles(package: str = "sim") -> list[list[str]]:
    """Groups of modules that import each other in a circle (type-checking and function-level imports count)."""
    graph = grimp.build_graph(package, cache_dir=None)
    g = nx.DiGraph()
    for module in graph.modules:
        g.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            g.add_edge(module, imported)
    return [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]


def test_layers_and_contracts_are_kept() -> None:
    proc = lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_import_circle() -> None:
    assert import_cycles() == []


def test_a_broken_layer_rule_is_caught(tmp_path: Path) -> None:
    """The check can fail: the vocabulary importing the command line breaks the layers."""
    shutil.copytree(REPO / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    vocab = tmp_path / "sim" / "vocab.py"
    vocab.write_text(vocab.read_text() + "\nimport sim.model  # planted: the bottom layer reaching up\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode != 0
    assert "sim.vocab -> sim.model" in proc.stdout.replace("\n", " ") or "broken" in proc.stdout


@pytest.mark.parametrize("path", sorted((REPO / "sim").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_stay_small(path: Path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(REPO)} has {n} lines: split it by concern"
