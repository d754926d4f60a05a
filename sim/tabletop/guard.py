"""The request guard: the ASGI app uvicorn serves, in front of Solara's Starlette app.

Every request (page, assets, websocket) passes three checks before it reaches Solara, and a refusal is a 403
with a one-line plain-text reason (a refused websocket handshake gets the same 403):

- Host: the address served (localhost, 127.0.0.1, [::1], the `--host` address, the address the connection
  arrived on, this machine's names when serving beyond loopback), with the served port or none. A web page
  that reaches the server through DNS rebinding sends its own name and is refused.
- Origin: a websocket handshake or a POST/PUT/PATCH/DELETE that names another origin is refused.
- Token: when the server has one (always when it serves beyond loopback), every request must carry it: query
  parameter `token` (then remembered in an HttpOnly SameSite=Strict cookie), the cookie, or an
  `Authorization: token ...` header; compared in constant time.

`/_solara/cdn/...` never reaches Solara (whose handler fetches missing files from a public CDN, writes them
into the installed environment and deletes folders named in a URL): the guard serves exactly the files that
solara-assets ships, read-only, and anything else is a 404. The configuration comes from the environment
(`sim.tabletop.config`), which `serve()` sets before uvicorn imports this module.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sim.tabletop.config import (
    ENV_ALLOWED_HOSTS,
    ENV_HOST,
    ENV_PORT,
    ENV_TOKEN,
    LOOPBACK_NAMES,
    WILDCARD_HOSTS,
    bare_host,
    is_loopback,
)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CDN_PREFIX = "/_solara/cdn"
ASSETS_DIST = "solara-assets"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PARAM = "token"
AUTH_SCHEMES = frozenset({"token", "bearer"})
FRAME_HEADERS = ((b"x-frame-options", b"SAMEORIGIN"), (b"content-security-policy", b"frame-ancestors 'self'"))


# ---------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class GuardConfig:
    """What the guard lets in: the address and port served, the token ("" for none), extra host names."""

    host: str = "127.0.0.1"
    port: int = 0
    token: str = ""
    extra_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GuardConfig:
        """The configuration `serve()` put in the environment (RuntimeError if it would serve beyond loopback
        without a token)."""
        env = os.environ if env is None else env
        host = env.get(ENV_HOST, "127.0.0.1").strip()
        port_raw = env.get(ENV_PORT, "").strip()
        config = cls(host=host, port=int(port_raw) if port_raw.isdigit() else 0, token=env.get(ENV_TOKEN, ""),
                     extra_hosts=frozenset(bare_host(h) for h in env.get(ENV_ALLOWED_HOSTS, "").split(",")
                                           if h.strip()))
        if not config.token and not is_loopback(host):
            raise RuntimeError(f"refusing to serve on {host} without a token: set {ENV_TOKEN} "
                               "(start the page with `claimsim tabletop`, which makes one)")
        return config

    @property
    def beyond_loopback(self) -> bool:
        return not is_loopback(self.host)

    def host_names(self) -> frozenset[str]:
        """The host names and addresses a request may name, besides the address its connection arrived on."""
        names = set(LOOPBACK_NAMES) | self.extra_hosts
        if bare_host(self.host) not in WILDCARD_HOSTS:
            names.add(bare_host(self.host))
        if self.beyond_loopback:  # the room may use this machine's name
            hostname = socket.gethostname().lower()
            names |= {hostname, f"{hostname}.local"}  # (no getfqdn: it may ask a DNS server)
        return frozenset(n for n in names if n)


def _local_address(scope: Scope) -> tuple[str, int] | None:
    """The address and port the connection arrived on (IPv4-mapped IPv6 addresses as IPv4)."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    addr = bare_host(str(server[0]))
    try:
        ip = ipaddress.ip_address(addr)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            addr = str(ip.ipv4_mapped)
    except ValueError:
        pass
    return addr, int(server[1])


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header split into (name, port or None); None if it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if not name:
        return None
    if not rest:
        return name, None
    if rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6:
        return name, int(rest[1:])
    return None


# ---------------------------------------------------------------------------- the shipped assets


