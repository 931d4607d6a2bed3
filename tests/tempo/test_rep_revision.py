"""A rep's end placed again on the hold after it (`RepRevised`, docs/engine.md "A rep's end
placed again"): a lowering that creeps onto the stops in noise is confirmed while it creeps,
and the whole hold says where it ended."""

from __future__ import annotations

import random
from dataclasses import asdict, replace

import pytest

from sensor.synthetic import generate
from tempo import EngineSettings, Rep, RepRevised, SetDone, latest_reps
from tests.tempo.helpers import (
    BOTTOM,
    TOP,
    crossing,
    minimum_jerk,
    minimum_jerk_time_at,
    piecewise,
    run,
)

LO, HI = 150.0, 520.0  # the helpers' bottom_mm and lockout_mm
NOISE_MM = 3.0  # a reading's deviation: a sensor about 0.6 m away
RATE_HZ = 50.0


def _session(
    seed: int, start: str, eccentric_s: float = 3.0, reps: int = 3
) -> tuple[list[tuple[float, int | None]], list[float]]:
    """Noisy readings of `reps` reps with minimum-jerk moves and 2 s at the start side after
    each, and the true end of each rep (the 2 % boundary)."""
    rng = random.Random(seed)
    if start == "bottom":
        moves = [(1.0, LO, LO)] + [
            (1.0, LO, HI),
            (0.5, HI, HI),
            (eccentric_s, HI, LO),
            (2.0, LO, LO),
        ] * reps
        home = LO
    else:
        moves = [(1.0, HI, HI)] + [
            (eccentric_s, HI, LO),
            (0.5, LO, LO),
            (1.0, LO, HI),
            (2.0, HI, HI),
        ] * reps
        home = HI
    moves.append((6.0, home, home))
    spans, ends, t = [], [], 0.0
    for duration, a, b in moves:
        spans.append((t, t + duration, a, b))
        if a != b and b == home:
            ends.append(t + minimum_jerk_time_at(0.98) * duration)
        t += duration
    samples: list[tuple[float, int | None]] = []
    k = 0
    for i in range(int(t * RATE_HZ)):
        now = i / RATE_HZ
        while spans[k][1] <= now:
            k += 1
        t0, t1, a, b = spans[k]
        x = a + (b - a) * minimum_jerk((now - t0) / (t1 - t0))
        samples.append((round(now, 6), round(x + rng.gauss(0.0, NOISE_MM))))
    return samples, ends


def test_a_lowering_that_creeps_onto_the_stops_ends_where_the_hold_says() -> None:
    first_errors, final_errors = [], []
    for seed in range(4100, 4110):
        samples, ends = _session(seed, "bottom")
        events = run(BOTTOM, samples)
        first = [e for e in events if isinstance(e, Rep)]
        final = latest_reps(events)
        assert len(first) == len(final) == len(ends) == 3
        first_errors += [abs(r.t_end - t) for r, t in zip(first, ends, strict=True)]
        final_errors += [abs(r.t_end - t) for r, t in zip(final, ends, strict=True)]
    # As first sent, ends err by up to 0.14 s (early: the creep read as the hold); revised,
    # by 0.04 s at most on these seeds, and by a third as much on average.
    assert max(first_errors) > 0.1
    assert max(final_errors) < 0.06
    assert sum(final_errors) < 0.5 * sum(first_errors)


def test_a_revision_changes_the_end_and_what_follows_from_it_only() -> None:
    samples, _ = _session(4103, "bottom")
    events = run(BOTTOM, samples)
    revisions = [e for e in events if isinstance(e, RepRevised)]
    assert revisions
    for revision in revisions:
        rep = revision.rep
        i = events.index(revision)
        first = [e for e in events[:i] if isinstance(e, Rep)][-1]
        assert (first.set, first.rep) == (rep.set, rep.rep)  # the latest rep, before the next
        assert first.t_confirmed == rep.t_confirmed < revision.t_revised
        assert rep.eccentric_s == pytest.approx(rep.t_end - rep.t_ecc)
        assert abs(rep.t_end - first.t_end) >= 0.01
        changed = {"t_end", "eccentric_s", "eccentric_score", "flags"}
        unchanged = {k: getattr(first, k) for k in changed}
        assert replace(rep, **unchanged) == first
    assert len({(r.rep.set, r.rep.rep) for r in revisions}) == len(revisions)  # once each
    (done,) = [e for e in events if isinstance(e, SetDone)]
    final = latest_reps(events)
    assert done.mean_eccentric_s == pytest.approx(sum(r.eccentric_s for r in final) / 3)
    assert done.t_end == final[-1].t_end


def test_from_the_top_a_revision_moves_the_lockout_and_the_concentric() -> None:
    samples, ends = _session(4107, "top")
    events = run(TOP, samples)
    revisions = [e for e in events if isinstance(e, RepRevised)]
    assert revisions
    for revision in revisions:
        rep = revision.rep
        first = next(e for e in events if isinstance(e, Rep) and e.rep == rep.rep)
        assert rep.t_top == rep.t_end
        # the push began where it did: only its end moved
        assert rep.t_end - rep.concentric_s == pytest.approx(first.t_end - first.concentric_s)
        # over the travel the hold's level gives (below)
        band = 0.02 * (HI - LO)
        assert rep.mean_concentric_velocity_m_s * rep.concentric_s == pytest.approx(
            (rep.rom_mm - 2.0 * band) / 1000.0
        )
        assert rep.rom_fraction == pytest.approx(rep.rom_mm / (HI - LO))
        assert rep.eccentric_s == first.eccentric_s
        assert abs(rep.t_end - ends[rep.rep - 1]) < abs(first.t_end - ends[rep.rep - 1])


