"""Regression tests for failure modes found by bench/bench_generalization.py."""

from __future__ import annotations

import random
import runpy
import sys
from pathlib import Path

import pytest

from tempo import BOUNCE, TIMES_UNKNOWN, EngineSettings
from tests.tempo.helpers import BOTTOM, TOP, filter_outputs, piecewise, reps_of, run, sets_of


def _rep_knots(t0: float, lo: float, hi: float) -> list[tuple[float, float]]:
    return [(t0, lo), (t0 + 1.0, hi), (t0 + 2.0, hi), (t0 + 4.0, lo), (t0 + 5.0, lo)]


def test_a_burst_of_six_consistent_wrong_readings_is_no_rep():
    # start at the bottom (150 mm), one real rep, then a still sled hit by a burst of six
    # readings all about 70 mm off (more than the gate, less than a rep)
    knots = [(0.0, 150.0), (1.0, 150.0), *_rep_knots(1.0, 150.0, 480.0)[1:]]
    knots.append((12.0, 150.0))
    samples = piecewise(knots)
    burst_from = next(i for i, (t, _) in enumerate(samples) if t >= 8.0)
    for i in range(burst_from, burst_from + 6):
        t, d = samples[i]
        samples[i] = (t, (d or 0) + 70 + (i % 2))
    reps = reps_of(run(BOTTOM, samples))
    assert len(reps) == 1


def test_turn_hidden_behind_a_stuck_sensor_and_gap_still_counts():
    # start at the top (520 mm); a partial rep whose bottom turn falls entirely inside a
    # stuck reading followed by silence: the sled went down to 300 mm, the sensor saw 400
    knots = [(0.0, 520.0), (2.0, 520.0), (3.2, 400.0), (4.0, 300.0), (4.8, 400.0)]
    knots += [(6.0, 520.0), (9.0, 520.0)]
    rng = random.Random(7)
    samples = [(t, (d or 0) + round(rng.gauss(0.0, 2.5))) for t, d in piecewise(knots)]
    out: list[tuple[float, int | None]] = []
    stuck = None
    for t, d in samples:
        if 3.2 <= t < 3.6:
            stuck = stuck or d
            out.append((t, stuck))  # the same value, stuck
        elif 3.6 <= t < 4.5:
            continue  # silence
        else:
            out.append((t, d))
    reps = reps_of(run(TOP, out))
    assert len(reps) == 1
    assert reps[0].rom_fraction > 0.35  # measured from the turn placed inside the gap


def test_the_filter_drops_a_burst_of_six_consistent_wrong_readings():
    from tempo.filters import RobustFilter

    rng = random.Random(3)
    readings = []
    for i in range(200):
        x = 200.0 + rng.gauss(0.0, 2.0)
        if 100 <= i < 106:
            x += 70.0  # six wrong readings that agree with each other
        readings.append((i * 0.02, x))
    outs = filter_outputs(RobustFilter(gate_base_mm=44.0), readings)
    assert max(y for _, y in outs) < 215.0


def _bounce_behind_a_stuck_sensor(seed: int) -> list[tuple[float, int | None]]:
    """A 45-degree press at 20 Hz with 5 mm of noise (accuracy seed 999052): from the top
    (520 mm) down to the bottom (150 mm) in 0.7 s and straight back up; the sensor sticks a
    quarter of the way down and stays stuck for 0.45 s, until the sled is at the bottom."""
    knots = [(0.0, 520.0), (2.0, 520.0), (2.1, 505.0), (2.5, 220.0), (2.7, 150.0)]
    knots += [(2.8, 165.0), (3.2, 440.0), (3.4, 520.0), (6.0, 520.0)]
    rng = random.Random(seed)
    out: list[tuple[float, int | None]] = []
    stuck = None
    for t, true_mm in piecewise(knots, rate_hz=20.0):
        reading = (true_mm or 0) + round(rng.gauss(0.0, 5.0))
        if 2.25 <= t < 2.7:
            stuck = stuck or reading
            reading = stuck
        out.append((t, reading))
    return out


