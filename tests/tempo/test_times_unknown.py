"""A rep whose boundary a sensor fault hid says so instead of reporting made-up times."""

from __future__ import annotations

import random
from dataclasses import asdict

import pytest

from firmware.publishing.payloads import TIMED_FIELDS, rep_payload
from sensor.synthetic import generate
from tempo import FAST_ECCENTRIC, TIMES_UNKNOWN, EngineSettings
from tempo.scoring import rep_flags
from tests.tempo.helpers import BOTTOM, piecewise, reps_of, run, sets_of

B, L = BOTTOM.bottom_mm, BOTTOM.lockout_mm
KNOTS = [(0.0, B), (2.0, B), (3.0, L), (4.0, L), (5.5, B), (7.0, B), (8.0, L), (9.0, L)]
KNOTS += [(10.5, B), (13.0, B)]


def _noisy(samples):
    """A sensor that is noisy when still (so a frozen reading is a fault, not a quiet sled)."""
    return [(t, d + (i * 7 % 5) - 2) for i, (t, d) in enumerate(samples)]


def _frozen(samples, t0: float, t1: float):
    """The same readings with the one at `t0` repeated until `t1`: a sensor stuck."""
    value = next(d for t, d in samples if t >= t0)
    return [(t, value if t0 <= t < t1 else d) for t, d in samples]


def test_a_fault_over_the_top_turn_flags_only_that_rep():
    samples = [(t, None if 3.6 < t < 4.6 else d) for t, d in _noisy(piecewise(KNOTS))]
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 2
    assert TIMES_UNKNOWN in reps[0].flags
    assert FAST_ECCENTRIC not in reps[0].flags
    assert TIMES_UNKNOWN not in reps[1].flags


def test_frozen_readings_over_the_end_of_a_rep_flag_it():
    # Frozen for clearly longer than a stall (STALL_MAX_S) after the sled was last seen
    # moving: the frozen level is where the rep seems to end, inside the fault.
    reps = reps_of(run(BOTTOM, _frozen(_noisy(piecewise(KNOTS)), 5.0, 6.8)))
    assert len(reps) == 2
    assert TIMES_UNKNOWN in reps[0].flags
    assert TIMES_UNKNOWN not in reps[1].flags


def test_a_short_dropout_inside_a_movement_is_no_fault():
    samples = [(t, None if 2.4 < t < 2.7 else d) for t, d in _noisy(piecewise(KNOTS))]
    reps = reps_of(run(BOTTOM, samples))
    assert [TIMES_UNKNOWN in r.flags for r in reps] == [False, False]


def test_the_payload_leaves_the_times_out_and_the_set_means_skip_the_rep():
    samples = [(t, None if 3.6 < t < 4.6 else d) for t, d in _noisy(piecewise(KNOTS))]
    events = run(BOTTOM, samples)
    rep = reps_of(events)[0]
    payload = rep_payload(rep, station="s", session="x")
    assert all(payload[k] is None for k in TIMED_FIELDS)
    assert TIMES_UNKNOWN in payload["flags"]
    (done,) = sets_of(events)
    assert done.mean_eccentric_s == reps_of(events)[1].eccentric_s


def test_a_sensor_stuck_through_the_concentric_still_counts_the_rep():
    # Seed 900178 of the accuracy bench's tuning range, at 20 Hz: the sensor freezes a
    # quarter of the way up for just over a second (after which a stuck repeat is taken as a
    # reading again) and comes back at the top. The top must not be refused as a jump the
    # sled could not have made since that stale repeat: it had the whole frozen second, and
    # the readings held back would otherwise be thrown away when one of them, on the way
    # down, happened to pass the stale track's gate.
    trace = generate(900178)
    reps = reps_of(run(trace.settings, trace.samples))
    assert len(reps) == len(trace.reps) == 11
    last = reps[-1]
    assert last.t_end == pytest.approx(trace.reps[-1].t_end, abs=0.1)
    assert TIMES_UNKNOWN in last.flags


def test_no_stop_is_confirmed_in_a_blackout_on_a_lowering():
    """Out-of-range codes for 0.5 s while the lowering (about 100 mm/s) is 45 mm up.

    The filter's last outputs before a blackout are medians of ever fewer readings, which
    lag the newest one: the track looked flat and a hold was confirmed in the blackout,
    before the sled got to the bottom (3 of these 40). A stop before a blackout is still
    confirmed in it (tests/tempo/test_confirmation_delay.py).
    """
    knots = [(0.0, B), (2.0, B), (3.0, L), (4.0, L), (6.0, B + 150), (7.0, B + 45)]
    knots += [(8.0, B + 5), (8.8, B), (12.0, B)]
    for seed in range(40):
        rng = random.Random(seed)
        samples = [
            (t, 8190 if 7.0 < t < 7.5 else round(d + rng.gauss(0.0, 4.0)))
            for t, d in piecewise(knots, 25.0)
        ]
        reps = reps_of(run(BOTTOM, samples))
        assert len(reps) == 1
        assert not 7.0 < reps[0].t_confirmed < 7.5


