"""Fixtures: the small scenario, a results folder, and scenario files written from dicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import SMALL, minimal_doc, write_yaml
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps its caches under tests/ (git-ignored), and no example database: failures print a blob
# to reproduce them instead.
set_hypothesis_home_dir(Path(__file__).resolve().parent / ".hypothesis")
settings.register_profile("claimsim", database=None, print_blob=True)
settings.load_profile("claimsim")


@pytest.fixture
def small_yaml() -> Path:
    """The small two-region scenario shipped with the tests (a run takes well under a second)."""
    assert SMALL.is_file()
    return SMALL


@pytest.fixture
def small_text(small_yaml: Path) -> str:
    return small_yaml.read_text(encoding="utf-8")


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """An empty results root folder (not created: the code under test must create it)."""
    return tmp_path / "results"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario document (a dict) as YAML under tmp_path and return its path."""

    def make(doc: dict[str, Any] | None = None, name: str = "scenario.yaml") -> Path:
        return write_yaml(doc if doc is not None else minimal_doc(), tmp_path / name)

    return make


@pytest.fixture
def text_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write raw text (e.g. a deliberately broken scenario) under tmp_path and return its path."""

    def make(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make
