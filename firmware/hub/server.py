"""The running hub: the store, the MQTT ingest and the web app on uvicorn, started together.

The listening socket is bound before anything is printed, so a taken port fails at once with
one line; uvicorn serves it from a background thread, so `repsled hub` and the demo stop it
the same way (`.stop()`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from firmware.hub.app import create_app
from firmware.hub.ingest import DEFAULT_CLIENT_ID, Ingestor
from firmware.hub.store import Store
from firmware.vbt.profile import DEFAULT_MVT_M_S

START_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class HubOptions:
    db_url: str
    broker_host: str
    broker_port: int
    broker_ws: str | None = None
    bind: str = "127.0.0.1"
    port: int = 8080
    prefix: str = "repsled"
    client_id: str = DEFAULT_CLIENT_ID
    username: str | None = None
    password: str | None = None
    target_eccentric_s: float = 3.0
    page_login: tuple[str, str] | None = None  # the dashboard broker login the page uses
    mvt_m_s: float = DEFAULT_MVT_M_S  # [vbt] mvt_m_s: the e1RM of the profiles


class Hub:
    """`start()` opens the database (migrating it), listens, subscribes; `stop()` undoes all."""

    def __init__(
        self, options: HubOptions, on_failure: Callable[[str], None] | None = None
    ) -> None:
        self.options = options
        self.on_failure = on_failure
        self.store: Store | None = None
        self.ingestor: Ingestor | None = None
        self.port = options.port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.options.bind
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> Hub:
        o = self.options
        self.store = Store.open(o.db_url)  # HubDatabaseError: one line
        try:
            sock = self._listen()
        except OSError:
            self.store.close()
            raise
        app = create_app(
            self.store,
            broker_ws_url=o.broker_ws,
            prefix=o.prefix,
            target_eccentric_s=o.target_eccentric_s,
            page_login=o.page_login,
            mvt_m_s=o.mvt_m_s,
        )
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        started = threading.Event()

        def serve() -> None:
            asyncio.run(self._serve(sock, started))

        self._thread = threading.Thread(target=serve, name="hub-http", daemon=True)
        self._thread.start()
        started.wait(START_TIMEOUT_S)
        self.ingestor = Ingestor(
            self.store,
            o.broker_host,
            o.broker_port,
            prefix=o.prefix,
            client_id=o.client_id,
            username=o.username,
            password=o.password,
            on_failure=self.on_failure,
            mvt_m_s=o.mvt_m_s,
        ).start()
        return self

    async def _serve(self, sock: socket.socket, started: threading.Event) -> None:
        assert self._server is not None
        server = self._server
        serve = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serve.done():
            await asyncio.sleep(0.01)  # poll uvicorn's start flag; it has no event
        started.set()
        await serve

    def _listen(self) -> socket.socket:
        host = self.options.bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.options.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        return sock

    def stop(self) -> None:
        """Stop ingest (uncommitted messages stay with the broker), the web side, the database."""
        if self.ingestor is not None:
            self.ingestor.stop()
            self.ingestor = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_S)
            self._thread = None
        self._server = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
