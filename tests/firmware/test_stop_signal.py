"""The first Ctrl-C asks a long-running command to stop cleanly; a second one must end it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import pytest

from firmware.commands.stop_signal import ECHO_S, FORCED_EXIT_CODE, stop_on_signal


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_only_asks_to_stop(signum: signal.Signals) -> None:
    stop = threading.Event()
    exits: list[int] = []
    with stop_on_signal(stop, "demo", force_exit=exits.append):
        signal.raise_signal(signum)
        assert stop.is_set()
    assert exits == []


def test_a_second_signal_while_stopping_exits_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    exits: list[int] = []
    now = [100.0]
    with stop_on_signal(stop, "hub", force_exit=exits.append, clock=lambda: now[0]):
        signal.raise_signal(signal.SIGTERM)
        assert exits == []
        now[0] += ECHO_S
        signal.raise_signal(signal.SIGINT)  # the user's Ctrl-C while the clean stop hangs
    assert exits == [FORCED_EXIT_CODE]
    err = capsys.readouterr().err.strip()
    assert err == "hub: SIGINT while stopping: exiting without waiting"


def test_the_same_request_delivered_twice_is_one() -> None:
    """`timeout 60 make demo`: timeout signals make's process group, and make passes its
    SIGTERM on to the demo as it dies, a few milliseconds later."""
    stop = threading.Event()
    exits: list[int] = []
    now = [100.0]
    with stop_on_signal(stop, "demo", force_exit=exits.append, clock=lambda: now[0]):
        signal.raise_signal(signal.SIGTERM)
        now[0] += 0.004
        signal.raise_signal(signal.SIGTERM)
    assert stop.is_set() and exits == []


def test_a_signal_after_a_stop_for_another_reason_exits_at_once() -> None:
    """The hub stops by itself when storing fails; Ctrl-C while it does ends it."""
    stop = threading.Event()
    exits: list[int] = []
    with stop_on_signal(stop, "hub", force_exit=exits.append):
        stop.set()
        signal.raise_signal(signal.SIGINT)
    assert exits == [FORCED_EXIT_CODE]


def test_the_previous_handlers_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signal(threading.Event(), "dashboard"):
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_off_the_main_thread_it_installs_nothing() -> None:
    """Tests run commands from worker threads, where Python refuses signal handlers."""
    seen: list[object] = []

    def body() -> None:
        with stop_on_signal(threading.Event(), "demo"):
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert seen == [before]


class _FakeTimer:
    """Stands for threading.Timer: the test fires it by hand."""

    def __init__(self, delay_s: float, action: Callable[[], None]) -> None:
        self.delay_s = delay_s
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def test_a_stop_still_hanging_after_the_grace_period_exits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`timeout 60 repsled demo` sends one SIGTERM and nobody presses Ctrl-C again."""
    stop = threading.Event()
    exits: list[int] = []
    timers: list[_FakeTimer] = []

    def start_timer(delay_s: float, action: Callable[[], None]) -> _FakeTimer:
        timers.append(_FakeTimer(delay_s, action))
        return timers[-1]

    with stop_on_signal(
        stop, "demo", grace_s=30.0, force_exit=exits.append, start_timer=start_timer
    ):
        signal.raise_signal(signal.SIGTERM)
        assert [t.delay_s for t in timers] == [30.0]
        assert exits == []
        timers[0].action()  # the clean stop is still under way 30 s on
    assert exits == [FORCED_EXIT_CODE]
    err = capsys.readouterr().err.strip()
    assert err == "demo: still stopping 30 s after SIGTERM: exiting without waiting"


def test_a_clean_stop_within_the_grace_period_cancels_it() -> None:
    timers: list[_FakeTimer] = []

    def start_timer(delay_s: float, action: Callable[[], None]) -> _FakeTimer:
        timers.append(_FakeTimer(delay_s, action))
        return timers[-1]

    with stop_on_signal(threading.Event(), "demo", grace_s=30.0, start_timer=start_timer):
        signal.raise_signal(signal.SIGINT)
    assert len(timers) == 1 and timers[0].cancelled


def test_without_a_grace_period_no_timer_runs() -> None:
    started: list[float] = []

    def start_timer(delay_s: float, action: Callable[[], None]) -> _FakeTimer:
        started.append(delay_s)
        return _FakeTimer(delay_s, action)

    stop = threading.Event()
    with stop_on_signal(stop, "hub", start_timer=start_timer):
        signal.raise_signal(signal.SIGTERM)
    assert stop.is_set() and started == []
