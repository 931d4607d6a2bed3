"""Buzzer cues: whole pin state sequences on gpiozero's mock pins, time from a FakeClock."""

from __future__ import annotations

import io
import itertools
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from gpiozero.tones import Tone
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.clock import FakeClock
from firmware.config import ConfigError
from firmware.station.cues import (
    CUE_KEYS,
    MAX_QUEUED,
    METRONOME_MAX_TICKS,
    PATTERNS,
    PRIORITY,
    BuzzerOutput,
    CuePlayer,
    CueThread,
    NullOutput,
    TextOutput,
    TonalOutput,
    build_cues,
)
from firmware.station.zones import LOAD_TOO_HEAVY, LOAD_TOO_LIGHT
from tempo.events import FAST_ECCENTRIC, LOCKED_KNEES, PARTIAL, PhaseChanged, Rep, SetDone
from tempo.prescription import SHORT_PAUSE
from tests.factories import make_rep, make_set_done

ROOT = Path(__file__).resolve().parents[2]
PIN = 17
OFF, ON = False, True


def rep(set_no: int = 1, rep_no: int = 1, flags: tuple[str, ...] = (), v: float = 0.5) -> Rep:
    return make_rep(set_no, rep_no, flags=flags, velocity_m_s=v)


def set_done(set_no: int = 1) -> SetDone:
    return make_set_done(set_no)


FAULT = SimpleNamespace(state="sensor_fault", reason="timeout")
OK = SimpleNamespace(state="sensor_ok", reason="recovered")


class Recording:
    """A CueOutput that logs what it is told, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str | None]] = []
        self.closed = False

    def begin(self, name: str) -> None:
        self.log.append(("begin", name))

    def sound(self, sound: str | None) -> None:
        self.log.append(("sound", sound))

    def close(self) -> None:
        self.closed = True


class FrequencyPin(MockPWMPin):
    """gpiozero's PWM mock pin, also remembering every frequency it was set to."""

    def __init__(self, factory, info):
        super().__init__(factory, info)
        self.frequencies: list[float | None] = []

    def _set_frequency(self, value):
        super()._set_frequency(value)
        self.frequencies.append(value)


def run(player: CuePlayer, clock: FakeClock, seconds: float, step_s: float = 0.01) -> None:
    """Call update as the loop would, every `step_s`, for `seconds`."""
    start = clock.now
    for i in range(1, round(seconds / step_s) + 1):
        clock.now = start + i * step_s
        player.update(clock.now)


def states(factory: MockFactory, pin: int = PIN) -> list[object]:
    return [s.state for s in factory.pin(pin).states]


def beeps(n: int) -> list[bool]:
    return [OFF] + [ON, OFF] * n


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


@pytest.fixture
def active(factory):
    player = build_cues({"metronome": True}, pin_factory=factory)
    yield player
    player.close()


# -- patterns on the active buzzer -------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (rep(), beeps(1)),
        (set_done(), beeps(3)),
        (rep(flags=(FAST_ECCENTRIC,)), beeps(3)),
        (rep(flags=(LOCKED_KNEES,)), beeps(1)),
        (rep(flags=(PARTIAL,)), beeps(2)),
        (rep(flags=(SHORT_PAUSE,)), beeps(2)),
        (FAULT, beeps(4)),
    ],
    ids=[
        "rep",
        "set_done",
        "fast_eccentric",
        "locked_knees",
        "partial",
        "short_pause",
        "sensor_fault",
    ],
)
def test_each_cue_drives_the_whole_pin_sequence(active, factory, event, expected) -> None:
    clock = FakeClock()
    active.handle(event)
    run(active, clock, 3.0)
    assert states(factory) == expected
    assert active.idle


