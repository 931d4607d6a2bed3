"""`repsled calibrate`: guided measurement, refusals, and a config rewrite that keeps comments."""

from __future__ import annotations

import io
import random
import sys
import tomllib
from pathlib import Path

import pytest

from firmware import config as config_mod
from firmware.clock import FakeClock
from firmware.commands import calibrate
from sensor.source import SensorError
from sensor.trace import TraceWriter

PERIOD_S = 0.033


class HoldSource:
    """A sensor whose sled sits where the test puts it: `position_mm` plus seeded noise."""

    def __init__(self, clock: FakeClock, noise_mm: float = 1.5, fail_every: int = 0) -> None:
        self.clock = clock
        self.position_mm = 0
        self.noise_mm = noise_mm
        self.fail_every = fail_every
        self.reads = 0
        self.rng = random.Random(3)

    def start(self) -> None:
        pass

    def read_mm(self) -> int:
        self.clock.advance(0.002)
        self.reads += 1
        if self.fail_every and self.reads % self.fail_every == 0:
            raise SensorError("nack", "test")
        return round(self.position_mm + self.rng.gauss(0, self.noise_mm))

    def close(self) -> None:
        pass


def asker(source: HoldSource, positions: list[int | str]) -> tuple[list[str], object]:
    """Answers each prompt by moving the sled to the next position (or typing a reply)."""
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        item = positions.pop(0)
        if isinstance(item, str):
            return item
        source.position_mm = item
        return ""

    return prompts, ask


def test_guided_measures_three_positions() -> None:
    clock = FakeClock()
    source = HoldSource(clock)
    prompts, ask = asker(source, [152, 518, 160])
    out = io.StringIO()
    values = calibrate.guided(source, clock, period_s=PERIOD_S, ask=ask, out=out)
    assert values == {
        "bottom": pytest.approx(152, abs=1),
        "lockout": pytest.approx(518, abs=1),
        "park": pytest.approx(160, abs=1),
    }
    assert len(prompts) == 3
    text = out.getvalue()
    assert "Step 1 of 3: Bring the sled to the bottom of a full rep, knees bent" in text
    assert "Step 2 of 3: Extend your legs fully" in text
    assert "Step 3 of 3: Let the sled rest where it parks" in text
    assert clock.monotonic() == pytest.approx(3 * calibrate.HOLD_S, abs=0.1)


def test_unstable_hold_is_measured_again_then_refused() -> None:
    clock = FakeClock()
    source = HoldSource(clock, noise_mm=40)
    _, ask = asker(source, [150, 150, 150])
    out = io.StringIO()
    with pytest.raises(calibrate.CalibrationError, match=r"bottom: unstable: .* at most 15 mm"):
        calibrate.guided(source, clock, period_s=PERIOD_S, ask=ask, out=out)
    assert out.getvalue().count("Try again.") == 2


def test_too_many_failed_reads_refused() -> None:
    clock = FakeClock()
    source = HoldSource(clock, fail_every=3)  # a third of the reads fail
    with pytest.raises(calibrate.CalibrationError, match="readings failed"):
        calibrate.measure(source, clock, period_s=PERIOD_S)


def test_quit() -> None:
    clock = FakeClock()
    source = HoldSource(clock)
    _, ask = asker(source, [150, "q"])
    with pytest.raises(calibrate.CalibrationError, match="quit"):
        calibrate.guided(source, clock, period_s=PERIOD_S, ask=ask, out=io.StringIO())


def test_start_side_follows_the_parking_position() -> None:
    engine = config_mod.load(None).engine
    assert calibrate.sled_values({"bottom": 150.4, "lockout": 520, "park": 170}, engine) == {
        "bottom_mm": 150,
        "lockout_mm": 520,
        "start": "bottom",
    }
    # A sensor facing the other way, parked on the catches near lockout.
    values = calibrate.sled_values({"bottom": 600, "lockout": 210, "park": 230}, engine)
    assert values == {"bottom_mm": 600, "lockout_mm": 210, "start": "top"}


def test_range_of_motion_under_100_mm_is_refused() -> None:
    from tempo.settings import SettingsError

    engine = config_mod.load(None).engine
    with pytest.raises(SettingsError, match="under the minimum of 100 mm"):
        calibrate.sled_values({"bottom": 150, "lockout": 200, "park": 150}, engine)


