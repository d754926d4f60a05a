"""The tabletop server under hostile requests: real HTTP and websocket requests to real running servers.

Two servers run for the whole module: one on loopback (no token, as `claimsim tabletop FILE` starts it) and
one bound to 0.0.0.0 as for a room of laptops (token required). Both are started with every outbound path
pointed at a local trap (the CDN address Solara's asset proxy would fetch from, and the HTTP(S) proxy every
Python HTTP client honours): a connection to the trap is an attempt to reach the internet. The installed
solara-assets folder and Solara's package folder are hashed before the servers start and compared after.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import gzip
import hashlib
import http.client
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, SMALL
from typer.testing import CliRunner

from sim.errors import InputError
from sim.tabletop import config
from sim.tabletop.config import ENV_HOST, ENV_TOKEN, choose_token
from sim.tabletop.guard import Guard, GuardConfig, ShippedAssets
from sim.tabletop.server import Running, local_addresses, start

EVIL = "attacker.example"
SHIPPED = ["requirejs@2.3.6/require.js",
           "@widgetti/solara-vuetify-app@10.1.1/dist/main8.css",
           "@widgetti/solara-vuetify-app@10.1.1/dist/fonts.css",
           "font-awesome@4.5.0/css/font-awesome.min.css",
           "font-awesome@4.5.0/fonts/fontawesome-webfont.woff2"]
NOT_SHIPPED = ["vue@2.6.14/dist/vue.min.js",                       # a real package, not in solara-assets
               "requirejs@2.3.7/require.js",                       # another version of a shipped one
               "@widgetti/solara-vuetify-app@10.1.1/dist/nope.js",
               "requirejs@2.3.6",                                  # Solara maps a bare name to <name>/__main.js
               "requirejs@2.3.6/",                                 # folders: Solara's handler deletes them
               "@widgetti/solara-vuetify-app@10.1.1/dist",
               "@widgetti"]
TRAVERSALS = ["/_solara/cdn/../../../../etc/passwd",
              "/_solara/cdn/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
              "/_solara/cdn/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "/_solara/cdn/..%2f..%2f..%2f..%2fetc/passwd",
              "/_solara/cdn/%252e%252e/%252e%252e/etc/passwd",
              "/_solara/cdn/requirejs@2.3.6/../../../lib/python3.12/site-packages/solara/__init__.py",
              "/_solara/cdn/requirejs@2.3.6/..%5c..%5c..%5c..%5cetc%5cpasswd",
              "/_solara/cdn//etc/passwd",
              "/_solara/cdn/%2fetc%2fpasswd",
              f"/_solara/cdn/{sys.prefix}/share/solara/cdn/requirejs@2.3.6/require.js",
              "/_solara/cdn/requirejs@2.3.6/require.js%00.png",
              "/_solara/cdn/.",
              "/_solara/cdn/..",
              "/_solara/cdn/",
              "/_solara/cdn"]


# ---------------------------------------------------------------------------- clients


def request(server: Running, path: str, host: str | None = None, method: str = "GET",
            headers: dict[str, str] | None = None, connect: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with exactly these headers (Host as given, default the address connected to)."""
    conn = http.client.HTTPConnection(connect, port(server), timeout=30)
    try:
        host = f"{connect}:{port(server)}" if host is None else host
        conn.request(method, path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def raw_request(server: Running, text: str) -> int:
    """Send `text` as is (for requests http.client will not make, e.g. without Host); returns the status."""
    with socket.create_connection(("127.0.0.1", port(server)), timeout=30) as s:
        s.sendall(text.encode("latin-1"))
        head = _read_head(s)
    return int(head.split(b" ", 2)[1])


def _read_head(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def websocket(server: Running, host: str | None = None, origin: str | None = None,
              headers: dict[str, str] | None = None, path: str | None = None) -> tuple[int, bytes]:
    """A websocket handshake on Solara's kernel route; returns the status (101: accepted) and the answer."""
    path = path or f"/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"
    host = f"127.0.0.1:{port(server)}" if host is None else host
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port(server)), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = _read_head(s)
    return int(head.split(b" ", 2)[1]), head


def port(server: Running) -> int:
    return int(server.url.rsplit(":", 1)[1])


def one_line_refusal(status: int, headers: dict[str, str], body: bytes) -> str:
    assert status == 403, (status, body[:200])
    assert headers["content-type"].startswith("text/plain"), headers
    text = body.decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, text
    return text


# ---------------------------------------------------------------------------- what must not change


def tree(root: Path) -> dict[str, str]:
    """Every file, folder and symlink under `root` with its content hash (or kind, or target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = "link:" + os.readlink(path)
            elif os.path.isdir(path):
                out[rel] = "dir"
            else:
                h = hashlib.blake2b()
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023
                        h.update(chunk)
                out[rel] = h.hexdigest()
    return out


def guarded_folders() -> dict[str, Path]:
    import solara

    return {"solara-assets": ShippedAssets.installed().root, "solara": Path(solara.__file__).parent}


class Trap:
    """A local TCP listener standing in for the internet: it counts the connections it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def env(self) -> dict[str, str]:
        url = f"http://127.0.0.1:{self.port}"
        return {"SOLARA_ASSETS_CDN": f"{url}/npm/", "HTTP_PROXY": url, "HTTPS_PROXY": url, "ALL_PROXY": url,
                "http_proxy": url, "https_proxy": url, "all_proxy": url, "NO_PROXY": "", "no_proxy": ""}

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def before() -> dict[str, dict[str, str]]:
    """The hashed trees of the guarded folders, before any server starts."""
    return {name: tree(root) for name, root in guarded_folders().items()}


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    t = Trap()
    yield t
    t.close()


@pytest.fixture(scope="module")
def local(before: dict[str, Any], trap: Trap, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The server as `claimsim tabletop FILE` starts it: loopback, no token."""
    tmp = tmp_path_factory.mktemp("local")
    env = {**trap.env(), "SOLARA_HOME": str(tmp / "solara-home"), ENV_TOKEN: ""}
    server = start(SMALL, tmp / "server.log", env=env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def room(before: dict[str, Any], trap: Trap, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The server as `claimsim tabletop FILE --host 0.0.0.0` starts it for a room: token required."""
    tmp = tmp_path_factory.mktemp("room")
    env = {**trap.env(), "SOLARA_HOME": str(tmp / "solara-home"), ENV_TOKEN: ""}
    server = start(SMALL, tmp / "server.log", host="0.0.0.0", env=env)
    yield server
    server.stop()


def auth(server: Running) -> dict[str, str]:
    return {"Authorization": f"token {server.token}"}


# ---------------------------------------------------------------------------- Host and Origin


def test_foreign_host_is_refused_on_page_readyz_assets_and_websocket(local: Running) -> None:
    p = port(local)
    for host in (EVIL, f"{EVIL}:{p}", f"127.0.0.1.{EVIL}:{p}", f"localhost.{EVIL}", f"localhost:{p + 1}",
                 f"127.0.0.1:{p}@{EVIL}", "0.0.0.0", "::1", ""):
        for path in ("/", "/readyz", f"/_solara/cdn/{SHIPPED[0]}", "/static/main-vuetify.js"):
            answer = request(local, path, host=host)
            assert answer[0] == 403, (host, path)
            text = one_line_refusal(*answer)
            assert "Host" in text
        status, head = websocket(local, host=host)
        assert status == 403, head
    assert raw_request(local, "GET / HTTP/1.0\r\n\r\n") == 403  # no Host at all
    assert raw_request(local, f"GET / HTTP/1.1\r\nHost: localhost:{p}\r\nHost: {EVIL}\r\n\r\n") in (400, 403)


def test_served_host_with_and_without_port_is_answered(local: Running) -> None:
    p = port(local)
    for host in ("localhost", f"localhost:{p}", "LOCALHOST", "127.0.0.1", f"127.0.0.1:{p}", "[::1]", f"[::1]:{p}"):
        status, headers, body = request(local, "/", host=host)
        assert status == 200 and b"<html" in body, (host, status, body[:200])
        assert headers["x-frame-options"] == "SAMEORIGIN"  # no other site may frame the page (clickjacking)
        assert headers["content-security-policy"] == "frame-ancestors 'self'"
        assert "set-cookie" not in headers or "claimsim_tabletop_token" not in headers["set-cookie"]
        assert request(local, "/readyz", host=host)[0] == 200


def test_websocket_handshake_same_origin_accepted_cross_origin_refused(local: Running) -> None:
    p = port(local)
    for origin in (f"http://127.0.0.1:{p}", f"http://localhost:{p}", f"http://[::1]:{p}"):
        status, head = websocket(local, origin=origin)
        assert status == 101, (origin, head)
    for origin in (f"http://{EVIL}", f"http://{EVIL}:{p}", f"http://localhost:{p + 1}", "http://localhost",
                   "null", f"file://localhost:{p}", "garbage"):
        status, head = websocket(local, origin=origin)
        assert status == 403, (origin, head)
        assert b"cross-origin" in head


def test_cross_origin_post_put_delete_refused(local: Running) -> None:
    p = port(local)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for origin in (f"http://{EVIL}", "null", f"http://localhost:{p + 1}"):
            text = one_line_refusal(*request(local, f"/_solara/api/close/{uuid.uuid4()}", method=method,
                                             headers={"Origin": origin}))
            assert "cross-origin" in text
    # the page's own beacon when a tab closes: same origin, answered by Solara
    status, _, _ = request(local, f"/_solara/api/close/{uuid.uuid4()}?session_id=x", method="POST",
                           headers={"Origin": f"http://127.0.0.1:{p}"})
    assert status != 403
    # a cross-origin GET is an ordinary navigation: the browser keeps its answer from the other page
    assert request(local, "/readyz", headers={"Origin": f"http://{EVIL}"})[0] == 200


# ---------------------------------------------------------------------------- the token beyond loopback


def test_room_server_prints_its_address_with_a_fresh_token(room: Running) -> None:
    assert len(room.token) >= 40
    out = room.output()
    assert f"http://localhost:{port(room)}/?token={room.token}" in out
    for addr in local_addresses():
        assert f"http://{addr}:{port(room)}/?token={room.token}" in out
    assert room.token != choose_token("0.0.0.0")  # generated per start


def test_room_server_refuses_requests_without_the_right_token(room: Running) -> None:
    wrong = "x" * len(room.token)
    cookie = f"claimsim_tabletop_token_{port(room)}"
    for path in ("/", "/readyz", f"/_solara/cdn/{SHIPPED[0]}", "/static/main-vuetify.js", "/_solara/cdn/nope"):
        assert "needs its token" in one_line_refusal(*request(room, path))
        sep = "&" if "?" in path else "?"
        for query, headers in ((f"{sep}token={wrong}", {}), (f"{sep}token=", {}), ("", {"Cookie": f"{cookie}={wrong}"}),
                               ("", {"Authorization": f"token {wrong}"}), ("", {"Authorization": wrong}),
                               ("", {"Cookie": f"claimsim_tabletop_token_1={room.token}"}),  # another port's
                               (f"{sep}token={room.token[:-1]}", {})):
            text = one_line_refusal(*request(room, path + query, headers=headers))
            assert "token" in text
    assert websocket(room)[0] == 403
    assert websocket(room, headers={"Cookie": f"{cookie}={wrong}"})[0] == 403
    # the right token does not excuse a foreign Host or Origin
    assert "Host" in one_line_refusal(*request(room, "/", host=EVIL, headers=auth(room)))
    assert websocket(room, origin=f"http://{EVIL}", headers={"Cookie": f"{cookie}={room.token}"})[0] == 403


def test_room_server_accepts_the_token_by_query_cookie_or_header(room: Running) -> None:
    p = port(room)
    status, headers, body = request(room, f"/?token={room.token}")
    assert status == 200 and b"<html" in body
    name, _, rest = headers["set-cookie"].partition("=")
    assert name == f"claimsim_tabletop_token_{p}" and rest.startswith(room.token + ";")
    assert {"httponly", "samesite=strict", "path=/"} <= {a.strip().lower() for a in rest.split(";")[1:]}
    assert room.token.encode() not in body  # the token stays out of the page Solara renders
    cookie = {"Cookie": f"other=1; {name}={room.token}"}
    for headers_ in (cookie, auth(room), {"Authorization": f"Bearer {room.token}"}):
        for path in ("/", "/readyz", f"/_solara/cdn/{SHIPPED[0]}"):
            status, answer_headers, _ = request(room, path, headers=headers_)
            assert status == 200, (path, headers_)
            assert "set-cookie" not in answer_headers or name not in answer_headers["set-cookie"]
    assert request(room, f"/readyz?token={room.token}")[0] == 200
    assert websocket(room, origin=f"http://127.0.0.1:{p}", headers=cookie)[0] == 101
    assert websocket(room, path=f"/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id=s&token={room.token}")[0] \
        == 101


def test_room_reaches_the_server_on_this_machines_network_address(room: Running) -> None:
    """What a laptop in the room does: connect to the facilitator's network address, with that address as Host."""
    addresses = local_addresses()
    if not addresses:
        pytest.skip("this machine has no network address besides loopback")
    addr, p = addresses[0], port(room)
    assert "needs its token" in one_line_refusal(*request(room, "/", connect=addr))
    status, headers, body = request(room, f"/?token={room.token}", connect=addr)
    assert status == 200 and b"<html" in body and "set-cookie" in headers
    assert request(room, "/readyz", connect=addr, host=addr, headers=auth(room))[0] == 200
    hostname = socket.gethostname()
    assert request(room, "/readyz", connect=addr, host=f"{hostname}:{p}", headers=auth(room))[0] == 200
    # DNS rebinding: a foreign name resolving to this address
    assert "Host" in one_line_refusal(*request(room, "/readyz", connect=addr, host=f"{EVIL}:{p}",
                                               headers=auth(room)))


# ---------------------------------------------------------------------------- assets: read-only, shipped only


def test_shipped_assets_are_served_with_their_bytes(local: Running) -> None:
    assets = ShippedAssets.installed()
    for rel in SHIPPED:
        assert rel in assets.files, rel
        expected = (assets.root / rel).read_bytes()
        status, headers, body = request(local, f"/_solara/cdn/{rel}")
        assert status == 200 and body == expected, rel
        assert "immutable" in headers.get("cache-control", "")
        status, headers, body = request(local, f"/_solara/cdn/{rel}", headers={"Accept-Encoding": "gzip"})
        assert status == 200
        assert (gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body) == expected
        status, _, body = request(local, f"/_solara/cdn/{rel}", method="HEAD")
        assert status == 200 and body == b""


def test_assets_that_are_not_shipped_are_404_without_fetching(local: Running, trap: Trap) -> None:
    for rel in NOT_SHIPPED:
        t0 = time.monotonic()
        status, _, body = request(local, f"/_solara/cdn/{rel}")
        assert status == 404, (rel, body[:200])
        assert time.monotonic() - t0 < 2, rel  # Solara's proxy retries a CDN for seconds
    for method in ("POST", "PUT", "DELETE"):
        assert request(local, f"/_solara/cdn/{SHIPPED[0]}", method=method)[0] == 405
    assert websocket(local, path=f"/_solara/cdn/{SHIPPED[0]}")[0] == 404
    assert trap.connections == 0


def test_path_traversal_is_refused(local: Running) -> None:
    for path in TRAVERSALS:
        status, _, body = request(local, path)
        assert status in (400, 404), (path, status, body[:200])
        assert b"root:" not in body and b"import" not in body


def test_nothing_on_disk_changes_and_nothing_goes_out(before: dict[str, dict[str, str]], local: Running,
                                                      room: Running, trap: Trap) -> None:
    """Every hostile request of this module again, then the guarded folders compared with `before`."""
    for server, headers in ((local, {}), (room, auth(room)), (room, {})):
        for rel in SHIPPED + NOT_SHIPPED:
            for method in ("GET", "HEAD", "POST", "DELETE"):
                request(server, f"/_solara/cdn/{rel}", method=method, headers=headers)
        for path in TRAVERSALS:
            request(server, path, headers=headers)
            request(server, path, host=EVIL, headers=headers)
        websocket(server, path=f"/_solara/cdn/{SHIPPED[0]}")
        websocket(server, origin=f"http://{EVIL}")
    after = {name: tree(root) for name, root in guarded_folders().items()}
    for name, files in before.items():
        changed = {k for k in files.keys() | after[name].keys() if files.get(k) != after[name].get(k)}
        assert not changed, f"{name}: {sorted(changed)[:20]}"
    assert trap.connections == 0, "a server tried to reach the internet"
    for server in (local, room):
        assert "Traceback" not in server.output() and "Could not load URL" not in server.output()


# ---------------------------------------------------------------------------- the guard in-process


def test_symlink_out_of_the_assets_folder_is_not_served(tmp_path: Path) -> None:
    root = tmp_path / "cdn"
    (root / "pkg@1.0.0").mkdir(parents=True)
    (root / "pkg@1.0.0" / "ok.js").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "pkg@1.0.0" / "link.js").symlink_to(tmp_path / "secret.txt")
    (root / "pkg@1.0.0" / "dir.js").symlink_to(root / "pkg@1.0.0")
    assets = ShippedAssets(root, frozenset({"pkg@1.0.0/ok.js", "pkg@1.0.0/link.js", "pkg@1.0.0/dir.js",
                                            "pkg@1.0.0", "pkg@1.0.0/../../secret.txt"}))
    assert assets.lookup("pkg@1.0.0/ok.js")[0] == os.path.realpath(root / "pkg@1.0.0" / "ok.js")
    for rel in ("pkg@1.0.0/link.js", "pkg@1.0.0/dir.js", "pkg@1.0.0", "pkg@1.0.0/../../secret.txt",
                "pkg@1.0.0/missing.js", str(tmp_path / "secret.txt"), "", "pkg@1.0.0\\ok.js"):
        assert assets.lookup(rel) == ("", None), rel


def _call(guard: Guard, scope: dict[str, Any]) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_without_a_token_the_guard_answers_loopback_connections_only() -> None:
    """Defence in depth: a server with no token refuses a connection that arrived on a network address."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    async def no_asset(rel: str, scope: Any) -> Any:
        raise AssertionError("not an asset")

    guard = Guard(app, GuardConfig("127.0.0.1", 8765), ShippedAssets(Path(os.devnull), frozenset()), no_asset)
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
             "headers": [(b"host", b"192.0.2.7:8765")], "server": ("192.0.2.7", 8765)}
    status, body = _call(guard, scope)
    assert status == 403 and b"this machine only" in body
    assert _call(guard, {**scope, "headers": [(b"host", b"localhost:8765")], "server": ("127.0.0.1", 8765)}) \
        == (200, b"page")
    with pytest.raises(RuntimeError, match="without a token"):
        GuardConfig.from_env({ENV_HOST: "0.0.0.0"})


def test_room_names_the_guard_accepts() -> None:
    """Beyond loopback: this machine's name, the address connected to and the names in
    CLAIMSIM_TABLETOP_ALLOWED_HOSTS; never another name, nor another port."""
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    env = {ENV_HOST: "0.0.0.0", "CLAIMSIM_TABLETOP_PORT": "8765", ENV_TOKEN: "t" * 43,
           "CLAIMSIM_TABLETOP_ALLOWED_HOSTS": "tabletop.lan, Drill.Example.org"}
    guard = Guard(app, GuardConfig.from_env(env), ShippedAssets(Path(os.devnull), frozenset()), app)

    def status(host: str) -> int:
        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "server": ("192.0.2.7", 8765),
                 "headers": [(b"host", host.encode()), (b"authorization", b"token " + b"t" * 43)]}
        return _call(guard, scope)[0]

    for ok in ("tabletop.lan:8765", "drill.example.org", "192.0.2.7:8765", f"{socket.gethostname()}:8765",
               f"{socket.gethostname()}.local", "localhost:8765"):
        assert status(ok) == 200, ok
    for bad in ("tabletop.lan:8766", "192.0.2.8:8765", "example.org", "lan", "0.0.0.0:8765"):
        assert status(bad) == 403, bad


def test_start_lines_give_the_address_to_open() -> None:
    from sim.tabletop.server import start_lines

    assert start_lines("127.0.0.1", 8765, "") == [
        "claimsim tabletop: http://localhost:8765/ (serving on 127.0.0.1:8765; Ctrl-C to stop)"]
    (line,) = start_lines("192.0.2.2", 8765, "abc")
    assert line.startswith("claimsim tabletop: http://192.0.2.2:8765/?token=abc (serving on 192.0.2.2:8765")
    lines = start_lines("0.0.0.0", 8765, "abc")
    assert "every request needs the token" in lines[0]
    assert lines[-1] == "  http://localhost:8765/?token=abc (on this machine)"
    assert [ln.strip() for ln in lines[1:-1]] == [f"http://{a}:8765/?token=abc" for a in local_addresses()]


def test_token_rules() -> None:
    assert choose_token("127.0.0.1") == "" and choose_token("localhost") == "" and choose_token("::1") == ""
    assert len(choose_token("0.0.0.0")) >= 40 and len(choose_token("192.0.2.2")) >= 40
    assert choose_token("0.0.0.0") != choose_token("0.0.0.0")
    assert choose_token("0.0.0.0", "kept-across-restarts-1234") == "kept-across-restarts-1234"
    for bad in ("short", "has space in it 1234", "semi;colon;1234567890"):
        with pytest.raises(InputError):
            choose_token("0.0.0.0", bad)


# ---------------------------------------------------------------------------- imports and the optional extra


def _tabletop_imports(path: Path) -> set[str]:
    """The sim.tabletop modules a module imports, anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "sim.tabletop":
                found |= {f"sim.tabletop.{a.name}" for a in node.names}
            elif node.module.startswith("sim.tabletop."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sim.tabletop.")}
    return found


def test_no_import_circle_in_tabletop() -> None:
    folder = REPO / "sim" / "tabletop"
    graph = {f"sim.tabletop.{p.stem}": _tabletop_imports(p) for p in folder.glob("*.py") if p.stem != "__init__"}
    assert graph["sim.tabletop.config"] == set()
    assert "sim.tabletop.server" not in graph["sim.tabletop.page"]

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [m for m in graph if reaches(m, m, set())] == []


def _block_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in config.EXTRA_MODULES:
            monkeypatch.setitem(sys.modules, name, None)
    for name in config.EXTRA_MODULES:
        monkeypatch.setitem(sys.modules, name, None)


def _one_line_hint(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert "pip install 'claimsim[tabletop]'" in lines[0] and "pip install -e '.[tabletop]'" in lines[0]
    return lines[0]


def test_tabletop_without_its_extra_says_which_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.cli import app

    _block_extra(monkeypatch)
    line = _one_line_hint(CliRunner().invoke(app, ["tabletop", str(SMALL)]))
    assert line.startswith("error: the tabletop page needs its optional extra (solara is not installed)")


def test_tabletop_without_its_extra_past_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extra looks installed but does not import: still one line, from `serve()` itself."""
    from sim.cli import app

    saved = dict(os.environ)
    monkeypatch.setattr(sys, "dont_write_bytecode", sys.dont_write_bytecode)
    monkeypatch.setattr(config, "missing_extra", lambda: None)
    _block_extra(monkeypatch)
    try:
        assert "(uvicorn is not installed)" in _one_line_hint(CliRunner().invoke(app, ["tabletop", str(SMALL)]))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_assets_manifest_is_the_installed_distribution() -> None:
    assets = ShippedAssets.installed()
    dist = metadata.distribution("solara-assets")
    assert len(assets.files) > 1000 and set(SHIPPED) <= assets.files
    assert all((assets.root / rel).is_file() for rel in SHIPPED)
    assert assets.root == Path(os.path.normpath(dist.locate_file("../../../share/solara/cdn")))


# ---------------------------------------------------------------------------- a room's browser


def test_a_browser_in_the_room_works_with_the_token_link(room: Running) -> None:
    """A laptop opens the printed link: the token cookie carries the page's own assets and websocket."""
    from playwright.sync_api import expect, sync_playwright
    from test_tabletop_e2e import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    addr = (local_addresses() or ["127.0.0.1"])[0]
    base = f"http://{addr}:{port(room)}"
    offsite: list[str] = []
    statuses: list[int] = []

    def route(r: Any) -> None:
        if r.request.url.startswith((base + "/", "data:", "blob:")):
            r.continue_()
        else:
            offsite.append(r.request.url)
            r.abort("blockedbyclient")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            stranger = browser.new_context()
            answer = stranger.new_page().goto(base + "/")
            assert answer is not None and answer.status == 403
            stranger.close()

            context = browser.new_context()
            context.route("**/*", route)
            page = context.new_page()
            page.on("response", lambda r: statuses.append(r.status))
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.goto(f"{base}/?token={room.token}", wait_until="domcontentloaded")
            clock = page.locator(".tabletop-main .tabletop-clock")
            step = page.locator(".tabletop-main").get_by_role("button", name="Step", exact=True)
            expect(step).to_be_visible(timeout=TIMEOUT_MS)
            expect(clock).to_contain_text("hour 0 of")
            step.click()
            expect(clock).to_contain_text("hour 1 of")
            assert sockets and all(room.token not in u for u in sockets)  # the cookie did it
            page.goto(base + "/", wait_until="domcontentloaded")  # a later visit: the cookie is enough
            expect(step).to_be_visible(timeout=TIMEOUT_MS)
            expect(clock).to_contain_text("hour 0 of")
            context.close()
        finally:
            browser.close()
    assert offsite == []
    assert 403 not in statuses and 404 not in statuses, statuses