def test_a_bounce_behind_a_stuck_sensor_still_counts():
    # After the stuck run the readings show the sled at the bottom and on its way back up,
    # far from where the track (stopped at the stuck value) expects it: the gate holds them
    # back. One of the next readings then fell inside the gate, the held ones were thrown
    # away, and the rep lost its bottom and was not counted: 4 of these 10. Now a reading
    # on the way the held ones were going waits with them. One (seed 8), where the sled
    # speeds up so much between readings that the next one is off that way, was still
    # lost; it counts since a far turn hidden in a gap counts where the lines beside the
    # gap surely meet.
    counted = [len(reps_of(run(TOP, _bounce_behind_a_stuck_sensor(seed)))) for seed in range(10)]
    assert counted == [1] * 10


@pytest.mark.parametrize("seed", range(10))
def test_a_bounce_behind_a_stuck_sensor_keeps_its_depth(seed: int) -> None:
    # The turn is the first smoothed sample after the gap, and the smoother's first outputs
    # there already average readings on the way back up: the rep read 76-87 % of the range
    # (partial, for a full one). The first readings after the gap are the bottom. Seed 8:
    # the gate dropped the bottom's readings and the smoothed lines beside the stuck run
    # met at 0.77 of the range; the turn is no shallower than where the raw readings'
    # lines surely meet (0.98).
    reps = reps_of(run(TOP, _bounce_behind_a_stuck_sensor(seed)))
    assert reps and all(r.rom_fraction > 0.9 for r in reps)


def _burst_after_a_stuck_second(seed: int) -> list[tuple[float, int | None]]:
    """A 45-degree press at 40 Hz (accuracy seed 999045): on the way up from the bottom
    the sensor sticks for a second, then reads six times near the top (a burst of wrong
    readings) before it reads the sled again, still 40 % of the range below the top."""
    knots = [(0.0, 520.0), (2.0, 520.0), (4.0, 150.0), (5.0, 150.0), (8.0, 520.0)]
    knots.append((11.0, 520.0))
    rng = random.Random(seed)
    out: list[tuple[float, int | None]] = []
    stuck = None
    burst = 0
    for t, true_mm in piecewise(knots, rate_hz=40.0):
        reading = (true_mm or 0) + round(rng.gauss(0.0, 3.0))
        if 5.6 <= t < 6.6:
            stuck = stuck or reading
            reading = stuck
        elif t >= 6.6 and burst < 6:
            reading = 522 + round(rng.gauss(0.0, 4.0))
            burst += 1
        out.append((t, reading))
    return out


def test_a_burst_after_a_stuck_sensor_is_not_taken_for_the_sled():
    # After a second without news the sled may be anywhere, so seven held readings on a
    # line are taken back: the six of the burst and the sled's next one, forgiven as the
    # line's outlier. The track went to the top and back down to the sled: a second rep.
    # The newest reading lies beyond the gate from that line: the line ended, so wait.
    for seed in range(10):
        assert len(reps_of(run(TOP, _burst_after_a_stuck_second(seed)))) == 1, seed


def _burst_below_the_bottom(seed: int) -> list[tuple[float, int | None]]:
    """A reverse press at 33 Hz (kinds seed 109048): a dropped negative stops dead at the
    bottom; a spike 80 mm up just after the stop, then a burst of four readings 115 mm
    below the bottom, 40 % of the range beyond where the sled rests."""
    settings = EngineSettings(bottom_mm=781, lockout_mm=1077, start="bottom")
    knots = [(0.0, 781.0), (2.0, 781.0), (2.9, 1077.0), (3.84, 1077.0), (4.17, 781.0)]
    knots.append((7.0, float(settings.bottom_mm)))
    rng = random.Random(seed)
    out: list[tuple[float, int | None]] = []
    for t, true_mm in piecewise(knots, rate_hz=33.0):
        reading = (true_mm or 0) + round(rng.gauss(0.0, 4.0))
        if abs(t - 4.23) < 0.015:
            reading += 80
        if 4.37 <= t < 4.37 + 4 / 33.0:
            reading = 781 - 115 + round(rng.gauss(0.0, 4.0))
        out.append((t, reading))
    return out


