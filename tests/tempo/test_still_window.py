"""The still window that ends a rep: as long as it takes to tell a stop from the movement
that came in (docs/engine.md, "Movements and stops", "Confirmation delay")."""

from __future__ import annotations

import random
import statistics

import pytest

from tests.tempo.helpers import BOTTOM, TOP, piecewise, reps_of, run

SEEDS = range(20)


def _dead_stop(start: str, noise_mm: float, seed: int) -> tuple[float, float, int]:
    """A rep whose last move (a 1 s push to the top, or a 1 s lowering to the bottom) stops
    dead at 5.0 s, read at 50 Hz with Gaussian noise: (delay after the stop, error of
    `t_end`, reps counted)."""
    rng = random.Random(seed)
    if start == "top":
        knots = [(0.0, 505), (1.5, 505), (3.5, 150), (4.0, 150), (5.0, 505), (8.0, 505)]
        settings = TOP
    else:
        knots = [(0.0, 150), (1.5, 150), (2.5, 505), (4.0, 505), (5.0, 150), (8.0, 150)]
        settings = BOTTOM
    samples = [(t, round(d + rng.gauss(0.0, noise_mm))) for t, d in piecewise(knots)]
    reps = reps_of(run(settings, samples))
    t_end = 5.0 - 0.02  # the 2 % boundary of a constant-speed move that takes 1 s
    return reps[-1].t_confirmed - 5.0, reps[-1].t_end - t_end, len(reps)


@pytest.mark.parametrize("start", ["top", "bottom"])
def test_a_dead_stop_in_noise_ends_the_rep_once_told_from_the_move(start: str) -> None:
    # 8 mm of noise: a window in proportion to it would be 0.3 s (the rep went out 0.34-0.36 s
    # after the stop at the median); telling a stop from a 355 mm/s move takes far less.
    runs = [_dead_stop(start, 8.0, seed) for seed in SEEDS]
    assert all(count == 1 for _, _, count in runs)
    delays = [delay for delay, _, _ in runs]
    assert statistics.median(delays) <= 0.25
    assert statistics.median(abs(err) for _, err, _ in runs) <= 0.02


@pytest.mark.parametrize("start", ["top", "bottom"])
def test_in_glare_the_window_that_ends_a_rep_stays_long(start: str) -> None:
    # 25 mm of noise, over 2.5 bands of 2 %: the hold's level (a rep from the top's lockout
    # verdict) is read from the readings of the window scaled by the noise, up to 0.6 s.
    runs = [_dead_stop(start, 25.0, seed) for seed in SEEDS]
    assert all(count == 1 for _, _, count in runs)
    assert statistics.median(delay for delay, _, _ in runs) >= 0.5


def test_only_a_rep_from_the_bottom_waits_for_the_bounce_limit() -> None:
    # 2 mm of noise: a stop is told from a 355 mm/s move in a few readings. A rep from the
    # bottom ends where its hold must be told from a bounce (0.15 s within 2 %); a rep from
    # the top ends at the top, where no bounce is flagged.
    top = statistics.median(_dead_stop("top", 2.0, seed)[0] for seed in SEEDS)
    bottom = statistics.median(_dead_stop("bottom", 2.0, seed)[0] for seed in SEEDS)
    assert top <= 0.15
    assert bottom >= 0.18
