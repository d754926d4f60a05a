"""Writing results without ever losing a user's files: marked output folders, atomic folders and files.

Rules every command follows (docs/SAFETY.md):
- claimsim only replaces or deletes a folder it wrote itself. Every output folder it writes carries a
  marker file (`.claimsim-output`); an existing folder that is not empty and has no marker is refused
  (`InputError`, exit 2) unless the user passes `--force`, which writes into it without deleting anything:
  the folder is not marked, the names claimsim wrote are listed in `.claimsim-files`, and a file of the
  same name that claimsim did not write is refused even then.
- A folder that is replaced whole is never the working folder or one that holds it (`--out .`).
- A result appears complete only when it is: folders are built under a temporary sibling and renamed,
  files are written to a temporary name and renamed.
- Results follow the user's umask like any other file they write (a temporary folder is made 0700; the
  finished folder is not left that way).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError

MARKER = ".claimsim-output"
WRITTEN = ".claimsim-files"  # in a folder written with --force: the names claimsim wrote there
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


def _os_error(exc: OSError, path: Path, option: str, doing: str = "cannot write here") -> InputError:
    if isinstance(exc, PermissionError):
        return InputError(f"{doing} (permission denied)", file=path, key_path=option)
    return InputError(f"{doing} ({exc.strerror or type(exc).__name__})", file=path, key_path=option)


def is_ours(folder: Path) -> bool:
    """Whether a folder was written by claimsim (it holds the marker)."""
    return (Path(folder) / MARKER).is_file()


def _written(folder: Path) -> set[str]:
    try:
        return {n for n in (Path(folder) / WRITTEN).read_text().splitlines() if n}
    except (OSError, UnicodeDecodeError):
        return set()


def owned(path: Path) -> bool:
    """Whether claimsim may replace or delete `path`: it is missing, in a marked folder, or listed as written."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return True
    return is_ours(path.parent) or path.name in _written(path.parent)


def _record_written(folder: Path, names: list[str]) -> None:
    """In a folder written with --force (not marked): remember which names claimsim wrote there."""
    if is_ours(folder):
        return
    names = sorted(_written(folder) | set(names))
    path = Path(folder) / WRITTEN
    path.write_text("".join(n + "\n" for n in names))
    _follow_umask(path, directory=False)


def refuse_working_folder(folder: Path, option: str = "--out") -> None:
    """A folder claimsim replaces whole may not be the working folder, one that holds it, or the root."""
    try:
        target = Path(folder).resolve()
        here = Path.cwd().resolve()
    except OSError:
        return
    if target == here or target in here.parents or target == Path(target.anchor):
        raise InputError("is the current folder or holds it: name a new folder for the results", file=folder,
                         key_path=option)


def check_output_dir(folder: Path, force: bool = False, option: str = "--out") -> None:
    """Refuse (InputError) to write into an existing, non-empty folder claimsim did not write, unless forced.

    A missing folder, an empty one, or one that holds the marker is fine. `force` allows writing into an
    unmarked folder; nothing already in it is deleted.
    """
    folder = Path(folder)
    if not folder.exists():
        if folder.is_symlink():
            raise InputError("is a broken symbolic link", file=folder, key_path=option)
        return
    if not folder.is_dir():
        raise InputError("exists and is not a folder", file=folder, key_path=option)
    if is_ours(folder) or force:
        return
    try:
        empty = not any(folder.iterdir())
    except OSError as exc:
        raise _os_error(exc, folder, option, "cannot be read") from None
    if not empty:
        raise InputError(f"this folder is not empty and was not written by claimsim (no {MARKER} file): choose "
                         f"another {option}, empty it, or pass --force to write into it", file=folder,
                         key_path=option)


