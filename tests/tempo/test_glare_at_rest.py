"""Glare that begins while the sled rests is no rep (docs/engine.md, "Reps").

A rep is under way once the track is REP_FRACTION of the range of motion plus REP_NOISE
deviations of a reading away from the start side. The smoother's noise estimate follows
glare only over a second or so; the gate's sees it within a few readings. Judged against
the smoother's alone, the swings of the first half second of glare of 45 mm (a fifth of
this range of motion) around a sled resting a fifth of the way out made a rep in 4 of
these 100 runs (and 3 of 100 in Laplace noise starting at the top).
"""

from __future__ import annotations

import random

import pytest

from tempo import EngineSettings
from tests.tempo.helpers import piecewise, reps_of, run

QUIET_MM = 2.0
GLARE_MM = 45.0
GLARE_FROM_S = 4.0


def _resting_in_glare(
    settings: EngineSettings, out_fraction: float, seed: int, *, laplace: bool
) -> list[tuple[float, int]]:
    """12 s of a sled resting `out_fraction` of the ROM from the start side, glare from
    GLARE_FROM_S on."""
    rng = random.Random(seed)
    out = out_fraction * settings.rom_mm
    top = settings.start == "top"
    level = settings.lockout_mm - out if top else settings.bottom_mm + out
    samples = []
    for t, d in piecewise([(0.0, level), (12.0, level)], 50.0):
        if laplace:
            e = (rng.expovariate(1.0) - rng.expovariate(1.0)) / 2**0.5
        else:
            e = rng.gauss(0.0, 1.0)
        samples.append((t, round(d + e * (QUIET_MM if t < GLARE_FROM_S else GLARE_MM))))
    return samples


@pytest.mark.parametrize(
    ("start", "out_fraction", "laplace"), [("bottom", 0.2, False), ("top", 0.22, True)]
)
def test_glare_beginning_at_rest_makes_no_rep(
    start: str, out_fraction: float, laplace: bool
) -> None:
    settings = EngineSettings(bottom_mm=67, lockout_mm=283, start=start)
    counted = [
        seed
        for seed in range(100)
        if reps_of(run(settings, _resting_in_glare(settings, out_fraction, seed, laplace=laplace)))
    ]
    assert counted == []
