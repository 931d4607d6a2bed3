"""A whole station on the fake chip: the same reps as replay, cues heard, button respected."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.config import load
from firmware.cues import FLAG_CUES, PATTERNS, build_cues
from firmware.replay import replay_payloads
from firmware.sensors import open_source
from firmware.station import Station, new_session_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "traces" / "reverse_press_clean.csv"


def _station(trace: Path, *, pin_factory: MockFactory | None = None) -> Station:
    cfg = load(trace.with_suffix(".toml"))
    clock = FakeClock()
    source = open_source(
        f"fake:{trace}",
        bus=1,
        address=0x29,
        timing_budget_ms=cfg.sensor["timing_budget_ms"],
        io_timeout_s=cfg.sensor["io_timeout_s"],
        clock=clock,
    )
    cues = build_cues(cfg.cues, pin_factory=pin_factory) if pin_factory else None
    return Station(cfg, clock=clock, source=source, cues=cues, session="S1")


def test_station_counts_what_replay_counts() -> None:
    station = _station(EXAMPLE)
    stats = station.run()
    assert stats.ended_by == "end_of_trace"
    cfg = load(EXAMPLE.with_suffix(".toml"))
    replayed = [p for p in replay_payloads(EXAMPLE, cfg.engine) if p["type"] == "rep"]
    live = station.reps
    assert [(p["set"], p["rep"]) for p in live] == [(p["set"], p["rep"]) for p in replayed]
    # The chip samples the 50 Hz trace at its own 30 Hz: phase starts and ends agree within
    # two chip periods; the top (end of a slow approach to lockout) within 0.15 s.
    period_s = cfg.sensor["timing_budget_ms"] / 1000 * 1.05
    tolerance_s = {
        "t_start": 2 * period_s,
        "t_top": 0.15,
        "t_ecc": 2 * period_s,
        "t_end": 2 * period_s,
    }
    for got, want in zip(live, replayed, strict=True):
        for key, tol in tolerance_s.items():
            assert abs(got[key] - want[key]) <= tol, (key, got, want)
        assert got["lockout"] == want["lockout"]
        assert got["id"] == f"{station.station}/S1/s{got['set']}/r{got['rep']}"
        assert got["leg"] == "both"


def _expected_cues(reps: list[dict], velocity_loss_pct: float = 20.0) -> list[str]:
    """What docs/cues.md promises for one set of reps: warnings replace the rep beep."""
    names: list[str] = []
    best, fired = 0.0, False
    for rep in reps:
        warnings = [name for flag, name in FLAG_CUES if flag in rep["flags"]]
        names += warnings or ["rep"]
        v = rep["mean_concentric_velocity_m_s"]
        best = max(best, v)
        if not fired and (best - v) / best * 100 >= velocity_loss_pct:
            fired = True
            names.append("velocity_loss")
    return [*names, "set_done"]


def test_station_buzzes_the_cue_of_every_event() -> None:
    factory = MockFactory()
    station = _station(EXAMPLE, pin_factory=factory)
    station.run()
    for _ in range(200):  # let the last pattern play out
        station.clock.advance(0.05)
        station.cues.update(station.clock.monotonic())
    expected = _expected_cues(station.reps)
    assert "rep" in expected
    beeps_per_cue = {
        name: sum(1 for sound, _ in steps if sound) for name, steps in PATTERNS.items()
    }
    ons = [s.state for s in factory.pin(17).states if s.state]
    assert len(ons) == sum(beeps_per_cue[name] for name in expected)
    assert factory.pin(17).state is False


def test_session_ids_are_utc_start_times() -> None:
    assert new_session_id(0) == "19700101T000000Z"


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_bad_speed_is_a_one_line_error(speed: float, capsys) -> None:
    from firmware.cli import main

    assert main(["run", "--sensor", f"fake:{EXAMPLE}", "--speed", str(speed)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"repsled run: error: --speed: must be positive, not {speed:g}"
    ]