def test_a_rep_with_unknown_times_gets_no_verdict_on_them() -> None:
    # A turn hidden in a fault reads as a V whatever pause the sled made there.
    settings = EngineSettings(bottom_mm=100, lockout_mm=500)
    assert rep_flags(settings, "full", 1.0, True, times_unknown=True) == ("times_unknown",)
    assert rep_flags(settings, "partial", 1.0, True) == ("fast_eccentric", "bounce", "partial")


def test_a_rep_ended_as_the_sensor_sticks_is_flagged_before_the_fault_lasts_half_a_second():
    # Accuracy seed 900217 (50 Hz, noise about 2.5 mm): the sensor stuck 56 mm short of the
    # end of a lowering for 0.5 s; the stop was confirmed on the stuck value's first
    # repeats 0.3 s in, and the rep went out with its end 0.6 s early (and
    # `fast_eccentric`), before the stuck time had lasted the 0.5 s that makes a fault. A
    # stuck sensor is a fault as soon as the filter drops its repeats.
    trace = generate(900217)
    settings = EngineSettings(**asdict(trace.settings))
    reps = reps_of(run(settings, trace.samples))
    assert len(reps) == len(trace.reps)
    truth = next(r for r in trace.reps if 78.0 < r.t_start < 78.5)
    rep = next(r for r in reps if abs(r.t_start - truth.t_start) < 0.1)
    assert truth.eccentric_s > 2.0  # not fast
    assert TIMES_UNKNOWN in rep.flags
    assert FAST_ECCENTRIC not in rep.flags


def _quiet(samples):
    """A sensor about a millimetre noisy when still: it repeats itself now and then."""
    return [(t, d + (i * 2 % 3) - 1) for i, (t, d) in enumerate(samples)]


def test_a_quiet_sensor_frozen_as_the_sled_leaves_flags_the_rep():
    # Frozen at the bottom from 6.8 s to 7.4 s while the sled leaves at 7.0 s: a quiet
    # sensor repeats itself, but thirty times in a row is a stuck one. The start of rep 2
    # is inside the fault (it was placed 0.4 s late, at the jump, with no flag).
    reps = reps_of(run(BOTTOM, _frozen(_quiet(piecewise(KNOTS)), 6.8, 7.4)))
    assert len(reps) == 2
    assert [TIMES_UNKNOWN in r.flags for r in reps] == [False, True]


def test_a_quiet_sensor_that_repeats_itself_a_few_times_is_no_fault():
    # Six identical readings in a row at the bottom hold: a quiet sensor does that.
    reps = reps_of(run(BOTTOM, _frozen(_quiet(piecewise(KNOTS)), 6.0, 6.12)))
    assert [TIMES_UNKNOWN in r.flags for r in reps] == [False, False]
    plain = reps_of(run(BOTTOM, _quiet(piecewise(KNOTS))))
    assert [r.t_start for r in reps] == pytest.approx([r.t_start for r in plain], abs=0.02)


def test_a_sensor_taken_for_a_quiet_one_stuck_as_the_sled_leaves_the_top_flags_the_rep():
    # Accuracy seed 900042 (the bench's tuning range; start = "bottom", 25 Hz): the sensor
    # stuck at the top for 1.0 s as rep 2.1 left it. The still noise known then (1.2 mm,
    # from the bottom) let its repeats pass for a quiet sensor's, the lowering's start was
    # placed 0.68 s late and the rep went out `fast_eccentric` (1.28 s read 0.62). Nine
    # repeats of one reading are more than a sensor that quiet gives: a fault over that start.
    trace = generate(900042)
    reps = reps_of(run(EngineSettings(**asdict(trace.settings)), trace.samples))
    assert len(reps) == len(trace.reps)
    truth = next(r for r in trace.reps if (r.set, r.rep) == (2, 1))
    rep = next(r for r in reps if abs(r.t_start - truth.t_start) < 0.1)
    assert truth.eccentric_s < 2.0  # fast, as it happens: the flag was right by chance
    assert TIMES_UNKNOWN in rep.flags
    assert FAST_ECCENTRIC not in rep.flags
