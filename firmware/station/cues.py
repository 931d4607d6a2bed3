"""Buzzer cues: what the lifter hears, played without ever blocking the sampling loop.

A `CuePlayer` turns engine events (and sensor status changes) into short patterns and plays
them step by step as time passes: `handle(event)` only queues, `update(now_s)` applies the
steps that are due. The sampling loop calls `update` after every sample; on the device a
`CueThread` can call it at ~200 Hz for crisper timing. docs/cues.md lists every pattern and
the policy when cues overlap.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gpiozero import Buzzer, GPIOZeroError, TonalBuzzer
from gpiozero.exc import PinFactoryFallback
from gpiozero.tones import Tone

from firmware.clock import Clock, SystemClock
from firmware.config import SCHEMA, ConfigError
from firmware.station.zones import LOAD_TOO_HEAVY, LOAD_TOO_LIGHT
from tempo.events import FAST_ECCENTRIC, LOCKED_KNEES, PARTIAL, PhaseChanged, Rep, SetDone
from tempo.prescription import SHORT_PAUSE

Sound = str | None
"""A note name for the tonal buzzer ("E7"), any note meaning "on" for the active one; None: off."""

Step = tuple[Sound, float]
"""(sound, duration_s): hold `sound` for at least `duration_s`."""

# Pitches for the passive buzzer: good news high, bad news low, the metronome in between.
# All lie in TONAL_RANGE (A5..A7), where small piezo discs are loud.
GOOD = "E7"  # 2637 Hz
BAD = "C6"  # 1047 Hz
TICK = "A6"  # 1760 Hz
TONAL_MID = "A6"
TONAL_OCTAVES = 1

END_GAP_S = 0.2  # silence closing every pattern, so two cues in a row stay apart
PREEMPT_GAP_S = 0.05  # silence before a cue that cut another one short
MAX_QUEUED = 4
METRONOME_MAX_TICKS = 10  # a lowering longer than this is no rep any more: stop ticking


def _beeps(sound: str, count: int, on_s: float, off_s: float) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i in range(count):
        steps.append((sound, on_s))
        steps.append((None, off_s if i < count - 1 else END_GAP_S))
    return tuple(steps)


PATTERNS: dict[str, tuple[Step, ...]] = {
    # One short high beep: counted.
    "rep": _beeps(GOOD, 1, 0.08, 0.0),
    # Rising three-note run, the last one long: set over.
    "set_done": (
        ("C7", 0.1),
        (None, 0.05),
        (GOOD, 0.1),
        (None, 0.05),
        ("G7", 0.3),
        (None, END_GAP_S),
    ),
    # Three quick low chirps: hurry sound, you lowered too fast.
    "fast_eccentric": _beeps(BAD, 3, 0.06, 0.06),
    # One long low tone: knees locked out.
    "locked_knees": (("C6", 0.6), (None, END_GAP_S)),
    # Two medium low beeps: the rep did not travel far enough.
    "partial": _beeps(BAD, 2, 0.15, 0.1),
    # A short then a long low beep: a prescribed pause was cut short, hold the next one.
    "short_pause": ((BAD, 0.06), (None, 0.06), (BAD, 0.3), (None, END_GAP_S)),
    # Long, short, short, rising: the first rep was faster than the target, add load.
    "load_too_light": (
        ("C7", 0.3),
        (None, 0.1),
        (GOOD, 0.08),
        (None, 0.08),
        ("G7", 0.08),
        (None, END_GAP_S),
    ),
    # Short, short, long, falling: the first rep was slower than the target, take load off.
    "load_too_heavy": (
        ("G7", 0.08),
        (None, 0.08),
        (GOOD, 0.08),
        (None, 0.1),
        ("C7", 0.3),
        (None, END_GAP_S),
    ),
    # Three long falling tones: stop the set, velocity loss reached [vbt] stop_at_velocity_loss_pct.
    "velocity_loss": (
        ("C7", 0.4),
        (None, 0.1),
        (TONAL_MID, 0.4),
        (None, 0.1),
        ("A5", 0.4),
        (None, END_GAP_S),
    ),
    # Four low beeps: the sensor stopped answering.
    "sensor_fault": _beeps("A5", 4, 0.2, 0.1),
    # A click for each whole second of the lowering.
    "metronome": ((TICK, 0.03), (None, 0.0)),
}

WARNINGS = (
    "fast_eccentric",
    "locked_knees",
    "partial",
    "short_pause",
    "load_too_light",
    "load_too_heavy",
    "velocity_loss",
    "sensor_fault",
)
PRIORITY: dict[str, int] = {
    "metronome": 0,
    "rep": 0,
    "set_done": 1,
    **dict.fromkeys(WARNINGS, 2),
}
# Flags of a rep and their warning, in the order they are played.
FLAG_CUES: tuple[tuple[str, str], ...] = (
    (FAST_ECCENTRIC, "fast_eccentric"),
    (LOCKED_KNEES, "locked_knees"),
    (PARTIAL, "partial"),
    (SHORT_PAUSE, "short_pause"),
    (LOAD_TOO_LIGHT, "load_too_light"),
    (LOAD_TOO_HEAVY, "load_too_heavy"),
)
CUE_KEYS = ("rep", *WARNINGS, "set_done", "metronome")


class CueOutput(Protocol):
    """Where sound goes: a buzzer, a text stream, or nowhere."""

    def begin(self, name: str) -> None:
        """A cue starts playing."""

    def sound(self, sound: Sound) -> None:
        """Switch to `sound` (None: silence); called only when it changes."""

    def close(self) -> None:
        """Silence and release the device."""


class NullOutput:
    """No buzzer: cues are still scheduled, nothing is heard."""

    def begin(self, name: str) -> None:
        pass

    def sound(self, sound: Sound) -> None:
        pass

    def close(self) -> None:
        pass


class TextSink(Protocol):
    """Where text cues go: sys.stdout, or anything with write and flush."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class TextOutput:
    """One line per cue ("cue: rep"): the demo and tests have no buzzer to listen to."""

    def __init__(self, stream: TextSink) -> None:
        self.stream = stream

    def begin(self, name: str) -> None:
        self.stream.write(f"cue: {name}\n")
        self.stream.flush()

    def sound(self, sound: Sound) -> None:
        pass

    def close(self) -> None:
        pass