def test_a_burst_beyond_the_start_side_is_no_turn():
    # The spike swung the gate's tracker and the burst was taken for the sled: a turn 115 mm
    # below the bottom, left again at once, flagged a bounce (19 of these 20). The sled
    # rests on its start side; a reading 20 % of the range beyond it is held back.
    settings = EngineSettings(bottom_mm=781, lockout_mm=1077, start="bottom")
    for seed in range(20):
        reps = reps_of(run(settings, _burst_below_the_bottom(seed)))
        assert len(reps) == 1, seed
        assert BOUNCE not in reps[0].flags, seed


def test_a_sled_resting_beyond_a_wrong_start_side_is_still_followed():
    # bottom_mm set 100 mm (27 % of the range) above where the sled really rests: its
    # readings there are held back at first, then taken back in as a line that persists.
    settings = EngineSettings(bottom_mm=250, lockout_mm=520, start="bottom")
    knots = [(0.0, 150.0), (2.0, 150.0)]
    for k in range(3):
        t0 = 2.0 + 4.0 * k
        knots += [(t0 + 1.0, 520.0), (t0 + 1.5, 520.0), (t0 + 3.0, 150.0), (t0 + 4.0, 150.0)]
    reps = reps_of(run(settings, piecewise(knots)))
    assert len(reps) == 3


def _independent_session(monkeypatch, seed: int):
    """One session of the independent model (bench/bench_generalization.py), loaded as
    the bench script is: its own folder first on the path."""
    bench = Path(__file__).resolve().parents[2] / "bench"
    monkeypatch.setattr(sys, "path", [str(bench), *sys.path])
    return runpy.run_path(str(bench / "bench_generalization.py"))["make"](seed)


def _rep_begun_in(monkeypatch, seed: int, t_from: float, t_to: float, *, exact: bool = True):
    """The true rep of an independent session that began between two times, and the
    engine's rep that began within 0.1 s of it; the session counted exactly (`exact`)."""
    session = _independent_session(monkeypatch, seed)
    reps = reps_of(run(session.settings, session.samples))
    if exact:
        assert len(reps) == len(session.reps)
    truth = next(r for r in session.reps if t_from < r.t_start < t_to)
    rep = next(r for r in reps if abs(r.t_start - truth.t_start) < 0.1)
    return truth, rep


def test_a_rep_whose_top_was_held_back_in_glare_counts(monkeypatch):
    # Independent seed 65107 (36 Hz): glare with 40-50 mm of noise begins as a partial rep
    # leaves the bottom, a 0.6 s gap hides the way up, and the readings of the top after
    # it are held back, 22 of them, more than any burst. Judged against the smoother's
    # noise (10 mm: the accepted readings had not shown the glare) they never lay on a
    # line, and the first reading to fall inside the stale track's wide gate threw them
    # all away: the rep was lost. A run longer than any burst is judged by the gate's own
    # noise estimate, which its readings made.
    session = _independent_session(monkeypatch, 65107)
    reps = reps_of(run(session.settings, session.samples))
    assert len(reps) == len(session.reps) == 11
    # its way up is behind the gap: the rep carries unknown times, but it is there (its
    # start placed on the readings before the gap, where a knee with ramps up to 4 s now
    # finds it 43 ms from the truth, not 0.9 s late)
    truth = session.reps[4]
    found = [r for r in reps if r.t_start < truth.t_top and r.t_end > truth.t_start]
    assert len(found) == 1
    assert TIMES_UNKNOWN in found[0].flags
    assert found[0].t_end == pytest.approx(session.reps[4].t_end, abs=0.2)


def test_a_burst_just_after_a_noisy_reading_is_taken_out(monkeypatch):
    # Independent seed 32143: a noisy reading of the sled landed more than a third of the
    # gate off the track, a burst of two came right after it, and the sled's next
    # readings were held. Only the first far reading was kept as the burst's possible
    # start, and as the sled's own it lay on the held readings' line, so no burst was
    # found and the two stayed in: the rep's top was read 1.4 s late, and locked. Each
    # recent far reading is now tried as the start, the newest first. (The session is not
    # counted exactly since departures are fitted to 2 s of their hold: a partial rep at
    # 42-48 s, in glare of 40-50 mm, rises to 42 % of the ROM, within a noise deviation of
    # what a rep needs, 30 % plus 1.5 deviations above the rest before it; the lowering
    # before, its start placed 16 ms later, sized the rest's still window differently, its
    # level read 5 mm higher, and the rep is lost.)
    truth, rep = _rep_begun_in(monkeypatch, 32143, 37.0, 37.2, exact=False)
    assert truth.lockout == rep.lockout == "full"
    assert rep.t_top == pytest.approx(truth.t_top, abs=0.1)


