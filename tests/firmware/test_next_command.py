"""`repsled next` against a real mosquitto: the retained message, broker from flag or config."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from firmware.cli import main
from firmware.station.next_set import NextSet, NextSetStore, decode, on_message, start_tracker
from tempo.prescription import parse_tempo
from tests.mosquitto import Mosquitto, Subscriber, refusing_port

STATION = "legpress-1"
TOPIC = f"repsled/{STATION}/next"


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path / "broker") as b:
        yield b


def _retained(broker: Mosquitto, topic: str) -> tuple[str, bool]:
    """What a client subscribing now gets: the retained message, as a station starting up."""
    sub = Subscriber(broker, [topic])
    try:
        assert sub.wait_for(lambda ms: any(t == topic for t, _, _ in ms))
        _, payload, retained = next(m for m in sub.messages if m[0] == topic)
        return payload, retained
    finally:
        sub.close()


def _config(tmp_path, broker: Mosquitto, extra: str = "") -> str:
    path = tmp_path / "station.toml"
    path.write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n{extra}', encoding="utf-8"
    )
    return str(path)


@pytest.mark.broker
def test_publishes_a_retained_next_set_with_broker_url(broker, capsys):
    url = f"mqtt://{broker.host}:{broker.port}"
    argv = ["next", "--station", STATION, "--athlete", "Ana", "--load-kg", "140"]
    status = main([*argv, "--tempo", "3-1-1-0", "--broker", url])
    assert status == 0
    expected = '{"type":"next","schema":1,"athlete":"Ana","load_kg":140.0,"leg":"both",'
    expected += '"tempo":"3-1-1-0"}'
    assert capsys.readouterr().out == f"{TOPIC}: {expected}\n"
    payload, retained = _retained(broker, TOPIC)
    assert retained
    assert payload == expected
    assert decode(payload) == NextSet("Ana", 140.0, "both", parse_tempo("3-1-1-0"))


@pytest.mark.broker
def test_broker_and_prefix_from_the_config(tmp_path, broker):
    config = _config(tmp_path, broker, 'topic_prefix = "gym"\nprotocol = "5"\n')
    argv = ["next", "--station", "press-b", "--config", config, "--athlete", "Ben"]
    assert main([*argv, "--leg", "left", "--tempo", "31x0"]) == 0
    payload, _ = _retained(broker, "gym/press-b/next")
    assert json.loads(payload) == {
        "type": "next",
        "schema": 1,
        "athlete": "Ben",
        "load_kg": None,
        "leg": "left",
        "tempo": "3-1-X-0",
    }


@pytest.mark.broker
def test_station_from_the_config(tmp_path, broker):
    config = _config(tmp_path, broker, 'station = "press-c"\n')
    assert main(["next", "--config", config, "--load-kg", "90"]) == 0
    payload, _ = _retained(broker, "repsled/press-c/next")
    assert decode(payload).load_kg == 90.0


def test_station_is_required_without_a_config_station(capsys):
    assert main(["next", "--broker", "mqtt://127.0.0.1:1", "--athlete", "Ana"]) == 2
    assert capsys.readouterr().err == (
        "repsled next: error: --station: required (or [mqtt] station in --config FILE)\n"
    )


@pytest.mark.broker
def test_a_later_next_set_replaces_the_retained_one(broker):
    url = f"mqtt://{broker.host}:{broker.port}"
    assert main(["next", "--station", STATION, "--athlete", "Ana", "--broker", url]) == 0
    assert main(["next", "--station", STATION, "--load-kg", "102.5", "--broker", url]) == 0
    payload, _ = _retained(broker, TOPIC)
    assert decode(payload) == NextSet(None, 102.5, "both", None)


@pytest.mark.broker
def test_clear_removes_the_retained_message_and_the_station_restores_defaults(tmp_path, broker):
    url = f"mqtt://{broker.host}:{broker.port}"
    assert main(["next", "--station", STATION, "--athlete", "Ana", "--broker", url]) == 0
    # A station-side subscriber: the real tracker and store fed by what the broker delivers.
    defaults = NextSet("Solo", 80.0)
    store = NextSetStore(tmp_path / "state" / "next_set.json")
    store.path.parent.mkdir()
    tracker = start_tracker(store, defaults)
    sub = Subscriber(broker, [TOPIC])
    try:
        assert sub.wait_for(lambda ms: len(ms) >= 1)
        on_message(tracker, store, TOPIC, sub.messages[0][1].encode())
        assert tracker.pending.athlete == "Ana"
        assert main(["next", "--station", STATION, "--clear", "--broker", url]) == 0
        assert sub.wait_for(lambda ms: len(ms) >= 2)
        assert sub.messages[1][1] == ""
        on_message(tracker, store, TOPIC, sub.messages[1][1].encode())
    finally:
        sub.close()
    assert tracker.pending == defaults
    assert not store.path.exists()


@pytest.mark.broker
def test_credentials_from_the_config(tmp_path):
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not found (apt-get install mosquitto)")
    users = tmp_path / "users"
    subprocess.run([tool, "-c", "-b", str(users), "coach", "right-one"], check=True)
    (tmp_path / "right.pw").write_text("right-one\n")
    with Mosquitto(tmp_path / "broker", password_file=users) as broker:
        right = _config(
            tmp_path, broker, f'username = "coach"\npassword_file = "{tmp_path}/right.pw"\n'
        )
        assert main(["next", "--station", STATION, "--athlete", "Ana", "--config", right]) == 0


@pytest.mark.broker
def test_refused_credentials_say_so_in_one_line(tmp_path, capsys):
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not found (apt-get install mosquitto)")
    users = tmp_path / "users"
    subprocess.run([tool, "-c", "-b", str(users), "coach", "right-one"], check=True)
    (tmp_path / "wrong.pw").write_text("s3cret-wrong\n")
    with Mosquitto(tmp_path / "broker", password_file=users) as broker:
        config = _config(
            tmp_path, broker, f'username = "coach"\npassword_file = "{tmp_path}/wrong.pw"\n'
        )
        assert main(["next", "--station", STATION, "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"repsled next: error: the broker at {broker.host}:{broker.port} ")
    assert "refused the connection" in err
    assert err.count("\n") == 1
    assert "s3cret" not in err


def test_unreachable_broker_is_one_line(capsys):
    with refusing_port() as port:
        status = main(["next", "--station", STATION, "--broker", f"mqtt://127.0.0.1:{port}"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith(f"repsled next: error: cannot reach the broker at 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--tempo", "3-1-1"],
            "--tempo: tempo '3-1-1': 3 part(s), expected 4 "
            "(eccentric-bottom pause-concentric-top pause, e.g. 3-1-X-0)",
        ),
        (
            ["--athlete", "Ana/Ben"],
            "--athlete: 'Ana/Ben' has characters not allowed in a "
            "name: '/' (letters, digits, space and . ' - _ are)",
        ),
        (["--load-kg", "-20"], "--load-kg: -20 kg: must be more than 0 (the sled itself counts)"),
        (["--load-kg", "14000"], "--load-kg: 14000 kg is over the 1500 kg maximum"),
        (["--load-kg", "nan"], "--load-kg: nan is not a finite number"),
        (["--clear", "--athlete", "Ana"], "--clear: cannot be combined with --athlete"),
        (
            ["--broker", "http://127.0.0.1:1"],
            "--broker 'http://127.0.0.1:1': must start with mqtt://",
        ),
        (
            ["--broker", "mqtt://127.0.0.1:99999"],
            "--broker 'mqtt://127.0.0.1:99999': Port out of range 0-65535",
        ),
        (["--broker", "mqtt://:1883"], "--broker 'mqtt://:1883': no host"),
        ([], "no broker: give --broker mqtt://HOST:PORT or --config FILE with [mqtt] host"),
    ],
)
def test_bad_arguments_fail_before_any_connection(extra, message, capsys):
    # Validation comes first: no broker runs here, yet the error is the argument's, not the net's.
    status = main(["next", "--station", STATION, *extra])
    assert status == 2
    assert capsys.readouterr().err == f"repsled next: error: {message}\n"


def test_station_must_be_one_topic_level(capsys):
    assert main(["next", "--station", "gym/a", "--broker", "mqtt://127.0.0.1:1"]) == 2
    assert capsys.readouterr().err == (
        "repsled next: error: --station 'gym/a': must be one topic level "
        "(no '/', '+', '#' or spaces)\n"
    )


def test_config_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt]\nhots = 'x'\n", encoding="utf-8")
    assert main(["next", "--station", STATION, "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"repsled next: error: {bad}: [mqtt] hots: unknown key")
    assert err.count("\n") == 1
