"""Serve the dashboard's static files and `/config.json` from a background thread.

Standard library only: the page does the MQTT itself, so the server stays tiny and safe to
run next to the counting loop. It binds 127.0.0.1 unless told otherwise, serves only the
files shipped in static/ (no directory listing, no path from the request touches the disk),
and sends a Content-Security-Policy that keeps the page from loading anything off the box.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PREFIX = "repsled"
# A browser sends its request at once: a connection silent this long is a stalled or hostile
# client, and would otherwise hold a thread for ever.
IDLE_TIMEOUT_S = 10.0
# Open connections served at once; past it a new one gets "503" and is closed. A page load is
# a handful of requests, so this is many dashboards, and a bound on threads and memory.
MAX_CONNECTIONS = 64
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/plain; charset=utf-8",
}

# connect-src allows any ws:/wss: so `?broker=ws://other-host:9001` works; workers from blob:
# are the MQTT client's background-tab-proof timers.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; worker-src 'self' blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def static_files() -> dict[str, bytes]:
    """URL path -> content of every file shipped in static/ (read once: they are small)."""
    root = resources.files("firmware.web") / "static"
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.is_file() and not child.name.startswith("."):
                files[f"{prefix}{child.name}"] = child.read_bytes()

    walk(root, "/")
    if "/index.html" not in files:
        raise FileNotFoundError("dashboard static files are missing from the package")
    return files


def config_json(
    broker_ws_url: str | None,
    prefix: str,
    login: tuple[str, str] | None = None,
    *,
    hub: bool = False,
) -> bytes:
    """What the page needs to connect; a null broker means ws://<page host>:9001.

    `login` is the broker's dashboard user (reads all, writes only next sets): whoever loads
    the page gets it, so it must never be a station's (deploy/mosquitto/README.md). `hub` tells
    the page that `api/v1/live` can give it the sessions so far (docs/hub.md).
    """
    doc: dict[str, str | bool | None] = {"broker_ws": broker_ws_url, "prefix": prefix}
    if hub:
        doc["hub"] = True
    if login is not None:
        doc["broker_username"], doc["broker_password"] = login
    return json.dumps(doc).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "repsled-dashboard"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        if path in ("", "/"):
            path = "/index.html"
        if path == "/config.json":
            body, ctype = self.server.config_body, "application/json"
        elif path in self.server.files:
            body = self.server.files[path]
            suffix = path[path.rfind(".") :] if "." in path else ""
            ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
        else:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # Files change only with an upgrade; revalidating is cheap on a LAN and avoids a stale page.
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per request would drown the console where the URL was printed."""


class _Server(ThreadingHTTPServer):
    """At most `max_connections` served at once, each closed after `idle_timeout_s` of
    silence, and a client that goes away (reset, timeout) is no error worth a traceback."""

    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS
    files: dict[str, bytes]
    config_body: bytes
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS

    def server_activate(self) -> None:
        self._admitted: set[socket.socket] = set()
        self._changed = threading.Condition()
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._changed:
            admit = len(self._admitted) < self.max_connections
            if admit:
                self._admitted.add(request)
                self._changed.notify_all()
        if not admit:
            try:
                request.setblocking(False)
                request.send(_BUSY)
            except OSError:
                pass
            super().shutdown_request(request)
            return
        request.settimeout(self.idle_timeout_s)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        # The slot frees before the socket closes: once a client sees the close, it is free.
        with self._changed:
            self._admitted.discard(request)
            self._changed.notify_all()
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # reset, broken pipe, timeout: the client's business
            return
        log.error("dashboard: error serving %s: %r", client_address[0], exc)

    def open_connections(self) -> int:
        with self._changed:
            return len(self._admitted)

    def wait_for_connections(self, count: int, timeout_s: float) -> bool:
        """Wait until exactly `count` connections are open; False if that took too long."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._admitted) == count, timeout_s)


class _Server6(_Server):
    """The same for an IPv6 bind address (`--bind ::`)."""

    address_family = socket.AF_INET6


class DashboardServer:
    """The dashboard on http://HOST:PORT/ until `.stop()`; port 0 picks a free one."""

    def __init__(
        self,
        broker_ws_url: str | None,
        prefix: str = DEFAULT_PREFIX,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        broker_login: tuple[str, str] | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.broker_ws_url = broker_ws_url
        self.broker_login = broker_login
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.prefix = prefix
        self.host = host
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open; for a wildcard bind, the loopback one (works on this machine)."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> DashboardServer:
        """Listen now (errors such as a taken port raise OSError here) and serve in a thread."""
        if self._httpd is not None:
            return self
        server_class = _Server6 if ":" in self.host else _Server
        httpd = server_class((self.host, self.port), _Handler)
        httpd.idle_timeout_s = self.idle_timeout_s
        httpd.max_connections = self.max_connections
        httpd.files = static_files()
        httpd.config_body = config_json(self.broker_ws_url, self.prefix, self.broker_login)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="dashboard-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to repeat."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join()

    def open_connections(self) -> int:
        """Connections being served now (0 when stopped)."""
        return self._httpd.open_connections() if self._httpd is not None else 0

    def wait_for_connections(self, count: int, timeout_s: float) -> bool:
        """Wait until `count` connections are open (tests); False after `timeout_s`."""
        if self._httpd is None:
            return count == 0
        return self._httpd.wait_for_connections(count, timeout_s)

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