def test_velocity_loss_pattern_follows_the_rep_that_crossed_the_threshold(active, factory):
    clock = FakeClock()
    for i, v in enumerate((0.60, 0.55, 0.47), start=1):
        active.handle(rep(rep_no=i, v=v))
        run(active, clock, 2.0)
    assert active.played == ["rep", "rep", "rep", "velocity_loss"]
    assert states(factory) == beeps(3 + 3)  # the "stop the set" pattern: three long tones


def test_a_flagged_rep_plays_its_warnings_instead_of_the_rep_beep() -> None:
    out = Recording()
    player = CuePlayer(out)
    player.handle(rep(flags=(PARTIAL, FAST_ECCENTRIC, LOCKED_KNEES)))
    run(player, FakeClock(), 5.0)
    assert player.played == ["fast_eccentric", "locked_knees", "partial"]


def test_a_disabled_warning_falls_back_to_the_rep_beep() -> None:
    player = CuePlayer(NullOutput(), enabled={"fast_eccentric": False})
    player.handle(rep(flags=(FAST_ECCENTRIC,)))
    run(player, FakeClock(), 2.0)
    assert player.played == ["rep"]


@pytest.mark.parametrize("key", [k for k in CUE_KEYS if k != "metronome"])
def test_every_cue_key_switches_its_cue_off(key) -> None:
    events = {
        "rep": rep(),
        "fast_eccentric": rep(flags=(FAST_ECCENTRIC,)),
        "locked_knees": rep(flags=(LOCKED_KNEES,)),
        "partial": rep(flags=(PARTIAL,)),
        "short_pause": rep(flags=(SHORT_PAUSE,)),
        "load_too_light": rep(flags=(LOAD_TOO_LIGHT,)),
        "load_too_heavy": rep(flags=(LOAD_TOO_HEAVY,)),
        "set_done": set_done(),
        "sensor_fault": FAULT,
    }
    on = CuePlayer(NullOutput())
    off = CuePlayer(NullOutput(), enabled={key: False})
    for player in (on, off):
        if key == "velocity_loss":
            player.handle(rep(rep_no=1, v=1.0))
            player.handle(rep(rep_no=2, v=0.5))
        else:
            player.handle(events[key])
        run(player, FakeClock(), 5.0)
    assert key in on.played
    assert key not in off.played


def test_quiet_silences_everything_and_claims_no_pin(factory) -> None:
    player = build_cues({"quiet": True, "metronome": True}, pin_factory=factory)
    clock = FakeClock()
    player.handle(PhaseChanged(0.0, "eccentric"))
    for event in (rep(flags=(FAST_ECCENTRIC,)), set_done(), FAULT):
        player.handle(event)
    run(player, clock, 5.0)
    assert player.played == []
    assert isinstance(player.output, NullOutput)
    assert factory.pins == {}


# -- overlapping cues ----------------------------------------------------------------------


def test_a_warning_cuts_a_running_rep_beep_after_a_short_gap() -> None:
    out = Recording()
    player = CuePlayer(out)
    clock = FakeClock()
    player.handle(rep())
    run(player, clock, 0.03)  # the rep beep is sounding
    player.handle(FAULT)
    run(player, clock, 3.0)
    assert out.log == [
        ("begin", "rep"),
        ("sound", "E7"),
        ("begin", "sensor_fault"),
        ("sound", None),  # the gap before the warning
        *[("sound", "A5"), ("sound", None)] * 4,
    ]


def test_cues_of_the_same_class_queue_in_arrival_order() -> None:
    out = Recording()
    player = CuePlayer(out)
    player.handle(rep(flags=(PARTIAL,)))
    player.handle(FAULT)
    player.handle(rep(rep_no=2))
    run(player, FakeClock(), 0.05)
    player.handle(rep(rep_no=3))
    run(player, FakeClock(0.05), 5.0)
    assert player.played == ["partial", "sensor_fault", "rep", "rep"]
    begins = [name for kind, name in out.log if kind == "begin"]
    assert begins == player.played
    # every cue finished its trailing silence before the next one began
    for i, entry in enumerate(out.log[1:], start=1):
        if entry[0] == "begin" and i > 1:
            assert out.log[i - 1] == ("sound", None)


