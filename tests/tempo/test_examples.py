"""The bundled example traces: the engine counts every one exactly (its `# reps`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.config import load
from sensor.trace import read_trace
from tests.tempo.helpers import reps_of, run

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "traces").glob("*.csv"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_counts_exactly(path):
    config = load(path.with_suffix(".toml"))
    trace = read_trace(path)
    want = int(trace.metadata["reps"])
    samples = [(s.t_s, s.distance_mm) for s in trace]
    assert len(reps_of(run(config.engine, samples))) == want
