"""The `claimsim` command line. Exit codes: 0 ok, 1 a check failed or a run failed, 2 bad input, 130 interrupted.

Commands live in one module per group (run, batch, plan, quality, exercise); each registers on the shared app.
"""

from __future__ import annotations

import sys

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
from sim.cli.app import app, err_console

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors, like input errors, are one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="claimsim", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("interrupted")
        sys.exit(130)
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
