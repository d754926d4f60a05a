"""Folders that look complete only when they are: built under a temporary name, renamed when done."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling `.name.XXXX.partial` to fill; on success it replaces `final`, on error it goes.

    A crash leaves only the `.partial` folder (`sim.execution.clean_partials` removes those), never a
    half-written `final`.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(final.name + f".old-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def mark_unfinished(folder: Path) -> None:
    """Before a comparison or sweep writes into `folder`: its summary.json (written last, the mark of a
    complete result) and report go; run folders under it stay, to be reused."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "report.md"):
        (folder / name).unlink(missing_ok=True)