def test_a_burst_after_a_stop_is_taken_out_whatever_speed_the_track_had(monkeypatch):
    # Independent seed 32043: the track still carried the sled's speed into its stop at
    # the top when a burst came; the sled's readings after it lay where the sled had
    # stopped, not where that speed would have taken it, so the burst stayed in and the
    # partial rep read full. The sled's way after a burst may start anywhere between the
    # track's speed kept and a stop.
    truth, rep = _rep_begun_in(monkeypatch, 32043, 124.3, 124.5)
    assert truth.lockout == rep.lockout == "partial"


def test_a_burst_taken_out_after_the_track_carried_it_makes_no_rep(monkeypatch):
    # Independent seeds 65327 (38 Hz: a burst of four 45 mm beyond a small adjusting
    # move, its first reading just inside the gate) and 65455 (34 Hz: a burst of six
    # beside a sled at rest): the gate took each out seven readings later, but the
    # smoothed samples made from it had reached the segmenter, and the move read as a
    # partial rep. Its far turn lay at the burst, and the readings kept never went 30 %
    # out: no rep.
    for seed in (65327, 65455):
        session = _independent_session(monkeypatch, seed)
        reps = reps_of(run(session.settings, session.samples))
        assert len(reps) == len(session.reps), seed


def test_an_adjustment_after_a_turn_in_glare_below_the_rest_is_no_rep(monkeypatch):
    # Independent seed 68643 (32 Hz): glare of about 60 mm around a sled at rest, five
    # readings 80-160 mm low, and the smoothed track turned 99 mm below the rest; counted
    # from that turn, a foot adjustment of 20 % of the ROM rose 30 % and read as a
    # partial rep. 68371: the same in less glare, over a smaller ROM. A turn within two
    # deviations of a reading below the rest is noise around it, as beyond a far hold.
    # (65172, glare of 25-50 mm on a 213 mm ROM, was here too: since a far reading's swing
    # of the gate's tracker waits for the next reading, its tracker differs from its
    # first second on, and six readings 0.5-0.65 of the ROM out in that glare 23 s in
    # make a rep again, a compounded fault, docs/engine.md.)
    for seed in (68643, 68371):
        session = _independent_session(monkeypatch, seed)
        reps = reps_of(run(session.settings, session.samples))
        assert len(reps) == len(session.reps), seed


def test_an_adjustment_after_a_burst_beyond_the_rest_is_no_rep(monkeypatch):
    # Independent seed 69304 (24 Hz, start at the top, 2.5 mm of noise): a burst of six
    # readings 40 mm beyond a sled at rest, its first 1 mm inside what the sled can reach
    # from rest; the gate took it out when the sled's readings came back, but the
    # smoothed track had turned there, and a move of 16 % of the ROM 6 s later, counted
    # from that turn, read as a rep of 45 %. A turn at a burst the gate took out is no
    # place the sled was.
    session = _independent_session(monkeypatch, 69304)
    reps = reps_of(run(session.settings, session.samples))
    assert len(reps) == len(session.reps)


def test_a_turn_at_a_burst_beyond_a_far_hold_is_not_the_reps_lockout(monkeypatch):
    # Independent seed 64818 (44 Hz): a burst of five readings 30 mm beyond the hold at
    # the top as the sled left it; the gate took it out late, but the smoothed track had
    # turned there, and the full rep read locked.
    truth, rep = _rep_begun_in(monkeypatch, 64818, 103.0, 103.4)
    assert truth.lockout == rep.lockout == "full"


