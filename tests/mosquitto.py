"""A real mosquitto for tests: free ports on 127.0.0.1, restartable on the same ports.

Usage::

    with Mosquitto(tmp_path, websockets=True) as broker:
        client.connect(broker.host, broker.port)

`stop()` then `start()` restarts the broker on the same ports (the broker-down tests);
`terminate()` ends it for good. The broker is skipped (pytest.skip) when the binary is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

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


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One broker process with its config and log under `tmp_dir`."""

    def __init__(
        self,
        tmp_dir: str | os.PathLike[str],
        websockets: bool = False,
        password_file: str | os.PathLike[str] | None = None,
        acl_file: str | os.PathLike[str] | None = None,
    ) -> None:
        binary = mosquitto_binary()
        if binary is None:
            pytest.skip("mosquitto binary not found (apt-get install mosquitto)")
        self.binary = binary
        self.dir = Path(tmp_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.ws_port: int | None = free_port() if websockets else None
        self.password_file = Path(password_file) if password_file else None
        self.acl_file = Path(acl_file) if acl_file else None
        self.config_path = self.dir / "mosquitto.conf"
        self.log_path = self.dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            f"listener {self.port} {HOST}",
            "protocol mqtt",
        ]
        if self.ws_port is not None:
            lines += [f"listener {self.ws_port} {HOST}", "protocol websockets"]
        if os.name == "posix" and os.geteuid() == 0:
            # As root mosquitto would switch to the "mosquitto" user, which cannot read tmp dirs.
            lines.insert(0, "user root")
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl_file is not None:
            lines.append(f"acl_file {self.acl_file}")
        # per_listener_settings is false: auth options apply to every listener.
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
        """Start (or restart) on the same ports; returns once every listener accepts."""
        if self.running:
            return self
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        ports = [self.port] + ([self.ws_port] if self.ws_port is not None else [])
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(ports)
        while waiting:
            if self._proc.poll() is not None:
                tail = self.log()[-2000:]
                self._proc = None
                raise RuntimeError(f"mosquitto exited on start; log:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto did not accept on {ports} in {START_TIMEOUT_S} s")
            if _accepts(waiting[0]):
                waiting.pop(0)
            else:
                time.sleep(0.01)  # poll interval while waiting for the listener
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
        """End the broker for good."""
        self.stop()

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
