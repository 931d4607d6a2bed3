"""`repsled run` end to end: fake chip -> loop -> engine -> outbox -> a real mosquitto."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.config import load
from firmware.replay import replay_payloads
from tests.mosquitto import WAIT_S, Mosquitto, Subscriber
from tests.publishing.test_store import fill, mounted_tmpfs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "traces" / "reverse_press_clean.csv"
STATION = "press-a"

pytestmark = pytest.mark.broker


def _config(tmp_path: Path, port: int) -> Path:
    text = EXAMPLE.with_suffix(".toml").read_text(encoding="utf-8")
    text += f"""
[cues]
buzzer = "none"

[mqtt]
host = "127.0.0.1"
port = {port}
station = "{STATION}"

[storage]
state_dir = "{tmp_path / "state"}"
"""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(config: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "run", "--config", str(config), *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str) -> list[str]:
    """Read stderr until a line contains `needle` (the process logs one line per event)."""
    lines: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if needle in line:
            return lines
    pytest.fail(f"process ended without logging {needle!r}: {''.join(lines)}")


def _expected_rep_keys() -> list[tuple[int, int]]:
    engine = load(EXAMPLE.with_suffix(".toml")).engine
    return [
        (p["set"], p["rep"])
        for p in replay_payloads(EXAMPLE, engine)
        if p["type"] == "rep" and "revision" not in p  # (a revised rep is no rep more)
    ]


def test_run_publishes_every_rep_and_set_then_goes_offline(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        sub = Subscriber(broker, [f"repsled/{STATION}/#"])
        try:
            proc = _run(
                _config(tmp_path, broker.port), "--sensor", f"fake:{EXAMPLE}", "--speed", "10"
            )
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            expected = _expected_rep_keys()
            rep_topic = f"repsled/{STATION}/rep"
            assert sub.wait_for(
                lambda m: len({p for t, p, _ in m if t == rep_topic}) >= len(expected)
            )
            reps = {r["id"]: r for r in sub.json(rep_topic)}
            assert sorted((r["set"], r["rep"]) for r in reps.values()) == expected
            assert all(r["station"] == STATION and r["schema"] == 1 for r in reps.values())
            set_topic = f"repsled/{STATION}/set"
            assert sub.wait_for(lambda m: any(t == set_topic for t, _, _ in m))
            assert [s["reps"] for s in sub.json(set_topic)] == [len(expected)]
            status = f"repsled/{STATION}/status"
            assert sub.wait_for(lambda m: [p for t, p, _ in m if t == status][-1:] == ["offline"])
            assert "online" in sub.payloads(status)
            # one log line per rep on stderr, journald-friendly
            assert sum(
                1 for line in err.splitlines() if line.startswith(f"INFO repsled.{STATION}: rep ")
            ) == len(expected)
        finally:
            sub.close()


def test_sigterm_stops_cleanly_with_exit_0_and_offline(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        sub = Subscriber(broker, [f"repsled/{STATION}/status"])
        try:
            proc = _run(_config(tmp_path, broker.port), "--sensor", f"fake:{EXAMPLE}")
            _wait_for_line(proc, "sensor_ok")
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=WAIT_S)
            assert proc.returncode == 0, err
            assert "SIGTERM: stopping" in err
            topic = f"repsled/{STATION}/status"
            assert sub.wait_for(lambda m: [p for t, p, _ in m if t == topic][-1:] == ["offline"])
        finally:
            sub.close()


def test_kill_9_mid_set_loses_no_rep(tmp_path: Path) -> None:
    """Reps counted while the broker is down, then kill -9: the restart delivers them all."""
    broker = Mosquitto(tmp_path / "broker")
    config = _config(tmp_path, broker.port)  # the broker is not started yet: unreachable
    proc = _run(config, "--sensor", f"fake:{EXAMPLE}", "--speed", "10", "--verbose")
    try:
        # The worker logs each message once it is committed (rep 1.3 is counted before).
        lines = _wait_for_line(proc, '/s1/r3"')
    finally:
        proc.kill()
        proc.wait(timeout=WAIT_S)
    assert "stored on disk" in lines[-1]
    counted = [line for line in lines if line.startswith(f"INFO repsled.{STATION}: rep ")]
    assert len(counted) >= 3
    with broker:
        sub = Subscriber(broker, [f"repsled/{STATION}/rep"])
        try:
            # A restart with a short session: its backlog goes out first, in order.
            restart = _run(config, "--sensor", f"fake:{EXAMPLE}", "--duration", "0.5")
            _, err = restart.communicate(timeout=60)
            assert restart.returncode == 0, err
            assert sub.wait_for(lambda m: len(m) >= 3)
            got = [json.loads(p) for _, p, _ in sub.messages]
            first = [(r["set"], r["rep"]) for r in got if "revision" not in r]
            assert first[:3] == [(1, 1), (1, 2), (1, 3)]
            assert len({(r["id"], r.get("revision")) for r in got}) == len(got)
        finally:
            sub.close()


@pytest.mark.parametrize("fault", ["garbage_outbox", "state_dir_not_a_directory", "full_disk"])
def test_a_storage_fault_does_not_stop_the_station(tmp_path: Path, fault: str) -> None:
    """Counting, cues and publishing go on; the fault is said in one line; nothing deleted."""
    with contextlib.ExitStack() as stack:
        broker = stack.enter_context(Mosquitto(tmp_path / "broker"))
        config = _config(tmp_path, broker.port)
        state = tmp_path / "state"
        garbage = b"\x00not an outbox\xff" * 64
        if fault == "garbage_outbox":
            state.mkdir()
            (state / "outbox.sqlite3").write_bytes(garbage)
        elif fault == "full_disk":
            stack.enter_context(mounted_tmpfs(state, "size=64k"))
            fill(state)
        else:
            state.write_text("a file where the state directory should be\n")
        sub = Subscriber(broker, [f"repsled/{STATION}/rep", f"repsled/{STATION}/health"])
        try:
            proc = _run(config, "--sensor", f"fake:{EXAMPLE}", "--speed", "10")
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert "Traceback" not in err
            expected = _expected_rep_keys()
            rep_topic = f"repsled/{STATION}/rep"
            assert sub.wait_for(
                lambda m: len({p for t, p, _ in m if t == rep_topic}) >= len(expected)
            )
            assert sorted({(r["set"], r["rep"]) for r in sub.json(rep_topic)}) == expected
        finally:
            sub.close()
    errors = [line for line in err.splitlines() if line.startswith("ERROR")]
    if fault == "garbage_outbox":
        [aside] = list(state.glob("outbox.sqlite3.damaged-*"))
        assert aside.read_bytes() == garbage
        assert any("moved aside" in line for line in errors), err
        assert (state / "outbox.sqlite3").exists()  # a fresh one, used from the start
    elif fault == "full_disk":
        assert any("the disk is full" in line for line in errors), err
        health = sub.json(f"repsled/{STATION}/health")
        assert health and health[-1]["storage"] == "memory"
        assert "the disk is full" in health[-1]["storage_problem"]
    else:
        assert state.read_text().startswith("a file where")
        assert any("[storage] state_dir: cannot create" in line for line in errors), err
        health = sub.json(f"repsled/{STATION}/health")
        assert health and health[-1]["storage"] == "memory"
        assert "cannot create" in health[-1]["storage_problem"]
