"""A set's prescription applied at the payload edge: known answers on constructed reps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from firmware.station.next_set import NextSet, NextSetTracker
from firmware.station.prescribed import SetPrescriptions, prescribed_rep, tempo_fields
from tempo.events import BOUNCE, FAST_ECCENTRIC, LOCKED_KNEES
from tempo.prescription import SHORT_PAUSE, parse_tempo
from tempo.settings import EngineSettings
from tests.factories import make_rep, make_set_done

SETTINGS = EngineSettings(target_eccentric_s=3.0, fast_margin_s=1.0)


def test_no_tempo_leaves_the_rep_as_the_engine_made_it() -> None:
    rep = make_rep(eccentric_s=1.5, flags=(FAST_ECCENTRIC,))
    assert prescribed_rep(rep, None, SETTINGS) is rep
    assert tempo_fields(rep, None, "bottom") == {
        "tempo_score": None,
        "eccentric_deviation_s": None,
        "bottom_pause_deviation_s": None,
        "concentric_deviation_s": None,
        "top_pause_deviation_s": None,
    }


def test_the_prescribed_eccentric_replaces_the_config_target() -> None:
    # 1.5 s is too fast for the config's 3 s (under 3 - 1) but right for a 1.5 s prescription.
    rep = make_rep(rep_no=2, eccentric_s=1.5, flags=(FAST_ECCENTRIC, BOUNCE, LOCKED_KNEES))
    judged = prescribed_rep(rep, parse_tempo("1.5-0-X-0"), SETTINGS)
    assert judged.eccentric_score == 100
    assert judged.flags == (BOUNCE, LOCKED_KNEES)
    # ...and 2.5 s is too fast for a 4 s prescription, though the config's 3 s accepts it.
    slow = make_rep(rep_no=2, eccentric_s=2.5, flags=(LOCKED_KNEES,))
    judged = prescribed_rep(slow, parse_tempo("4-0-X-0"), SETTINGS)
    assert judged.eccentric_score == 63  # 2.5 / 4 = 62.5 %, rounded half up
    assert judged.flags == (FAST_ECCENTRIC, LOCKED_KNEES)


def test_an_x_eccentric_is_never_too_fast() -> None:
    rep = make_rep(rep_no=2, eccentric_s=0.6, flags=(FAST_ECCENTRIC,))
    judged = prescribed_rep(rep, parse_tempo("X-0-X-0"), SETTINGS)
    assert (judged.eccentric_score, judged.flags) == (100, ())


def test_a_pause_cut_short_is_flagged_last() -> None:
    # make_rep: bottom pause 0.4 s, top pause 0.3 s.
    rep = make_rep(rep_no=2, eccentric_s=3.0, flags=(LOCKED_KNEES,))
    assert prescribed_rep(rep, parse_tempo("3-1-X-0"), SETTINGS).flags == (
        LOCKED_KNEES,
        SHORT_PAUSE,
    )
    # 0.4 s held for a prescribed 0.8 s is within the 0.5 s tolerance.
    assert prescribed_rep(rep, parse_tempo("3-0.8-X-0"), SETTINGS).flags == (LOCKED_KNEES,)
    # The first rep's bottom pause (start = "bottom") was never measured: no warning.
    first = make_rep(rep_no=1, eccentric_s=3.0)
    assert prescribed_rep(first, parse_tempo("3-2-X-0"), SETTINGS).flags == ()


def test_tempo_fields_score_and_deviations() -> None:
    # eccentric 2.0 for 3 (dev -1.0, excess 0.5, span 3: 83.3), bottom 0.4 for 1 (dev -0.6,
    # excess 0.1, span 1: 90), concentric X, top 0.3 for 0 (within tolerance: 100).
    rep = make_rep(rep_no=2, eccentric_s=2.0)
    fields = tempo_fields(rep, parse_tempo("3-1-X-0"), "bottom")
    assert fields == {
        "tempo_score": 88,  # (3 × 83.33 + 1 × 90 + 1 × 100) / 5 = 88.0
        "eccentric_deviation_s": -1.0,
        "bottom_pause_deviation_s": -0.6,
        "concentric_deviation_s": None,
        "top_pause_deviation_s": 0.3,
    }


def _prescriptions(pending: NextSet, stop_pct: float = 20.0) -> SetPrescriptions:
    return SetPrescriptions(NextSetTracker(pending), SETTINGS, stop_at_velocity_loss_pct=stop_pct)


ANA = NextSet("Ana", 140.0, "both", parse_tempo("3-1-X-0"))
BEN = NextSet("Ben", 100.0, "left", None)


def test_a_next_set_binds_at_the_first_rep_and_stamps_reps_and_set() -> None:
    p = _prescriptions(ANA)
    _, first = p.apply(make_rep(1, 1, velocity_m_s=0.5))
    p.tracker.offer(BEN)  # during set 1: for set 2
    judged, second = p.apply(make_rep(1, 2, eccentric_s=2.0, velocity_m_s=0.45))
    for fields in (first, second):
        assert (fields["athlete"], fields["load_kg"], fields["tempo"]) == ("Ana", 140.0, "3-1-X-0")
    assert second["tempo_score"] == 88
    assert SHORT_PAUSE in judged.flags
    done = p.finish(make_set_done(1, reps=2))
    assert done == {
        "athlete": "Ana",
        "load_kg": 140.0,
        "tempo": "3-1-X-0",
        "mean_tempo_score": 94,  # (100 + 88) / 2: the first rep, 3 s and 0.3 s, scores 100
        "velocity_loss_exceeded": False,  # 10 % under the 20 % stop
        "velocity_zone": None,  # no target, no profile
    }
    _, third = p.apply(make_rep(2, 1))
    assert (third["athlete"], third["tempo"], third["tempo_score"]) == ("Ben", None, None)
    assert p.finish(make_set_done(2, reps=1))["mean_tempo_score"] is None


@pytest.mark.parametrize(
    ("velocities", "stop_pct", "exceeded"),
    [
        ((0.5, 0.39, 0.5), 20.0, True),  # 22 % at rep 2 counts though the last rep recovered
        ((0.5, 0.41, 0.45), 20.0, False),
        ((0.5, 0.41), 15.0, True),
    ],
)
def test_the_set_says_whether_it_went_past_the_velocity_loss_stop(
    velocities: tuple[float, ...], stop_pct: float, exceeded: bool
) -> None:
    p = _prescriptions(NextSet(), stop_pct)
    for i, v in enumerate(velocities, start=1):
        p.apply(make_rep(1, i, velocity_m_s=v))
    assert p.finish(make_set_done(1, reps=len(velocities)))["velocity_loss_exceeded"] is exceeded


def test_a_set_without_reps_follows_the_pending_next_set() -> None:
    p = _prescriptions(BEN)
    assert p.finish(make_set_done(1, reps=0)) == {
        "athlete": "Ben",
        "load_kg": 100.0,
        "tempo": None,
        "mean_tempo_score": None,
        "velocity_loss_exceeded": False,
        "velocity_zone": None,
    }


def test_a_rep_whose_times_a_fault_hid_is_not_judged_against_the_tempo() -> None:
    """Its phase times are unknown (docs/engine.md): no score, no fast flag, no velocity."""
    from tempo.events import TIMES_UNKNOWN

    rep = make_rep(eccentric_s=0.4, velocity_m_s=0.1, flags=(TIMES_UNKNOWN,))
    tempo = parse_tempo("4-1-X-0")
    assert prescribed_rep(rep, tempo, SETTINGS) is rep
    assert set(tempo_fields(rep, tempo, "bottom").values()) == {None}
    tracker = NextSetTracker(NextSet(tempo=tempo))
    prescriptions = SetPrescriptions(tracker, SETTINGS, stop_at_velocity_loss_pct=20.0)
    prescriptions.apply(make_rep(1, 1, velocity_m_s=0.5))
    judged, fields = prescriptions.apply(replace(rep, set=1, rep=2))
    assert judged.flags == (TIMES_UNKNOWN,) and fields["tempo_score"] is None
    assert prescriptions.finish(make_set_done(1))["velocity_loss_exceeded"] is False
