"""The timing reference (bench/bench_timing_floor.py) must itself be right before its figures
say anything about the engine: it finds a known shift, its boundaries span the model's own
durations, and the bench runs."""

from __future__ import annotations

import math
import runpy
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sensor.synthetic import Faults, generate

BENCH = Path(__file__).resolve().parents[2] / "bench"
PHASES = ("concentric_s", "top_pause_s", "eccentric_s")


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    return runpy.run_path(str(BENCH / "bench_timing_floor.py"), run_name="timing_floor")


@pytest.mark.parametrize("shift_s", [0.0, 0.04, -0.07])
def test_the_reference_finds_a_whole_trajectory_shifted_in_time(
    bench: dict[str, Any], shift_s: float
) -> None:
    trace = generate(900_000, faults=Faults.none())
    late = [(t, round(trace.position_mm(t - shift_s))) for t, _ in trace.samples]
    fit = bench["ShiftFit"].of_accuracy_trace(replace(trace, samples=late, glare=[]))
    for rep in trace.reps[:6]:
        for t in (rep.t_start, rep.t_top, rep.t_ecc, rep.t_end):
            assert fit.error_s(t) == pytest.approx(shift_s, abs=0.004)


@pytest.mark.parametrize(
    ("model", "seed", "top"),
    [
        ("accuracy", 900_000, False),
        ("accuracy", 900_003, True),
        ("independent", 31_001, False),
        ("independent", 31_000, True),
    ],
)
def test_the_boundaries_span_the_models_durations(
    bench: dict[str, Any], model: str, seed: int, top: bool
) -> None:
    make_session, _first = bench["MODELS"][model]
    sess = make_session(seed, None)
    assert (sess.settings.start == "top") == top
    with_top_pause = 0
    for i, rep in enumerate(sess.reps):
        previous = sess.reps[i - 1] if i else None
        spans = bench["boundaries"](rep, previous, top)
        for phase, (b0, b1) in spans.items():
            assert b1 - b0 == pytest.approx(getattr(rep, phase), abs=1e-9), phase
        assert set(spans) >= {"concentric_s", "eccentric_s"}
        if "top_pause_s" not in spans:
            assert top and rep.top_pause_s == 0.0  # the first of a set, from the top
        with_top_pause += "top_pause_s" in spans
        times = list(bench["turns"](rep, top).values())
        assert times == sorted(times)  # in the order the sled does them
    assert with_top_pause > len(sess.reps) // 2


def test_the_independent_models_truth_is_its_own_trajectory(bench: dict[str, Any]) -> None:
    """The reference slides the model's own trajectory: at a rep's start the sled is 2 %
    of the ROM from where it rested before it."""
    sess = bench["MODELS"]["independent"][0](31_001, None)
    rom = sess.settings.rom_mm
    for rep in sess.reps[:5]:
        rest = sess.fit.position_mm(rep.t_start - 0.5)
        assert abs(sess.fit.position_mm(rep.t_start) - rest) == pytest.approx(0.02 * rom, abs=1.0)


def test_the_bench_prints_both_columns(
    bench: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_timing_floor.py", "--seeds", "2"])
    runpy.run_path(str(BENCH / "bench_timing_floor.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "reference" in out and "engine" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  all ")]
    assert len(rows) == 1
    count = int(rows[0][1])
    assert count > 0
    by_context = [line for line in out.splitlines() if line.startswith("  leaves top, ")]
    assert by_context
    assert all(line.split(",")[1].split()[0] in {"glare", "fault", "clean"} for line in by_context)
    ref_median, ref_95 = float(rows[0][2]), float(rows[0][4])
    assert not math.isnan(ref_median) and ref_median <= ref_95
    for name in ("leaves bottom (time)", "reaches top (time)"):
        assert name in out


def test_a_perfect_sensor_of_the_independent_model_has_only_rounding_noise(
    bench: dict[str, Any],
) -> None:
    """`--clean` sessions report whole millimetres of the truth: the reference must not
    weigh their readings as if they were noisy."""
    noisy = bench["independent"].make(31_000)
    clean = bench["independent"].make(31_000, clean=True)
    assert clean.noise_sd is not None and noisy.noise_sd is not None
    assert clean.noise_sd(10.0, 300.0) == pytest.approx(1.0 / math.sqrt(12.0))
    assert noisy.noise_sd(10.0, 300.0) > 0.6  # at least the model's floor of 0.6 mm


def test_a_boundary_is_told_by_what_was_near_it(bench: dict[str, Any]) -> None:
    context = bench["context"]
    quiet = [(0.02 * i, 300 + i % 3) for i in range(200)]  # 50 Hz, no fault
    assert context(2.0, quiet, [], 50.0) == "clean"
    assert context(2.0, quiet, [(2.9, 3.5)], 50.0) == "clean"  # glare after the reach
    assert context(2.0, quiet, [(2.2, 3.5)], 50.0) == "glare"  # begins 0.2 s after
    assert context(2.0, quiet, [(0.5, 1.1)], 50.0) == "glare"  # ended 0.9 s before
    missing = [(t, None if 1.5 < t < 1.53 else v) for t, v in quiet]
    assert context(2.0, missing, [], 50.0) == "fault"
    assert context(2.5, missing, [], 50.0) == "clean"  # 0.97 s before: out of reach
    gap = [(t, v) for t, v in quiet if not 1.9 < t < 1.99]
    assert context(2.0, gap, [], 50.0) == "fault"
    stuck = [(t, 333 if 2.1 < t < 2.19 else v) for t, v in quiet]
    assert context(2.0, stuck, [], 50.0) == "fault"
    out_of_range = [(t, 8190 if 1.8 < t < 1.83 else v) for t, v in quiet]
    assert context(2.0, out_of_range, [], 50.0) == "fault"
