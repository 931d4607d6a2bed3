"""Many seeds of the sensor model with every fault: exact counts, bounded phase time errors."""

from __future__ import annotations

import statistics

import pytest

from sensor.synthetic import Faults, Plan, generate
from tests.tempo.helpers import reps_of, run, sets_of

SEEDS = range(100, 160)  # every fault on, 20-50 Hz, either start side and mounting
# Known misses: none (seed 116, a turnaround hidden in a gap, is counted since the engine
# waits for three samples after such a gap before placing the turn).
KNOWN_MISSES: set[int] = set()
TIMES = ("t_start", "t_top", "t_ecc", "t_end")


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(s, marks=pytest.mark.xfail(reason="turnaround inside a gap", strict=True))
        if s in KNOWN_MISSES
        else s
        for s in SEEDS
    ],
)
def test_exact_counts_and_set_split_with_every_fault(seed):
    trace = generate(seed)
    events = run(trace.settings, trace.samples)
    reps = reps_of(events)
    assert len(reps) == len(trace.reps)
    assert [s.reps for s in sets_of(events)] == [s.reps for s in trace.sets]
    assert [(r.set, r.rep) for r in reps] == [(r.set, r.rep) for r in trace.reps]


def test_phase_times_within_tolerance_over_many_seeds():
    errors: dict[str, list[float]] = {k: [] for k in TIMES}
    for seed in range(200, 230):
        trace = generate(seed)
        reps = reps_of(run(trace.settings, trace.samples))
        assert len(reps) == len(trace.reps)
        for truth, rep in zip(trace.reps, reps, strict=True):
            for k in TIMES:
                errors[k].append(abs(getattr(rep, k) - getattr(truth, k)))
    for k, errs in errors.items():
        errs.sort()
        assert statistics.median(errs) < 0.06, k
        assert errs[int(0.9 * len(errs))] < 0.25, k


def test_phase_times_on_a_perfect_sensor_are_tight():
    for seed in range(300, 310):
        trace = generate(seed, faults=Faults.none())
        reps = reps_of(run(trace.settings, trace.samples))
        assert len(reps) == len(trace.reps)
        for truth, rep in zip(trace.reps, reps, strict=True):
            for k in TIMES:
                assert abs(getattr(rep, k) - getattr(truth, k)) < 0.15, (seed, k)
            assert rep.lockout == truth.lockout, (seed, truth)


def test_lockout_verdicts_mostly_right():
    right = total = 0
    for seed in range(400, 420):
        trace = generate(seed, plan=Plan(p_partial=0.3, p_locked=0.3))
        reps = reps_of(run(trace.settings, trace.samples))
        assert len(reps) == len(trace.reps)
        for truth, rep in zip(trace.reps, reps, strict=True):
            total += 1
            right += truth.lockout == rep.lockout
    assert right / total > 0.93


@pytest.mark.parametrize("seed", range(500, 510))
def test_no_reps_from_unracking_adjusting_and_faults_alone(seed):
    # sessions where the lifter only unracks, adjusts feet and rests
    trace = generate(seed, plan=Plan(sets=3, reps=(0, 0), adjust_moves=(2, 4)))
    assert trace.reps == []
    events = run(trace.settings, trace.samples)
    assert reps_of(events) == []
    assert sets_of(events) == []


@pytest.mark.parametrize("seed", [1008221, 1009376, 1013249, 1018684])
def test_a_level_seen_after_a_gap_counts_only_on_the_way_back(seed):
    # 1008221: a partial rep's top hidden by a gap, seen only in the readings after it
    # (lost before). 1009376: a burst after a stuck sensor, as far out, but scattered: not
    # the sled's way back (a version without the one-line check made a rep of it); 1013249:
    # two wrong readings before a flat track, 2.6 deviations off a line. 1018684: a bottom
    # turn hidden behind a stuck sensor's repeats, taken for a hold (lost before).
    trace = generate(seed)
    assert len(reps_of(run(trace.settings, trace.samples))) == len(trace.reps)
