"""`repsled dashboard`: prints the URL on its own line, serves, stops cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import json
import selectors
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from firmware.commands import dashboard
from tests.web.helpers import REPO

START_TIMEOUT_S = 20.0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    dashboard.add_arguments(parser)
    return parser.parse_args(argv)


def first_line(proc: subprocess.Popen[str]) -> str:
    """The first stdout line, waiting at most START_TIMEOUT_S for it (a bounded wait)."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if sel.select(timeout=deadline - time.monotonic()):
                return proc.stdout.readline().strip()
    raise AssertionError("repsled dashboard printed nothing")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ws://gym-pi.local:9001", None),
        ("wss://broker.example:443/mqtt", None),
        ("http://gym-pi.local:9001", "must start with ws:// or wss://"),
        ("ws://:9001", "no host"),
        ("ws://pi:99999", "bad port"),
    ],
)
def test_broker_url_check(url: str, problem: str | None) -> None:
    found = dashboard.check_broker_url(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
        assert url in found


def test_defaults() -> None:
    args = parse([])
    assert (args.broker_ws, args.port, args.bind, args.prefix) == (
        None,
        dashboard.DEFAULT_PORT,
        "127.0.0.1",
        "repsled",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--broker-ws", "tcp://pi:1883"], "--broker-ws"),
        (["--port", "70000"], "--port 70000"),
        (["--prefix", "repsled/#"], "--prefix"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboard.run(parse(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("repsled dashboard: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_taken_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    from firmware.web.server import DashboardServer

    with DashboardServer(None) as busy:
        assert dashboard.run(parse(["--port", str(busy.port)])) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"repsled dashboard: error: cannot listen on 127.0.0.1:{busy.port}")
    assert err.count("\n") == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_interrupted(stop_signal: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "dashboard", "--port", "0", "--prefix", "gym"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = first_line(proc)
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/")
        with urllib.request.urlopen(url + "config.json", timeout=10) as resp:
            assert json.load(resp) == {"broker_ws": None, "prefix": "gym"}
        proc.send_signal(stop_signal)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