USER_CONFIG = """\
# my gym's sled
version = 1

[sled]
bottom_mm = 100  # old value
start = "top"

[tempo]
target_eccentric_s = 4.0  # slow lowering this block

[mqtt]
host = "broker.local"
"""


def test_write_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "repsled.toml"
    path.write_text(USER_CONFIG, encoding="utf-8")
    path.chmod(0o640)
    calibrate.write_sled(path, {"bottom_mm": 152, "lockout_mm": 518, "start": "bottom"})
    text = path.read_text(encoding="utf-8")
    assert "# my gym's sled" in text
    assert "target_eccentric_s = 4.0  # slow lowering this block" in text
    assert 'host = "broker.local"' in text
    assert "bottom_mm = 152" in text
    data = tomllib.loads(text)
    assert data["sled"] == {"bottom_mm": 152, "start": "bottom", "lockout_mm": 518}
    assert data["tempo"] == {"target_eccentric_s": 4.0}
    assert path.stat().st_mode & 0o777 == 0o640
    assert not list(tmp_path.glob("*.tmp"))
    cfg = config_mod.load(path)
    assert (cfg.engine.bottom_mm, cfg.engine.lockout_mm, cfg.engine.start) == (152, 518, "bottom")


def test_write_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    calibrate.write_sled(path, {"bottom_mm": 152, "lockout_mm": 518, "start": "bottom"})
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data == {"version": 1, "sled": {"bottom_mm": 152, "lockout_mm": 518, "start": "bottom"}}


def test_write_refuses_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("version = = 1\n", encoding="utf-8")
    with pytest.raises(config_mod.ConfigError, match=r"bad\.toml: not valid TOML"):
        calibrate.write_sled(path, {"bottom_mm": 152})
    assert path.read_text(encoding="utf-8") == "version = = 1\n"


# -- through the CLI, the fake chip and the real driver ---------------------------------------


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake sensor plays on a FakeClock: each 3 s hold takes no real time."""
    import firmware.station.sensors

    monkeypatch.setattr(
        firmware.station.sensors, "make_clock", lambda spec, speed=1.0: FakeClock(100.0)
    )


def holds_trace(path: Path, positions: tuple[int, ...], hold_s: float = 3.0) -> Path:
    """The sled held at each position in turn for `hold_s`, with sensor noise."""
    rng = random.Random(5)
    with TraceWriter(path, {"sensor": "synthetic"}) as w:
        for i in range(round(len(positions) * hold_s / PERIOD_S) + 30):
            t_s = i * PERIOD_S
            where = positions[min(int(t_s / hold_s), len(positions) - 1)]
            w.write(t_s, round(where + rng.gauss(0, 1.5)))
    return path


def test_cli_calibrates_from_a_fake_sensor_and_writes_the_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_time: None,
) -> None:
    from firmware.cli import main

    trace = holds_trace(tmp_path / "holds.csv", (152, 518, 160))
    cfg = tmp_path / "repsled.toml"
    cfg.write_text(USER_CONFIG, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n\n"))
    code = main(["calibrate", "--config", str(cfg), "--sensor", f"fake:{trace}"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "bottom: 152 mm" in out
    assert "lockout: 518 mm" in out
    assert "park: 160 mm" in out
    assert f'wrote [sled] bottom_mm = 152, lockout_mm = 518, start = "bottom" to {cfg}' in out
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data["sled"] == {"bottom_mm": 152, "start": "bottom", "lockout_mm": 518}
    assert "# my gym's sled" in cfg.read_text(encoding="utf-8")


def test_cli_refuses_a_tiny_range_of_motion_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_time: None,
) -> None:
    from firmware.cli import main

    trace = holds_trace(tmp_path / "holds.csv", (152, 200, 150))
    cfg = tmp_path / "repsled.toml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n\n"))
    assert main(["calibrate", "--config", str(cfg), "--sensor", f"fake:{trace}"]) == 1
    err = capsys.readouterr().err
    assert "refused: bottom 152 mm, lockout 200 mm" in err
    assert "under the minimum of 100 mm; nothing written" in err
    assert not cfg.exists()


def test_cli_without_input_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_time: None,
) -> None:
    from firmware.cli import main

    trace = holds_trace(tmp_path / "holds.csv", (152, 518, 150))
    cfg = tmp_path / "repsled.toml"
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))  # input ends after the first step
    assert main(["calibrate", "--config", str(cfg), "--sensor", f"fake:{trace}"]) == 1
    assert "no input; nothing written" in capsys.readouterr().err
    assert not cfg.exists()
