"""Readings held after the gate's track went stale: the freshest news of the sled."""

from __future__ import annotations

import pytest

from sensor.synthetic import generate
from tempo.engine import MIN_VALID_MM, OUT_OF_RANGE_MM
from tempo.filters import RobustFilter
from tests.tempo.helpers import as_settings, reps_of, run

# Accuracy seed 1051507 (30 Hz, a reverse press, ROM 272 mm): the sensor stuck on one
# reading for 0.8 s over the end of a lowering (12.7-13.5 s); then six readings of the
# bottom turn and the way up were held, off the track as it was before the sensor stuck,
# and the seventh (41 mm out at 13.70 s) landed inside that track's gate: the six were
# thrown away, the next rep started 0.14 s late and 40 mm high, a full rep read partial.
SEED = 1051507
UNSTUCK_S = 13.5  # the first reading after the stuck run
SEVENTH_S = 13.7


def _excursions(t_to: float) -> tuple[list[tuple[float, float]], float]:
    """The session's valid readings up to `t_to` as excursions from the bottom (mm), and
    the range of motion."""
    trace = generate(SEED)
    s = trace.settings
    sign = 1.0 if s.lockout_mm > s.bottom_mm else -1.0
    out = [
        (t, sign * (d - s.bottom_mm))
        for t, d in trace.samples
        if t <= t_to and d is not None and MIN_VALID_MM <= d < OUT_OF_RANGE_MM
    ]
    return out, abs(s.lockout_mm - s.bottom_mm)


def test_the_held_readings_of_a_turn_after_a_stuck_sensor_go_back_in() -> None:
    readings, rom = _excursions(14.2)
    f = RobustFilter(gate_base_mm=max(40.0, 0.12 * rom), beyond_mm=-0.2 * rom)
    for t, x in readings:
        f.push(t, x)
    kept = [(t, x) for t, x in f.smoother.accepted if UNSTUCK_S <= t < SEVENTH_S]
    # the bottom turn (5-8 mm out) and the way up (14-45 mm) are the sled's own readings
    assert [x for _, x in kept] == [8.0, 6.0, 5.0, 14.0, 35.0, 45.0]


def test_the_rep_after_a_stuck_sensor_starts_at_the_bottom_and_is_full() -> None:
    trace = generate(SEED)
    reps = reps_of(run(as_settings(trace.settings), trace.samples))
    assert len(reps) == len(trace.reps)
    truth = next(r for r in trace.reps if (r.set, r.rep) == (1, 2))
    rep = next(r for r in reps if (r.set, r.rep) == (1, 2))
    assert rep.t_start == pytest.approx(truth.t_start, abs=0.08)  # 0.06 s late; 0.14 before
    assert rep.rom_fraction == pytest.approx(truth.rom_fraction, abs=0.03)  # 0.70 for 0.91
    assert rep.lockout == truth.lockout == "full"
