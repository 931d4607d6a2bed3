"""A sled that stops just short of a rep's excursion and creeps on past it while held."""

from __future__ import annotations

import random

import pytest

from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run

B = 150.0  # BOTTOM: bottom 150 mm, lockout 520 mm (a ROM of 370 mm), start at the bottom
ROM = 370.0


def _stop_short_then_creep(seed: int | None) -> list[tuple[float, int | None]]:
    # Out to 28 % of the ROM (short of the 30 % a rep needs), still for 0.6 s: a hold; then
    # on at 10 mm/s to 32 %, less than the 5 % of the ROM that makes a new movement; still
    # again; back to the bottom (independent model seed 65198: a slow partial lowering held
    # at 28 % crept on to 34 % and the rep was lost).
    knots = [
        (0.0, B),
        (2.0, B),
        (3.0, B + 0.28 * ROM),
        (3.6, B + 0.28 * ROM),
        (5.1, B + 0.32 * ROM),
        (5.8, B + 0.32 * ROM),
        (7.3, B),
        (10.0, B),
    ]
    samples = piecewise(knots, 33.0)
    if seed is None:
        return samples
    rng = random.Random(seed)
    return [(t, None if d is None else round(d + rng.gauss(0.0, 2.0))) for t, d in samples]


@pytest.mark.parametrize("seed", [None, *range(5)])
def test_a_hold_that_creeps_past_the_reps_excursion_is_a_reps_far_stop(seed: int | None) -> None:
    reps = reps_of(run(BOTTOM, _stop_short_then_creep(seed)))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.t_start == pytest.approx(2.0, abs=0.1)  # the move that ended in the hold
    assert rep.t_end == pytest.approx(7.3 - 1.5 * 0.02 / 0.32, abs=0.15)
    assert rep.lockout == "partial"
