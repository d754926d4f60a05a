"""The `claimsim` command line. Exit codes: 0 ok, 1 a check failed or a run failed, 2 bad input, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP).

Commands live in one module per group (run, batch, plan, quality, exercise); each registers on the shared app.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from types import FrameType

import typer

# Each module registers its commands; the order here is the order of `claimsim --help`.
from sim.cli import run  # noqa: F401

# isort: split
from sim.cli import batch  # noqa: F401

# isort: split
from sim.cli import plan  # noqa: F401

# isort: split
from sim.cli import quality  # noqa: F401

# isort: split
from sim.cli import exercise  # noqa: F401

# isort: split
from sim.cli import calibrate  # noqa: F401

# isort: split
from sim.cli.app import _fail, app, err_console, interrupted
from sim.errors import InputError, Interrupted

__all__ = ["app", "main"]


def _stop_signal(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def handle_stop_signals() -> dict[int, object]:
    """SIGTERM and SIGHUP unwind like Ctrl-C: worker processes are stopped and nothing looks complete.
    Returns the handlers replaced."""
    old: dict[int, object] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            old[sig] = signal.signal(sig, _stop_signal)
    return old


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors, like input errors, are one line and exit code 2."""
    old = handle_stop_signals()
    try:
        _main(argv)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _main(argv: list[str] | None) -> None:
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="claimsim", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort) as stop:  # outside a command (see sim.cli.app for inside)
        sys.exit(interrupted(stop.__cause__ if isinstance(stop.__cause__, KeyboardInterrupt) else stop))
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except InputError as err:  # raised outside a command (the commands' own are handled in sim.cli.app)
        try:
            _fail(err)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except Exception as err:
        # Click's usage errors (bad option value, missing argument) carry exit code 2 and a message.
        if getattr(err, "exit_code", None) != 2 or not hasattr(err, "format_message"):
            raise
        if not err.format_message().strip():  # no arguments at all: the help was shown
            sys.exit(0)
        ctx = getattr(err, "ctx", None)
        hint = f" (see 'claimsim {ctx.info_name} --help')" if ctx is not None and ctx.parent else ""
        err_console.print(f"error: {err.format_message()}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