class BuzzerOutput:
    """Active buzzer (it has its own oscillator): every note is just "on"."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        self.device = Buzzer(pin, pin_factory=pin_factory)

    def begin(self, name: str) -> None:
        pass

    def sound(self, sound: Sound) -> None:
        if sound is None:
            self.device.off()
        else:
            self.device.on()

    def close(self) -> None:
        self.device.close()


class TonalOutput:
    """Passive buzzer driven by PWM, so good and bad cues get different pitches."""

    def __init__(self, pin: int, *, pin_factory: Any = None) -> None:
        self.device = TonalBuzzer(
            pin, mid_tone=Tone(TONAL_MID), octaves=TONAL_OCTAVES, pin_factory=pin_factory
        )

    def begin(self, name: str) -> None:
        pass

    def sound(self, sound: Sound) -> None:
        if sound is None:
            self.device.stop()
        else:
            self.device.play(Tone(sound))

    def close(self) -> None:
        self.device.close()


@dataclass(slots=True)
class _Playing:
    """The pattern being played and where in it the buzzer is."""

    name: str
    steps: tuple[Step, ...]
    index: int
    step_end_s: float


class CuePlayer:
    """Schedules cue patterns; never blocks, safe to drive from the loop and a `CueThread`.

    Policy when cues overlap (docs/cues.md): a cue of a higher class (warning > set done >
    rep beep and metronome tick) cuts the running one short; any other cue waits in a queue of
    at most `MAX_QUEUED`, played in arrival order. A full queue drops its oldest cue of the
    lowest class, or the new cue if that class is lower still. Metronome ticks never queue: a
    tick that falls while anything plays is skipped. Every step lasts at least its duration from
    the update that applied it, so a coarse update stretches a cue but never drops a step.
    """

    def __init__(
        self,
        output: CueOutput,
        *,
        enabled: Mapping[str, bool] | None = None,
        quiet: bool = False,
        velocity_loss_pct: float = 20.0,
    ) -> None:
        self.output = output
        self.quiet = quiet
        self.enabled = dict.fromkeys(CUE_KEYS, True)
        self.enabled["metronome"] = False
        if enabled:
            for key, value in enabled.items():
                if key not in self.enabled:
                    raise ValueError(f"[cues] {key}: not a cue (cues: {', '.join(CUE_KEYS)})")
                self.enabled[key] = bool(value)
        if velocity_loss_pct <= 0:
            raise ValueError("[cues] velocity_loss_pct: must be positive")
        self.velocity_loss_pct = velocity_loss_pct
        self.dropped = 0
        self.played: list[str] = []  # names of started cues, newest last (bounded)
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._playing: _Playing | None = None
        self._preempted = False
        self._sound: Sound = None
        # Metronome: armed by the eccentric phase, anchored at the next update.
        self._metronome_armed = False
        self._metronome_origin_s: float | None = None
        self._last_tick_s = 0
        # Velocity loss within the current set.
        self._vl_set: int | None = None
        self._vl_best = 0.0
        self._vl_fired = False
        self._faulted = False

    # -- events -------------------------------------------------------------------------

    def handle(self, event: object) -> None:
        """Queue the cues for an engine event or a sensor status (anything with `.state`)."""
        with self._lock:
            if isinstance(event, Rep):
                self._on_rep(event)
            elif isinstance(event, SetDone):
                self._reset_velocity(None)
                self._metronome_armed = False
                self._cue("set_done")
            elif isinstance(event, PhaseChanged):
                self._metronome_armed = event.phase == "eccentric"
                self._metronome_origin_s = None
                self._last_tick_s = 0
            else:
                state = getattr(event, "state", None)
                if state == "sensor_fault":
                    if not self._faulted:
                        self._faulted = True
                        self._metronome_armed = False
                        self._cue("sensor_fault")
                elif state == "sensor_ok":
                    self._faulted = False

    def _on_rep(self, rep: Rep) -> None:
        warned = False
        for flag, name in FLAG_CUES:
            if flag in rep.flags and self.enabled[name]:
                self._cue(name)
                warned = True
        if not warned:
            self._cue("rep")
        if rep.set != self._vl_set:
            self._reset_velocity(rep.set)
        velocity = rep.mean_concentric_velocity_m_s
        self._vl_best = max(self._vl_best, velocity)
        if not self._vl_fired and self._vl_best > 0:
            loss_pct = (self._vl_best - velocity) / self._vl_best * 100.0
            if loss_pct >= self.velocity_loss_pct:
                self._vl_fired = True
                self._cue("velocity_loss")

    def _reset_velocity(self, set_no: int | None) -> None:
        self._vl_set = set_no
        self._vl_best = 0.0
        self._vl_fired = False

    def _cue(self, name: str) -> None:
        if self.quiet or not self.enabled[name]:
            return
        playing = self._playing
        if playing is not None and PRIORITY[name] > PRIORITY[playing.name]:
            # Cut the running cue; the new one starts at the next update after a short gap.
            self._playing = None
            self._preempted = True
            self._queue.appendleft(name)
            self._trim_queue(keep_first=True)
            return
        self._queue.append(name)
        self._trim_queue(keep_first=False)

    def _trim_queue(self, *, keep_first: bool) -> None:
        while len(self._queue) > MAX_QUEUED:
            start = 1 if keep_first else 0
            candidates = list(self._queue)[start:]
            lowest = min(PRIORITY[n] for n in candidates)
            victim = next(i for i, n in enumerate(candidates) if PRIORITY[n] == lowest) + start
            del self._queue[victim]
            self.dropped += 1

    # -- time ---------------------------------------------------------------------------

    def update(self, now_s: float) -> None:
        """Apply whatever is due at `now_s`; cheap and non-blocking, call it often."""
        with self._lock:
            if self._metronome_armed and self._metronome_origin_s is None:
                self._metronome_origin_s = now_s
            playing = self._playing
            if playing is not None and now_s >= playing.step_end_s:
                playing.index += 1
                if playing.index < len(playing.steps):
                    self._apply(playing.steps[playing.index], now_s, playing)
                else:
                    self._playing = None
            tick_due = self._tick_due(now_s)
            if self._playing is None:
                if self._queue:
                    self._start(self._queue.popleft(), now_s)
                elif tick_due:
                    self._start("metronome", now_s)

    def _tick_due(self, now_s: float) -> bool:
        """True once for each whole second of the lowering; late checks skip, never catch up."""
        origin = self._metronome_origin_s
        if origin is None or not self._metronome_armed or not self.enabled["metronome"]:
            return False
        whole_s = math.floor(now_s - origin + 1e-9)
        if whole_s <= self._last_tick_s or whole_s > METRONOME_MAX_TICKS:
            return False
        self._last_tick_s = whole_s
        return True

    def _start(self, name: str, now_s: float) -> None:
        steps = PATTERNS[name]
        if self._preempted:
            steps = ((None, PREEMPT_GAP_S), *steps)
            self._preempted = False
        self.played.append(name)
        del self.played[:-100]
        self.output.begin(name)
        playing = _Playing(name, steps, 0, now_s)
        self._playing = playing
        self._apply(steps[0], now_s, playing)

    def _apply(self, step: Step, now_s: float, playing: _Playing) -> None:
        sound, duration_s = step
        if sound != self._sound:
            self._sound = sound
            self.output.sound(sound)
        playing.step_end_s = now_s + duration_s

    @property
    def idle(self) -> bool:
        """Nothing playing or waiting (the metronome may still tick later)."""
        with self._lock:
            return self._playing is None and not self._queue and not self._preempted

    def close(self) -> None:
        """Silence the buzzer and release its pin."""
        with self._lock:
            self._playing = None
            self._queue.clear()
            if self._sound is not None:
                self._sound = None
                self.output.sound(None)
        self.output.close()


class CueThread:
    """Calls `player.update` at ~200 Hz with the system clock, for accurate cue timing."""

    def __init__(
        self,
        player: CuePlayer,
        *,
        clock: Clock | None = None,
        period_s: float = 0.005,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.player = player
        self.clock = clock or SystemClock()
        self.period_s = period_s
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="repsled-cues", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.player.update(self.clock.monotonic())
            except Exception as exc:  # a broken buzzer must not kill cue timing silently
                if self.on_error is not None:
                    self.on_error(exc)
                return
            self._stop.wait(self.period_s)


def build_cues(
    cues_section: Mapping[str, Any],
    *,
    pin_factory: Any = None,
    text_stream: TextSink | None = None,
) -> CuePlayer:
    """The player for a [cues] config section; `text_stream` prints cues instead of beeping.

    Missing keys take their defaults, so tests may pass only what they change.
    """
    section = {key: spec.default for key, spec in SCHEMA["cues"].items()}
    for key, value in cues_section.items():
        if key not in section:
            raise ConfigError(f"[cues] {key}: unknown key (known: {', '.join(section)})")
        section[key] = value
    kind = section["buzzer"]
    if kind not in ("active", "tonal", "none"):
        raise ConfigError(f'[cues] buzzer: must be "active", "tonal" or "none", not {kind!r}')
    # The config sets it to [vbt] stop_at_velocity_loss_pct; a partial section leaves None.
    stop_pct = section["velocity_loss_pct"]
    if stop_pct is None:
        stop_pct = SCHEMA["vbt"]["stop_at_velocity_loss_pct"].default
    output: CueOutput
    if section["quiet"]:
        output = NullOutput()
    elif text_stream is not None:
        output = TextOutput(text_stream)
    elif kind == "none":
        output = NullOutput()
    else:
        output = _gpio_output(kind, section["pin"], pin_factory)
    return CuePlayer(
        output,
        enabled={key: section[key] for key in CUE_KEYS},
        quiet=section["quiet"],
        velocity_loss_pct=float(stop_pct),
    )


def _gpio_output(kind: str, pin: int, pin_factory: Any) -> CueOutput:
    # gpiozero warns once per pin library it cannot load before it gives up (eight lines on a
    # laptop): keep them, and say it in the one-line error instead.
    with warnings.catch_warnings(record=True) as fallbacks:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            if kind == "tonal":
                return TonalOutput(pin, pin_factory=pin_factory)
            return BuzzerOutput(pin, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            tried = "; ".join(
                str(w.message).removeprefix("Falling back from ")
                for w in fallbacks
                if issubclass(w.category, PinFactoryFallback)
            )
            raise ConfigError(
                f"[cues] pin: cannot drive the {kind} buzzer on GPIO{pin}: {exc}"
                + (f" (tried {tried})" if tried else "")
                + '; on a machine without GPIO use --text-cues, or buzzer = "none"'
            ) from None
