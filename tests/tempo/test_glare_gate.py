"""The gate's noise estimate: robust to bursts and stuck values, quick to see glare."""

from __future__ import annotations

import random

from tempo.filters import RobustFilter
from tempo.settings import EngineSettings
from tests.tempo.helpers import reps_of, run


def _feed(f: RobustFilter, t0: float, values: list[float], dt: float = 0.02) -> float:
    t = t0
    for x in values:
        f.push(t, x)
        t += dt
    return t


def test_a_burst_of_wrong_readings_cannot_widen_the_gate() -> None:
    rng = random.Random(1)
    f = RobustFilter(gate_base_mm=40.0)
    t = _feed(f, 0.0, [300.0 + rng.gauss(0.0, 2.0) for _ in range(50)])
    before = f.gate_noise_mm
    # six consistent readings 200 mm off: only their edges make large second differences
    t = _feed(f, t, [500.0 + rng.gauss(0.0, 2.0) for _ in range(6)])
    assert f.gate_noise_mm < 2.0 * before + 1.0
    _feed(f, t, [300.0 + rng.gauss(0.0, 2.0) for _ in range(20)])
    assert f.gate_noise_mm < 2.0 * before + 1.0


def test_glare_raises_the_gate_noise_even_when_readings_are_held_back() -> None:
    rng = random.Random(2)
    f = RobustFilter(gate_base_mm=40.0)
    t = _feed(f, 0.0, [300.0 + rng.gauss(0.0, 2.0) for _ in range(50)])
    _feed(f, t, [300.0 + rng.gauss(0.0, 40.0) for _ in range(20)])
    # many of these readings lie beyond the 40 mm gate, yet the estimate sees them all
    assert 25.0 < f.gate_noise_mm < 60.0


def test_a_stuck_value_does_not_talk_the_gate_noise_down() -> None:
    rng = random.Random(3)
    f = RobustFilter(gate_base_mm=40.0)
    t = _feed(f, 0.0, [300.0 + rng.gauss(0.0, 20.0) for _ in range(40)])
    t = _feed(f, t, [175.0])
    before = f.gate_noise_mm
    _feed(f, t, [175.0] * 80)  # a stuck sensor repeating it, well past its first second
    assert f.gate_noise_mm == before > 10.0


def _glare_burst_excursion(seed: int) -> float:
    """Largest smoothed excursion from a still sled in glare hit by a burst of five."""
    rng = random.Random(seed)
    f = RobustFilter(gate_base_mm=45.0)
    xs = [300.0 + rng.gauss(0.0, 2.0) for _ in range(50)]
    xs += [300.0 + rng.gauss(0.0, 40.0) for _ in range(60)]
    off = rng.choice((-1.0, 1.0)) * rng.uniform(150.0, 230.0)
    xs += [300.0 + off + rng.gauss(0.0, 40.0) for _ in range(5)]
    xs += [300.0 + rng.gauss(0.0, 40.0) for _ in range(40)]
    worst = 0.0
    for i, x in enumerate(xs):
        got = f.push(0.02 * i, x)
        outs = [*f.backlog, got] if got is not None else list(f.backlog)
        f.backlog.clear()
        for _, y in outs:
            worst = max(worst, abs(y - 300.0))
    return worst


def test_a_burst_in_glare_does_not_drag_the_track() -> None:
    # A still sled with 40 mm of noise: the smoothed track wanders a few tens of
    # millimetres, and a burst of five wrong readings 150-230 mm off (4-6 deviations, so
    # hard to tell from the noise reading by reading) must rarely pull it anywhere near a
    # rep (30 % of a 375 mm range is 112 mm). With a gate noise estimate that a burst
    # could inflate, or tracker gains that let it swing, this was 7-11 of 40.
    worst = [_glare_burst_excursion(seed) for seed in range(40)]
    assert sum(w > 100.0 for w in worst) <= 3


def _bursts_at_the_start(seed: int) -> list[float]:
    """A still sled read at 30 Hz whose stream opens with two bursts of four readings
    200 mm off, three good readings before each (accuracy seed 999093)."""
    rng = random.Random(seed)
    still = [500.0 + rng.gauss(0.0, 3.0) for _ in range(200)]
    burst = [290.0 + rng.gauss(0.0, 5.0) for _ in range(8)]
    return still[:3] + burst[:4] + still[3:6] + burst[4:] + still[6:]


def test_bursts_at_the_start_of_a_stream_cannot_widen_the_gate() -> None:
    # With only a few readings yet, each burst's edges are half of the second differences
    # and their median is one of them: the gate opened for the second burst, the track
    # went 200 mm down and back, and a rep of half the range was counted.
    for seed in range(20):
        f = RobustFilter(gate_base_mm=48.0)
        worst = 0.0
        for i, x in enumerate(_bursts_at_the_start(seed)):
            got = f.push(i / 30.0, x)
            outs = [*f.backlog, got] if got is not None else list(f.backlog)
            f.backlog.clear()
            for _, y in outs:
                worst = max(worst, abs(y - 500.0))
        assert worst < 10.0, seed


def test_bursts_at_the_start_of_a_session_make_no_rep() -> None:
    settings = EngineSettings(bottom_mm=99, lockout_mm=498, start="top")
    samples = [(i / 30.0, round(x)) for i, x in enumerate(_bursts_at_the_start(7))]
    assert reps_of(run(settings, samples)) == []
