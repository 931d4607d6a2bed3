"""A slow negative that leaves the top, and whose first centimetres noise makes look still
for a moment, is one phase from where it left (docs/engine.md, "Movements and stops").

The session is the tempo-kinds bench's (seed 71014, a tuning seed): a 8.5 s negative over
287 mm at 33 Hz, 34 mm/s after a ramp. Its first 26 mm looked still for 0.33 s; a sled
that never stops spends 2 bands / its speed (0.34 s) within a band either side of a level,
so that "hold" was the movement going on, and the rep starts at the first departure.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_tempo_kinds.py"
SEED = 71014


def test_a_slow_negative_that_looks_still_for_a_moment_starts_where_it_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "path", [str(BENCH.parent), *sys.path])
    bench = runpy.run_path(str(BENCH))
    rate = bench["RATES"][SEED % 3]
    settings, samples, truth = bench["session"](SEED, "slow_negative", rate)
    assert settings.start == "top" and rate == 33.0
    reps, _ = bench["engine_events"](settings, samples)
    first, got = truth[0], reps[0]
    assert abs(got.t_start - first.t_start) < 0.15  # was 0.70 s late
    assert abs(got.eccentric_s - first.eccentric_s) < 0.15
