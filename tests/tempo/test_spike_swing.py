"""A reading far off the gate's track swings its speed: the sled's next reading says
whether the track goes on with that reading or without it."""

from __future__ import annotations

import random
from dataclasses import asdict

from sensor.synthetic import Plan, generate
from tempo import EngineSettings
from tempo.filters import RobustFilter
from tests.tempo.helpers import reps_of, run

RATE_HZ = 50.0
SPEED_MM_S = 40.0  # a 10 s negative over 400 mm
NOISE_MM = 5.0
GATE_MM = 48.0  # 12 % of a 400 mm range
LOW_MM = 3.0 * NOISE_MM  # three readings this far low ...
SPIKE_MM = 60.0  # ... then a spike this far from the sled, inside the gate of the track
SECOND_MM = 100.0  # ... and three readings on, one this far, on the way the first swung it


def _lowering(seed: int) -> list[tuple[float, float]]:
    """Accuracy seed 3002907 in short: three seconds of a sled lowering at 40 mm/s in
    5 mm of noise, a second into it three readings 15 mm low, then a spike 60 mm low and,
    three readings on, another 100 mm low."""
    rng = random.Random(seed)
    readings = []
    for i in range(int(3.0 * RATE_HZ)):
        t = i / RATE_HZ
        x = 300.0 - SPEED_MM_S * t + rng.gauss(0.0, NOISE_MM)
        if 47 <= i < 50:
            x -= LOW_MM
        if i == 50:
            x = 300.0 - SPEED_MM_S * t - SPIKE_MM
        if i == 53:
            x -= SECOND_MM
        readings.append((t, x))
    return readings


def _longest_hold_s(readings: list[tuple[float, float]]) -> float:
    """The longest the filter went without a smoothed position newer than before (its
    readings held back as off the track), less the smoother's own lag."""
    f = RobustFilter(gate_base_mm=GATE_MM)
    newest = 0.0
    longest = 0.0
    for t, x in readings:
        got = f.push(t, float(round(x)))
        for t_out, _ in [*f.backlog, *([got] if got is not None else [])]:
            newest = max(newest, t_out)
        f.backlog.clear()
        longest = max(longest, t - newest)
    return longest


def test_a_spike_that_swung_the_track_does_not_hold_the_sleds_readings() -> None:
    # The spike swung the tracker's speed from the sled's -40 mm/s to -600 or more; the
    # second spike landed on the swung track, and the sled's readings were held as off
    # it for 0.4 s (23 of these 40 seeds held them 0.22-0.48 s; seed 2, twenty readings).
    for seed in range(40):
        assert _longest_hold_s(_lowering(seed)) < 0.25, seed


def test_the_slow_negatives_the_spike_swung_the_track_in_count_exactly() -> None:
    # 50 Hz, lowerings of 10-15 s: the sled's next eleven readings were held, a burst of
    # five came in as the sled, and a rep ended halfway down: one rep too many.
    trace = generate(3002907, plan=Plan(eccentric_s=(10.0, 15.0)))
    reps = reps_of(run(EngineSettings(**asdict(trace.settings)), trace.samples))
    assert len(reps) == len(trace.reps) == 12
