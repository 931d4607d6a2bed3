"""tempo.smoother: median of five and mean of three, unbiased on a ramp, flushed at gaps."""

from __future__ import annotations

import pytest

from tempo.smoother import Smoother


def _run(sm: Smoother, readings):
    out = []
    for t, x in readings:
        got = sm.accept(t, x, still=True)
        out += sm.backlog
        sm.backlog.clear()
        if got is not None:
            out.append(got)
    return out


def test_a_ramp_comes_out_unbiased_and_three_samples_late():
    sm = Smoother()
    out = _run(sm, [(i * 0.02, 10.0 * i) for i in range(20)])
    assert out[0] == pytest.approx((0.06, 30.0))  # labelled with its own time: no lag
    assert all(y == pytest.approx(500.0 * t) for t, y in out)


def test_a_single_spike_is_removed():
    sm = Smoother()
    readings = [(i * 0.02, 100.0) for i in range(12)]
    readings[6] = (0.12, 400.0)
    assert {y for _, y in _run(sm, readings)} == {100.0}


def test_a_gap_flushes_the_windows_so_nothing_smears_across_it():
    sm = Smoother()
    before = [(i * 0.02, 100.0) for i in range(8)]
    after = [(1.0 + i * 0.02, 300.0) for i in range(8)]
    out = _run(sm, before + after)
    assert [t for t, _ in out] == sorted(t for t, _ in out)
    assert all(y == 100.0 for t, y in out if t < 0.5)
    assert all(y == 300.0 for t, y in out if t > 0.5)
    assert max(t for t, _ in out if t < 0.5) == pytest.approx(0.14)  # flushed to the end


def test_owed_outputs_come_once_a_gap_is_known():
    sm = Smoother()
    _run(sm, [(i * 0.02, 50.0) for i in range(8)])
    assert sm.owed(0.2) == []  # not a gap yet
    assert [t for t, _ in sm.owed(0.5)] == pytest.approx([0.1, 0.12, 0.14])
    assert sm.owed(0.6) == []  # nothing twice


def test_the_noise_estimate_follows_the_readings():
    sm = Smoother()
    _run(sm, [(i * 0.02, 100.0 + (3.0 if i % 2 else -3.0)) for i in range(200)])
    assert 4.0 < sm.noise_mm < 7.0
    assert sm.still_noise_mm == pytest.approx(sm.noise_mm)


@pytest.mark.parametrize("burst_n", [1, 2, 3, 5])
def test_forgotten_readings_leave_later_outputs_in_order_and_clean(burst_n):
    # The gate found the newest accepted readings were a burst: they leave the windows,
    # and what comes out afterwards is the ramp alone, labelled after everything before.
    sm = Smoother()
    ramp = [(i * 0.02, 10.0 * i) for i in range(40)]
    before = _run(sm, ramp[:12])
    before += _run(sm, [(t, x + 60.0) for t, x in ramp[12 : 12 + burst_n]])
    sm.forget_since(ramp[12][0])
    after = _run(sm, ramp[12:])
    times = [t for t, _ in before + after]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert after and all(y == pytest.approx(500.0 * t) for t, y in after)
    assert [p for p in sm.accepted if p[1] != pytest.approx(500.0 * p[0])] == []


@pytest.mark.parametrize("run_n", [1, 2, 3, 4, 5, 6])
def test_a_short_run_between_two_gaps_puts_out_its_median(run_n):
    # Under seven readings the windows never fill: the run's medians of five (five or six
    # readings) or the median of all of it (three or four) come out at the next gap, one or
    # two readings say nothing on their own.
    sm = Smoother()
    before = [(i * 0.05, 100.0) for i in range(10)]
    run_t = [1.0 + i * 0.05 for i in range(run_n)]
    run_x = [200.0 + 10.0 * i for i in range(run_n)]
    run_x[0] += 500.0 * (run_n >= 3)  # one wild reading: the median ignores it
    after = [(2.0 + i * 0.05, 100.0) for i in range(10)]
    out = _run(sm, before + list(zip(run_t, run_x, strict=True)) + after)
    inside = [(t, y) for t, y in out if run_t[0] <= t <= run_t[-1]]
    if run_n < 3:
        assert inside == []
    else:
        assert inside
        assert all(200.0 <= y <= 200.0 + 10.0 * (run_n - 1) for _, y in inside)
    times = [t for t, _ in out]
    assert times == sorted(times)


def test_a_run_cut_short_after_forgotten_readings_repeats_no_label():
    # Two readings kept after a burst was forgotten, one more, then a gap: the median of
    # those three would be labelled with a reading an earlier output already carried.
    sm = Smoother()
    ramp = [(i * 0.02, 10.0 * i) for i in range(12)]
    out = _run(sm, ramp)
    out += _run(sm, [(0.24, 900.0), (0.26, 900.0), (0.28, 900.0)])
    sm.forget_since(0.24)
    out += _run(sm, [(0.30, 120.0), (1.0, 500.0), (1.02, 500.0), (1.04, 500.0)])
    times = [t for t, _ in out]
    assert times == sorted(times) and len(set(times)) == len(times)
