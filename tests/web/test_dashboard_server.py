"""The static server: the shipped files, /config.json, nothing else, on 127.0.0.1 by default."""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from firmware.web.server import DashboardServer, static_files
from tests.web.helpers import REPO


@pytest.fixture
def server() -> Iterator[DashboardServer]:
    with DashboardServer("ws://127.0.0.1:9001", "repsled") as server:
        yield server


def fetch(
    server: DashboardServer, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_binds_loopback_and_reports_its_url(server: DashboardServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_index_with_security_headers(server: DashboardServer) -> None:
    status, headers, body = fetch(server, "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert b'data-testid="connection"' in body


def test_config_json(server: DashboardServer) -> None:
    status, headers, body = fetch(server, "/config.json?x=1")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"broker_ws": "ws://127.0.0.1:9001", "prefix": "repsled"}


def test_config_json_without_broker_lets_the_page_choose() -> None:
    with DashboardServer(None, "gym") as server:
        _, _, body = fetch(server, "/config.json")
    assert json.loads(body) == {"broker_ws": None, "prefix": "gym"}


def test_every_asset_the_page_names_is_served(server: DashboardServer) -> None:
    _, _, body = fetch(server, "/index.html")
    refs = re.findall(r'(?:src|href)="([^"#:]+)"', body.decode("utf-8"))
    assert "vendor/mqtt.min.js" in refs
    for ref in refs:
        status, headers, content = fetch(server, "/" + ref)
        assert status == 200, ref
        assert content, ref
        if ref.endswith(".js"):
            assert headers["content-type"].startswith("text/javascript"), ref


def test_head_has_no_body(server: DashboardServer) -> None:
    status, headers, body = fetch(server, "/app.js", method="HEAD")
    assert status == 200
    assert int(headers["content-length"]) > 0
    assert body == b""


@pytest.mark.parametrize(
    "path", ["/nope.js", "/../server.py", "/%2e%2e/server.py", "/static/index.html", "/vendor/"]
)
def test_only_shipped_files(server: DashboardServer, path: str) -> None:
    status, _, _ = fetch(server, path)
    assert status == 404


def test_stop_frees_the_port() -> None:
    server = DashboardServer(None).start()
    port = server.port
    server.stop()
    server.stop()
    again = DashboardServer(None, port=port).start()
    again.stop()


def test_vendored_client_is_documented_with_its_licence() -> None:
    files = static_files()
    assert "/vendor/mqtt.min.js" in files
    notes = files["/vendor/VENDORED.md"].decode("utf-8")
    assert "mqtt.min.js" in notes
    assert "MIT" in notes
    assert "Permission is hereby granted" in files["/vendor/mqtt.LICENSE.md"].decode("utf-8")
    # The docs tell users where the client came from too.
    assert "mqtt.min.js" in (REPO / "docs" / "dashboard.md").read_text(encoding="utf-8")


# --- bounded resources: idle clients are dropped, connections are capped, resets are quiet.

WAIT_S = 10.0  # upper bound for the server's answers; never reached when things work


def _connect(server: DashboardServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)


def test_an_idle_connection_is_closed_after_the_timeout() -> None:
    with DashboardServer(None, idle_timeout_s=0.2) as server:
        silent = _connect(server)
        half = _connect(server)
        half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the blank line never comes
        try:
            assert silent.recv(1) == b""  # closed by the server, long before WAIT_S
            assert half.recv(1) == b""
        finally:
            silent.close()
            half.close()
        assert server.wait_for_connections(0, WAIT_S)
        assert fetch(server, "/")[0] == 200


def test_connections_beyond_the_bound_are_turned_away_and_slots_come_back() -> None:
    with DashboardServer(None, max_connections=3) as server:
        idle = [_connect(server) for _ in range(3)]
        try:
            assert server.wait_for_connections(3, WAIT_S)
            status, _, _ = fetch(server, "/")
            assert status == 503
            assert server.open_connections() == 3
        finally:
            for sock in idle:
                sock.close()
        assert server.wait_for_connections(0, WAIT_S)
        assert fetch(server, "/")[0] == 200


def test_two_hundred_idle_clients_hold_no_more_than_the_bound() -> None:
    # Threads other tests left behind (daemon threads of clients and brokers) are not ours.
    threads_before = threading.active_count()
    with DashboardServer(None, max_connections=16) as server:
        idle = [_connect(server) for _ in range(200)]
        try:
            assert server.wait_for_connections(16, WAIT_S)
            # The 184 others were answered "503" and closed at once.
            turned_away = sum(sock.recv(64).startswith(b"HTTP/1.0 503") for sock in idle[16:])
            assert turned_away == 184
            assert threading.active_count() - threads_before < 16 + 20
        finally:
            for sock in idle:
                sock.close()
        assert server.wait_for_connections(0, WAIT_S)


def test_a_client_reset_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with DashboardServer(None) as server:
        for _ in range(5):
            sock = _connect(server)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            assert server.wait_for_connections(1, WAIT_S)
            # SO_LINGER with a zero timeout: close() sends a reset instead of a goodbye.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            assert server.wait_for_connections(0, WAIT_S)
        assert fetch(server, "/")[0] == 200
    _out, err = capfd.readouterr()
    assert "Traceback" not in err
    assert "ConnectionResetError" not in err
    assert err == ""


def test_config_json_carries_the_dashboard_login_only_when_given() -> None:
    with DashboardServer("ws://h:9001", "repsled", broker_login=("dashboard", "pw")) as server:
        _, _, body = fetch(server, "/config.json")
    assert json.loads(body) == {
        "broker_ws": "ws://h:9001",
        "prefix": "repsled",
        "broker_username": "dashboard",
        "broker_password": "pw",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--broker-user", "dashboard"], "--broker-user and --broker-password-file go together"),
        (["--broker-user", "d", "--broker-password-file", "/nonexistent/pw"], "No such file"),
    ],
)
def test_dashboard_login_options_give_one_line(args: list[str], message: str, capsys) -> None:
    from firmware.cli import main

    assert main(["dashboard", "--port", "0", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("repsled dashboard: error: ") and message in err
    assert err.count("\n") == 1
