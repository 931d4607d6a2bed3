"""What a station drives besides its logs: the buzzer, the button and the MQTT publisher.

Counting needs only the sensor and the engine; the outputs need gpiozero and paho, the two
heaviest imports of the device (docs/performance.md). `repsled run` therefore builds them in a
thread of their own while the chip takes its first measurement (`LateOutputs`): the station
holds what happens until then (a few hundred milliseconds on a Pi Zero 2 W, before any rep can
be finished) and hands it over, in order, once they are ready. Tests and the demo build them
first (`build_outputs`) and pass them in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from firmware.clock import Clock
from firmware.config import Config, ConfigError
from firmware.state_dir import state_dir

if TYPE_CHECKING:  # gpiozero and paho are imported when the outputs are built
    from firmware.publishing.mqtt import MqttPublisher
    from firmware.publishing.store import MessageStore
    from firmware.station.button import SetButton
    from firmware.station.cues import CuePlayer, TextSink
    from firmware.station.next_set import NextSetStore


@dataclass(slots=True)
class Outputs:
    """The outputs of one station; None for each one it has not got."""

    publisher: MqttPublisher | None = None
    cues: CuePlayer | None = None
    button: SetButton | None = None
    next_set_store: NextSetStore | None = None
    cue_thread: bool = False  # play cues on a thread of their own (a real buzzer)
    store: MessageStore | None = None  # the publisher's outbox, closed after it

    def close(self) -> None:
        """The publisher first (it flushes into the store), then the store."""
        if self.publisher is not None:
            self.publisher.close()
        if self.store is not None:
            self.store.close()


def build_outputs(
    config: Config,
    *,
    clock: Clock,
    publisher: MqttPublisher | None,
    cue_text: TextSink | None = None,
    pin_factory: Any = None,
) -> Outputs:
    """Cues (buzzer or text), the optional button and, with a publisher, the kept next set."""
    from firmware.station.button import build_button  # noqa: PLC0415 - gpiozero
    from firmware.station.cues import build_cues  # noqa: PLC0415 - gpiozero

    if pin_factory is None:
        from firmware.station.pins import choose_pin_factory  # noqa: PLC0415

        choose_pin_factory()
    return Outputs(
        publisher=publisher,
        cues=build_cues(config.cues, pin_factory=pin_factory, text_stream=cue_text),
        button=build_button(config.button, clock=clock, pin_factory=pin_factory),
        next_set_store=next_set_store(config) if publisher is not None else None,
        cue_thread=cue_text is None and config.cues["buzzer"] != "none",
    )


def build_run_outputs(config: Config, *, clock: Clock, cue_text: TextSink | None) -> Outputs:
    """`repsled run`'s outputs: with `[mqtt] host`, the outbox and a started publisher too."""
    store = publisher = None
    if config.mqtt["host"]:
        # paho (and the outbox's sqlite3) only when there is a broker to talk to.
        from firmware.publishing.mqtt import MqttPublisher  # noqa: PLC0415
        from firmware.publishing.store import MessageStore  # noqa: PLC0415

        # Never fails: a storage fault keeps messages in memory, logged (store.py).
        store = MessageStore.from_storage(config.storage, open_now=False)
        try:
            publisher = MqttPublisher.from_config(config, store).start()
        except BaseException:
            store.close()
            raise
    else:
        logging.getLogger("repsled").info("[mqtt] host not set: reps are not published")
    try:
        outputs = build_outputs(config, clock=clock, publisher=publisher, cue_text=cue_text)
    except BaseException:
        Outputs(publisher=publisher, store=store).close()
        raise
    outputs.store = store
    return outputs


def next_set_store(config: Config) -> NextSetStore | None:
    """The next set kept beside the outbox; without a usable state dir, memory only (logged):
    counting never depends on the disk."""
    from firmware.station.next_set import NextSetStore  # noqa: PLC0415

    try:
        return NextSetStore.in_dir(state_dir(config.storage["state_dir"]))
    except ConfigError as exc:
        logging.getLogger("repsled").error("%s: the next set is not kept across restarts", exc)
        return None


class LateOutputs:
    """Outputs built on a thread of their own while the station already samples.

    `poll` is the sampling thread's cheap question "ready yet?"; it re-raises the build's
    error there, so a buzzer pin that cannot be driven still ends `repsled run` with its
    one-line error. `close` waits for the build and closes whatever it made.
    """

    def __init__(self, build: Callable[[], Outputs]) -> None:
        self._build = build
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._outputs: Outputs | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """Begin building (once; later calls do nothing)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outputs", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._outputs = self._build()
        except BaseException as exc:  # handed to the sampling thread by poll/wait
            self._error = exc
        finally:
            self._done.set()

    def poll(self) -> Outputs | None:
        """The outputs once built, else None; raises the build's error."""
        if not self._done.is_set():
            return None
        if self._error is not None:
            raise self._error
        return self._outputs

    def wait(self) -> Outputs:
        """The outputs, building them here if nobody started the build."""
        self.start()
        self._done.wait()
        outputs = self.poll()
        assert outputs is not None  # done without an error
        return outputs

    def close(self) -> None:
        """Close what was built; a build that failed or never started leaves nothing open."""
        if self._thread is None:
            return
        self._done.wait()
        if self._outputs is not None:
            self._outputs.close()
