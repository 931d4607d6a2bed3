"""Ctrl-C and SIGTERM for the commands that run until stopped: the first asks for a clean stop,
a second one ends the process at once.

A clean stop waits for threads, the outbox, the database and the broker. Should one of them
hang, the user's second Ctrl-C must still end the process instead of being swallowed by a
handler that only sets a flag already set.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

FORCED_EXIT_CODE = 130  # what a shell reports for a process ended by Ctrl-C


@contextmanager
def stop_on_signal(
    stop: threading.Event,
    command: str,
    force_exit: Callable[[int], Any] = os._exit,
) -> Iterator[None]:
    """Set `stop` on SIGINT or SIGTERM; on a second one, say so and call `force_exit`.

    Handlers can only be installed from the main thread (tests run commands from others);
    there the block runs without them. The previous handlers are restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            return
        name = signal.Signals(signum).name
        print(f"{command}: second {name} while stopping: exiting without waiting", file=sys.stderr)
        sys.stderr.flush()
        force_exit(FORCED_EXIT_CODE)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
