"""Tell systemd how the service is doing (sd_notify), without a dependency.

Under `Type=notify` systemd waits for `READY=1` before it calls the unit started, and with
`WatchdogSec=` it restarts the service when `WATCHDOG=1` stops arriving. repsled sends READY
after the first good sensor read, and the sampling loop pings the watchdog on every pass while
it is alive, during sensor faults too (it retries the sensor itself and says so in STATUS).
So the watchdog guards the loop: a read stuck in the kernel, a deadlock or an endless loop ends
in a restart, while a sensor fault longer than WatchdogSec does not restart the service (which
would split the session in two).

Outside systemd (no `$NOTIFY_SOCKET`) every call is a cheap no-op. Nothing here raises: a
lost notification must never stop the counting, so failures are logged once and dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Mapping

from firmware.clock import Clock

log = logging.getLogger(__name__)


def _socket_address(value: str) -> str | bytes | None:
    """`$NOTIFY_SOCKET` as an AF_UNIX address: a path, or `@name` for the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # e.g. systemd's vsock: addresses, which a Pi service never gets


def _watchdog_interval_s(env: Mapping[str, str]) -> float | None:
    """WatchdogSec in seconds, when the watchdog is on and meant for this process."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # the variables were inherited from a parent that systemd watches
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


class Notifier:
    """Datagrams to systemd's notify socket; a no-op when `address` is None."""

    def __init__(self, address: str | bytes | None, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s
        self._sock: socket.socket | None = None
        self._ready_sent = False
        self._failure_logged = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` (os.environ by default)."""
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        address = _socket_address(raw) if raw else None
        if raw and address is None:
            log.warning("NOTIFY_SOCKET=%s: unsupported address, systemd will not be told", raw)
        return cls(address, _watchdog_interval_s(env) if address is not None else None)

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one state message (`KEY=value` lines); False when it could not be sent."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # Never block the sampling loop if systemd is slow to read its queue.
                sock.setblocking(False)
                self._sock = sock
            self._sock.sendto(message.encode(), self.address)
        except OSError as exc:
            if not self._failure_logged:
                self._failure_logged = True
                log.warning("cannot notify systemd at %r: %s (logged once)", self.address, exc)
            return False
        return True

    def ready(self) -> None:
        """READY=1, once: later calls do nothing (the loop may call it after every recovery)."""
        if self._ready_sent or self.address is None:
            return
        if self.notify("READY=1\nSTATUS=counting"):
            self._ready_sent = True

    def status(self, text: str) -> None:
        """One line shown by `systemctl status`."""
        self.notify("STATUS=" + " ".join(text.splitlines()))

    def stopping(self) -> None:
        """STOPPING=1: the shutdown is deliberate, not a crash."""
        self.notify("STOPPING=1")

    def watchdog(self) -> None:
        """WATCHDOG=1: the sampling loop is alive (whatever the sensor's health)."""
        self.notify("WATCHDOG=1")

    def close(self) -> None:
        """Release the socket; never raises."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


class WatchdogPinger:
    """Rate-limits WATCHDOG=1 to one per WatchdogSec/2, the cadence systemd recommends.

    The sampling loop calls `ping()` on every pass and every backoff slice (30 per second and
    more); it is a clock read and a comparison unless a ping is due, nothing outside systemd.
    """

    def __init__(self, notifier: Notifier, clock: Clock) -> None:
        self.notifier = notifier
        self.clock = clock
        wd_s = notifier.watchdog_s
        self.period_s: float | None = wd_s / 2 if wd_s and notifier.enabled else None
        self._last_s: float | None = None

    def ping(self) -> bool:
        """Send WATCHDOG=1 when due; True when one was sent."""
        if self.period_s is None:
            return False
        now_s = self.clock.monotonic()
        if self._last_s is not None and now_s - self._last_s < self.period_s:
            return False
        self._last_s = now_s
        self.notifier.watchdog()
        return True
