"""The push button on gpiozero's mock pin; press durations come from a FakeClock."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from firmware.clock import FakeClock
from firmware.config import ConfigError
from firmware.station.button import LEG_CYCLE, SetButton, build_button, next_in_cycle

PIN = 27
UP, DOWN = True, False
PULLED_UP = [DOWN, UP]  # the mock pin starts floating low; the internal pull-up lifts it


class Harness:
    def __init__(self, factory: MockFactory, long_press_s: float = 1.0) -> None:
        self.clock = FakeClock(50.0)
        self.ended = 0
        self.legs: list[str] = []
        button = build_button(
            {"pin": PIN, "long_press_s": long_press_s},
            clock=self.clock,
            on_end_set=self._end,
            on_leg_change=self.legs.append,
            pin_factory=factory,
        )
        assert button is not None
        self.button = button
        self.pin = factory.pin(PIN)

    def _end(self) -> None:
        self.ended += 1

    def press(self, held_s: float) -> None:
        self.pin.drive_low()
        self.clock.advance(held_s)
        self.pin.drive_high()
        self.clock.advance(0.5)

    def states(self) -> list[object]:
        return [s.state for s in self.pin.states]


@pytest.fixture
def harness():
    factory = MockFactory()
    h = Harness(factory)
    yield h
    h.button.close()
    factory.reset()


def test_short_presses_cycle_both_left_right_both(harness) -> None:
    assert harness.button.next_leg == "both"
    seen = []
    for _ in range(4):
        harness.press(0.2)
        seen.append(harness.button.next_leg)
    assert seen == ["left", "right", "both", "left"]
    assert harness.legs == seen
    assert harness.ended == 0
    assert harness.states() == [*PULLED_UP, *[DOWN, UP] * 4]


def test_a_long_press_ends_the_set_on_release_and_keeps_the_leg(harness) -> None:
    harness.press(0.2)
    harness.press(1.5)
    assert harness.ended == 1
    assert harness.button.next_leg == "left"
    assert harness.legs == ["left"]
    assert harness.states() == [*PULLED_UP, DOWN, UP, DOWN, UP]


def test_holding_exactly_the_threshold_counts_as_long(harness) -> None:
    harness.press(1.0)
    assert harness.ended == 1
    assert harness.button.next_leg == "both"


def test_update_fires_the_long_press_while_held_and_only_once(harness) -> None:
    clock, button = harness.clock, harness.button
    harness.pin.drive_low()
    for _ in range(9):
        clock.advance(0.1)
        button.update(clock.now)
    assert harness.ended == 0
    for _ in range(10):
        clock.advance(0.1)
        button.update(clock.now)
    assert harness.ended == 1
    harness.pin.drive_high()
    button.update(clock.now)
    assert harness.ended == 1
    assert button.next_leg == "both"
    assert harness.states() == [*PULLED_UP, DOWN, UP]


def test_update_without_a_press_does_nothing(harness) -> None:
    harness.button.update(harness.clock.now + 100)
    assert harness.ended == 0


def test_bounce_is_ignored(harness) -> None:
    harness.press(0.01)
    assert harness.button.next_leg == "both"
    assert harness.legs == []
    assert harness.states() == [*PULLED_UP, DOWN, UP]


def test_a_fresh_press_after_a_long_one_works_again(harness) -> None:
    harness.press(2.0)
    harness.press(2.0)
    harness.press(0.3)
    assert harness.ended == 2
    assert harness.button.next_leg == "left"


def test_no_pin_means_no_button() -> None:
    assert build_button({"pin": None, "long_press_s": 1.0}) is None
    assert build_button({}) is None


def test_bad_settings_name_the_key() -> None:
    factory = MockFactory()
    with pytest.raises(ConfigError, match=r"^\[button\] long_press_s: "):
        SetButton(PIN, long_press_s=0.01, clock=FakeClock(), pin_factory=factory)
    with pytest.raises(ConfigError, match=r"^\[button\] pin: cannot use GPIO99"):
        SetButton(99, clock=FakeClock(), pin_factory=factory)
    factory.reset()


def test_the_cycle_visits_every_leg() -> None:
    assert [next_in_cycle(leg) for leg in LEG_CYCLE] == ["left", "right", "both"]
