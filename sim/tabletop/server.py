"""Start the tabletop page: a Solara server in the foreground, offline (no telemetry, assets served locally).

`serve()` runs the server in this process until Ctrl-C. `start()` runs it in a subprocess and waits until it
answers (for tests and scripts); `python -m sim.tabletop.server SCENARIO --port N` is the same as `serve()`.

Solara reads its settings when it is first imported, so the environment is set before anything imports it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

APP = "sim.tabletop.page"
ENV_SCENARIO = "CLAIMSIM_TABLETOP_SCENARIO"
ENV_PLAN = "CLAIMSIM_TABLETOP_PLAN"
ENV_SEED = "CLAIMSIM_TABLETOP_SEED"
ENV_INJECTS = "CLAIMSIM_TABLETOP_INJECTS"
ENV_HOURS = "CLAIMSIM_TABLETOP_HOURS"

# No telemetry, the page's JavaScript, CSS and fonts from the local solara-assets copy (never a CDN, even when
# started from an editor's terminal that would turn the proxy off), no development mode (no check iframes).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_MODE": "production",
}
SHUTDOWN_S = 3


def tabletop_env(scenario: Path, plan: str = "baseline", seed: int | None = None, injects: Path | None = None,
                 hours: int | None = None) -> dict[str, str]:
    """The page's configuration as environment variables (paths made absolute)."""
    return {
        ENV_SCENARIO: str(Path(scenario).resolve()),
        ENV_PLAN: plan,
        ENV_SEED: "" if seed is None else str(seed),
        ENV_INJECTS: "" if injects is None else str(Path(injects).resolve()),
        ENV_HOURS: "" if hours is None else str(hours),
    }


def server_env(scenario: Path, plan: str = "baseline", seed: int | None = None, injects: Path | None = None,
               hours: int | None = None) -> dict[str, str]:
    """Everything the server process needs in its environment: the app, the offline switches, the setup."""
    return {"SOLARA_APP": APP, **OFFLINE_ENV, **tabletop_env(scenario, plan, seed, injects, hours)}


def serve(scenario: Path, plan: str, seed: int | None, injects: Path | None, port: int, host: str = "127.0.0.1",
          hours: int | None = None) -> None:
    """Serve the tabletop page on host:port until Ctrl-C; raises InputError first if the setup is bad."""
    os.environ.update(server_env(scenario, plan, seed, injects, hours))
    from sim.tabletop.page import setup_from_env

    setup_from_env()  # a bad scenario, plan, seed or injects file fails here, before the server starts
    import uvicorn

    # Served over plain http on 127.0.0.1 the session cookie falls back to SameSite=lax: expected, not a problem.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    print(f"claimsim tabletop: http://{shown}:{port}/ (serving on {host}:{port}; Ctrl-C to stop)", flush=True)
    config = uvicorn.Config("solara.server.starlette:app", host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=SHUTDOWN_S)
    uvicorn.Server(config).run()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A tabletop server started by `start()`."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, timeout: float = 10.0) -> int:
        """Stop it as Ctrl-C would (SIGINT), killing it if it does not stop in `timeout` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0,
               log: Path | None = None) -> float:
    """Poll url/readyz until it answers 200; returns the seconds it took (RuntimeError if it never does)."""
    t0 = time.monotonic()
    while True:
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise RuntimeError(f"the tabletop server exited with code {proc.returncode}:\n{text}")
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            text = log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise RuntimeError(f"the tabletop server did not answer within {timeout:.0f} s:\n{text}")
        time.sleep(0.1)


def start(scenario: Path, log: Path, plan: str = "baseline", seed: int | None = None, injects: Path | None = None,
          hours: int | None = None, port: int | None = None, host: str = "127.0.0.1",
          env: dict[str, str] | None = None, timeout: float = 60.0) -> Running:
    """Run `serve()` in a subprocess (output to `log`) and wait until it answers."""
    port = port or free_port(host)
    cmd = [sys.executable, "-m", "sim.tabletop.server", str(scenario), "--plan", plan, "--port", str(port),
           "--host", host]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if injects is not None:
        cmd += ["--injects", str(injects)]
    if hours is not None:
        cmd += ["--hours", str(hours)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    try:
        wait_ready(url, proc, timeout, log)
    except BaseException:
        Running(proc, url, log).stop()
        raise
    return Running(proc, url, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.tabletop.server", description="Serve the tabletop page.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--plan", default="baseline")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--injects", type=Path, default=None)
    parser.add_argument("--hours", type=int, default=None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    from sim.errors import InputError

    try:
        serve(args.scenario, args.plan, args.seed, args.injects, args.port, args.host, args.hours)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
