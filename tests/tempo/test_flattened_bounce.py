"""A touch-and-go that the smoothed track flattens is a bounce, not a hold (docs/engine.md,
"Turning points").

The median of five and mean of three stay flat for a few samples at a quick turn, long
enough for the still test; the raw readings since the turn already show the way back.
"""

from __future__ import annotations

import random

import pytest

from tests.tempo.helpers import BOTTOM, crossing, piecewise, reps_of, run

B, L = BOTTOM.bottom_mm, BOTTOM.lockout_mm
BAND = 0.02 * BOTTOM.rom_mm
RATE = 33.0


def _touch_and_go(seed: int, corner_s: float, pause_s: float = 0.0, noise_mm: float = 2.0):
    """A 2.5 s negative into the bottom, rounded over `corner_s` either side of the touch
    (and resting `pause_s` there), then a 1.6 s concentric; readings with `noise_mm` of noise.
    Returns the samples and the true time within 2 % of the bottom."""
    v_in = (L - B) / 2.5
    v_out = (L - B) / 1.6
    t = 3.5 + 2.5
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.5, L), (t - corner_s, B + 0.5 * v_in * corner_s)]
    knots += [(t, B), (t + pause_s, B), (t + pause_s + corner_s, B + 0.5 * v_out * corner_s)]
    t += pause_s + 1.6
    knots += [(t, L), (t + 0.8, L), (t + 2.3, B), (t + 5.0, B)]
    band_s = crossing(knots, 7, B + BAND) - crossing(knots, 3, B + BAND)
    rng = random.Random(seed)
    samples = [(t_s, round(x + rng.gauss(0.0, noise_mm))) for t_s, x in piecewise(knots, RATE)]
    return samples, band_s


def test_a_flattened_touch_and_go_is_a_bounce():
    """0.11 s within 2 %: 6 of these 20 were confirmed as holds before, and lost the flag."""
    flagged = 0
    for seed in range(20):
        samples, band_s = _touch_and_go(seed, corner_s=0.03)
        assert band_s == pytest.approx(0.11, abs=0.01)
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) == 2
        flagged += "bounce" in reps[0].flags
    assert flagged == 20


def test_a_short_rest_at_the_bottom_is_no_bounce():
    """The same rep resting 0.3 s at the bottom, in 5 mm of noise: noise on the rest is no V."""
    for seed in range(40):
        samples, band_s = _touch_and_go(seed, corner_s=0.1, pause_s=0.3, noise_mm=5.0)
        assert band_s > 0.35
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) == 2
        assert "bounce" not in reps[0].flags
