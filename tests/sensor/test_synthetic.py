"""The synthetic sensor model: deterministic, switchable faults, truth in engine conventions."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from firmware.config import load
from sensor.synthetic import BOUNCE_MAX_S, BOUNDARY_FRACTION, Faults, Plan, generate, main
from sensor.trace import read_trace
from tempo import EngineSettings

ROOT = Path(__file__).resolve().parents[2]


def test_same_seed_same_trace_and_different_seed_differs():
    a, b, c = generate(5), generate(5), generate(6)
    assert a.samples == b.samples
    assert a.reps == b.reps
    assert a.samples != c.samples


def test_perfect_sensor_reads_the_true_position():
    trace = generate(8, faults=Faults.none(), rate_hz=50.0)
    assert all(d is not None for _, d in trace.samples)
    for t, d in trace.samples[::50]:
        assert abs(d - trace.position_mm(t)) <= 0.5
    steps = {round(b[0] - a[0], 4) for a, b in zip(trace.samples, trace.samples[1:], strict=False)}
    assert steps <= {0.02, 0.0199, 0.0201}


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("read_errors", lambda ds: None in ds),
        ("out_of_range", lambda ds: any(d is not None and d >= 8000 for d in ds)),
        ("near_zero", lambda ds: any(d is not None and d < 20 for d in ds)),
    ],
)
def test_each_fault_is_switchable(fault, check):
    only = generate(9, faults=Faults.only(fault))
    none = generate(9, faults=Faults.none())
    assert check([d for _, d in only.samples])
    assert not check([d for _, d in none.samples])


def test_noise_grows_with_distance():
    near = EngineSettings(bottom_mm=100, lockout_mm=400)
    far = EngineSettings(bottom_mm=900, lockout_mm=1200)
    spreads = []
    for s in (near, far):
        trace = generate(3, settings=s, faults=Faults.only("noise"), rate_hz=50.0)
        res = [d - trace.position_mm(t) for t, d in trace.samples]
        spreads.append((sum(r * r for r in res) / len(res)) ** 0.5)
    assert spreads[1] > 2 * spreads[0]


def test_the_trace_tells_where_the_glare_was():
    # Glare multiplies the noise several times over its spans; the benches score the
    # lockout verdicts out of it apart. Without the fault there is none.
    trace = generate(3, faults=Faults.only("noise", "glare"), rate_hz=50.0)
    assert 1 <= len(trace.glare) <= 2 and all(g0 < g1 for g0, g1 in trace.glare)

    def spread(inside: bool) -> float:
        res = [
            d - trace.position_mm(t)
            for t, d in trace.samples
            if d is not None and any(g0 <= t < g1 for g0, g1 in trace.glare) == inside
        ]
        return (sum(r * r for r in res) / len(res)) ** 0.5

    assert spread(inside=True) > 2.5 * spread(inside=False)
    assert generate(3, faults=Faults.only("noise")).glare == []


def test_unknown_fault_name_is_an_error():
    with pytest.raises(ValueError, match="unknown fault 'sparks'"):
        Faults.only("sparks")


@pytest.mark.parametrize("start", ["bottom", "top"])
def test_truth_boundaries_follow_the_2_percent_convention(start):
    trace = generate(21, start=start, faults=Faults.none())
    s = trace.settings
    band_mm = BOUNDARY_FRACTION * s.rom_mm
    assert trace.reps
    for rep in trace.reps:
        for t in (rep.t_start, rep.t_end):
            seg = next(g for g in trace.segments if g.t0 <= t <= g.t1)
            assert seg.shape != "hold"
            start_mm = s.bottom_mm + seg.f0 * (s.lockout_mm - s.bottom_mm)
            end_mm = s.bottom_mm + seg.f1 * (s.lockout_mm - s.bottom_mm)
            gap = min(abs(trace.position_mm(t) - start_mm), abs(trace.position_mm(t) - end_mm))
            assert gap == pytest.approx(band_mm, abs=1e-6)
        assert rep.t_start < rep.t_end
        assert rep.concentric_s > 0 and rep.eccentric_s > 0
        assert rep.lockout in ("locked", "full", "partial")


@pytest.mark.parametrize("start", ["bottom", "top"])
def test_a_true_bounce_spends_under_the_limit_within_2_percent_of_its_turn(start):
    # Every rep bounces, some after lowerings slow enough that the quarter waves spend
    # longer than the limit near the turn: those are no bounce, as the engine defines one.
    plan = Plan(p_bounce=1.0, eccentric_s=(1.0, 8.0), concentric_s=(0.6, 4.0), reps=(6, 8))
    labels = []
    for seed in range(40, 46):
        trace = generate(seed, start=start, plan=plan, faults=Faults.none())
        for rep, after in pairwise(trace.reps):
            if rep.set != after.set:
                continue  # a set's last rep rests at the bottom
            band_s = rep.bottom_pause_s if start == "top" else after.t_start - rep.t_end
            assert rep.bounce == (band_s < BOUNCE_MAX_S), (seed, rep.set, rep.rep, band_s)
            labels.append(rep.bounce)
    assert True in labels and False in labels


def test_sets_and_rest_between_them():
    trace = generate(4, plan=Plan(sets=3, reps=(2, 4)))
    assert [s.set for s in trace.sets] == [1, 2, 3]
    assert sum(s.reps for s in trace.sets) == len(trace.reps)
    for a, b in zip(trace.sets, trace.sets[1:], strict=False):
        assert b.t_start - a.t_end > trace.settings.rest_s


def test_adjust_only_session_has_no_reps():
    trace = generate(4, plan=Plan(sets=2, reps=(0, 0)))
    assert trace.reps == []
    assert trace.sets == []


def test_command_line_writes_trace_and_config(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main([str(out), "--seed", "3", "--start", "top", "--rate", "25", "--sets", "1"]) == 0
    reader = read_trace(out)
    assert reader.metadata["generator"] == "sensor.synthetic"
    n = int(reader.metadata["reps"])
    assert n >= 3
    assert sum(1 for _ in reader) > 100
    config = load(out.with_suffix(".toml"))
    assert config.engine.start == "top"
    assert "reps" in capsys.readouterr().out


def test_command_line_runs_as_a_module(tmp_path):
    out = tmp_path / "m.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "sensor.synthetic", str(out), "--seed", "1", "--clean"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "sensor.synthetic", str(out), "--seed", "1", "--only", "sparks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "unknown fault" in bad.stderr
