"""Which leg a set is for, and the imbalance of a left/right pair."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.publishing.payloads import set_payload
from firmware.station.button import build_button
from firmware.station.legs import LegTracker, diff_pct
from tempo.events import SetDone


def done(set_no: int, reps: int, velocity_m_s: float, eccentric_s: float) -> SetDone:
    return SetDone(
        set=set_no,
        reps=reps,
        t_start=0.0,
        t_end=30.0,
        mean_eccentric_s=eccentric_s,
        time_under_tension_s=reps * 5.0,
        mean_concentric_velocity_m_s=velocity_m_s,
        best_concentric_velocity_m_s=velocity_m_s * 1.1,
        last_concentric_velocity_m_s=velocity_m_s * 0.9,
        velocity_loss_pct=18.2,
        reason="rest",
    )


def test_a_set_keeps_the_leg_selected_when_it_started() -> None:
    legs = LegTracker()
    assert legs.leg_for_set(1, "left") == "left"
    assert legs.leg_for_set(1, "right") == "left"  # pressed during the set: next set
    assert legs.leg_for_set(2, "right") == "right"


def test_a_right_set_after_a_left_set_carries_the_imbalance() -> None:
    legs = LegTracker()
    legs.leg_for_set(3, "left")
    assert legs.finish_set(done(3, reps=10, velocity_m_s=0.50, eccentric_s=3.0), "right") == (
        "left",
        None,
    )
    legs.leg_for_set(4, "right")
    leg, imbalance = legs.finish_set(done(4, reps=8, velocity_m_s=0.45, eccentric_s=2.5), "both")
    assert leg == "right"
    assert imbalance == {
        "left_set": 3,
        "right_set": 4,
        "reps_diff": -2,
        "reps_pct": -22.2,
        "mean_velocity_diff_pct": -10.5,
        "eccentric_s_diff_pct": -18.2,
    }
    payload = set_payload(
        done(4, 8, 0.45, 2.5), station="s", session="x", leg=leg, imbalance=imbalance
    )
    assert payload["imbalance"]["reps_diff"] == -2


@pytest.mark.parametrize(
    "order",
    [
        ("right", "left"),
        ("left", "both", "right"),
        ("right", "right"),
        ("both", "right"),
        ("left", "left"),
    ],
)
def test_other_orders_get_no_imbalance(order) -> None:
    legs = LegTracker()
    results = []
    for set_no, leg in enumerate(order, start=1):
        legs.leg_for_set(set_no, leg)
        results.append(legs.finish_set(done(set_no, 8, 0.5, 3.0), "both"))
    assert results == [(leg, None) for leg in order]


def test_a_set_with_no_rep_seen_takes_the_selection_at_its_end() -> None:
    legs = LegTracker()
    assert legs.finish_set(done(1, 6, 0.5, 3.0), "left") == ("left", None)
    leg, imbalance = legs.finish_set(done(2, 6, 0.5, 3.0), "right")
    assert leg == "right"
    assert imbalance is not None
    assert (imbalance["reps_diff"], imbalance["reps_pct"]) == (0, 0.0)


def test_percentages_are_relative_to_the_mean_of_both_sides() -> None:
    assert diff_pct(10, 8) == -22.2
    assert diff_pct(8, 10) == 22.2
    assert diff_pct(0, 5) == 200.0
    assert diff_pct(0, 0) == 0.0


def test_an_unknown_leg_is_refused() -> None:
    with pytest.raises(ValueError, match="leg must be one of both, left, right, not 'middle'"):
        LegTracker().leg_for_set(1, "middle")  # type: ignore[arg-type]


def test_button_and_tracker_together_pair_a_left_and_a_right_set() -> None:
    factory = MockFactory()
    clock = FakeClock()
    button = build_button({"pin": 5, "long_press_s": 1.0}, clock=clock, pin_factory=factory)
    assert button is not None
    pin = factory.pin(5)
    legs = LegTracker()

    def short_press() -> None:
        pin.drive_low()
        clock.advance(0.2)
        pin.drive_high()

    short_press()  # both -> left
    assert legs.leg_for_set(1, button.next_leg) == "left"
    short_press()  # during set 1: only the next set is right
    assert legs.leg_for_set(1, button.next_leg) == "left"
    legs.finish_set(done(1, 10, 0.5, 3.0), button.next_leg)
    assert legs.leg_for_set(2, button.next_leg) == "right"
    _, imbalance = legs.finish_set(done(2, 10, 0.5, 3.0), button.next_leg)
    assert imbalance is not None
    assert [s.state for s in pin.states] == [False, True, False, True, False, True]
    button.close()
    factory.reset()