def test_the_queue_is_bounded_and_drops_the_oldest_lowest_class_cue() -> None:
    player = CuePlayer(NullOutput())
    clock = FakeClock()
    player.handle(FAULT)
    player.update(clock.now)  # the fault plays, the queue is empty
    for i in range(1, MAX_QUEUED + 1):
        player.handle(rep(rep_no=i))
    player.handle(rep(rep_no=9, flags=(LOCKED_KNEES,)))
    assert player.dropped == 1
    run(player, clock, 10.0)
    assert player.played == ["sensor_fault", *["rep"] * (MAX_QUEUED - 1), "locked_knees"]


def test_sensor_fault_sounds_once_per_fault_episode() -> None:
    player = CuePlayer(NullOutput())
    for status in (FAULT, FAULT, FAULT, OK, FAULT, OK, OK):
        player.handle(status)
    run(player, FakeClock(), 10.0)
    assert player.played == ["sensor_fault", "sensor_fault"]


def test_velocity_loss_sounds_once_per_set_and_honours_the_threshold() -> None:
    player = CuePlayer(NullOutput(), enabled={"rep": False})
    for set_no in (1, 2):
        for i, v in enumerate((0.60, 0.47, 0.40, 0.30), start=1):
            player.handle(rep(set_no=set_no, rep_no=i, v=v))
        player.handle(set_done(set_no))
    run(player, FakeClock(), 20.0)
    assert player.played == ["velocity_loss", "set_done"] * 2

    strict = CuePlayer(NullOutput(), enabled={"rep": False}, velocity_loss_pct=30.0)
    for i, v in enumerate((0.60, 0.47), start=1):
        strict.handle(rep(rep_no=i, v=v))
    run(strict, FakeClock(), 5.0)
    assert strict.played == []


# -- timing ------------------------------------------------------------------------------


def test_coarse_updates_stretch_a_cue_but_never_drop_a_step(active, factory) -> None:
    active.handle(rep(flags=(FAST_ECCENTRIC,)))
    run(active, FakeClock(), 10.0, step_s=0.5)
    assert states(factory) == beeps(3)


def test_metronome_ticks_each_whole_second_of_the_lowering(active, factory) -> None:
    clock = FakeClock(100.0)
    active.handle(PhaseChanged(100.0, "eccentric"))
    run(active, clock, 3.5)
    active.handle(PhaseChanged(103.5, "bottom_pause"))
    run(active, clock, 3.0)
    assert active.played == ["metronome"] * 3
    assert states(factory) == beeps(3)


def test_metronome_is_off_by_default_and_stops_after_its_limit(factory) -> None:
    default = build_cues({}, pin_factory=factory)
    default.handle(PhaseChanged(0.0, "eccentric"))
    run(default, FakeClock(), 4.0)
    assert default.played == []
    default.close()

    player = CuePlayer(NullOutput(), enabled={"metronome": True})
    player.handle(PhaseChanged(0.0, "eccentric"))
    run(player, FakeClock(), METRONOME_MAX_TICKS + 5.0, step_s=0.05)
    assert player.played == ["metronome"] * METRONOME_MAX_TICKS


def test_a_tick_that_falls_during_another_cue_is_skipped() -> None:
    player = CuePlayer(NullOutput(), enabled={"metronome": True})
    clock = FakeClock()
    player.handle(PhaseChanged(0.0, "eccentric"))
    run(player, clock, 0.9)
    player.handle(rep(flags=(LOCKED_KNEES,)))  # 0.8 s long: covers the tick at 1 s
    run(player, clock, 1.6)
    assert player.played == ["locked_knees", "metronome"]


