"""The confirmation delay: a stop right before a gap is confirmed during the gap."""

from __future__ import annotations

from dataclasses import replace

from tempo.filters import RobustFilter
from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run

# A rep that ends still at the bottom at 4.0 s; the sensor then sends nothing valid from
# 4.17 s to 5.17 s (read errors), and the sled stays where it is.
KNOTS = [(0.0, 150), (1.0, 150), (1.8, 490), (2.4, 490), (4.0, 150), (7.0, 150)]


def _with_gap(samples, t0: float, t1: float):
    return [(t, None if t0 <= t < t1 else d) for t, d in samples]


def test_stop_before_a_gap_is_confirmed_during_the_gap() -> None:
    samples = _with_gap(piecewise(KNOTS), 4.17, 5.17)
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1
    rep = reps[0]
    # Confirmed once the gap is known, not only when the readings come back.
    assert 4.3 < rep.t_confirmed < 5.17
    assert abs(rep.t_end - 4.0 + 0.02 * 370 / 212.5) < 0.06


def test_early_flush_changes_only_when_a_rep_is_confirmed() -> None:
    samples = _with_gap(piecewise(KNOTS), 4.17, 5.17)
    # The same readings without the missing samples: the engine learns of the gap only
    # when the next reading arrives, as before.
    late = [s for s in samples if s[1] is not None]
    early_reps = reps_of(run(BOTTOM, samples))
    late_reps = reps_of(run(BOTTOM, late))
    assert len(early_reps) == len(late_reps) == 1
    a, b = early_reps[0], late_reps[0]
    assert a.t_confirmed < b.t_confirmed
    assert b.t_confirmed >= 5.17
    assert replace(a, t_confirmed=0.0) == replace(b, t_confirmed=0.0)


def test_idle_flush_waits_while_readings_are_held_back() -> None:
    f = RobustFilter(gate_base_mm=40.0)
    t = 0.0
    for _ in range(20):
        f.push(t, 100.0)
        t += 0.02
    assert f.idle(t) == []  # no gap yet
    f.push(t, 900.0)  # a wrong reading, held back by the gate
    assert f.idle(t + 0.5) == []  # it may still be taken back in
    g = RobustFilter(gate_base_mm=40.0)
    for i in range(20):
        g.push(i * 0.02, 100.0 + (i % 2))
    assert len(g.idle(0.38 + 0.3)) == 3  # the three outputs still owed
    assert g.idle(0.38 + 0.4) == []
