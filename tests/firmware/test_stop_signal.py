"""The first Ctrl-C asks a long-running command to stop cleanly; a second one must end it."""

from __future__ import annotations

import signal
import threading

import pytest

from firmware.commands.stop_signal import FORCED_EXIT_CODE, stop_on_signal


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
    with stop_on_signal(stop, "hub", force_exit=exits.append):
        signal.raise_signal(signal.SIGTERM)
        assert exits == []
        signal.raise_signal(signal.SIGINT)  # the user's Ctrl-C while the clean stop hangs
    assert exits == [FORCED_EXIT_CODE]
    err = capsys.readouterr().err.strip()
    assert err == "hub: second SIGINT while stopping: exiting without waiting"


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
