"""`repsled hub` as a process: SIGKILLed mid-run and restarted, it loses and doubles nothing."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from firmware.hub.store import Store
from tests.hub.helpers import HubBroker, ids_of, publisher, session_messages, wait_until
from tests.mosquitto import WAIT_S, Mosquitto

pytestmark = pytest.mark.broker
REPO = Path(__file__).resolve().parents[2]


class HubProcess:
    """`python -m firmware.cli hub ...` with its stderr read line by line."""

    def __init__(self, db_url: str, broker: Mosquitto) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "firmware.cli",
                "hub",
                "--db",
                db_url,
                "--broker",
                f"mqtt://{broker.host}:{broker.port}",
                "--port",
                "0",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url + "".join(self.stderr)
        self.wait_line("subscribed to")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def wait_line(self, text: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {''.join(self.stderr)}") from None
            if text in line:
                return line

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT_S)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(WAIT_S)


@pytest.fixture
def broker(tmp_path):
    with HubBroker(tmp_path / "mqtt") as b:
        yield b


def test_sigkill_mid_run_then_restart_loses_and_doubles_nothing(db_url, broker):
    first = session_messages("legpress-1", session="20261201T060000Z", sets=40, reps_per_set=25)
    second = session_messages("legpress-1", session="20261201T070000Z", sets=4, reps_per_set=10)
    store = Store.open(db_url)  # migrated here, so the count below can poll from the start
    hub = HubProcess(db_url, broker)
    try:
        with publisher(broker) as pub:
            pub.publish(first)
            wait_until(lambda: store.count("rep") > 0, "the hub storing")
            hub.kill()
            killed_at = store.count("rep")
            pub.publish(second)
        hub = HubProcess(db_url, broker)
        wait_until(lambda: store.count("rep") == 1040, "every rep stored", timeout=60)
        wait_until(lambda: store.count("set") == 44, "every set stored")
        assert hub.terminate() == 0
    finally:
        if hub.proc.poll() is None:
            hub.kill()
        store.close()
    print(f"killed with {killed_at} of 1000 reps stored")
    store = Store.open(db_url)
    try:
        assert store.ids("rep") == sorted(ids_of(first) + ids_of(second))
        assert store.ids("set") == sorted(ids_of(first, "set") + ids_of(second, "set"))
    finally:
        store.close()


def test_serves_the_api_and_stops_on_sigterm(tmp_path, broker):
    hub = HubProcess(f"sqlite:///{tmp_path / 'h.sqlite3'}", broker)
    try:
        with urllib.request.urlopen(hub.url + "config.json", timeout=WAIT_S) as response:
            assert b'"hub": true' in response.read()
    finally:
        assert hub.terminate() == 0
    assert "Traceback" not in "".join(hub.stderr)


def test_a_taken_port_is_one_line(tmp_path, broker):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "firmware.cli",
                "hub",
                "--db",
                str(tmp_path / "h.sqlite3"),
                "--broker",
                f"mqtt://{broker.host}:{broker.port}",
                "--port",
                str(port),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            check=False,
        )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"repsled hub: error: cannot listen on 127.0.0.1:{port}")
    ), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--broker", "http://x"], "--broker 'http://x': must start with mqtt://"),
        (["--broker", "mqtt://h:99999"], "--broker 'mqtt://h:99999': bad port"),
        (["--port", "70000"], "--port 70000: must be 0..65535"),
        (["--broker-ws", "http://x"], "--broker-ws 'http://x': must start with ws:// or wss://"),
    ],
)
def test_bad_options_are_one_line(argv, message, capsys, tmp_path):
    from firmware.cli import main

    assert main(["hub", "--db", str(tmp_path / "h.sqlite3"), *argv]) == 2
    assert capsys.readouterr().err.strip() == f"repsled hub: error: {message}"


def test_options_come_from_the_config_file_and_the_command_line_wins(tmp_path):
    from firmware.cli import build_parser
    from firmware.commands.hub import options_from

    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(
        "[tempo]\ntarget_eccentric_s = 4.0\n"
        "[vbt]\nmvt_m_s = 0.25\n"
        "[mqtt]\ntopic_prefix = 'gym'\n"
        "[hub]\ndb = 'postgresql://repsled@db/repsled'\nbroker = 'mqtt://broker.lan:1884'\n"
        f"port = 8090\nusername = 'hub'\npassword_file = '{secret}'\n",
        encoding="utf-8",
    )
    args = build_parser().parse_args(["hub", "--config", str(config), "--port", "9000"])
    options = options_from(args)
    assert (options.db_url, options.broker_host, options.broker_port, options.port) == (
        "postgresql://repsled@db/repsled",
        "broker.lan",
        1884,
        9000,
    )
    assert (options.prefix, options.username, options.password) == ("gym", "hub", "s3cret")
    assert options.target_eccentric_s == 4.0
    assert options.mvt_m_s == 0.25  # the profiles' e1RM threshold


def test_the_live_page_gets_the_read_only_broker_login(tmp_path):
    """The production WebSockets listener refuses anonymous clients: the hub hands the page
    the dashboard user's login, from [hub] or the command line, as `repsled dashboard` does."""
    from firmware.cli import build_parser
    from firmware.commands.hub import options_from
    from firmware.hub.app import create_app

    secret = tmp_path / "dashboard-pw"
    secret.write_text("view-only\n", encoding="utf-8")
    config = tmp_path / "hub.toml"
    config.write_text(f"[hub]\npage_user = 'dashboard'\npage_password_file = '{secret}'\n")
    options = options_from(build_parser().parse_args(["hub", "--config", str(config)]))
    assert options.page_login == ("dashboard", "view-only")

    from starlette import testclient

    store = Store.open(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    try:
        app = create_app(store, prefix="gym", page_login=options.page_login)
        with testclient.TestClient(app) as client:
            assert client.get("/config.json").json() == {
                "broker_ws": None,
                "prefix": "gym",
                "hub": True,
                "broker_username": "dashboard",
                "broker_password": "view-only",
            }
    finally:
        store.close()


def test_a_page_user_without_its_password_file_is_one_line(tmp_path, capsys):
    from firmware.cli import main

    assert main(["hub", "--db", str(tmp_path / "h.sqlite3"), "--page-user", "dashboard"]) == 2
    assert capsys.readouterr().err.strip() == (
        "repsled hub: error: --page-user / [hub] page_user and "
        "--page-password-file / [hub] page_password_file go together"
    )
