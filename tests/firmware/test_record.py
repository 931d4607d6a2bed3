"""`repsled record`: a fake sensor recorded through the whole stack gives back its trace."""

from __future__ import annotations

import io
import math
import signal
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.clock import FakeClock
from firmware.commands.record import LiveLine
from sensor.trace import TraceWriter, read_trace
from tempo.events import Rep
from tests.firmware.test_loop import REP_TIMES, lags_as_read, replay_events, set_trace

SPEED = 50


def ramp_trace(path: Path, seconds: float = 3.0, *, errors_at: tuple[int, ...] = ()) -> Path:
    """Distances that change every sample, so a copy shows where each sample came from."""
    with TraceWriter(path, {"sensor": "test"}) as w:
        for i in range(round(seconds / 0.033)):
            w.write(i * 0.033, None if i in errors_at else 150 + 3 * i)
    return path


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake sensor plays on a FakeClock: --speed is parsed, nothing waits, no jitter."""
    import firmware.station.sensors

    monkeypatch.setattr(
        firmware.station.sensors, "make_clock", lambda spec, speed=1.0: FakeClock(500.0)
    )


def test_record_copies_a_fake_trace_with_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_time: None
) -> None:
    source = ramp_trace(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    code = main(["record", str(out), "--sensor", f"fake:{source}", "--speed", str(SPEED)])
    _, err = capsys.readouterr()
    assert code == 0, err
    reader = read_trace(out)
    meta = reader.metadata
    assert meta["sensor"] == "fake:in.csv"
    assert meta["timing_budget_ms"] == "33"
    assert meta["software"].startswith("repsled ")
    assert meta["speed"] == str(SPEED)
    assert len(meta["start_time"]) == 20
    assert meta["start_time"].endswith("Z")
    recorded = list(reader)
    original = list(read_trace(source))
    # Each recorded reading is the trace's value at its recorded time: sample and hold at
    # the chip's measurement times (every 33.6 ms), so within one sample period.
    assert len(recorded) == pytest.approx(len(original) * 33 / 33.6, abs=2)
    for sample in recorded:
        assert sample.distance_mm is not None
        k = (sample.distance_mm - 150) // 3
        assert 0 <= sample.t_s - original[k].t_s < 0.033 + 1e-4
    assert "end of the fake trace" in err
    assert f"wrote {len(recorded)} samples" in err


def replayed_reps(path: Path) -> list[Rep]:
    return [e for e in replay_events(path) if isinstance(e, Rep)]


def assert_reps_lag(recorded: list[Rep], original: list[Rep]) -> None:
    """The copy lags the trace as the chip reads it (tests/firmware/test_loop.py)."""
    assert len(recorded) == len(original)
    for a, b in zip(recorded, original, strict=True):
        lags = [round(getattr(a, n) - getattr(b, n), 4) for n in REP_TIMES]
        assert lags_as_read(a, b), lags


def test_record_then_replay_gives_the_reps_of_the_input(tmp_path: Path, fake_time: None) -> None:
    """Deterministic: the fake plays on a FakeClock, so only the chip's sampling differs."""
    source = set_trace(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    assert main(["record", str(out), "--sensor", f"fake:{source}", "--speed", str(SPEED)]) == 0
    original = replayed_reps(source)
    assert len(original) == 5
    # The chip samples the trace at its own measurement times: late by up to one period.
    assert_reps_lag(replayed_reps(out), original)


def test_record_at_speed_50_in_real_time(tmp_path: Path) -> None:
    """ScaledClock: 45 s of trace in about a second of real time.

    Scheduling delays are magnified 50 times (1 ms late is 50 ms of trace time), so on a real
    clock only the count is compared; the test above checks times to one sample period with
    the same command on a fake clock.
    """
    source = set_trace(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    assert main(["record", str(out), "--sensor", f"fake:{source}", "--speed", str(SPEED)]) == 0
    assert len(replayed_reps(out)) == len(replayed_reps(source)) == 5


def test_duration_stops_the_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_time: None
) -> None:
    """On the fake clock: --duration is trace time, whatever the machine's load."""
    source = ramp_trace(tmp_path / "in.csv", seconds=20)
    out = tmp_path / "out.csv"
    args = ["record", str(out), "--sensor", f"fake:{source}", "--speed", "40", "--duration", "2"]
    assert main(args) == 0
    _, err = capsys.readouterr()
    samples = list(read_trace(out))
    # Two seconds of (trace) time from the first reading to the last; a read that was under
    # way when time ran out completes (one measurement period, 33.6 ms, at most).
    assert 1.8 < samples[-1].t_s - samples[0].t_s < 2.0 + 0.034
    assert "duration reached" in err


def test_sigterm_ends_cleanly_keeping_every_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live line's sample hook raises SIGTERM in-process at the 20th sample."""
    source = ramp_trace(tmp_path / "in.csv", seconds=20)
    out = tmp_path / "out.csv"
    seen = 0
    original = LiveLine.sample

    def sample(self: LiveLine, t_s: float, distance_mm: int | None) -> None:
        nonlocal seen
        seen += 1
        if seen == 20:
            signal.raise_signal(signal.SIGTERM)
        original(self, t_s, distance_mm)

    monkeypatch.setattr(LiveLine, "sample", sample)
    previous = signal.getsignal(signal.SIGTERM)
    assert main(["record", str(out), "--sensor", f"fake:{source}", "--speed", "20"]) == 0
    assert signal.getsignal(signal.SIGTERM) == previous  # handler restored
    assert len(list(read_trace(out))) == 20  # every sample up to the signal, none lost
    assert "stopped" in capsys.readouterr().err


def test_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ramp_trace(tmp_path / "in.csv", seconds=0.5)
    out = tmp_path / "out.csv"
    out.write_text("precious\n", encoding="utf-8")
    assert main(["record", str(out), "--sensor", f"fake:{source}", "--speed", "20"]) == 2
    assert "already exists (pass --force to overwrite)" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert main(["record", str(out), "--sensor", f"fake:{source}", "--speed", "20", "--force"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sensor", "sonar"], "unknown sensor"),
        (["--sensor", "fake:missing.csv"], "no such trace file"),
        (["--sensor", "vl53l0x", "--speed", "3"], "only a fake sensor"),
        (["--duration", "0", "--sensor", "fake:IN"], "--duration: must be positive"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    source = ramp_trace(tmp_path / "in.csv", seconds=0.5)
    argv = [a.replace("IN", str(source)) for a in argv]
    assert main(["record", str(tmp_path / "out.csv"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out.csv").exists()


def test_missing_bus_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("version = 1\n[sensor]\nbus = 97\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["record", str(out), "--config", str(cfg), "--sensor", "vl53l0x"]) == 2
    err = capsys.readouterr().err
    assert "no_bus" in err
    assert "I2C bus 97" in err
    assert not out.exists()


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_line_redraws_on_a_terminal_and_logs_lines_otherwise() -> None:
    tty = FakeTTY()
    live = LiveLine(tty, "recording x.csv")
    live.every_s = 0.0
    live.sample(1.0, 150)
    live.sample(2.0, None)
    live.message("sensor fault: nack")
    live.end()
    text = tty.getvalue()
    assert text.startswith("\r\x1b[K")
    assert "recording x.csv: 1 samples, 1.0 Hz, 150 mm, 0 read errors, 1.0 s" in text
    assert "\nsensor fault: nack\n" in text

    log = io.StringIO()
    live = LiveLine(log, "recording x.csv")
    assert live.every_s == 5.0
    live.every_s = 0.0
    live.sample(1.0, 8190)
    assert (
        log.getvalue() == "recording x.csv: 1 samples, 1.0 Hz, out of range, 0 read errors, 1.0 s\n"
    )
    assert math.isclose(live.t_s, 1.0)
