"""One station: sensor -> sampling loop -> engine -> cues, MQTT and logs.

This is the only place the pieces meet; `repsled run` and each simulated station of
`repsled demo` are a Station. Everything it touches is passed in or built from the config,
so tests run it on a fake chip, a fake clock and gpiozero's MockFactory.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from firmware.clock import Clock
from firmware.config import Config
from firmware.publishing.payloads import rep_payload, set_payload
from firmware.station.legs import LegTracker
from firmware.station.loop import LoopStats, SamplingLoop, SensorStatus
from firmware.station.next_set import (
    NextSetTracker,
    encode,
    on_field_command,
    on_message,
    start_tracker,
)
from firmware.station.outputs import LateOutputs, Outputs, build_outputs
from firmware.station.prescribed import SetPrescriptions
from firmware.station.sdnotify import Notifier, WatchdogPinger
from firmware.station.sensors import configured_source, trace_origin_s
from firmware.station.zones import VelocityZones
from sensor.source import DistanceSource
from tempo.engine import TempoEngine
from tempo.events import Event, PhaseChanged, Rep, RepRevised, SetDone

if TYPE_CHECKING:  # gpiozero and paho are imported with the outputs (outputs.py)
    from firmware.publishing.mqtt import MqttPublisher
    from firmware.publishing.session_state import RetainedState
    from firmware.station.button import SetButton
    from firmware.station.cues import CuePlayer, CueThread, TextSink
    from firmware.station.next_set import NextSetStore
    from sensor.trace import TraceWriter

RECENT_REPS = 1000


SESSION_RANDOM_HEX = 4  # 16 random bits: two processes starting in one second: 1 in 65 536


def new_session_id(wall_time_s: float | None = None, random_part: str | None = None) -> str:
    """UTC start time plus a random part, e.g. 20261201T071500Z-3f2a.

    Readable and sortable by start time; the random part keeps two sessions apart when they
    start in the same second, or when a Pi without a real-time clock restarts at the same
    restored time. One topic level: no '/', '+' or '#'.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_time_s))
    if random_part is not None:
        return f"{stamp}-{random_part}"
    if stamp not in _ISSUED:
        _ISSUED.clear()
    taken = _ISSUED.setdefault(stamp, set())
    while (part := os.urandom(SESSION_RANDOM_HEX // 2).hex()) in taken:
        pass  # never twice in one process for one second, whatever the draw
    taken.add(part)
    return f"{stamp}-{part}"


_ISSUED: dict[str, set[str]] = {}  # random parts given out in the latest second


@dataclass(slots=True)
class Progress:
    """Set and rep numbers as the lifter sees them, for the live state topic."""

    set_no: int = 1
    rep_no: int = 0


class Station:
    """Wires one sensor to the engine and to the outputs; `run` blocks until stopped."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        source: DistanceSource,
        publisher: MqttPublisher | None = None,
        cues: CuePlayer | None = None,
        button: SetButton | None = None,
        notifier: Notifier | None = None,
        trace: TraceWriter | None = None,
        session: str | None = None,
        cue_thread: bool = False,
        loop_options: dict[str, Any] | None = None,
        next_set_store: NextSetStore | None = None,
        late_outputs: LateOutputs | None = None,
    ) -> None:
        """The outputs come built (publisher, cues, button, next_set_store) or as
        `late_outputs`, built while the sensor starts (outputs.py)."""
        self.config = config
        self.station = config.station
        self.log = logging.getLogger(f"repsled.{self.station}")
        self.clock = clock
        self.session = session or new_session_id()
        self.engine = TempoEngine(config.engine)
        self.notifier = notifier or Notifier(None)
        self.legs = LegTracker()
        defaults = config.next_set_defaults
        # Athletes' load-velocity profiles from the hub, for the first rep's velocity zone.
        self.zones = VelocityZones(config.vbt["target_velocity_m_s"])
        self.prescriptions = SetPrescriptions(
            NextSetTracker(defaults, defaults),
            config.engine,
            stop_at_velocity_loss_pct=float(config.vbt["stop_at_velocity_loss_pct"]),
            zones=self.zones,
        )
        self.progress = Progress()
        # The latest rep payloads (bounded: a device runs for weeks), for tests and benches.
        self.reps: deque[dict[str, Any]] = deque(maxlen=RECENT_REPS)
        self._pinger = WatchdogPinger(self.notifier, clock)
        self._end_set_requested = False
        # Outputs: none until attached; what happens before is held for them, in order.
        self.publisher: MqttPublisher | None = None
        self.cues: CuePlayer | None = None
        self.button: SetButton | None = None
        self.next_set_store: NextSetStore | None = None
        self.retained: RetainedState | None = None
        self._cue_thread: CueThread | None = None
        self._late = late_outputs
        self._held: list[Event | SensorStatus] = []
        self.loop = SamplingLoop(
            source,
            clock,
            period_s=config.sensor["timing_budget_ms"] / 1000.0,
            engine=self.engine,
            trace=trace,
            on_sample=self._on_sample,
            on_event=self._on_event,
            on_status=self._on_status,
            watchdog=self._alive,
            t0_s=trace_origin_s(source),
            **(loop_options or {}),
        )
        if late_outputs is None:
            self._attach(Outputs(publisher, cues, button, next_set_store, cue_thread))

    def _attach(self, outputs: Outputs) -> None:
        """Wire the outputs in (sampling thread, or before sampling starts)."""
        from firmware.publishing.session_state import RetainedState, totals_for  # noqa: PLC0415

        self._late = None
        self.publisher = publisher = outputs.publisher
        self.cues = outputs.cues
        self.button = button = outputs.button
        # The next set (athlete, load, leg, tempo): saved in the state dir when there is one.
        self.next_set_store = outputs.next_set_store
        if outputs.next_set_store is not None:
            defaults = self.config.next_set_defaults
            self.prescriptions.tracker = start_tracker(outputs.next_set_store, defaults)
        # The session so far and the Home Assistant summary, retained for late subscribers.
        totals = totals_for(self.config.storage) if publisher is not None else None
        self.retained = RetainedState(self.station, self.session, totals=totals)
        if outputs.cues is not None and outputs.cue_thread:
            from firmware.station.cues import CueThread  # noqa: PLC0415

            self._cue_thread = CueThread(outputs.cues)
        if button is not None:
            button.on_end_set = self.request_end_set
            button.select(self.prescriptions.tracker.pending.leg)
        if publisher is not None:
            from firmware.publishing.discovery import NEXT_FIELDS  # noqa: PLC0415

            publisher.subscribe(self._topic("next"), self.receive_next_set)
            for field in NEXT_FIELDS:
                publisher.subscribe(
                    self._topic(f"next/set/{field}"), self._field_command_handler(field)
                )
            publisher.subscribe(self._topic("profile"), self.zones.receive)

    def _attach_late(self, outputs: Outputs) -> None:
        """Late outputs are ready: start them as `run` would have, then replay what they
        missed, in order."""
        self._attach(outputs)
        self._start_outputs()
        held, self._held = self._held, []
        for item in held:
            if isinstance(item, SensorStatus):
                if self.cues is not None:
                    self.cues.handle(item)
            else:
                self._on_event(item)

    def _poll_late(self) -> bool:
        """True once the outputs are attached (cheap when they are).

        The first call starts building them: that is the first reading, or the first sensor
        fault. By then a data-ready pin has its gpiozero pin factory, and the build does not
        compete with the first reading for the interpreter.
        """
        late = self._late
        if late is None:
            return True
        late.start()
        outputs = late.poll()
        if outputs is None:
            return False
        self._attach_late(outputs)
        return True

    def _start_outputs(self) -> None:
        if self._cue_thread is not None:
            self._cue_thread.start()
        self._publish_retained()  # the new session replaces the previous one at once

    def _topic(self, name: str) -> str:
        """`PREFIX/STATION/name`: `next` and `profile` are retained messages (docs/mqtt.md)."""
        prefix = self.config.mqtt.get("topic_prefix") or "repsled"
        return f"{prefix}/{self.station}/{name}"

    # -- control ---------------------------------------------------------------------------

    def run(self, duration_s: float | None = None) -> LoopStats:
        """Sample until stopped; then flush the engine and say goodbye to the broker."""
        self.log.info(
            "station %s session %s: start (sensor timing budget %g ms)",
            self.station,
            self.session,
            self.config.sensor["timing_budget_ms"],
        )
        if self._late is None:
            self._start_outputs()
        try:
            stats = self.loop.run(duration_s)
            if self._late is not None:  # ended before they were ready: they still hear it all
                self._attach_late(self._late.wait())
        finally:
            self.notifier.stopping()
            if self.retained is not None:
                self.retained.flush()
            if self._cue_thread is not None:
                self._cue_thread.stop()
        self.log.info(
            "station %s: stopped (%s): %d samples, %d read errors, %d faults",
            self.station,
            stats.ended_by,
            stats.samples,
            stats.errors_total,
            stats.faults,
        )
        return stats

    def stop(self) -> None:
        """Safe from a signal handler: the loop ends after its current reading."""
        self.loop.stop()

    def receive_next_set(self, topic: str, payload: bytes) -> bool:
        """A next-set message (MQTT worker thread): applies from the next set that starts;
        an invalid one is logged and the previous next set stays. The message's leg becomes
        the button's pick when it changes (a retained message heard again changes nothing)."""
        tracker = self.prescriptions.tracker
        before = tracker.pending
        applied = on_message(tracker, self.next_set_store, topic, payload)
        if applied and self.button is not None and tracker.pending != before:
            self.button.select(tracker.pending.leg)
        return applied

    def receive_field_command(self, field: str, topic: str, payload: bytes) -> bool:
        """One field from a Home Assistant control (MQTT worker thread): checked and applied
        like a next-set message, then the whole next set is published as the retained
        `next` message, so every path ends in the same message."""
        tracker = self.prescriptions.tracker
        before = tracker.pending
        next_set = on_field_command(tracker, self.next_set_store, field, topic, payload)
        if next_set is None:
            return False
        if self.button is not None and next_set.leg != before.leg:
            self.button.select(next_set.leg)
        if self.publisher is not None:
            self.publisher.publish_retained_once("next", encode(next_set))
        return True

    def _field_command_handler(self, field: str) -> Any:
        def handle(topic: str, payload: bytes) -> bool:
            return self.receive_field_command(field, topic, payload)

        return handle

    def request_end_set(self) -> None:
        """From the button's thread: only a flag, the sampling thread acts on it."""
        self._end_set_requested = True

    # -- loop callbacks (sampling thread) ---------------------------------------------------

    def _alive(self) -> None:
        """The loop is alive (faults included): keep systemd's watchdog fed."""
        self._pinger.ping()

    def _on_sample(self, t_s: float, distance_mm: int | None) -> None:
        if self._late is not None and not self._poll_late():
            return  # no button, buzzer or broker yet
        if self._end_set_requested:
            self._end_set_requested = False
            for event in self.engine.end_set(t_s):
                self._on_event(event)
        now = self.clock.monotonic()
        if self.button is not None:
            self.button.update(now)
        if self.cues is not None and self._cue_thread is None:
            self.cues.update(now)
        if self.publisher is not None:
            self.publisher.publish_state(
                t_s=t_s,
                phase=self.engine.phase,
                position=self.engine.position_fraction,
                distance_mm=distance_mm,
                set_no=self.progress.set_no,
                rep_no=self.progress.rep_no,
            )

    def _selected_leg(self) -> Any:
        if self.button is not None:
            return self.button.next_leg
        return self.prescriptions.pending.leg

    def _on_event(self, event: Event) -> None:
        if self._late is not None and not self._poll_late():
            self._held.append(event)
            return
        assert self.retained is not None  # attached with the outputs
        extra: dict[str, Any] = {}
        if isinstance(event, Rep):
            # Judged against its set's tempo before anything hears of it, cues included.
            event, extra = self.prescriptions.apply(event)
        if self.cues is not None and not isinstance(event, RepRevised):
            self.cues.handle(event)
        if isinstance(event, Rep):
            payload = self._rep_payload(event, extra)
            self.progress.set_no, self.progress.rep_no = event.set, event.rep
            self.reps.append(payload)
            if self.publisher is not None:
                self.publisher.publish_rep(payload)
            self.retained.add_rep(payload)
            self._publish_retained()
            self.log.info(
                "rep %d.%d: concentric %.2f s, top %.2f s, eccentric %.2f s (score %d), "
                "%s, %.2f m/s%s",
                event.set,
                event.rep,
                event.concentric_s,
                event.top_pause_s,
                event.eccentric_s,
                event.eccentric_score,
                event.lockout,
                event.mean_concentric_velocity_m_s,
                f", flags {','.join(event.flags)}" if event.flags else "",
            )
        elif isinstance(event, RepRevised):
            self._on_revised(event.rep)
        elif isinstance(event, SetDone):
            leg, imbalance = self.legs.finish_set(event, self._selected_leg())
            payload = set_payload(
                event, station=self.station, session=self.session, leg=leg, imbalance=imbalance
            )
            payload.update(self.prescriptions.finish(event))
            self.progress.set_no, self.progress.rep_no = event.set + 1, 0
            if self.publisher is not None:
                self.publisher.publish_set(payload)
            self.retained.add_set(payload)
            self._publish_retained()
            self.log.info(
                "set %d done (%s): %d reps, mean eccentric %.2f s, velocity loss %.0f %%",
                event.set,
                event.reason,
                event.reps,
                event.mean_eccentric_s,
                event.velocity_loss_pct,
            )
        elif isinstance(event, PhaseChanged):
            self.log.debug("phase %s at %.3f s", event.phase, event.t_s)

    def _on_revised(self, rep: Rep) -> None:
        """A rep sent before, its end placed again (tempo.events.RepRevised): published
        again with `revision` to replace it; the buzzer has spoken and stays silent."""
        assert self.retained is not None
        rep, extra = self.prescriptions.revise(rep)
        payload = self._rep_payload(rep, extra, revised=True)
        for i in range(len(self.reps) - 1, -1, -1):
            if self.reps[i]["id"] == payload["id"]:
                self.reps[i] = payload
                break
        if self.publisher is not None:
            self.publisher.publish_rep(payload)
        self.retained.revise_rep(payload)
        self._publish_retained()
        self.log.info(
            "revised rep %d.%d: concentric %.2f s, eccentric %.2f s (score %d), %s%s",
            rep.set,
            rep.rep,
            rep.concentric_s,
            rep.eccentric_s,
            rep.eccentric_score,
            rep.lockout,  # (read again from the top: docs/engine.md, "Lockout verdict")
            f", flags {','.join(rep.flags)}" if rep.flags else "",
        )

    def _rep_payload(
        self, rep: Rep, extra: dict[str, Any], *, revised: bool = False
    ) -> dict[str, Any]:
        """The rep's payload on its set's leg, with the prescription's `extra` fields."""
        leg = self.legs.leg_for_set(rep.set, self._selected_leg())
        payload = rep_payload(
            rep, station=self.station, session=self.session, leg=leg, revised=revised
        )
        payload.update(extra)
        return payload

    def _publish_retained(self) -> None:
        if self.publisher is not None and self.retained is not None:
            for kind, text in self.retained.messages():
                self.publisher.publish_retained(kind, text)

    def _on_status(self, status: SensorStatus) -> None:
        if status.state == "sensor_ok":
            self.notifier.ready()  # the first good reading: the station really counts
        if self._late is not None and not self._poll_late():
            self._held.append(status)  # for the buzzer
        elif self.cues is not None:
            self.cues.handle(status)
        self.notifier.status(f"{status.state}: {status.reason}")
        level = logging.WARNING if status.state == "sensor_fault" else logging.INFO
        self.log.log(
            level,
            "%s (%s) at %.2f s, %d errors so far",
            status.state,
            status.reason,
            status.t_s,
            status.errors_total,
        )


def build_station(
    config: Config,
    *,
    sensor_spec: str,
    speed: float = 1.0,
    clock: Clock,
    publisher: MqttPublisher | None,
    cue_text: TextSink | None = None,
    pin_factory: Any = None,
    notifier: Notifier | None = None,
    trace: TraceWriter | None = None,
    loop_trace: bool = False,
) -> Station:
    """A station from its config: sensor, cues (buzzer or text) and the optional button."""
    source = configured_source(
        sensor_spec, config.sensor, clock, speed=speed, loop=loop_trace, pin_factory=pin_factory
    )
    outputs = build_outputs(
        config, clock=clock, publisher=publisher, cue_text=cue_text, pin_factory=pin_factory
    )
    return Station(
        config,
        clock=clock,
        source=source,
        publisher=outputs.publisher,
        cues=outputs.cues,
        button=outputs.button,
        notifier=notifier,
        trace=trace,
        cue_thread=outputs.cue_thread,
        next_set_store=outputs.next_set_store,
    )
