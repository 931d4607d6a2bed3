"""A real mosquitto for tests: free ports on 127.0.0.1, restartable on the same ports.

Usage::

    with Mosquitto(tmp_path, websockets=True) as broker:
        client.connect(broker.host, broker.port)      # MQTT over TCP
        page.goto(f"...?broker={broker.url()}")          # MQTT over WebSockets

`stop()` then `start()` restarts the broker on the same ports (the broker-down tests);
`terminate()` ends it for good. Tests are skipped (pytest.skip) when the binary is missing.

WebSockets: mosquitto 2.0's WebSockets listener binds every interface whatever address is
given, and tests must listen on the loopback only. So `websockets=True` serves WebSockets
from a small bridge in this process, bound to 127.0.0.1, that carries each WebSocket
connection's MQTT bytes to the broker's TCP listener (MQTT over WebSockets is exactly the
MQTT byte stream in binary frames). Clients see the same thing as mosquitto's own listener:
subprotocol "mqtt", connections dropped while the broker is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
import pytest

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def mosquitto_binary() -> str | None:
    """The broker binary: $MOSQUITTO, else on PATH (Debian puts it in sbin, often off PATH)."""
    explicit = os.environ.get("MOSQUITTO")
    if explicit:
        return explicit
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("mosquitto", path=search)


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A TCP port that refuses connections while the block runs: bound, never listening.

    A port that is merely free can be handed to a client socket as its own source port,
    and a connection to it then reaches itself (a "broker" that answers).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        yield int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class _WebSocketBridge:
    """WebSockets on a socket bound beforehand, each connection piped to the broker's port.

    The socket is bound when the broker is made, not picked as a free port and bound
    later: in between, any outgoing connection (the broker's own, a readiness probe) may
    be given that port by the kernel.
    """

    def __init__(self, ws_sock: socket.socket, tcp_port: int) -> None:
        self.ws_sock = ws_sock
        self.tcp_port = tcp_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        try:
            import websockets.asyncio.server  # noqa: F401  (fail here with a skip reason)
        except ImportError:
            pytest.skip("the websockets package is missing (pip install -e '.[dev]')")
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="ws-bridge", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("WebSocket bridge did not start")
        if self._error is not None:
            raise RuntimeError(f"WebSocket bridge failed: {self._error}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(STOP_TIMEOUT_S)
        self._thread = None

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        async with serve(
            self._pipe,
            sock=self.ws_sock,
            subprotocols=["mqtt", "mqttv3.1"],  # type: ignore[list-item]
            compression=None,
            ping_interval=None,
        ):
            self._ready.set()
            await self._stop.wait()

    async def _pipe(self, ws: Any) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.tcp_port)
        except OSError:
            await ws.close(1011, "broker down")
            return

        async def ws_to_tcp() -> None:
            async for message in ws:
                writer.write(message if isinstance(message, bytes) else message.encode())
                await writer.drain()

        async def tcp_to_ws() -> None:
            while data := await reader.read(65536):
                await ws.send(data)

        tasks = [asyncio.ensure_future(ws_to_tcp()), asyncio.ensure_future(tcp_to_ws())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(Exception):
                await ws.close()


class Mosquitto:
    """One broker process with its config and log under `tmp_dir`."""

    def __init__(
        self,
        tmp_dir: str | os.PathLike[str],
        websockets: bool = False,
        password_file: str | os.PathLike[str] | None = None,
        acl_file: str | os.PathLike[str] | None = None,
        persistence: bool = False,
    ) -> None:
        binary = mosquitto_binary()
        if binary is None:
            pytest.skip("mosquitto binary not found (apt-get install mosquitto)")
        self.binary = binary
        self.dir = Path(tmp_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self._ws_sock: socket.socket | None = None
        self.ws_port: int | None = None
        if websockets:
            self._ws_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._ws_sock.bind((HOST, 0))  # reserved now, listened on by the bridge
            self.ws_port = int(self._ws_sock.getsockname()[1])
        self.password_file = Path(password_file) if password_file else None
        self.acl_file = Path(acl_file) if acl_file else None
        # persistence=True keeps sessions and queued messages across stop()/start().
        self.persistence = persistence
        self.config_path = self.dir / "mosquitto.conf"
        self.log_path = self.dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._bridge: _WebSocketBridge | None = None
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            f"listener {self.port} {HOST}",
            "protocol mqtt",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/"]
        else:
            lines.append("persistence false")
        if os.name == "posix" and os.geteuid() == 0:
            # As root mosquitto would switch to the "mosquitto" user, which cannot read tmp dirs.
            lines.insert(0, "user root")
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """The broker's log so far (for assertion messages)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> Mosquitto:
        """Start (or restart) on the same ports; returns once the listener accepts."""
        if self.running:
            return self
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts(self.port):
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"mosquitto exited on start; log:\n{self.log()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"mosquitto did not accept on {self.port} in {START_TIMEOUT_S} s"
                )
            time.sleep(0.01)  # poll interval while waiting for the listener
        if self._ws_sock is not None and self._bridge is None:
            self._bridge = _WebSocketBridge(self._ws_sock, self.port)
            try:
                self._bridge.start()
            except BaseException:
                self._bridge = None
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL); the ports stay reserved for `start()`."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)

    def terminate(self) -> None:
        """End the broker and the WebSocket bridge for good."""
        self.stop()
        if self._bridge is not None:
            self._bridge.stop()
            self._bridge = None
        if self._ws_sock is not None:
            self._ws_sock.close()
            self._ws_sock = None

    def url(self) -> str:
        """The WebSockets URL for browsers (needs websockets=True)."""
        if self.ws_port is None:
            raise RuntimeError("started without websockets=True")
        return f"ws://{self.host}:{self.ws_port}"

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()


WAIT_S = 15.0  # upper bound for things that happen in milliseconds when all is well


class Subscriber:
    """A real paho client recording every message; tests wait on it with a bound."""

    def __init__(self, broker: Mosquitto, topics: list[str], *, persistent: bool = False) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._topics = topics
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"sub-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.2)  # type: ignore[arg-type]
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(WAIT_S), "subscriber got no SUBACK"

    def _on_connect(self, client, userdata, flags, rc, props):
        client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(self, client, userdata, mid, rcs, props):
        self._subscribed.set()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, str, bool]]], bool]) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), WAIT_S)

    def payloads(self, topic: str) -> list[str]:
        with self._cond:
            return [p for t, p, _ in self.messages if t == topic]

    def json(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.payloads(topic)]

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


SHIPPED_ACL = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto" / "acl"


def shipped_acl_files(directory: Path, users: dict[str, str]) -> tuple[Path, Path]:
    """A mosquitto password file for `users` (name -> password) and a copy of the shipped ACL,
    in `directory`; skips the test where mosquitto_passwd is not installed."""
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None:
        pytest.skip("mosquitto_passwd not found (apt-get install mosquitto)")
    passwd = directory / "repsled.passwd"
    passwd.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([passwd_tool, "-b", str(passwd), user, password], check=True)
    acl = directory / "repsled.acl"
    shutil.copyfile(SHIPPED_ACL, acl)
    return passwd, acl
