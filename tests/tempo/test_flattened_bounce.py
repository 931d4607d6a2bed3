"""A touch-and-go that the smoothed track flattens is a bounce, not a hold (docs/engine.md,
"Turning points").

The median of five and mean of three stay flat for a few samples at a quick turn, long
enough for the still test; the raw readings since the turn already show the way back.
"""

from __future__ import annotations

import random
from dataclasses import asdict

import pytest

from sensor.synthetic import generate
from tempo import EngineSettings
from tempo.events import latest_reps
from tests.tempo.helpers import BOTTOM, TOP, crossing, piecewise, reps_of, run

B, L = BOTTOM.bottom_mm, BOTTOM.lockout_mm
BAND = 0.02 * BOTTOM.rom_mm
RATE = 33.0


def _touch_and_go(
    seed: int, corner_s: float, pause_s: float = 0.0, noise_mm: float = 2.0, rate: float = RATE
):
    """A 2.5 s negative into the bottom (touched at 6 s), rounded over `corner_s` either
    side of the touch (and resting `pause_s` there), then a 1.6 s concentric; readings at
    `rate` with `noise_mm` of noise. Returns the samples and the true time within 2 % of
    the bottom."""
    v_in = (L - B) / 2.5
    v_out = (L - B) / 1.6
    t = 3.5 + 2.5
    knots = [(0.0, B), (2.0, B), (3.0, L), (3.5, L), (t - corner_s, B + 0.5 * v_in * corner_s)]
    knots += [(t, B), (t + pause_s, B), (t + pause_s + corner_s, B + 0.5 * v_out * corner_s)]
    t += pause_s + 1.6
    knots += [(t, L), (t + 0.8, L), (t + 2.3, B), (t + 5.0, B)]
    band_s = crossing(knots, 7, B + BAND) - crossing(knots, 3, B + BAND)
    rng = random.Random(seed)
    samples = [(t_s, round(x + rng.gauss(0.0, noise_mm))) for t_s, x in piecewise(knots, rate)]
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


def _fast_bounce_reading_missing_before_the_apex(seed: int) -> list[tuple[float, int | None]]:
    """Accuracy seed 1002281 in short: a sled lowered 345 mm in 0.4 s onto a bounce
    5 mm above the bottom and driven back up in 0.45 s, read at 30 Hz in 3 mm of noise,
    the reading just before the apex missing."""
    rng = random.Random(seed)
    knots = [(0.0, B), (1.0, B), (2.0, 500.0), (3.1, 500.0), (3.5, B + 5.0), (3.95, 500.0)]
    knots += [(6.0, 500.0), (7.0, B), (9.0, B)]
    samples: list[tuple[float, int | None]] = []
    for t, d in piecewise(knots, 30.0, t0=rng.uniform(0.0, 1.0 / 30.0)):
        samples.append((t, round((d or 0) + rng.gauss(0.0, 3.0))))
    before = max(i for i, (t, _) in enumerate(samples) if t <= 3.5)
    samples[before] = (samples[before][0], None)
    return samples


def test_a_fit_deeper_than_the_clipped_track_is_the_turn() -> None:
    # The smoothing clipped the bounce by over 10 % of the ROM, and the fit on the raw
    # readings, that far beyond it, was refused: the next rep's ROM came out 0.78-0.81 of
    # the range on 14 of these 20 seeds (0.93 true), one of them partial.
    true_fraction = (500.0 - B - 5.0) / BOTTOM.rom_mm
    got = []
    for seed in range(20):
        reps = reps_of(run(BOTTOM, _fast_bounce_reading_missing_before_the_apex(seed)))
        assert len(reps) == 2, seed
        got.append(reps[1].rom_fraction)
    assert all(abs(g - true_fraction) < 0.06 for g in got), got


