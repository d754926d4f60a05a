"""Reading input files: bounded YAML to plain Python with the line of every key, and one-line errors.

Every file claimsim reads (scenarios, plans, injects, exercise logs, sweep grids, regression configs,
baselines, search spaces) comes through here, so every bad input gets the same treatment: one
`InputError` naming the file, the line and the key path, never a traceback and never an echo of the
file's contents. Reading is bounded (file size, nesting depth, nodes after alias expansion) so that a
hostile file fails in well under a second instead of eating the machine's memory, and numbers must be
finite (`.nan` and `.inf` are refused wherever they appear).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError

from sim.errors import InputError

# Bounds on what a file may ask of the reader. The YAML parser (pure Python, YAML 1.2) takes a few
# microseconds a byte, so the size bounds the time: 256 KB parse in about a second (four on a busy machine).
# The largest shipped file is under 20 KB; 256 KB hold about six months of hourly keyframes written inline
# (longer series belong in a hazard CSV, which has the same bound). Depth: the shipped files are 6 levels
# deep. Values once aliases are expanded: a "billion laughs" file of a few lines stops here, before anything
# is expanded.
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 40
MAX_NODES = 200_000

Lines = dict[tuple, int]


def key_path(loc: tuple) -> str:
    """('operations', 'staff', 'phone') -> 'operations.staff.phone'; list indices as [i]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_key_path(text: str) -> tuple:
    """'operations.staff[2].phone' -> ('operations', 'staff', 2, 'phone'): the inverse of key_path."""
    out: list = []
    for part in text.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        for index in ("[" + rest).split("[")[1:] if rest else []:
            idx = index.rstrip("]")
            out.append(int(idx) if idx.isdigit() else idx)
    return tuple(out)


def line_of(lines: Lines, path: tuple) -> int | None:
    """The line of `path`, or of its nearest ancestor that has one."""
    for cut in range(len(path), 0, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def mapping_start(lines: Lines) -> int:
    """The line where the document's top-level mapping starts (its first key, after any comments)."""
    return min((line for path, line in lines.items() if len(path) == 1), default=1)


class _Budget:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.nodes = 0

    def tick(self, path: tuple, lines: Lines) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InputError(f"too large: more than {MAX_NODES:,} values (nested aliases?)", file=self.file,
                             line=line_of(lines, path) or 1)
        if len(path) > MAX_DEPTH:
            raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=self.file,
                             line=line_of(lines, path) or 1, key_path=key_path(path[:3]) + "...")


STANDARD_TAGS = {None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str",
                 "tag:yaml.org,2002:omap"}


def _tag(node: Any) -> str | None:
    tag = getattr(node, "tag", None)
    return getattr(tag, "value", tag) if tag is not None else None


def _expanded_size(node: Any, memo: dict[int, int], depth: int = 0) -> int:
    """Values in the document once aliases are expanded, counted without expanding them (an alias bomb
    of a few lines is found at once)."""
    if depth > MAX_DEPTH:
        return MAX_NODES + 1  # the walk that follows names the place
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a node that holds itself (a recursive alias) counts once here
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    total = 1
    for child in children:
        total += _expanded_size(child, memo, depth + 1)
        if total > MAX_NODES:
            break
    memo[key] = total
    return total


def _plain(node: Any, path: tuple, lines: Lines, budget: _Budget) -> Any:
    """Turn ruamel nodes into plain Python, recording the 1-based line of every key path."""
    budget.tick(path, lines)
    if _tag(node) not in STANDARD_TAGS:  # !!python/object and other tags: plain data only
        shown = str(_tag(node)).removeprefix("tag:yaml.org,2002:")
        raise InputError(f"tagged values are not allowed here (tag {shown[:40]!r}): write plain values",
                         file=budget.file, line=line_of(lines, path), key_path=key_path(path) or None)
    if isinstance(node, TaggedScalar):  # !!str 5
        return str(node.value)
    if isinstance(node, (bytes, AbstractSet)):
        raise InputError("binary values and sets are not allowed here: write plain values", file=budget.file,
                         line=line_of(lines, path), key_path=key_path(path) or None)
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            k = key if isinstance(key, str) else str(key)
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                lines[path + (k,)] = node.lc.key(key)[0] + 1
            out[k] = _plain(value, path + (k,), lines, budget)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                lines[path + (i,)] = node.lc.item(i)[0] + 1
            out_list.append(_plain(value, path + (i,), lines, budget))
        return out_list
    if isinstance(node, float) and not math.isfinite(node):
        raise InputError("numbers must be finite (not .nan or .inf)", file=budget.file, line=line_of(lines, path),
                         key_path=key_path(path) or None)
    if isinstance(node, dt.date) and not isinstance(node, dt.datetime):
        return dt.datetime(node.year, node.month, node.day)
    if isinstance(node, float):
        return float(node)  # ruamel's ScalarFloat: a plain float
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, str):
        return str(node)
    return node


def read_bytes(file: Path, what: str = "file") -> bytes:
    """A file's bytes, bounded in size; a missing or unreadable file is an InputError."""
    file = Path(file)
    if not file.exists():
        raise InputError(f"{what} not found", file=file)
    if not file.is_file():
        raise InputError(f"not a file (a {what} is expected)", file=file)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"too large for a {what} ({size:,} bytes; at most {MAX_FILE_BYTES:,})", file=file, line=1)
        return file.read_bytes()
    except PermissionError:
        raise InputError("cannot be read (permission denied)", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=file) from None


