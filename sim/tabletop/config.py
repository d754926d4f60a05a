"""The tabletop server's configuration: the environment variables the server sets for the page and the guard.

Both the page and the server import this module and it imports neither, so there is no import circle. It
imports nothing of the optional extra either, so the command line can tell when that extra is missing.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import secrets
from pathlib import Path

from sim.errors import InputError

APP = "sim.tabletop.page"
GUARD_APP = "sim.tabletop.guard:app"  # what uvicorn serves: Solara's app behind the request guard

# The exercise setup (read by the page).
ENV_SCENARIO = "CLAIMSIM_TABLETOP_SCENARIO"
ENV_PLAN = "CLAIMSIM_TABLETOP_PLAN"
ENV_SEED = "CLAIMSIM_TABLETOP_SEED"
ENV_INJECTS = "CLAIMSIM_TABLETOP_INJECTS"
ENV_HOURS = "CLAIMSIM_TABLETOP_HOURS"
ENV_EXERCISE = "CLAIMSIM_TABLETOP_EXERCISE"
# What the guard lets in (read by `sim.tabletop.guard`). ENV_TOKEN may also be set by the user, to keep the
# same token across a restart; ENV_ALLOWED_HOSTS adds host names (comma-separated) the room reaches it by.
ENV_HOST = "CLAIMSIM_TABLETOP_HOST"
ENV_PORT = "CLAIMSIM_TABLETOP_PORT"
ENV_TOKEN = "CLAIMSIM_TABLETOP_TOKEN"
ENV_ALLOWED_HOSTS = "CLAIMSIM_TABLETOP_ALLOWED_HOSTS"

# No telemetry (and no telemetry id written to the home folder at start), the page's JavaScript, CSS and fonts
# from the local solara-assets copy (never a CDN, even when started from an editor's terminal that would turn
# the proxy off), no development mode (no check iframes).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_TELEMETRY_SERVER_USER_ID": "offline",
    "SOLARA_ASSETS_PROXY": "True",
    "SOLARA_MODE": "production",
    "SOLARA_THEME_SHOW_BANNER": "False",  # no "runs on Solara" badge over the projected page
}

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
TOKEN_MIN_CHARS = 16
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")

# The optional extra (`pip install 'claimsim[tabletop]'`): the modules the server needs to start.
EXTRA_MODULES = ("solara", "solara_assets", "uvicorn", "starlette", "ipyvue", "ipyvuetify")
INSTALL_HINT = "pip install 'claimsim[tabletop]' (in a checkout: pip install -e '.[tabletop]')"


def bare_host(host: str) -> str:
    """A host name or address without IPv6 brackets, in lower case (how the guard compares them)."""
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(host: str) -> bool:
    """Whether serving on `host` reaches this machine only (localhost, 127.0.0.0/8, ::1)."""
    host = bare_host(host)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """`host` as it goes in a URL (IPv6 addresses in brackets)."""
    host = bare_host(host)
    return f"[{host}]" if ":" in host else host


def new_token() -> str:
    """A fresh random token (256 bits, URL- and cookie-safe)."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str:
    """`token` if it can serve as one (long enough, URL- and cookie-safe characters); InputError if not."""
    if len(token) < TOKEN_MIN_CHARS or not TOKEN_CHARS.fullmatch(token):
        raise InputError(f"{ENV_TOKEN} must be at least {TOKEN_MIN_CHARS} characters of A-Z, a-z, 0-9, "
                         "'.', '_', '~' or '-'")
    return token


def missing_extra() -> str | None:
    """The first module of the optional extra that is not installed, or None if all are (nothing imported)."""
    for name in EXTRA_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def extra_error(module: str) -> InputError:
    """The one-line error naming the `pip install` that fixes a missing extra."""
    return InputError(f"the tabletop page needs its optional extra ({module} is not installed): {INSTALL_HINT}")


def missing_extra_error() -> InputError | None:
    """`extra_error` for the first missing module of the extra, or None if nothing is missing."""
    module = missing_extra()
    return None if module is None else extra_error(module)


def tabletop_env(scenario: Path, plan: str = "baseline", seed: int | None = None, injects: Path | None = None,
                 hours: int | None = None, exercise: Path | None = None) -> dict[str, str]:
    """The page's configuration as environment variables (paths made absolute)."""
    return {
        ENV_SCENARIO: str(Path(scenario).resolve()),
        ENV_PLAN: plan,
        ENV_SEED: "" if seed is None else str(seed),
        ENV_INJECTS: "" if injects is None else str(Path(injects).resolve()),
        ENV_HOURS: "" if hours is None else str(hours),
        ENV_EXERCISE: "" if exercise is None else str(Path(exercise).resolve()),
    }


def guard_env(host: str, port: int, token: str) -> dict[str, str]:
    """The guard's configuration as environment variables: the address served and the token ("" for none)."""
    return {ENV_HOST: host, ENV_PORT: str(port), ENV_TOKEN: token}


def server_env(scenario: Path, plan: str = "baseline", seed: int | None = None, injects: Path | None = None,
               hours: int | None = None, host: str = "127.0.0.1", port: int = 8765,
               token: str = "", exercise: Path | None = None) -> dict[str, str]:
    """Everything the server process needs in its environment: the app, the offline switches, the setup."""
    return {"SOLARA_APP": APP, **OFFLINE_ENV, **tabletop_env(scenario, plan, seed, injects, hours, exercise),
            **guard_env(host, port, token)}


def choose_token(host: str, given: str = "") -> str:
    """The token the server requires: the one given (checked), else a new one beyond loopback, else none ("")."""
    if given:
        return check_token(given)
    return "" if is_loopback(host) else new_token()