def _far_touch_and_go(seed: int, rate: float, corner_s: float = 0.03):
    """From the top: a 2.5 s negative onto a touch at the bottom at 4.5 s, rounded over
    `corner_s` either side, and a 1.6 s push back up, in 2 mm of noise. Returns the samples
    and the true time within 2 % of the bottom."""
    v_in = (L - B) / 2.5
    v_out = (L - B) / 1.6
    t = 2.0 + 2.5
    knots = [(0.0, L), (2.0, L), (t - corner_s, B + 0.5 * v_in * corner_s), (t, B)]
    knots += [(t + corner_s, B + 0.5 * v_out * corner_s), (t + 1.6, L), (t + 6.6, L)]
    band_s = crossing(knots, 4, B + BAND) - crossing(knots, 1, B + BAND)
    rng = random.Random(seed)
    samples = [(t_s, round(x + rng.gauss(0.0, 2.0))) for t_s, x in piecewise(knots, rate)]
    return samples, band_s


def _burst_over(samples: list[tuple[float, int | None]], t_apex: float):
    """The two readings nearest `t_apex` a burst 150 mm off."""
    i = min(range(len(samples)), key=lambda k: abs(samples[k][0] - t_apex))
    out = list(samples)
    for k in (i, i + 1):
        t, x = out[k]
        out[k] = (t, None if x is None else x - 150)
    return out


@pytest.mark.parametrize(("rate", "at_least"), [(33.0, 17), (50.0, 19)])
def test_a_bounce_whose_apex_a_burst_hid_is_still_a_bounce(rate: float, at_least: int) -> None:
    # The gate drops the burst and the smoothed track, flat over the gap, passes the still
    # test: a hold 0.2-0.25 s long at the bottom, where the sled bounced (accuracy seeds
    # 900389, 900059). The hold is fitted as a turn once the way back has gone far enough,
    # and a rep that ended in it is revised with its bounce. Before, of these 20 from the
    # bottom and from the top: 17 and 15 flagged at 33 Hz, 17 and 16 at 50 Hz. (Now 18 and
    # 17, 20 and 19: with the apex's readings gone, the fit's arc may be as round as the
    # readings either side allow, and some come out 0.16-0.18 s.)
    flagged = {"bottom": 0, "top": 0}
    for seed in range(20):
        samples, band_s = _touch_and_go(seed, corner_s=0.03, rate=rate)
        assert band_s == pytest.approx(0.11, abs=0.01)
        reps = latest_reps(run(BOTTOM, _burst_over(samples, 6.0)))
        assert len(reps) == 2, seed
        flagged["bottom"] += "bounce" in reps[0].flags
        samples, band_s = _far_touch_and_go(seed, rate)
        assert band_s == pytest.approx(0.11, abs=0.01)
        reps = latest_reps(run(TOP, _burst_over(samples, 4.5)))
        assert len(reps) == 1, seed
        flagged["top"] += "bounce" in reps[0].flags
    assert min(flagged.values()) >= at_least, flagged


def test_a_pause_the_sensor_lost_sight_of_is_no_bounce() -> None:
    # Accuracy seed 900071 (25 Hz, from the top): 0.88 s at the bottom, the sensor out of
    # range for its last 0.37 s, and the way back seen to begin inside that gap; the
    # readings of the pause before the gap, in 5 mm of noise, fit a V of 0.14 s. A hold is
    # fitted as a turn only on readings that reach half the fit's window either side.
    trace = generate(900071)
    reps = latest_reps(run(EngineSettings(**asdict(trace.settings)), trace.samples))
    assert len(reps) == len(trace.reps)
    (rep,) = [r for r in reps if 89.0 < r.t_top - r.concentric_s < 90.0]
    assert rep.bottom_pause_s > 0.5
    assert "bounce" not in rep.flags


def test_a_turn_with_readings_missing_just_before_it_is_fitted() -> None:
    # Accuracy seed 900391 (40 Hz, from the bottom): the sensor out of range for 0.15 s
    # up to 0.05 s before a bounce's apex. The raw readings, which show the way in before
    # the gap and the turn after it, were not fitted because they did not reach 0.125 s
    # before the smoothed extreme; the smoothed track's 0.19 s in the band lost the flag
    # (true: 0.07 s). A gap shorter than GAP_TURN_S hides no turn the fit cannot see.
    trace = generate(900391)
    reps = latest_reps(run(EngineSettings(**asdict(trace.settings)), trace.samples))
    assert len(reps) == len(trace.reps)
    (i,) = [k for k, r in enumerate(reps) if 90.3 < r.t_end < 90.6]
    assert reps[i + 1].t_start - reps[i].t_end < 0.12
    assert "bounce" in reps[i].flags