def check_writable(folder: Path, option: str = "--out") -> None:
    """Prove that files can be created in `folder` (made if missing) by creating one, so that an unwritable
    output is found before a long run, not after it (a real probe: permissions do not bind root)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".claimsim-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _os_error(exc, folder, option) from None


def make_output_dir(folder: Path, force: bool = False, option: str = "--out") -> Path:
    """Create (or reuse) an output folder, marked as claimsim's; refuses a foreign one (see check_output_dir).

    With `force`, a foreign non-empty folder is written into as it is: it is not marked (claimsim will never
    treat it as its own).
    """
    folder = Path(folder)
    check_output_dir(folder, force, option)
    try:
        foreign = folder.is_dir() and not is_ours(folder) and any(folder.iterdir())
        folder.mkdir(parents=True, exist_ok=True)
        if not foreign and not is_ours(folder):
            marker = folder / MARKER
            marker.write_text("This folder was written by claimsim; claimsim may replace what it wrote here.\n")
            _follow_umask(marker, directory=False)
        check_writable(folder, option)
    except InputError:
        raise
    except OSError as exc:
        raise _os_error(exc, folder, option, "cannot create the folder") from None
    return folder


def _merge_forced(tmp: Path, final: Path, option: str) -> None:
    """--force into a foreign folder: add the new files; refuse (before moving any) a name claimsim did not
    write; delete nothing of the user's."""
    items = [p for p in tmp.iterdir() if p.name != MARKER]
    for item in items:
        target = final / item.name
        if item.is_dir() and target.exists() and not (target.is_dir() and is_ours(target)):
            raise InputError(f"'{item.name}' here was not written by claimsim: move it away (even --force "
                             "replaces nothing of yours)", file=final, key_path=option)
        if not item.is_dir() and not owned(target):
            raise InputError(f"a file named '{item.name}' here was not written by claimsim: move it away (even "
                             "--force replaces nothing of yours)", file=final, key_path=option)
    for item in items:
        target = final / item.name
        if item.is_dir() and target.exists():
            old = target.with_name(target.name + f".old-{os.getpid()}")
            target.rename(old)
            item.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(item, target)
    _record_written(final, [item.name for item in items])


@contextmanager
def atomic_dir(final: Path, force: bool = False, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary sibling `.name.XXXX.partial` to fill; on success it replaces `final`, on error it goes.

    `final` may be replaced only if it is missing, empty or claimsim's (marked); a foreign folder is refused
    before anything is written (or, with `force`, the new files are added to it and nothing is deleted).
    A crash leaves only the `.partial` folder (`sim.execution.clean_partials` removes those), never a
    half-written `final`.
    """
    final = Path(final)
    refuse_working_folder(final, option)
    if final.is_symlink():
        raise InputError("is a symbolic link: name a folder", file=final, key_path=option)
    check_output_dir(final, force, option)
    try:
        foreign = final.exists() and not is_ours(final) and any(final.iterdir())
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    except OSError as exc:
        raise _os_error(exc, final.parent, option) from None
    try:
        (tmp / MARKER).write_text("This folder was written by claimsim; claimsim may replace it.\n")
        yield tmp
        for path in [tmp, *tmp.rglob("*")]:
            _follow_umask(path, directory=path.is_dir())
        if foreign:
            _merge_forced(tmp, final, option)
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
        raise _os_error(exc, path, option, "cannot be read") from None
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
    except OSError as exc:
        raise _os_error(exc, path, option) from None
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


def write_result(folder: Path, name: str, data: bytes | str, option: str = "--out") -> Path:
    """Write one file of a result into an output folder made by `make_output_dir`, atomically.

    In a marked folder it replaces its namesake; in a folder written with --force it refuses to replace a
    file claimsim did not write there, and records the name.
    """
    path = Path(folder) / name
    if not owned(path):
        raise InputError(f"a file named '{name}' here was not written by claimsim: move it away (even --force "
                         "replaces nothing of yours)", file=folder, key_path=option)
    atomic_write(path, data, force=True, option=option)
    _record_written(Path(folder), [name])
    return path


def mark_unfinished(folder: Path, force: bool = False, option: str = "--out") -> None:
    """Before a comparison or sweep writes into `folder`: its summary.json (written last, the mark of a
    complete result) and report go; run folders under it stay, to be reused. A foreign folder is refused
    (with `force`, only files claimsim wrote there go)."""
    make_output_dir(folder, force, option)
    for name in ("summary.json", "report.md"):
        path = Path(folder) / name
        if owned(path):
            path.unlink(missing_ok=True)


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
# ---------------------------------------------------------------------------- manifests


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(folder: Path, exclude: tuple[str, ...] = ("summary.json", MARKER)) -> dict[str, dict[str, int | str]]:
    """Size and sha256 of every file in a folder (recorded when a result is written, checked before reuse)."""
    folder = Path(folder)
    out: dict[str, dict[str, int | str]] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in exclude:
            out[rel] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return out


def manifest_problem(folder: Path, recorded: object) -> str | None:
    """Why a folder no longer matches its recorded manifest (a file missing, resized or changed), or None."""
    if not isinstance(recorded, dict) or not recorded:
        return "no manifest of its files"
    for rel, entry in recorded.items():
        path = Path(folder) / str(rel)
        if not isinstance(entry, dict):
            return f"{rel}: bad manifest entry"
        try:
            size = path.stat().st_size
            if size != entry.get("bytes"):
                return f"{rel}: {size} bytes, {entry.get('bytes')} recorded"
            if sha256_file(path) != entry.get("sha256"):
                return f"{rel}: contents changed since it was written"
        except OSError:
            return f"{rel}: missing or unreadable"
    return None