def _burst_after_a_gap_beside_a_still_sled() -> list[tuple[float, float]]:
    """A still sled at 200 mm, 45 Hz, 5 mm of noise; its last readings before a 0.15 s gap
    happen to fall away (the tracker reads -200 mm/s of noise), and after the gap come a
    spike, five readings of the still sled and a burst of six 150 mm off."""
    rng = random.Random(5)
    dt = 1.0 / 45.0
    readings = [(i * dt, 200.0 + rng.gauss(0.0, 5.0)) for i in range(90)]
    t = readings[-1][0]
    for x in (206.0, 193.0, 198.0, 186.0, 178.0):  # noise that happens to fall away
        t += dt
        readings.append((t, x))
    t += 0.154  # the gap
    readings.append((t, 306.0))  # a spike
    for _ in range(5):
        t += dt
        readings.append((t, 200.0 + rng.gauss(0.0, 5.0)))
    for x in (352.0, 354.0, 351.0, 347.0, 345.0, 369.0):  # the burst
        t += dt
        readings.append((t, x))
    for _ in range(90):
        t += dt
        readings.append((t, 200.0 + rng.gauss(0.0, 5.0)))
    return readings


def test_the_filter_drops_a_burst_after_the_sleds_own_held_readings():
    # Independent seed 66033 (46 Hz): the tracker's speed on a still sled was 208 mm/s of
    # noise; carried over a 0.15 s gap it put the prediction 36 mm off the sled, so a
    # spike and the sled's next five readings were held, then a burst of six. The burst's
    # line was checked from the spike, within reach of the track over the gap, and taken
    # back in as the sled: a rep in the rest. The sled's own readings held before the line
    # must lead onto it, as any held before a short line must.
    from tempo.filters import RobustFilter

    outs = filter_outputs(RobustFilter(gate_base_mm=44.8), _burst_after_a_gap_beside_a_still_sled())
    assert max(y for _, y in outs) < 215.0


def test_a_burst_after_a_gap_beside_a_still_sled_makes_no_rep(monkeypatch):
    session = _independent_session(monkeypatch, 66033)
    reps = reps_of(run(session.settings, session.samples))
    assert len(reps) == len(session.reps) == 21


def test_a_reading_near_a_stale_track_does_not_throw_away_a_long_held_run(monkeypatch):
    # Independent seed 65822 (26 Hz): in glare with 40-60 mm of noise a fast partial rep
    # went up to 63 % of the ROM; the gate held its readings, and a reading that happened
    # to land near the stale track at the bottom threw 16 of them away, so the rep was
    # never seen. More held readings than a burst has, all on one side of the track, are
    # the sled's until a line says otherwise.
    session = _independent_session(monkeypatch, 65822)
    reps = reps_of(run(session.settings, session.samples))
    assert len(reps) == len(session.reps) == 17
    truth = next(r for r in session.reps if 154.0 < r.t_start < 154.6)
    # the start is read in glare: within a few readings
    rep = next(r for r in reps if abs(r.t_start - truth.t_start) < 0.25)
    assert truth.lockout == rep.lockout == "partial"
    assert rep.rom_fraction > 0.45


def test_wrong_readings_either_side_of_the_track_do_not_hold_the_sleds_own(monkeypatch):
    # Independent seed 66328 (50 Hz): a burst of three and five wild readings either side
    # of a still sled were held, eight of them; held with them, the sled's own readings
    # lined up with the wild ones at 1.2 m/s, and the rest before the next set read as the
    # start of a rep 21 s long: two sets merged. Wrong readings scatter either side of a
    # sled the track still has.
    session = _independent_session(monkeypatch, 66328)
    events = run(session.settings, session.samples)
    assert [s.reps for s in sets_of(events)] == session.model_sets == [7, 2, 7]
    assert len(reps_of(events)) == len(session.reps)


def _burst_inside_the_gate_beside_a_still_sled() -> list[tuple[float, float]]:
    """A still sled at 140 mm, 22 Hz, 1.5 mm of noise, and a burst of six 35 mm beyond
    it: inside the 40 mm base gate, and inside the allowance of a sled at rest (its noise
    plus the 30 mm that 3 g moves it in one interval)."""
    rng = random.Random(0)
    readings = []
    for i in range(120):
        x = 140.0 + rng.gauss(0.0, 1.5)
        if 60 <= i < 66:
            x += 35.0
        readings.append((i * 0.045, x))
    return readings


