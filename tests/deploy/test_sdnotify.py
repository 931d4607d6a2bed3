"""firmware.station.sdnotify against a real AF_UNIX datagram socket standing in for systemd's."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.clock import FakeClock
from firmware.station.sdnotify import Notifier, WatchdogPinger

WATCHDOG_10S = {"WATCHDOG_USEC": "10000000"}


class FakeSystemd:
    """The receiving end of NOTIFY_SOCKET; datagrams are queued by the kernel on send."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)

    def received(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[FakeSystemd, str]]:
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:  # AF_UNIX path limit; fall back to the abstract namespace
        env_value = f"@repsled-test-{uuid.uuid4().hex}"
        fake = FakeSystemd(b"\0" + env_value[1:].encode())
    else:
        env_value = str(path)
        fake = FakeSystemd(env_value)
    yield fake, env_value
    fake.sock.close()


def test_outside_systemd_everything_is_a_no_op():
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    notifier.ready()
    notifier.status("x")
    notifier.stopping()
    notifier.watchdog()
    pinger = WatchdogPinger(notifier, FakeClock())
    assert pinger.period_s is None
    assert not pinger.ping()


def test_watchdog_usec_sets_half_period(systemd):
    _, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value, **WATCHDOG_10S})
    assert notifier.watchdog_s == 10.0
    assert WatchdogPinger(notifier, FakeClock()).period_s == 5.0


def test_watchdog_meant_for_another_pid_is_ignored(systemd):
    _, env_value = systemd
    env = {"NOTIFY_SOCKET": env_value, "WATCHDOG_PID": str(os.getpid() + 1), **WATCHDOG_10S}
    notifier = Notifier.from_env(env)
    assert notifier.enabled and notifier.watchdog_s is None
    env["WATCHDOG_PID"] = str(os.getpid())
    assert Notifier.from_env(env).watchdog_s == 10.0


def test_no_watchdog_without_watchdog_usec(systemd):
    fake, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value})
    pinger = WatchdogPinger(notifier, FakeClock())
    assert not pinger.ping()
    assert fake.received() == []


@pytest.mark.parametrize("bad", ["0", "", "ten"])
def test_bad_watchdog_usec_means_no_watchdog(systemd, bad):
    _, env_value = systemd
    assert Notifier.from_env({"NOTIFY_SOCKET": env_value, "WATCHDOG_USEC": bad}).watchdog_s is None


def test_messages_on_the_wire(systemd):
    fake, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value})
    notifier.status("sensor fault:\nerrno 121")
    notifier.watchdog()
    notifier.stopping()
    assert fake.received() == ["STATUS=sensor fault: errno 121", "WATCHDOG=1", "STOPPING=1"]
    notifier.close()


def test_ready_is_sent_once(systemd):
    fake, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value})
    notifier.ready()
    notifier.ready()
    assert fake.received() == ["READY=1\nSTATUS=counting"]


def test_abstract_socket_address():
    name = f"repsled-test-{uuid.uuid4().hex}"
    fake = FakeSystemd(b"\0" + name.encode())
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        notifier.watchdog()
        assert fake.received() == ["WATCHDOG=1"]
    finally:
        fake.sock.close()


def test_missing_socket_never_raises_and_logs_once(tmp_path, caplog):
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone.sock"), **WATCHDOG_10S})
    pinger = WatchdogPinger(notifier, FakeClock())
    with caplog.at_level(logging.WARNING, logger="firmware.station.sdnotify"):
        notifier.ready()
        notifier.status("x")
        assert pinger.ping()
        notifier.stopping()
    assert len(caplog.records) == 1
    assert "gone.sock" in caplog.records[0].getMessage()


def test_unsupported_address_is_disabled(caplog):
    with caplog.at_level(logging.WARNING, logger="firmware.station.sdnotify"):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert "vsock:2:1234" in caplog.text


def run_loop(notifier: Notifier, clock: FakeClock, reads: list[tuple[float, bool]]) -> list[float]:
    """What the station does: READY after the first good read, and a ping (rate-limited by
    the pinger) on every pass of the loop, failed reads included. Returns the ping times."""
    pinger = WatchdogPinger(notifier, clock)
    ping_times = []
    for t_s, good in reads:
        clock.now = t_s
        if pinger.ping():
            ping_times.append(t_s)
        if good:
            notifier.ready()
    return ping_times


def test_ready_after_first_good_read_and_pings_at_half_the_watchdog(systemd):
    fake, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value, **WATCHDOG_10S})
    # 3 failing reads at start-up, then 30 Hz of good reads until 20 s.
    reads = [(i / 30, i >= 3) for i in range(601)]
    ping_times = run_loop(notifier, FakeClock(), reads)
    got = fake.received()
    assert got.count("READY=1\nSTATUS=counting") == 1
    assert got.index("READY=1\nSTATUS=counting") == 1  # after the loop's first ping
    assert [m for m in got if m != "READY=1\nSTATUS=counting"] == ["WATCHDOG=1"] * len(ping_times)
    gaps = [b - a for a, b in itertools.pairwise(ping_times)]
    assert all(5.0 <= g < 5.0 + 1 / 30 + 1e-9 for g in gaps), gaps
    assert ping_times == [0.0, 5.0, 10.0, 15.0, 20.0]


def test_pings_go_on_while_the_sensor_fails(systemd):
    """The watchdog guards the loop, not the sensor: a 24 s fault must not restart us."""
    fake, env_value = systemd
    notifier = Notifier.from_env({"NOTIFY_SOCKET": env_value, **WATCHDOG_10S})
    clock = FakeClock()
    reads = [(i / 30, not 6 <= i / 30 < 30) for i in range(35 * 30)]
    ping_times = run_loop(notifier, clock, reads)
    assert fake.received().count("READY=1\nSTATUS=counting") == 1
    assert ping_times == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
