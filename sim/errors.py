"""Errors a user can fix: each renders as one line naming the file, line and key path."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input (scenario, plan, option or file): shown to the user as one line, exit code 2."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None,
                 key_path: str | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.key_path = key_path
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        key = f"{self.key_path}: " if self.key_path else ""
        return f"{where}{key}{self.message}".replace("\n", " ")


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or another stop signal) received: unwinds like Ctrl-C, so workers are stopped and nothing looks
    complete; the command line exits with 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"signal {signum}")