def test_the_filter_takes_out_a_burst_the_sled_at_rest_comes_back_from():
    # Independent seed 66391 (22 Hz, a 165 mm ROM): a burst of six 42 mm beside a still
    # sled was accepted and followed by the track; the sled's readings after it fell
    # inside the gate of the track it carried, so no burst was ever found, and an
    # adjusting move of 17 % read as a partial rep of 42 %. A sled cannot jump out, stop
    # dead and jump back to the level it left: when it comes back within no more readings
    # than a burst has, all of them off that level, they were a burst.
    from tempo.filters import RobustFilter

    f = RobustFilter(gate_base_mm=40.0)
    outs = filter_outputs(f, _burst_inside_the_gate_beside_a_still_sled())
    assert max(y for _, y in outs) > 170.0  # it was let in (outputs made stand) ...
    assert f.disowned == [(pytest.approx(60 * 0.045), pytest.approx(66 * 0.045))]  # ... and out
    assert max(y for t, y in outs if t > 67 * 0.045) < 145.0


def test_a_burst_the_still_sled_comes_back_from_makes_no_rep(monkeypatch):
    session = _independent_session(monkeypatch, 66391)
    reps = reps_of(run(session.settings, session.samples))
    assert len(reps) == len(session.reps) == 3


def _counted_exactly(monkeypatch, seeds_and_reps: tuple[tuple[int, int], ...]) -> list:
    """Each independent session's reps, asserting the engine counted the model's number."""
    found = []
    for seed, reps_true in seeds_and_reps:
        session = _independent_session(monkeypatch, seed)
        reps = reps_of(run(session.settings, session.samples))
        assert len(reps) == len(session.reps) == reps_true, seed
        found.append((session, reps))
    return found


def test_a_foot_move_in_glare_the_gate_carried_out_is_no_rep(monkeypatch):
    # Independent seed 72409 (50 Hz, fresh when found): glare of about 30 mm on a 212 mm
    # ROM; the gate's tracker took a speed from the noise, held the sled's readings as off
    # it and let in a burst of two and a spike beyond it, and the smoothed track went 0.48
    # of the ROM out for a foot moved 0.16: a rep too many. The readings' own running
    # median (over more than any burst) never went a rep's excursion (30 % plus their
    # noise). Tuning seed 31131 (31 Hz): a partial rep of 0.45 of the ROM with glare of
    # 48 mm beginning only on its way back: judged on the noise when it was emitted, its
    # readings fell short, and it was lost. The noise is the readings' own, where they are.
    _counted_exactly(monkeypatch, ((72409, 7), (31131, 7)))


def test_a_slow_partial_lowering_taken_for_holds_is_judged_from_its_base(monkeypatch):
    # Independent seed 73651 (50 Hz, start at the top): a partial lowering of 0.39 of the
    # ROM over 3 s, taken for a chain of holds; the rise was measured from the base and
    # crossed from the last hold. Judged from that hold instead, its readings fell short
    # and the rep was dropped. They are judged from where the rise was measured.
    ((session, reps),) = _counted_exactly(monkeypatch, ((73651, 19),))
    truth = next(r for r in session.reps if 19.0 < r.t_start < 19.5)
    assert any(r.t_start < truth.t_end and r.t_end > truth.t_start for r in reps)


def test_the_readings_reach_is_judged_on_the_noise_where_they_are(monkeypatch):
    # Independent seed 73724 (50 Hz): glare of about 28 mm as a partial rep of 0.56 of a
    # 177 mm ROM rose, none at its far hold; judged on the noise as it rose, the hold's
    # readings fell 1 mm short and the rep was lost. 73709 (32 Hz): a foot moved 0.18 of
    # the ROM, then six wild readings, one of the sled and three more wrong: nine wrong of
    # ten, which move a median of thirteen but scatter far more than the sled's own.
    # 74100 (50 Hz): a burst of six in a slow partial lowering made an excursion, rightly
    # dropped; counted from where it stopped, mid-lowering, the rest was no rep. No rep
    # was counted, so the base stays the one the rise was measured from.
    _counted_exactly(monkeypatch, ((73724, 13), (73709, 19), (74100, 8)))


