"""Start the tabletop page: a Solara server in the foreground, offline (no telemetry, assets served locally).

`serve()` runs the server in this process until Ctrl-C. `start()` runs it in a subprocess and waits until it
answers (for tests and scripts); `python -m sim.tabletop.server SCENARIO --port N` is the same as `serve()`.

Solara reads its settings when it is first imported, so the environment is set before anything imports it.
uvicorn serves `sim.tabletop.guard` (Host, Origin and token checks, read-only assets) in front of Solara's app.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError
from sim.tabletop.config import (
    ENV_TOKEN,
    GUARD_APP,
    WILDCARD_HOSTS,
    bare_host,
    choose_token,
    extra_error,
    is_loopback,
    missing_extra_error,
    server_env,
    url_host,
)

SHUTDOWN_S = 3


def serve(scenario: Path, plan: str, seed: int | None, injects: Path | None, port: int, host: str = "127.0.0.1",
          hours: int | None = None, exercise: Path | None = None) -> None:
    """Serve the tabletop page on host:port until Ctrl-C; raises InputError first if the setup is bad.

    Beyond loopback every request needs a token: the one in CLAIMSIM_TABLETOP_TOKEN, else a new one, printed
    in the address to open."""
    missing = missing_extra_error()
    if missing is not None:
        raise missing
    token = choose_token(host, os.environ.get(ENV_TOKEN, "").strip())
    os.environ.update(server_env(scenario, plan, seed, injects, hours, host, port, token, exercise))
    sys.dont_write_bytecode = True  # no request writes into the installed environment, not even bytecode
    try:
        import uvicorn

        from sim.tabletop.page import setup_from_env
    except ImportError as exc:
        raise extra_error(exc.name or "a module of it") from None

    setup_from_env()  # a bad scenario, plan, seed or injects file fails here, before the server starts
    # Served over plain http on 127.0.0.1 the session cookie falls back to SameSite=lax: expected, not a problem.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    for line in start_lines(host, port, token):
        print(line, flush=True)
    config = uvicorn.Config(GUARD_APP, host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=SHUTDOWN_S)
    uvicorn.Server(config).run()


def start_lines(host: str, port: int, token: str) -> list[str]:
    """What `serve()` prints at start: the address(es) to open, with the token when there is one."""
    query = f"?token={token}" if token else ""
    if is_loopback(host):
        shown = "localhost" if bare_host(host) in ("127.0.0.1", "localhost") else url_host(host)
        return [f"claimsim tabletop: http://{shown}:{port}/{query} (serving on {host}:{port}; Ctrl-C to stop)"]
    if bare_host(host) not in WILDCARD_HOSTS:
        return [f"claimsim tabletop: http://{url_host(host)}:{port}/{query} (serving on {host}:{port} beyond this "
                "machine: every request needs the token; Ctrl-C to stop)"]
    urls = [f"  http://{url_host(a)}:{port}/{query}" for a in local_addresses()]
    return [f"claimsim tabletop: serving on {host or '*'}:{port} beyond this machine: every request needs the "
            "token (Ctrl-C to stop). Open:", *urls, f"  http://localhost:{port}/{query} (on this machine)"]


def local_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses, best effort (for the addresses printed at start)."""
    found: list[str] = []
    if sys.platform.startswith("linux"):
        import fcntl
        import struct

        siocgifaddr = 0x8915
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for _index, name in socket.if_nameindex():
                    try:
                        packed = fcntl.ioctl(s.fileno(), siocgifaddr, struct.pack("256s", name.encode()[:15]))
                    except OSError:
                        continue  # no IPv4 address on this interface
                    found.append(socket.inet_ntoa(packed[20:24]))
        except OSError:
            pass
    if not found:
        with contextlib.suppress(OSError):
            found = [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    return sorted({a for a in found if not is_loopback(a)})


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to `host` (a wildcard means loopback)."""
    host = bare_host(host)
    if host in WILDCARD_HOSTS:
        return "::1" if host == "::" else "127.0.0.1"
    return host


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    family = socket.AF_INET6 if ":" in bare_host(host) else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((bare_host(host), 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    """A tabletop server started by `start()`."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str = ""

    @property
    def page_url(self) -> str:
        """The address to open in a browser (with the token when the server has one)."""
        return f"{self.url}/?token={self.token}" if self.token else f"{self.url}/"

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
        """What the server printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0,
               log: Path | None = None, token: str = "") -> float:
    """Poll url/readyz (with the token, if any) until it answers 200; returns the seconds it took (RuntimeError
    if it never does)."""
    request = urllib.request.Request(url.rstrip("/") + "/readyz",
                                     headers={"Authorization": f"token {token}"} if token else {})
    t0 = time.monotonic()
    while True:
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise RuntimeError(f"the tabletop server exited with code {proc.returncode}:\n{text}")
        try:
            with urllib.request.urlopen(request, timeout=1) as r:
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
          env: dict[str, str] | None = None, timeout: float = 60.0, exercise: Path | None = None) -> Running:
    """Run `serve()` in a subprocess (output to `log`) and wait until it answers; beyond loopback (or with
    CLAIMSIM_TABLETOP_TOKEN in `env` or the environment) the token is in `Running.token`."""
    port = port or free_port(host)
    env = {**os.environ, **(env or {})}
    env[ENV_TOKEN] = choose_token(host, env.get(ENV_TOKEN, "").strip())
    cmd = [sys.executable, "-m", "sim.tabletop.server", str(scenario), "--plan", plan, "--port", str(port),
           "--host", host]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if injects is not None:
        cmd += ["--injects", str(injects)]
    if hours is not None:
        cmd += ["--hours", str(hours)]
    if exercise is not None:
        cmd += ["--exercise", str(exercise)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    running = Running(proc, f"http://{url_host(connect_host(host))}:{port}", log, env[ENV_TOKEN])
    try:
        wait_ready(running.url, proc, timeout, log, running.token)
    except BaseException:
        running.stop()
        raise
    return running


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.tabletop.server`: what `serve()` does, from a command line (exit 2 on bad input)."""
    parser = argparse.ArgumentParser(prog="python -m sim.tabletop.server", description="Serve the tabletop page.")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--plan", default="baseline")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--injects", type=Path, default=None)
    parser.add_argument("--hours", type=int, default=None)
    parser.add_argument("--exercise", type=Path, default=None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        serve(args.scenario, args.plan, args.seed, args.injects, args.port, args.host, args.hours, args.exercise)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
