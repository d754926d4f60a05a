"""Writing results without ever losing a user's files: marked output folders, atomic folders and files.

Rules every command follows (docs/SAFETY.md):
- claimsim only replaces or deletes a folder it wrote itself. Every output folder it writes carries a
  marker file (`.claimsim-output`); an existing folder that is not empty and has no marker is refused
  (`InputError`, exit 2) unless the user passes `--force`, which writes into it without deleting anything.
- A result appears complete only when it is: folders are built under a temporary sibling and renamed,
  files are written to a temporary name and renamed.
- Results follow the user's umask like any other file they write (a temporary folder is made 0700; the
  finished folder is not left that way).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError

MARKER = ".claimsim-output"
# How a file claimsim writes (a report, JUnit XML) says so on its first lines, so that it may be replaced.
SIGNATURE = "written by claimsim"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _follow_umask(path: Path, directory: bool) -> None:
    mode = (0o777 if directory else 0o666) & ~_umask()
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def is_ours(folder: Path) -> bool:
    """Whether a folder was written by claimsim (it holds the marker)."""
    return (Path(folder) / MARKER).is_file()


def check_output_dir(folder: Path, force: bool = False, option: str = "--out") -> None:
    """Refuse (InputError) to write into an existing, non-empty folder claimsim did not write, unless forced.

    A missing folder, an empty one, or one that holds the marker is fine. `force` allows writing into an
    unmarked folder; nothing already in it is deleted.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError("exists and is not a folder", file=folder, key_path=option)
    if is_ours(folder) or force:
        return
    try:
        empty = not any(folder.iterdir())
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=folder, key_path=option) from None
    if not empty:
        raise InputError(f"this folder is not empty and was not written by claimsim (no {MARKER} file): choose "
                         f"another {option}, empty it, or pass --force to write into it", file=folder,
                         key_path=option)


def make_output_dir(folder: Path, force: bool = False, option: str = "--out") -> Path:
    """Create (or reuse) an output folder, marked as claimsim's; refuses a foreign one (see check_output_dir)."""
    folder = Path(folder)
    check_output_dir(folder, force, option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        if not marker.exists():
            marker.write_text("This folder was written by claimsim; claimsim may replace what it wrote here.\n")
            _follow_umask(marker, directory=False)
    except PermissionError:
        raise InputError("cannot write here (permission denied)", file=folder, key_path=option) from None
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror or type(exc).__name__})", file=folder,
                         key_path=option) from None
    return folder


@contextmanager
def atomic_dir(final: Path, force: bool = False, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary sibling `.name.XXXX.partial` to fill; on success it replaces `final`, on error it goes.

    `final` may be replaced only if it is missing, empty or claimsim's (marked); a foreign folder is refused
    before anything is written (or, with `force`, the new files are copied into it and nothing is deleted).
    A crash leaves only the `.partial` folder (`sim.execution.clean_partials` removes those), never a
    half-written `final`.
    """
    final = Path(final)
    check_output_dir(final, force, option)
    foreign = final.exists() and not is_ours(final) and any(final.iterdir())
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    except PermissionError:
        raise InputError("cannot write here (permission denied)", file=final.parent, key_path=option) from None
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror or type(exc).__name__})", file=final.parent,
                         key_path=option) from None
    try:
        (tmp / MARKER).write_text("This folder was written by claimsim; claimsim may replace it.\n")
        yield tmp
        for path in [tmp, *tmp.rglob("*")]:
            _follow_umask(path, directory=path.is_dir())
        if foreign:  # --force into a folder that is not ours: add the files, delete nothing
            for item in tmp.iterdir():
                target = final / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.copytree(item, target, dirs_exist_ok=True)
                else:
                    os.replace(item, target)
            shutil.rmtree(tmp, ignore_errors=True)
        elif final.exists():
            old = final.with_name(final.name + f".old-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_output_file(path: Path, force: bool = False, option: str = "--report") -> None:
    """Refuse to replace an existing file that claimsim did not write (its first lines lack SIGNATURE)."""
    path = Path(path)
    if not path.exists() or force:
        return
    if path.is_dir():
        raise InputError("is a folder, not a file", file=path, key_path=option)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=path, key_path=option) from None
    if SIGNATURE.encode() not in head:
        raise InputError("this file exists and was not written by claimsim: choose another name, remove it, or "
                         "pass --force to replace it", file=path, key_path=option)


def atomic_write(path: Path, data: bytes | str, force: bool = True, option: str = "--out") -> Path:
    """Write a file whole or not at all (temporary name, then rename), with the user's umask.

    With `force=False` an existing file claimsim did not write is refused (see check_output_file).
    """
    path = Path(path)
    check_output_file(path, force, option)
    raw = data.encode() if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except PermissionError:
        raise InputError("cannot write here (permission denied)", file=path, key_path=option) from None
    except OSError as exc:
        raise InputError(f"cannot write ({exc.strerror or type(exc).__name__})", file=path, key_path=option) \
            from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        _follow_umask(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def mark_unfinished(folder: Path, force: bool = False, option: str = "--out") -> None:
    """Before a comparison or sweep writes into `folder`: its summary.json (written last, the mark of a
    complete result) and report go; run folders under it stay, to be reused. A foreign folder is refused."""
    make_output_dir(folder, force, option)
    for name in ("summary.json", "report.md"):
        (Path(folder) / name).unlink(missing_ok=True)


def is_writable_dir(folder: Path) -> bool:
    """Whether files can be created in `folder` (or in its nearest existing parent)."""
    p = Path(folder).resolve()
    while not p.exists():
        p = p.parent
    return p.is_dir() and os.access(p, os.W_OK | os.X_OK)


def keep_previous(folder: Path, inputs: str, names: tuple[str, ...], stamp: str) -> Path | None:
    """Before a report is rewritten from different inputs, move the previous one to `history/<stamp>-<inputs>/`.

    A report's summary.json records the digest of its inputs (`inputs`); when the digest differs (a changed
    plans file, other plans, other targets), the files in `names` that exist are moved, not overwritten, so no
    earlier report is lost. Returns the history folder, or None when nothing was kept.
    """
    import json

    folder = Path(folder)
    summary = folder / "summary.json"
    try:
        old = json.loads(summary.read_text()).get("inputs")
    except (OSError, ValueError):
        return None
    if not old or old == inputs:
        return None
    dest = folder / "history" / f"{stamp}-{str(old)[:12]}"
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = folder / name
        if src.exists():
            os.replace(src, dest / name)
    return dest
