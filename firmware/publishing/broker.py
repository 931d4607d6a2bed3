"""An embedded MQTT 3.1.1 broker (amqtt) so the demo needs no broker installed.

It runs in a background thread with its own asyncio loop, listens on 127.0.0.1 only (TCP for
the stations, WebSockets for the browser), allows anonymous clients and keeps retained
messages in memory. It is for one laptop; a gym runs mosquitto (docs/dashboard.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

HOST = "127.0.0.1"
DEFAULT_TCP_PORT = 1883
DEFAULT_WS_PORT = 9001
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class BrokerStartError(RuntimeError):
    """The embedded broker could not listen (amqtt missing, ports unusable)."""


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nobody listens on `host:port`, so the preferred default can be used."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _bound_port(server: Any) -> int:
    """The port the kernel gave a listener bound to port 0 (asyncio or websockets server)."""
    sockets = getattr(server, "sockets", None) or []
    for sock in sockets:
        name = sock.getsockname()
        if sock.family == socket.AF_INET:
            return int(name[1])
    raise BrokerStartError("embedded broker: cannot tell which port a listener got")


class SnapshotDict(dict[str, Any]):
    """A dict whose iteration walks a copy, for amqtt's table of subscriptions.

    amqtt (0.12) loops over that table with `await` inside the loop (a connecting client is
    sent the retained messages, a broadcast checks each subscriber); a client that subscribes
    to a new topic meanwhile changes the table's size and the loop dies with "dictionary
    changed size during iteration", dropping the connecting client. Iterating a snapshot is
    what those loops mean: a subscription made during the walk is served by its own
    SUBSCRIBE handling.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(list(super().keys()))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return list(super().items())


def _snapshot_subscriptions(broker: Any) -> None:
    """Give an amqtt broker a `SnapshotDict` subscription table (a no-op on other layouts)."""
    table = getattr(broker, "_subscriptions", None)
    if type(table) is dict:
        broker._subscriptions = SnapshotDict(table)


class EmbeddedBroker:
    """amqtt in a thread: `.start()` returns once both listeners accept, `.stop()` ends it.

    A port of 0 lets the kernel choose; a chosen port that is taken (a system mosquitto on
    1883, say) falls back to a free one, so the demo starts anyway. Read `.tcp_port` and
    `.ws_port` after `.start()` for the ports in use.
    """

    def __init__(self, tcp_port: int = DEFAULT_TCP_PORT, ws_port: int = DEFAULT_WS_PORT) -> None:
        self.host = HOST
        self._want_tcp = tcp_port
        self._want_ws = ws_port
        self.tcp_port: int = 0
        self.ws_port: int = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    @property
    def ws_url(self) -> str:
        """The WebSockets URL a browser on this machine connects to."""
        return f"ws://{self.host}:{self.ws_port}"

    def start(self) -> EmbeddedBroker:
        if self._thread is not None:
            return self
        try:
            import amqtt.broker  # noqa: F401, PLC0415  (optional: fail here, with a hint)
        except ImportError as exc:
            raise BrokerStartError(
                "the embedded broker needs amqtt: pip install 'repsled[demo]'"
            ) from exc
        # amqtt logs every connection at INFO; the demo's console is for the URL and reps.
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="embedded-broker", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        tcp = self._want_tcp if self._want_tcp and port_is_free(self._want_tcp) else 0
        ws = self._want_ws if self._want_ws and port_is_free(self._want_ws) else 0
        try:
            try:
                self._call(self._start_broker(tcp, ws), START_TIMEOUT_S)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or (tcp == 0 and ws == 0):
                    raise
                # Lost a race for a default port between the check and the bind: any port will do.
                self._call(self._start_broker(0, 0), START_TIMEOUT_S)
        except BaseException:
            self._halt_loop()
            raise
        return self

    def stop(self) -> None:
        """Disconnect every client, close the listeners and end the thread; safe to repeat."""
        if self._thread is None:
            return
        if self._broker is not None:
            with contextlib.suppress(Exception):
                self._call(self._broker.shutdown(), STOP_TIMEOUT_S)
            self._broker = None
        self._halt_loop()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the broker's thread ------------------------------------------------------------------

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def _call(self, coro: Any, timeout_s: float) -> Any:
        assert self._loop is not None
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=timeout_s)

    def _halt_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=STOP_TIMEOUT_S)

    async def _start_broker(self, tcp_port: int, ws_port: int) -> None:
        from amqtt.broker import Broker  # noqa: PLC0415  (amqtt is an optional dependency)
        from amqtt.errors import BrokerError  # noqa: PLC0415

        config = {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{HOST}:{tcp_port}"},
                "ws": {"type": "ws", "bind": f"{HOST}:{ws_port}"},
            },
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = Broker(config)
        _snapshot_subscriptions(broker)
        try:
            await broker.start()
        except BrokerError as exc:
            for server in getattr(broker, "_servers", {}).values():
                with contextlib.suppress(Exception):
                    await server.close_instance()
            cause = exc.__cause__
            if isinstance(cause, OSError):
                raise cause from exc
            raise BrokerStartError(f"embedded broker: {exc}") from exc
        servers = getattr(broker, "_servers", {})
        try:
            self.tcp_port = tcp_port or _bound_port(servers["default"].instance)
            self.ws_port = ws_port or _bound_port(servers["ws"].instance)
        except (KeyError, AttributeError) as exc:
            await broker.shutdown()
            raise BrokerStartError("embedded broker: this amqtt version hides its ports") from exc
        self._broker = broker
