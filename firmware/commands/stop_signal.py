"""Ctrl-C and SIGTERM for the commands that run until stopped: the first asks for a clean stop,
a second one ends the process at once.

A clean stop waits for threads, the outbox, the database and the broker. Should one of them
hang, the user's second Ctrl-C must still end the process instead of being swallowed by a
handler that only sets a flag already set; and where nobody is there to press it (`timeout
60 repsled demo` in a script sends one SIGTERM), a grace period ends it too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

FORCED_EXIT_CODE = 130  # what a shell reports for a process ended by Ctrl-C
# The demo's clean stop takes a few seconds at most (station threads are joined for 5 s
# each, publishers flush for a few); past this it is stuck somewhere.
DEMO_STOP_GRACE_S = 30.0
# A signal this soon after the first is the same request delivered twice, not a second
# one: `timeout 60 make demo` signals make's whole process group and make passes SIGTERM
# on to its child as it dies, so the demo gets two within milliseconds.
ECHO_S = 1.0


class _Timer(Protocol):
    def cancel(self) -> None: ...


def _daemon_timer(delay_s: float, action: Callable[[], None]) -> _Timer:
    timer = threading.Timer(delay_s, action)
    timer.daemon = True
    timer.start()
    return timer


@contextmanager
def stop_on_signal(
    stop: threading.Event,
    command: str,
    *,
    grace_s: float | None = None,
    force_exit: Callable[[int], Any] = os._exit,
    start_timer: Callable[[float, Callable[[], None]], _Timer] = _daemon_timer,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Set `stop` on SIGINT or SIGTERM; on another one while stopping (ECHO_S or more after
    the first), or `grace_s` after the first when given, say so and call `force_exit`.

    Handlers can only be installed from the main thread (tests run commands from others);
    there the block runs without them. The previous handlers are restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    timers: list[_Timer] = []
    first_at: list[float] = []

    def give_up(why: str) -> None:
        print(f"{command}: {why}: exiting without waiting", file=sys.stderr)
        sys.stderr.flush()
        force_exit(FORCED_EXIT_CODE)

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        now = clock()
        if stop.is_set():
            if not first_at or now - first_at[0] >= ECHO_S:
                give_up(f"{name} while stopping")
            return
        stop.set()
        first_at.append(now)
        if grace_s is not None:
            overdue = f"still stopping {grace_s:g} s after {name}"
            timers.append(start_timer(grace_s, lambda: give_up(overdue)))

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