@dataclass(frozen=True)
class ShippedAssets:
    """The files solara-assets installs (its RECORD), by path relative to its `cdn` folder: nothing else."""

    root: Path
    files: frozenset[str]

    @classmethod
    def installed(cls) -> ShippedAssets:
        """The installed solara-assets files (none if it is not installed: every asset is then a 404)."""
        try:
            dist = metadata.distribution(ASSETS_DIST)
        except metadata.PackageNotFoundError:
            return cls(Path(os.devnull), frozenset())
        root: Path | None = None
        files = set()
        for entry in dist.files or ():
            parts = PurePosixPath(str(entry).replace("\\", "/")).parts
            for i in range(len(parts) - 2):
                if parts[i:i + 3] == ("share", "solara", "cdn"):
                    if root is None:
                        root = Path(os.path.normpath(dist.locate_file(PurePosixPath(*parts[:i + 3]))))
                    files.add("/".join(parts[i + 3:]))
                    break
        if root is None:
            return cls(Path(os.devnull), frozenset())
        return cls(root, frozenset(files))

    def lookup(self, rel: str) -> tuple[str, os.stat_result | None]:
        """The real path and stat of a shipped regular file inside the folder, or ("", None): a path that is
        not shipped, names a folder, or resolves (through a symlink) outside the folder is not served."""
        if not valid_asset_path(rel) or rel not in self.files:
            return "", None
        root = os.path.realpath(self.root)
        full = os.path.realpath(os.path.join(root, *rel.split("/")))
        if os.path.commonpath([full, root]) != root or full == root:
            return "", None
        try:
            st = os.stat(full)
        except (OSError, ValueError):
            return "", None
        if not stat.S_ISREG(st.st_mode):
            return "", None
        return full, st


def valid_asset_path(rel: str) -> bool:
    """Whether `rel` is a plain relative path: no empty, '.' or '..' segment, no backslash or NUL."""
    return bool(rel) and "\\" not in rel and "\0" not in rel and all(
        s not in ("", ".", "..") for s in rel.split("/"))


def _asset_app(assets: ShippedAssets) -> Callable[[str, Scope], Awaitable[Any]]:
    """Solara's own cdn file handler (compression, caching headers) with its lookup replaced by `assets`."""
    from solara.server.starlette import StaticCdn

    class ReadOnlyCdn(StaticCdn):
        def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
            return assets.lookup(path)

    handler = ReadOnlyCdn(directory=str(assets.root), check_dir=False)
    return handler.get_response


# ---------------------------------------------------------------------------- the guard


def _headers(scope: Scope) -> dict[str, list[str]]:
    """Request headers by lower-case name, each with all its values."""
    out: dict[str, list[str]] = {}
    for k, v in scope.get("headers", ()):
        out.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
    return out


def _cookie_values(headers: Mapping[str, list[str]], name: str) -> list[str]:
    """Every value of cookie `name` in the request's Cookie headers."""
    values = []
    for header in headers.get("cookie", ()):
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key.strip() == name:
                values.append(value.strip().strip('"'))
    return values


def _same_token(candidate: str, token: str) -> bool:
    return hmac.compare_digest(candidate.encode("utf-8", "replace"), token.encode("utf-8", "replace"))