def test_a_sensor_fault_stops_the_metronome() -> None:
    player = CuePlayer(NullOutput(), enabled={"metronome": True})
    clock = FakeClock()
    player.handle(PhaseChanged(0.0, "eccentric"))
    run(player, clock, 1.5)
    player.handle(FAULT)
    run(player, clock, 5.0)
    assert player.played == ["metronome", "sensor_fault"]


# -- the tonal buzzer ----------------------------------------------------------------------


def test_tonal_buzzer_plays_good_cues_high_and_warnings_low() -> None:
    factory = MockFactory(pin_class=FrequencyPin)
    player = build_cues({"buzzer": "tonal", "pin": 18}, pin_factory=factory)
    assert isinstance(player.output, TonalOutput)
    clock = FakeClock()
    pin = factory.pin(18)
    pin.frequencies.clear()  # gpiozero's own set-up
    player.handle(rep())
    run(player, clock, 1.0)
    player.handle(rep(rep_no=2, flags=(FAST_ECCENTRIC,)))
    run(player, clock, 1.0)
    assert states(factory, 18) == [OFF, *[0.5, 0.0] * 4]
    played = [f for f in pin.frequencies if f is not None]
    assert played == pytest.approx([Tone("E7").frequency] + [Tone("C6").frequency] * 3)
    assert played[0] > played[1]
    player.close()
    factory.reset()


def test_tonal_set_done_rises_and_velocity_loss_falls() -> None:
    factory = MockFactory(pin_class=FrequencyPin)
    player = build_cues({"buzzer": "tonal", "rep": False}, pin_factory=factory)
    clock = FakeClock()
    factory.pin(PIN).frequencies.clear()  # gpiozero's own set-up
    player.handle(rep(rep_no=1, v=1.0))
    player.handle(rep(rep_no=2, v=0.5))
    player.handle(set_done())
    run(player, clock, 3.0)
    played = [f for f in factory.pin(PIN).frequencies if f is not None]
    loss, done = played[:3], played[3:]
    assert loss == sorted(loss, reverse=True)  # stop the set: three falling tones
    assert done == sorted(done)
    assert len(done) == 3
    player.close()
    factory.reset()


# -- outputs, building, closing --------------------------------------------------------------


def test_text_output_writes_one_line_per_cue(factory) -> None:
    stream = io.StringIO()
    player = build_cues({}, pin_factory=factory, text_stream=stream)
    assert isinstance(player.output, TextOutput)
    player.handle(rep())
    player.handle(rep(rep_no=2, flags=(LOCKED_KNEES,)))
    player.handle(set_done())
    run(player, FakeClock(), 5.0)
    assert stream.getvalue() == "cue: rep\ncue: locked_knees\ncue: set_done\n"
    assert factory.pins == {}


def test_buzzer_none_gives_a_null_output(factory) -> None:
    player = build_cues({"buzzer": "none"}, pin_factory=factory)
    assert isinstance(player.output, NullOutput)
    assert factory.pins == {}


def test_active_buzzer_output_is_a_gpiozero_buzzer(active, factory) -> None:
    assert isinstance(active.output, BuzzerOutput)
    assert factory.pin(PIN).function == "output"


def test_close_silences_a_beep_and_releases_the_pin(factory) -> None:
    player = build_cues({}, pin_factory=factory)
    player.handle(rep())
    player.update(0.0)
    assert states(factory) == [OFF, ON]
    player.close()
    assert states(factory) == [OFF, ON, OFF]
    again = build_cues({}, pin_factory=factory)  # the pin is free again
    again.close()


def test_build_errors_name_the_key(factory) -> None:
    with pytest.raises(ConfigError, match=r"^\[cues\] volume: unknown key"):
        build_cues({"volume": 3}, pin_factory=factory)
    with pytest.raises(ConfigError, match=r"^\[cues\] buzzer: "):
        build_cues({"buzzer": "loud"}, pin_factory=factory)
    with pytest.raises(ConfigError, match=r"^\[cues\] pin: cannot drive the active buzzer"):
        build_cues({"pin": 99}, pin_factory=factory)
    with pytest.raises(ValueError, match=r"\[cues\] velocity_loss_pct"):
        build_cues({"velocity_loss_pct": 0}, pin_factory=factory)


