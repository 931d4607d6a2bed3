"""The optional push button: a short press picks the leg of the next set, a long one ends a set.

Wire it between the GPIO pin and ground (the internal pull-up is used). Press durations are
measured with the injected clock rather than gpiozero's hold thread, so tests drive the pin and
a fake clock and get the same answer every time. The button only records intent: the app reads
`next_leg` when a set starts and calls `engine.end_set` from the `on_end_set` callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import Button, GPIOZeroError

from firmware.clock import Clock, SystemClock
from firmware.config import ConfigError
from firmware.publishing.payloads import Leg

LEG_CYCLE: tuple[Leg, ...] = ("both", "left", "right")
MIN_PRESS_S = 0.05  # shorter contacts are bounce or noise, not a press


def next_in_cycle(leg: Leg) -> Leg:
    """both -> left -> right -> both: one press between sets walks a left/right pair."""
    return LEG_CYCLE[(LEG_CYCLE.index(leg) + 1) % len(LEG_CYCLE)]


class SetButton:
    """Short press: cycle `next_leg`; press held >= `long_press_s`: `on_end_set()` once.

    The long press fires as soon as `update(now_s)` sees the hold pass the threshold (the loop
    calls it after each sample), or at the latest on release. Callbacks run on whichever thread
    saw the edge or called `update` (gpiozero's event thread on a Pi); keep them short, e.g. set
    a flag the sampling loop reads.
    """

    def __init__(
        self,
        pin: int,
        *,
        long_press_s: float = 1.0,
        clock: Clock | None = None,
        on_end_set: Callable[[], None] | None = None,
        on_leg_change: Callable[[Leg], None] | None = None,
        pin_factory: Any = None,
    ) -> None:
        if long_press_s <= MIN_PRESS_S:
            raise ConfigError(f"[button] long_press_s: must be longer than {MIN_PRESS_S} s")
        self.long_press_s = long_press_s
        self.clock = clock or SystemClock()
        self.on_end_set = on_end_set
        self.on_leg_change = on_leg_change
        self._lock = threading.Lock()
        self._next_leg: Leg = "both"
        self._down_s: float | None = None
        self._long_fired = False
        try:
            self.device = Button(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise ConfigError(f"[button] pin: cannot use GPIO{pin}: {exc}") from None
        self.device.when_pressed = self._pressed
        self.device.when_released = self._released

    @property
    def next_leg(self) -> Leg:
        """The leg the next set is for; the selection stays until pressed again."""
        with self._lock:
            return self._next_leg

    def select(self, leg: Leg) -> None:
        """Set `next_leg` from elsewhere (a next-set message); presses cycle on from it."""
        with self._lock:
            self._next_leg = leg

    def _pressed(self) -> None:
        with self._lock:
            self._down_s = self.clock.monotonic()
            self._long_fired = False

    def _released(self) -> None:
        now_s = self.clock.monotonic()
        end_set = False
        new_leg: Leg | None = None
        with self._lock:
            if self._down_s is None:
                return
            held_s = now_s - self._down_s
            self._down_s = None
            if self._long_fired:
                return
            if held_s >= self.long_press_s:
                self._long_fired = True
                end_set = True
            elif held_s >= MIN_PRESS_S:
                self._next_leg = new_leg = next_in_cycle(self._next_leg)
        self._notify(end_set, new_leg)

    def update(self, now_s: float) -> None:
        """Fire the long press while the button is still held; cheap, call it often."""
        with self._lock:
            down_s = self._down_s
            if down_s is None or self._long_fired or now_s - down_s < self.long_press_s:
                return
            self._long_fired = True
        self._notify(True, None)

    def _notify(self, end_set: bool, new_leg: Leg | None) -> None:
        if end_set and self.on_end_set is not None:
            self.on_end_set()
        if new_leg is not None and self.on_leg_change is not None:
            self.on_leg_change(new_leg)

    def close(self) -> None:
        self.device.close()


def build_button(
    button_section: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    on_end_set: Callable[[], None] | None = None,
    on_leg_change: Callable[[Leg], None] | None = None,
    pin_factory: Any = None,
) -> SetButton | None:
    """The button of a [button] config section, or None when no pin is configured."""
    pin = button_section.get("pin")
    if pin is None:
        return None
    return SetButton(
        pin,
        long_press_s=float(button_section.get("long_press_s", 1.0)),
        clock=clock,
        on_end_set=on_end_set,
        on_leg_change=on_leg_change,
        pin_factory=pin_factory,
    )