class Guard:
    """ASGI wrapper of Solara's app: Host, Origin and token checks, and read-only shipped assets."""

    def __init__(self, app: ASGIApp, config: GuardConfig, assets: ShippedAssets,
                 serve_asset: Callable[[str, Scope], Awaitable[Any]] | None = None) -> None:
        self.app = app
        self.config = config
        self.assets = assets
        self.serve_asset = serve_asset or _asset_app(assets)
        self.names = config.host_names()

    @property
    def cookie_name(self) -> str:
        # cookies do not tell ports apart: one name per port, so two servers on one machine do not clash
        return f"claimsim_tabletop_token_{self.config.port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        reason = self.host_refusal(scope, headers) or self.origin_refusal(scope, headers)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        from_query = [v for k, v in query if k == TOKEN_PARAM]
        if reason is None:
            reason = self.token_refusal(scope, headers, from_query)
        if reason is not None:
            await _refuse(scope, receive, send, reason)
            return
        if from_query:  # keep the token out of Solara's view (its router, its logs)
            rest = [(k, v) for k, v in query if k != TOKEN_PARAM]
            scope = {**scope, "query_string": urlencode(rest).encode("latin-1")}
        if kind == "http":
            send = self._decorated(send, remember=bool(self.config.token and from_query))
        path: str = scope["path"]
        if path == CDN_PREFIX or path.startswith(CDN_PREFIX + "/"):
            if kind == "http":
                await self.asset(path[len(CDN_PREFIX) + 1:], scope, receive, send)
            else:
                await _refuse(scope, receive, send, "not a websocket route", status=404)
            return
        await self.app(scope, receive, send)

    # -- checks (each returns the reason to refuse, or None)

    def host_allowed(self, name: str, port: int | None, scope: Scope) -> bool:
        local = _local_address(scope)
        served_port = local[1] if local else self.config.port
        if port is not None and port != served_port:
            return False
        return name in self.names or (local is not None and name == local[0])

    def host_refusal(self, scope: Scope, headers: Mapping[str, list[str]]) -> str | None:
        hosts = headers.get("host", [])
        if len(hosts) != 1:
            return "no Host header" if not hosts else "more than one Host header"
        raw = hosts[0]
        parsed = split_host(raw)
        if parsed is None or not self.host_allowed(*parsed, scope):
            return f"Host {raw[:100]!r} is not the address this tabletop server serves"
        return None

    def origin_refusal(self, scope: Scope, headers: Mapping[str, list[str]]) -> str | None:
        if scope["type"] == "http" and scope.get("method", "GET").upper() in SAFE_METHODS:
            return None
        origins = headers.get("origin", [])
        if not origins:
            return None
        origin = origins[0]
        if len(origins) > 1 or not self.origin_allowed(origin, scope):
            what = "websocket" if scope["type"] == "websocket" else scope.get("method", "request")
            return f"cross-origin {what} from {origin[:100]!r} refused"
        return None

    def origin_allowed(self, origin: str, scope: Scope) -> bool:
        try:
            parts = urlsplit(origin.strip())
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            return False
        port = port if port is not None else (443 if parts.scheme == "https" else 80)
        return self.host_allowed(bare_host(parts.hostname), port, scope)

    def token_refusal(self, scope: Scope, headers: Mapping[str, list[str]], from_query: Iterable[str]) -> str | None:
        token = self.config.token
        if not token:
            local = _local_address(scope)
            if local is not None and not is_loopback(local[0]):
                return "this tabletop server has no token, so it answers this machine only"
            return None
        candidates = [*from_query, *_cookie_values(headers, self.cookie_name)]
        for header in headers.get("authorization", ()):
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() in AUTH_SCHEMES:
                candidates.append(value.strip())
        ok = False
        for candidate in candidates:  # no early exit: the time taken does not depend on which one matched
            ok |= _same_token(candidate, token)
        if ok:
            return None
        if candidates:
            return "wrong token: open the address with ?token=... that the tabletop server printed at start"
        return "this tabletop server needs its token: open the address with ?token=... it printed at start"

    # -- answers

    def _decorated(self, send: Send, remember: bool) -> Send:
        """`send` that forbids framing by other sites (clickjacking) and, if `remember`, sets the token cookie
        (so the page's own requests carry the token)."""
        extra = list(FRAME_HEADERS)
        if remember:
            cookie = f"{self.cookie_name}={self.config.token}; Path=/; HttpOnly; SameSite=Strict"
            extra.append((b"set-cookie", cookie.encode("latin-1")))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                added = [(k, v) for k, v in extra if k == b"set-cookie" or k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        return wrapped

    async def asset(self, rel: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a shipped asset read-only; 404 for anything else, 405 for a method other than GET/HEAD."""
        from starlette.exceptions import HTTPException

        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _plain(send, 405, "assets are read-only: GET or HEAD only", [(b"allow", b"GET, HEAD")])
            return
        try:
            response = await self.serve_asset(rel, scope)
        except HTTPException as exc:
            await _plain(send, 404 if exc.status_code != 405 else 405, "not a shipped asset")
            return
        await response(scope, receive, send)


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str, status: int = 403) -> None:
    """Answer with `status` and a one-line reason; a websocket handshake is refused the same way."""
    if scope["type"] == "http":
        await _plain(send, status, reason)
        return
    message = await receive()  # websocket.connect
    if message.get("type") != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        body = (reason + "\n").encode("utf-8")
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _without_solara_cdn(solara_app: Any) -> None:
    """Drop Solara's own cdn route (defence in depth: the guard answers every cdn path before it)."""
    from starlette.routing import Mount

    solara_app.router.routes[:] = [r for r in solara_app.router.routes
                                   if not (isinstance(r, Mount) and r.path.rstrip("/") == CDN_PREFIX)]


def make_app(env: Mapping[str, str] | None = None) -> Guard:
    """Solara's app behind the guard, configured from the environment."""
    config = GuardConfig.from_env(env)
    from solara.server.starlette import app as solara_app

    _without_solara_cdn(solara_app)
    return Guard(solara_app, config, ShippedAssets.installed())


_app: Guard | None = None


def __getattr__(name: str) -> Any:
    # `app` (what uvicorn serves) is made on first use, so importing this module for its checks imports no
    # Solara and reads no environment
    global _app
    if name == "app":
        if _app is None:
            _app = make_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