def test_from_the_top_the_whole_hold_reads_the_rom_closer_than_the_still_window() -> None:
    # The rep ends at lockout: its ROM (and lockout verdict) is read again on the readings of
    # the hold that placed its end, a few dozen against the still window's few.
    first_errors, revised_errors = [], []
    for seed in range(4100, 4112):
        samples, _ = _session(seed, "top")
        events = run(TOP, samples)
        for revision in (e for e in events if isinstance(e, RepRevised)):
            rep = revision.rep
            first = next(e for e in events if isinstance(e, Rep) and e.rep == rep.rep)
            first_errors.append(abs(first.rom_mm - (HI - LO)))
            revised_errors.append(abs(rep.rom_mm - (HI - LO)))
    # 11 revisions on these seeds: 18.7 mm of error in all as first sent, 9.1 revised.
    assert len(revised_errors) >= 8
    assert sum(revised_errors) < 0.6 * sum(first_errors)


def test_a_touch_and_go_is_not_revised() -> None:
    # Two reps with no hold between them, then a hold: only the last rep has a hold after it.
    knots = [
        (0.0, LO),
        (1.0, LO),
        (1.8, HI),
        (2.3, HI),
        (3.6, LO),
        (4.4, HI),
        (4.9, HI),
        (6.2, LO),
        (12.0, LO),
    ]
    events = run(BOTTOM, piecewise(knots))
    reps = [e for e in events if isinstance(e, Rep)]
    assert len(reps) == 2
    assert all(e.rep.rep == 2 for e in events if isinstance(e, RepRevised))


def test_revisions_replay_the_same() -> None:
    samples, _ = _session(4101, "bottom")
    assert run(BOTTOM, samples) == run(BOTTOM, samples)


def test_a_lowering_that_stalls_above_the_stops_and_goes_on_ends_at_the_stops() -> None:
    # 0.2 s still 25 mm above the stops, then on to them: the rep goes out as the stall is
    # confirmed (its end 0.68 s early); the hold the movement went on to places it again.
    knots = [
        (0.0, LO),
        (1.0, LO),
        (1.8, HI),
        (2.3, HI),
        (5.3, LO + 25),
        (5.5, LO + 25),
        (6.1, LO),
        (10.0, LO),
    ]
    rng = random.Random(3)
    samples = [(t, round(d + rng.gauss(0.0, 1.5))) for t, d in piecewise(knots)]
    events = run(BOTTOM, samples)
    (first,) = [e for e in events if isinstance(e, Rep)]
    (revision,) = [e for e in events if isinstance(e, RepRevised)]
    true_end = crossing(knots, 5, LO + 0.02 * (HI - LO))
    assert first.t_end < true_end - 0.5
    assert abs(revision.rep.t_end - true_end) < 0.15


def test_latest_reps_takes_each_rep_as_last_revised_in_the_order_first_sent() -> None:
    samples, _ = _session(4103, "bottom")
    events = run(BOTTOM, samples)
    revised = {(e.rep.set, e.rep.rep): e.rep for e in events if isinstance(e, RepRevised)}
    first = [e for e in events if isinstance(e, Rep)]
    assert latest_reps(events) == [revised.get((r.set, r.rep), r) for r in first]
    assert revised and latest_reps(events) != first


def test_a_lockout_read_early_is_read_again_on_the_hold() -> None:
    # Accuracy seed 900290 (the bench's tuning range; start = "top", 40 Hz): rep 2.3 is
    # pushed to 0.993 of the ROM (locked knees) and held there for 0.6 s. The hold is
    # confirmed once a stop is told from the push, while the push still creeps its last
    # millimetres: the still window's median is 0.967 of the ROM out, under the 0.97 of
    # `locked_above`, and the rep goes out full. The knee through the hold's readings puts
    # the level at 0.982, and the rep is revised with its verdict. (Seed 900235, this
    # test's rep before, a full rep held in glare that went out locked, is now confirmed
    # 0.1 s sooner, on readings whose median says full, and goes out right.)
    trace = generate(900290)
    truth = next(r for r in trace.reps if (r.set, r.rep) == (2, 3))
    assert truth.lockout == "locked"
    events = run(EngineSettings(**asdict(trace.settings)), trace.samples)
    first = next(e for e in events if isinstance(e, Rep) and (e.set, e.rep) == (2, 3))
    assert (first.lockout, first.flags) == ("full", ())
    (revision,) = [
        e for e in events if isinstance(e, RepRevised) and (e.rep.set, e.rep.rep) == (2, 3)
    ]
    assert (revision.rep.lockout, revision.rep.flags) == ("locked", ("locked_knees",))
    assert revision.t_revised > first.t_confirmed