_FLOW = re.compile(r"""[\[\]{}]|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|(?:^|\s)#[^\n]*""")


def _flow_too_deep(text: str) -> int | None:
    """The line where flow brackets ([ {) nest deeper than MAX_DEPTH, or None. The YAML scanner slows down
    with the square of the depth, so this is checked on the text first (quotes and comments skipped)."""
    depth = 0
    for m in _FLOW.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, m.start()) + 1
        elif c in "]}":
            depth = max(0, depth - 1)
    return None


def _quiet(problem: str) -> str:
    """A parser's problem without the file's values it quotes (a duplicate key's two values)."""
    return re.sub(r' with value ".*', "", problem, flags=re.DOTALL)


def read_yaml(file: Path, what: str = "YAML file") -> tuple[dict[str, Any], Lines, bytes]:
    """A YAML mapping as plain Python, the line of every key path, and the file's bytes."""
    file = Path(file)
    raw_bytes = read_bytes(file, what)
    yaml = YAML(typ="rt", pure=True)
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (a {what} is expected)", file=file,
                         line=raw_bytes.count(b"\n", 0, exc.start) + 1) from None
    if "\x00" in text:
        raise InputError(f"not a text file (a {what} is expected)", file=file,
                         line=text.count("\n", 0, text.index("\x00")) + 1)
    deep = _flow_too_deep(text)
    if deep is not None:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", file=file, line=deep)
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _quiet(exc.problem or exc.context or "malformed YAML")
        raise InputError(f"malformed YAML: {problem}", file=file, line=mark.line + 1 if mark else 1) from None
    except RecursionError:
        raise InputError(f"nested too deeply (at most {MAX_DEPTH} levels)", file=file, line=1) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, bad tags)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"malformed YAML: {_quiet(first)[:200]}", file=file, line=1) from None
    if not isinstance(doc, CommentedMap):
        raise InputError(f"expected a YAML mapping of keys (a {what})", file=file, line=1)
    lines: Lines = {}
    try:
        if _expanded_size(doc, {}) > MAX_NODES:
            raise InputError(f"too large: more than {MAX_NODES:,} values once aliases are expanded (nested "
                             "aliases?)", file=file, line=1)
        return _plain(doc, (), lines, _Budget(file)), lines, raw_bytes
    except RecursionError:
        raise InputError(f"nested too deeply (at most {MAX_DEPTH} levels)", file=file, line=1) from None


def data_loc(data: Any, err: dict[str, Any]) -> tuple:
    """The key path of a pydantic error in the document, without pydantic's union member tags."""
    out: list = []
    node = data
    loc = err["loc"]
    for i, part in enumerate(loc):
        in_map = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_map or in_list:
            node = node[part]
            out.append(part)
        elif i == len(loc) - 1 and isinstance(node, dict) and err["type"] in ("missing", "extra_forbidden"):
            out.append(part)  # a missing or unknown key: name it
    return tuple(out)


def explain(exc: ValidationError, data: Any) -> tuple[tuple, str, str]:
    """(key path, message, error type) of the pydantic error that best explains the document's problem.

    Of a union's several complaints, the one that reaches deepest into the document is the one that fits;
    an unknown key (a misspelling) explains a missing one at the same depth. The count of other problems
    is added to the message.
    """
    errors = [(data_loc(data, e), e) for e in exc.errors()]
    loc, err = max(errors, key=lambda pair: (len(pair[0]), pair[1]["type"] == "extra_forbidden"))
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown key (check its spelling)"
    elif kind == "missing":
        msg = f"missing required key '{loc[-1]}'" if loc else "missing required key"
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
    more = len({pair[0] for pair in errors}) - 1
    if more:
        msg += f" (and {more} more problem{'s' * (more > 1)})"
    return loc, msg, kind


def error_at(file: Path | str | None, lines: Lines, loc: tuple, message: str, kind: str = "") -> InputError:
    """An InputError at a key path; a missing key points at the mapping that should hold it."""
    where = loc[:-1] if kind == "missing" else loc
    line = (line_of(lines, where) if where else None) or line_of(lines, loc) or mapping_start(lines)
    return InputError(message, file=file, line=line, key_path=key_path(loc) or None)


def validate[M: BaseModel](model: type[M], data: Any, file: Path | str | None, lines: Lines,
                           locate: Callable[[tuple, str, str], InputError] | None = None) -> M:
    """`model.model_validate(data)`, with any error turned into one located InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, msg, kind = explain(exc, data)
        if locate is not None:
            raise locate(loc, msg, kind) from None
        raise error_at(file, lines, loc, msg, kind) from None


def read_document[M: BaseModel](path: str | Path, model: type[M], what: str = "YAML file") -> tuple[M, Lines]:
    """A small YAML file (sweep grid, injects, plans, exercise log, config) checked against `model`."""
    file = Path(path)
    raw, lines, _ = read_yaml(file, what)
    return validate(model, raw, file, lines), lines