def test_bursts_at_a_gate_glare_widened_make_no_rep(monkeypatch):
    # Independent seeds 73479 (44 Hz: a burst of four 125 mm out, right after six
    # out-of-range codes, in glare of 20-30 mm on a 153 mm ROM) and 72995 (24 Hz: a foot
    # moved a quarter of the ROM from a locked start, then glare): each read as a partial
    # rep. A running median of five still follows a burst of three or four; one over
    # 2 BURST_MAX_N + 1 readings follows none.
    _counted_exactly(monkeypatch, ((73479, 18), (72995, 18)))


def test_how_far_the_readings_went_is_their_running_median_no_burst_moves():
    from tempo.filters import BURST_MAX_N, RobustFilter

    f = RobustFilter(gate_base_mm=40.0)
    readings = [(i * 0.02, 10.0 + i % 3 - 1) for i in range(60)]  # a sled at rest
    readings[10] = (0.2, 300.0)  # a spike
    for k in range(BURST_MAX_N):  # the longest burst
        readings[20 + k] = (0.4 + 0.02 * k, 250.0 + k)
    for k in range(BURST_MAX_N + 1):  # one reading more: the sled out there
        readings[40 + k] = (0.8 + 0.02 * k, 60.0 + k % 2)
    filter_outputs(f, readings)

    def reached(level: float, t_from: float, t_turn: float, t_to: float) -> bool | None:
        return f.readings_reached(level, t_from, t_turn, t_to, deviations=1.5)

    assert reached(12.0, 0.0, 0.2, 0.78) is False  # not the spike
    assert reached(12.0, 0.0, 0.45, 0.78) is False  # nor the burst
    assert reached(55.0, 0.0, 0.2, 1.2) is True  # the sled's seven, turn or not
    assert reached(59.0, 0.0, 0.84, 1.2) is False  # their median less their spread ...
    assert f.readings_reached(59.0, 0.0, 0.84, 1.2, deviations=0.0) is True  # ... alone
    assert reached(0.0, -1.0, 0.0, 1.2) is None  # not kept that far back
    assert reached(0.0, 0.5, 0.5, 0.66) is None  # fewer than a window
    f.push(1.42, 10.0)  # after a gap of 0.24 s: a turn may have been there unseen
    assert reached(0.0, 0.0, 1.1, 1.5) is None


def test_the_readings_reach_counts_their_own_noise_where_they_are():
    from tempo.filters import RobustFilter

    rng = random.Random(3)
    f = RobustFilter(gate_base_mm=40.0)
    quiet = [(i * 0.02, 2.0 * rng.gauss(0.0, 1.0)) for i in range(50)]
    held = [(1.0 + i * 0.02, 100.0 + 2.0 * rng.gauss(0.0, 1.0)) for i in range(40)]
    glare = [(1.8 + i * 0.02, 100.0 + 30.0 * rng.gauss(0.0, 1.0)) for i in range(40)]
    filter_outputs(f, [*quiet, *held, *glare])
    # 90 mm out: a quiet hold at 100 is, whatever glare came after it; the same hold in
    # glare of 30 mm is not (1.5 deviations of it take it back to 55)
    assert f.readings_reached(90.0, 0.0, 1.4, 2.6, deviations=1.5) is True
    assert f.readings_reached(90.0, 1.8, 2.2, 2.6, deviations=1.5) is False


def test_a_hold_whose_level_crept_past_the_rise_is_a_far_stop(monkeypatch):
    # Independent seed 73985 (35 Hz, start at the top): a partial lowering of 0.45 of the
    # ROM in glare of 30-50 mm; the hold was confirmed at 0.43 on the way, short of the
    # rise's margin with that noise, and its level followed the sled on to 0.51 as the
    # glare ended. The track never stood off that level by twice the noise, so the rise
    # was never seen: the rep was lost. 74034 (29 Hz): a partial rep's far hold at 8 mm
    # of noise on a 155 mm ROM, past the margin only as the noise estimate settled. A
    # hold that lasted STALL_MAX_S, its level past the margin, is a far stop too; one
    # that did not may be a slow move taken for a hold (74257, 38 Hz: a lowering in
    # glare after a turn noise made, its level past the margin as the glare faded).
    _counted_exactly(monkeypatch, ((73985, 6), (74034, 8), (74257, 14)))