def test_cue_thread_drives_updates_and_stops() -> None:
    seen = threading.Event()

    class Player:
        def update(self, now_s: float) -> None:
            seen.set()

    thread = CueThread(Player(), clock=FakeClock())  # type: ignore[arg-type]
    thread.start()
    try:
        assert seen.wait(5.0)
    finally:
        thread.stop()
    assert not thread._thread.is_alive()


def test_cue_thread_reports_a_broken_output_and_ends() -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    class Broken:
        def update(self, now_s: float) -> None:
            raise OSError("buzzer gone")

    def on_error(exc: BaseException) -> None:
        errors.append(exc)
        done.set()

    thread = CueThread(Broken(), clock=FakeClock(), on_error=on_error)  # type: ignore[arg-type]
    thread.start()
    assert done.wait(5.0)
    thread.stop()
    assert [str(e) for e in errors] == ["buzzer gone"]


# -- invariants ----------------------------------------------------------------------------


def test_patterns_are_well_formed_and_documented() -> None:
    doc = (ROOT / "docs" / "cues.md").read_text(encoding="utf-8")
    assert set(PATTERNS) == set(PRIORITY) == set(CUE_KEYS)
    for name, steps in PATTERNS.items():
        assert steps[-1][0] is None, f"{name} must end in silence"
        assert all(duration_s >= 0 for _, duration_s in steps)
        assert f"`{name}`" in doc, f"docs/cues.md does not describe {name}"
        for sound, _ in steps:
            if sound is not None:
                assert Tone("A5").frequency <= Tone(sound).frequency <= Tone("A7").frequency


EVENTS = st.sampled_from(
    [
        rep(),
        rep(flags=(FAST_ECCENTRIC,)),
        rep(flags=(LOCKED_KNEES, PARTIAL)),
        rep(v=0.1),
        set_done(),
        PhaseChanged(0.0, "eccentric"),
        PhaseChanged(0.0, "bottom_pause"),
        FAULT,
        OK,
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    script=st.lists(st.tuples(EVENTS, st.integers(min_value=0, max_value=40)), max_size=30),
    step_ms=st.integers(min_value=1, max_value=300),
)
def test_any_event_stream_ends_silent_with_a_bounded_queue(script, step_ms) -> None:
    out = Recording()
    player = CuePlayer(out, enabled={"metronome": True})
    clock = FakeClock()
    for event, updates in script:
        player.handle(event)
        assert len(player._queue) <= MAX_QUEUED
        for _ in range(updates):
            clock.advance(step_ms / 1000)
            player.update(clock.now)
    player.handle(PhaseChanged(clock.now, "rest"))
    for _ in range(20_000 // step_ms):  # 20 s: longer than a full queue
        clock.advance(step_ms / 1000)
        player.update(clock.now)
        if player.idle:
            break
    assert player.idle
    sounds = [s for kind, s in out.log if kind == "sound"]
    assert sounds == [] or sounds[-1] is None
    # sounds only change, never repeat: no redundant GPIO writes
    assert all(a != b for a, b in itertools.pairwise(sounds))


def test_no_gpio_is_one_line_that_suggests_text_cues(monkeypatch) -> None:
    """On a laptop gpiozero warns once per pin library it tries: none of that escapes."""
    import warnings

    from gpiozero import Device

    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        try:
            player = build_cues({})
        except ConfigError as exc:
            message = str(exc)
        else:
            player.close()
            pytest.skip("this machine has GPIO")
    assert escaped == []
    assert "\n" not in message
    assert message.startswith("[cues] pin: cannot drive the active buzzer on GPIO17")
    assert "--text-cues" in message
    assert 'buzzer = "none"' in message
