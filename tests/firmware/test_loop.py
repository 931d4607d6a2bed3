"""The sampling loop: schedule, faults and recovery, hooks; all on a FakeClock, nothing waits."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from firmware.clock import FakeClock
from firmware.station.loop import END_OF_TRACE, SamplingLoop, SensorStatus
from firmware.station.sensors import FakeSensor, open_source, trace_origin_s
from sensor.source import SensorError
from sensor.trace import TraceWriter, read_trace
from tempo.engine import TempoEngine
from tempo.events import Event, Rep, SetDone
from tempo.settings import EngineSettings

PERIOD_S = 0.033
READ_S = 0.002  # time a good read takes on the fake clock
TIMEOUT_S = 0.05


class ScriptedSource:
    """A DistanceSource that plays a script: an int is a reading, a str a failure's reason.

    Time passes on the shared FakeClock as a real sensor would make it pass: a read takes
    READ_S, a timeout TIMEOUT_S. After the script the source reports the end of the trace.
    """

    def __init__(self, clock: FakeClock, reads: Iterable[int | str], starts: Iterable[str] = ()):
        self.clock = clock
        self.reads = list(reads)
        self.starts = list(starts)  # reasons for failed starts, consumed before success
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")
        if self.starts:
            raise SensorError(self.starts.pop(0))

    def read_mm(self) -> int:
        if not self.reads:
            raise SensorError(END_OF_TRACE)
        item = self.reads.pop(0)
        if isinstance(item, str):
            self.clock.advance(TIMEOUT_S if item == "timeout" else READ_S)
            raise SensorError(item, "scripted")
        self.clock.advance(READ_S)
        return item

    def close(self) -> None:
        self.calls.append("close")


def run_loop(
    source: ScriptedSource, clock: FakeClock, duration_s: float | None = None, **kwargs: object
) -> tuple[SamplingLoop, list[tuple[float, int | None]], list[SensorStatus]]:
    samples: list[tuple[float, int | None]] = []
    statuses: list[SensorStatus] = []
    loop = SamplingLoop(
        source,
        clock,
        period_s=PERIOD_S,
        on_sample=lambda t, d: samples.append((round(t, 6), d)),
        on_status=statuses.append,
        **kwargs,  # type: ignore[arg-type]
    )
    loop.run(duration_s)
    return loop, samples, statuses


def test_schedule_follows_deadlines_without_drift() -> None:
    clock = FakeClock(100.0)
    source = ScriptedSource(clock, [150 + i for i in range(200)])
    loop, samples, statuses = run_loop(source, clock)
    assert loop.stats.samples == 200
    assert loop.stats.ended_by == END_OF_TRACE
    # Sample k is taken at k periods plus the read time, however many samples went before.
    for k, (t_s, d) in enumerate(samples):
        assert t_s == pytest.approx(k * PERIOD_S + READ_S, abs=1e-9)
        assert d == 150 + k
    assert statuses == [SensorStatus(pytest.approx(READ_S), "sensor_ok", "started", 0)]
    assert source.calls == ["start", "close"]


def test_late_loop_skips_missed_deadlines_and_counts_them() -> None:
    clock = FakeClock()
    stall_s = 3.5 * PERIOD_S

    class Stalling(ScriptedSource):
        def read_mm(self) -> int:
            if len(self.reads) == 5:  # the sixth read stalls
                clock.advance(stall_s)
            return super().read_mm()

    source = Stalling(clock, [200] * 10)
    loop, samples, _ = run_loop(source, clock)
    # The stalled read ends at 8.5 periods: deadlines 6 and 7 are missed and counted; the
    # next read starts half a period after the stalled one returned, then every period.
    assert loop.stats.overruns == 2
    times = [t for t, _ in samples]
    assert times[5] == pytest.approx(8.5 * PERIOD_S + READ_S)
    assert times[6] == pytest.approx(9 * PERIOD_S + 2 * READ_S)
    assert times[7] == pytest.approx(10 * PERIOD_S + 2 * READ_S)


def test_a_slower_chip_sets_the_pace_without_false_overruns() -> None:
    """The real chip's period is a little longer than the nominal budget (33.6 ms for 33)."""
    clock = FakeClock()
    chip_period_s = 0.0336

    class Paced(ScriptedSource):
        def read_mm(self) -> int:
            n = 200 - len(self.reads) + 1  # measurement number this read waits for
            clock.advance(max(0.0, n * chip_period_s - clock.monotonic()))
            return super().read_mm()

    loop, samples, _ = run_loop(Paced(clock, [150 + i % 3 for i in range(200)]), clock)
    assert loop.stats.overruns == 0
    gaps = {round(b[0] - a[0], 6) for a, b in itertools.pairwise(samples)}
    assert gaps == {chip_period_s}


def test_transient_errors_are_counted_and_recorded_but_no_fault() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [150, "nack", 151, "io_error", "nack", 152])
    loop, samples, statuses = run_loop(source, clock)
    assert [d for _, d in samples] == [150, None, 151, None, None, 152]
    assert loop.stats.errors_total == 3
    assert loop.stats.faults == 0
    assert [s.state for s in statuses] == ["sensor_ok"]
    assert source.calls == ["start", "close"]


def test_run_of_errors_is_a_fault_then_reinit_and_recovery() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [150, "timeout", "timeout", "timeout", 151, 152])
    loop, samples, statuses = run_loop(source, clock, backoff_min_s=0.1)
    assert [(s.state, s.reason, s.errors_total) for s in statuses] == [
        ("sensor_ok", "started", 0),
        ("sensor_fault", "timeout", 3),
        ("sensor_ok", "recovered", 3),
    ]
    assert source.calls == ["start", "close", "start", "close"]
    assert loop.stats.faults == 1
    assert loop.stats.restarts == 1
    # The recovery reading comes after the backoff, and the schedule restarts from there.
    fault_t = statuses[1].t_s
    assert samples[4][0] >= fault_t + 0.1
    assert samples[5][0] == pytest.approx(samples[4][0] + PERIOD_S)


def test_failed_restarts_back_off_exponentially_up_to_the_cap() -> None:
    clock = FakeClock()
    start_times: list[float] = []
    source = ScriptedSource(clock, [150, 151], starts=["no_device"] * 8)
    original = source.start

    def timed_start() -> None:
        start_times.append(round(clock.monotonic(), 6))
        original()

    source.start = timed_start  # type: ignore[method-assign]
    _, samples, statuses = run_loop(source, clock, backoff_min_s=0.1, backoff_max_s=1.0)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(start_times)]
    assert gaps == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    # One fault report for the whole episode (the reason never changed), then recovery.
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_fault", "no_device"),
        ("sensor_ok", "recovered"),
    ]
    # Each failed start is a gap sample: the engine and the trace see the outage.
    assert [d for _, d in samples] == [None] * 8 + [150, 151]


def test_fault_reason_change_is_reported() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, ["nack", "nack", "nack", 150], starts=[])
    failing_starts = ["no_device", "no_device"]

    def start() -> None:
        source.calls.append("start")
        if len(source.calls) > 1 and failing_starts:
            raise SensorError(failing_starts.pop(0))

    source.start = start  # type: ignore[method-assign]
    _, _, statuses = run_loop(source, clock)
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_fault", "nack"),
        ("sensor_fault", "no_device"),
        ("sensor_ok", "recovered"),
    ]


def test_duration_and_stop() -> None:
    clock = FakeClock(5.0)
    source = ScriptedSource(clock, [150] * 1000)
    loop = SamplingLoop(source, clock, period_s=PERIOD_S)
    stats = loop.run(1.0)
    assert stats.ended_by == "duration"
    assert stats.samples == 31  # 0, 0.033, ..., 0.990
    assert clock.monotonic() - 5.0 < 1.0 + PERIOD_S

    seen: list[float] = []
    loop = SamplingLoop(
        ScriptedSource(clock, [150] * 1000),
        clock,
        period_s=PERIOD_S,
        on_sample=lambda t, d: (seen.append(t), len(seen) == 10 and loop.stop()),
    )
    assert loop.run().ended_by == "stop"
    assert len(seen) == 10


def test_stop_is_honoured_during_a_long_backoff() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [], starts=["no_device"] * 100)
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return clock.monotonic() > 7.0

    loop = SamplingLoop(source, clock, period_s=PERIOD_S, should_stop=should_stop)
    stats = loop.run()
    assert stats.ended_by == "stop"
    assert clock.monotonic() < 7.0 + 0.25 + 1e-9  # one sleep slice at most past the stop


def test_hooks_engine_trace_and_watchdog() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [150, "nack", 160, 170])

    class RecordingEngine:
        def __init__(self) -> None:
            self.fed: list[tuple[float, int | None]] = []

        def feed(self, t_s: float, distance_mm: int | None) -> list[object]:
            self.fed.append((t_s, distance_mm))
            return [("event", distance_mm)] if distance_mm == 160 else []

        def finish(self) -> list[object]:
            return [("finished",)]

    class Sink:
        def __init__(self) -> None:
            self.rows: list[tuple[float, int | None]] = []

        def write(self, t_s: float, distance_mm: int | None) -> None:
            self.rows.append((t_s, distance_mm))

    engine, sink, events, pings = RecordingEngine(), Sink(), [], []
    SamplingLoop(
        source,
        clock,
        period_s=PERIOD_S,
        engine=engine,  # type: ignore[arg-type]
        trace=sink,
        on_event=events.append,  # type: ignore[arg-type]
        watchdog=lambda: pings.append(clock.monotonic()),
    ).run()
    assert engine.fed == sink.rows
    assert [d for _, d in sink.rows] == [150, None, 160, 170]
    assert events == [("event", 160), ("finished",)]
    # One per read attempt, the failed one and the one that met the end of the trace included:
    # the watchdog hears that the loop is alive, not that the sensor is well.
    assert len(pings) == 5


def test_invalid_arguments() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [])
    with pytest.raises(ValueError, match="period_s"):
        SamplingLoop(source, clock, period_s=0)
    with pytest.raises(ValueError, match="fault_after_errors"):
        SamplingLoop(source, clock, period_s=PERIOD_S, fault_after_errors=0)
    with pytest.raises(ValueError, match="backoff"):
        SamplingLoop(source, clock, period_s=PERIOD_S, backoff_min_s=2, backoff_max_s=1)


def test_out_of_range_run_is_reported_and_recovers() -> None:
    clock = FakeClock()
    reads: list[int | str] = [150, 151] + [8190] * 40 + [152, 150]
    loop, samples, statuses = run_loop(ScriptedSource(clock, reads), clock)
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_ok", "started"),
        ("sensor_fault", "out_of_range"),
        ("sensor_ok", "recovered"),
    ]
    # A second of out-of-range readings (the chip works: no restart, no error).
    assert statuses[1].t_s - samples[2][0] == pytest.approx(1.0, abs=PERIOD_S)
    assert loop.stats.errors_total == 0
    assert loop.stats.restarts == 0
    assert [d for _, d in samples].count(8190) == 40  # recorded as the chip said


def test_stuck_value_is_a_fault_restarts_and_recovers_when_it_moves() -> None:
    clock = FakeClock()
    stuck = [333] * 250  # over 8 s of one value
    reads: list[int | str] = [150, 151, *stuck, 152, 150]
    source = ScriptedSource(clock, reads)
    _, samples, statuses = run_loop(source, clock)
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_ok", "started"),
        ("sensor_fault", "stuck"),
        ("sensor_ok", "recovered"),
    ]
    assert statuses[1].t_s - samples[2][0] == pytest.approx(5.0, abs=PERIOD_S)
    assert source.calls == ["start", "close", "start", "close"]
    # Once declared stuck, the repeated value is no reading for the engine and the trace.
    values = [d for _, d in samples]
    first_none = values.index(None)
    assert set(values[first_none:-2]) == {None}
    assert values[-2:] == [152, 150]


def test_stuck_detection_can_be_disabled() -> None:
    clock = FakeClock()
    reads: list[int | str] = [333] * 300
    _, _, statuses = run_loop(ScriptedSource(clock, reads), clock, stuck_after_s=None)
    assert [s.state for s in statuses] == ["sensor_ok"]


def test_bus_missing_at_start_is_an_error_not_a_retry() -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [150], starts=["no_bus"])
    with pytest.raises(SensorError, match="no_bus"):
        SamplingLoop(source, clock, period_s=PERIOD_S).run()
    assert source.calls == ["start", "close"]


# -- the whole chain: fake chip -> Adafruit driver -> smbus2 adapter -> loop -> engine ---------

TRACE_PERIOD_S = 0.033
CHAIN_IO_TIMEOUT_S = 0.02  # a never-ready read spins this long in real time in the driver


def sled_mm(t_s: float, *, start_s: float = 3.0, reps: int = 5) -> float:
    """A set of leg presses: 1 s up, 0.5 s at the top, 3 s down, 1 s at the bottom."""
    cycle_s = 5.5
    u = t_s - start_s
    if u < 0 or u >= reps * cycle_s:
        return 150.0
    u %= cycle_s
    if u < 1.0:
        f = (1 - math.cos(math.pi * u)) / 2
    elif u < 1.5:
        f = 1.0
    elif u < 4.5:
        f = (1 + math.cos(math.pi * (u - 1.5) / 3.0)) / 2
    else:
        f = 0.0
    return 150.0 + 370.0 * f


def set_trace(path: Path, seconds: float = 45.0) -> Path:
    rng = random.Random(11)
    with TraceWriter(path, {"sensor": "synthetic"}) as w:
        for i in range(round(seconds / TRACE_PERIOD_S)):
            t_s = i * TRACE_PERIOD_S
            w.write(t_s, round(sled_mm(t_s) + rng.gauss(0, 1.5)))
    return path


def replay_events(path: Path) -> list[Event]:
    engine = TempoEngine(EngineSettings())
    events: list[Event] = []
    with read_trace(path) as reader:
        for sample in reader:
            events += engine.feed(sample.t_s, sample.distance_mm)
    return events + engine.finish()


def live_events(
    path: Path, faults: tuple[tuple[str, float, float], ...] = ()
) -> tuple[list[Event], list[SensorStatus], SamplingLoop]:
    clock = FakeClock(1000.0)
    source = open_source(
        f"fake:{path}",
        bus=1,
        address=0x29,
        timing_budget_ms=33,
        io_timeout_s=CHAIN_IO_TIMEOUT_S,
        clock=clock,
    )
    assert isinstance(source, FakeSensor)
    for fault, at_s, for_s in faults:
        source.chip.inject(fault, at_s=at_s, for_s=for_s)
    events: list[Event] = []
    statuses: list[SensorStatus] = []
    loop = SamplingLoop(
        source,
        clock,
        period_s=0.033,
        engine=TempoEngine(EngineSettings()),
        on_event=events.append,
        on_status=statuses.append,
        t0_s=trace_origin_s(source),
    )
    stats = loop.run()
    assert stats.ended_by == END_OF_TRACE
    return events, statuses, loop


REP_TIMES = ("t_start", "t_top", "t_ecc", "t_end")
# The chip holds each reading of the trace until its next measurement, so what the chain
# reads lags the trace by 0 to one chip period (33.6 ms), a lag that drifts by 0.6 ms a
# sample; a boundary fitted to those readings comes that much later, give or take the
# scatter of two fits through different readings of 1.5 mm of noise: up to 11 ms here, at
# the end of a knee through the 3 s lowering's long smooth ramp.
CHIP_PERIOD_S = 0.0336
FIT_SCATTER_S = 0.012


def lags_as_read(a: Rep, b: Rep) -> bool:
    """Whether rep `a`, read through the chip, is rep `b` of the trace: each of its times
    later by no more than the chip's lag and the fits' scatter."""
    return all(
        -FIT_SCATTER_S <= getattr(a, n) - getattr(b, n) <= CHIP_PERIOD_S + FIT_SCATTER_S
        for n in REP_TIMES
    )


def assert_same_reps(live: list[Event], replayed: list[Event], tolerance_s: float) -> None:
    live_reps = [e for e in live if isinstance(e, Rep)]
    replay_reps = [e for e in replayed if isinstance(e, Rep)]
    assert len(live_reps) == len(replay_reps)
    for a, b in zip(live_reps, replay_reps, strict=True):
        assert (a.set, a.rep, a.lockout) == (b.set, b.rep, b.lockout)
        for name in REP_TIMES:
            assert getattr(a, name) == pytest.approx(getattr(b, name), abs=tolerance_s), name
    live_sets = [(e.set, e.reps, e.reason) for e in live if isinstance(e, SetDone)]
    assert live_sets == [(e.set, e.reps, e.reason) for e in replayed if isinstance(e, SetDone)]


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return set_trace(tmp_path_factory.mktemp("chain") / "set.csv")


@pytest.fixture(scope="module")
def replayed(trace: Path) -> list[Event]:
    events = replay_events(trace)
    assert sum(isinstance(e, Rep) for e in events) == 5
    return events


def test_whole_chain_gives_the_reps_of_a_direct_replay(trace: Path, replayed: list[Event]) -> None:
    live, statuses, loop = live_events(trace)
    # The chip samples the trace at its own measurement times: its readings are other points
    # of the same motion, and a boundary fitted through a whole move (a knee,
    # tempo.crossings) moves by up to two sample periods with them.
    assert_same_reps(live, replayed, tolerance_s=2 * TRACE_PERIOD_S)
    assert [(s.state, s.reason) for s in statuses] == [("sensor_ok", "started")]
    assert loop.stats.errors_total == 0
    assert loop.stats.overruns == 0


# Faults in the rest after the set (the last rep ends by 30.5 s; the set ends at rest 8 s later).
FAULT_AT_S = 32.0


@pytest.mark.parametrize(
    ("fault", "for_s", "expected"),
    [
        (
            # A loose wire: the chip kept ranging (close() could not stop it), so the first
            # start after the wire is back times out in calibration; the next one works.
            "nack",
            1.0,
            [
                ("sensor_ok", "started"),
                ("sensor_fault", "nack"),
                ("sensor_fault", "no_device"),
                ("sensor_fault", "timeout"),
                ("sensor_ok", "recovered"),
            ],
        ),
        (
            "vanish",
            1.0,
            [
                ("sensor_ok", "started"),
                ("sensor_fault", "nack"),
                ("sensor_fault", "no_device"),
                ("sensor_ok", "recovered"),
            ],
        ),
        (
            "never_ready",
            1.0,
            [("sensor_ok", "started"), ("sensor_fault", "timeout"), ("sensor_ok", "recovered")],
        ),
        (
            "out_of_range",
            2.0,
            [
                ("sensor_ok", "started"),
                ("sensor_fault", "out_of_range"),
                ("sensor_ok", "recovered"),
            ],
        ),
        (
            "stuck",
            7.0,
            [("sensor_ok", "started"), ("sensor_fault", "stuck"), ("sensor_ok", "recovered")],
        ),
    ],
)
def test_every_fault_kind_recovers_without_false_reps(
    trace: Path,
    replayed: list[Event],
    fault: str,
    for_s: float,
    expected: list[tuple[str, str]],
) -> None:
    live, statuses, loop = live_events(trace, ((fault, FAULT_AT_S, for_s),))
    assert [(s.state, s.reason) for s in statuses] == expected
    fault_t = statuses[1].t_s
    assert FAULT_AT_S <= fault_t <= FAULT_AT_S + (5.5 if fault == "stuck" else 1.2)
    assert statuses[-1].t_s >= FAULT_AT_S + for_s
    assert_same_reps(live, replayed, tolerance_s=2 * TRACE_PERIOD_S)
    if fault in ("nack", "vanish", "never_ready", "stuck"):
        assert loop.stats.restarts >= 1
    else:
        assert loop.stats.restarts == 0


def unmatched_reps(live: list[Event], replayed: list[Event]) -> list[Rep]:
    """Live reps that no replayed rep explains: made up across a fault gap."""
    replay_reps = [e for e in replayed if isinstance(e, Rep)]
    return [
        a for a in live if isinstance(a, Rep) and not any(lags_as_read(a, b) for b in replay_reps)
    ]


@pytest.mark.parametrize(
    ("fault", "at_s", "for_s"),
    [
        ("nack", 11.0, 2.5),  # from the middle of rep 2's lowering into its bottom pause
        ("vanish", 9.0, 4.0),  # from rep 2's push to its bottom pause
        ("stuck", 9.0, 7.0),  # frozen halfway up rep 2 until rep 3 has started
    ],
)
def test_a_fault_gap_cannot_complete_a_rep(
    trace: Path, replayed: list[Event], fault: str, at_s: float, for_s: float
) -> None:
    live, statuses, _ = live_events(trace, ((fault, at_s, for_s),))
    assert statuses[-1].state == "sensor_ok"
    assert unmatched_reps(live, replayed) == []
    assert sum(isinstance(e, Rep) for e in live) >= 3  # the reps around the gap still count


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "traces").glob("*.csv"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_traces_through_the_whole_chain(example: Path) -> None:
    """Every example trace through fake chip, driver and loop counts the reps of a replay.

    The chip re-samples the trace at its own measurement times, which differ from the trace's
    (and land on other spikes and glitches of the noisy examples), so phase times are only
    checked to a few tenths of a second here; test_whole_chain_gives_the_reps_of_a_direct_replay
    checks them to one sample period on a smooth trace.
    """
    from firmware import config as config_mod

    settings = config_mod.load(example.with_suffix(".toml")).engine
    engine = TempoEngine(settings)
    replayed: list[Event] = []
    with read_trace(example) as reader:
        rate_hz = float(reader.metadata.get("rate_hz", "30"))
        for sample in reader:
            replayed += engine.feed(sample.t_s, sample.distance_mm)
    replayed += engine.finish()

    budget_ms = max(20.0, 1000.0 / rate_hz)  # the chip samples about as often as the trace did
    clock = FakeClock()
    source = open_source(
        f"fake:{example}",
        bus=1,
        address=0x29,
        timing_budget_ms=budget_ms,
        io_timeout_s=0.02,
        clock=clock,
    )
    live: list[Event] = []
    statuses: list[SensorStatus] = []
    SamplingLoop(
        source,
        clock,
        period_s=budget_ms / 1000,
        engine=TempoEngine(settings),
        on_event=live.append,
        on_status=statuses.append,
        t0_s=trace_origin_s(source),
    ).run()
    # The examples' short glitches (stuck, glare, gaps) are not sensor faults.
    assert [(s.state, s.reason) for s in statuses] == [("sensor_ok", "started")]
    assert_same_reps(live, replayed, tolerance_s=0.5)


# -- prompt recovery and the watchdog during long faults ----------------------------------------


def chain_loop(
    path: Path, faults: tuple[tuple[str, float, float], ...]
) -> tuple[SamplingLoop, list[SensorStatus], list[float]]:
    """The whole chain on a FakeClock, with the watchdog's ping times (trace time)."""
    clock = FakeClock(1000.0)
    source = open_source(
        f"fake:{path}",
        bus=1,
        address=0x29,
        timing_budget_ms=33,
        io_timeout_s=CHAIN_IO_TIMEOUT_S,
        clock=clock,
    )
    assert isinstance(source, FakeSensor)
    for fault, at_s, for_s in faults:
        source.chip.inject(fault, at_s=at_s, for_s=for_s)
    statuses: list[SensorStatus] = []
    pings: list[float] = []
    loop = SamplingLoop(
        source,
        clock,
        period_s=0.033,
        engine=TempoEngine(EngineSettings()),
        on_status=statuses.append,
        watchdog=lambda: pings.append(loop.now_s()),
        t0_s=trace_origin_s(source),
    )
    loop.run()
    return loop, statuses, pings


@pytest.mark.parametrize("fault", ["nack", "vanish"])
@pytest.mark.parametrize("for_s", [1.0, 2.7, 8.0, 12.5])
def test_counting_resumes_promptly_when_the_chip_is_back(
    trace: Path, fault: str, for_s: float
) -> None:
    """The backoff has grown to seconds by then; a probe four times a second cuts it short."""
    loop, statuses, _ = chain_loop(trace, ((fault, FAULT_AT_S, for_s),))
    assert statuses[-1].state == "sensor_ok"
    back_s = FAULT_AT_S + for_s
    assert back_s <= statuses[-1].t_s <= back_s + 0.5
    assert loop.stats.probes_answered == 1


def test_a_chip_that_answers_but_never_measures_is_not_hammered(trace: Path) -> None:
    """The probe answers all along: no early restart, the backoff grows as before."""
    loop, statuses, _ = chain_loop(trace, (("never_ready", FAULT_AT_S, 10.0),))
    assert (statuses[-1].state, statuses[-1].reason) == ("sensor_ok", "recovered")
    assert loop.stats.probes_answered == 0
    assert loop.stats.errors_total < 30  # a handful of restarts in 10 s, not one per probe


@pytest.mark.parametrize("fault", ["nack", "never_ready"])
def test_the_watchdog_hears_the_loop_through_a_long_fault(trace: Path, fault: str) -> None:
    """A fault longer than WatchdogSec must not get the service restarted (a split session)."""
    end_s = FAULT_AT_S + 12.0  # the trace ends at 45 s, maybe before the loop restarts
    _, statuses, pings = chain_loop(trace, ((fault, FAULT_AT_S, 12.0),))
    assert ("sensor_fault", fault if fault == "nack" else "timeout") in [
        (s.state, s.reason) for s in statuses
    ]
    during = [t for t in pings if FAULT_AT_S <= t <= end_s]
    assert during[-1] > end_s - 0.5
    gaps = [b - a for a, b in itertools.pairwise([FAULT_AT_S, *during])]
    assert max(gaps) <= 0.5  # a backoff slice and a read at most; WatchdogSec is 10 s


def test_a_source_that_paces_itself_is_read_without_the_loop_sleeping() -> None:
    """VL53L0XSource sleeps until its measurement is due: a second sleep would only add a
    wake-up per reading (CPU on a Pi, and a chance to oversleep)."""

    class SleepCountingClock(FakeClock):
        sleeps = 0

        def sleep(self, seconds: float) -> None:
            self.sleeps += 1
            super().sleep(seconds)

    class PacedSource(ScriptedSource):
        paces_itself = True

        def read_mm(self) -> int:
            self.clock.now += PERIOD_S - READ_S  # the source's own wait, not a loop sleep
            return super().read_mm()

    clock = SleepCountingClock()
    loop, samples, _ = run_loop(PacedSource(clock, [150 + i for i in range(100)]), clock)
    assert loop.stats.samples == 100
    assert clock.sleeps == 0
    assert loop.stats.overruns == 0
    gaps = {round(b[0] - a[0], 6) for a, b in itertools.pairwise(samples)}
    assert gaps == {PERIOD_S}

    clock = SleepCountingClock()
    loop, _, _ = run_loop(ScriptedSource(clock, [150 + i for i in range(100)]), clock)
    assert clock.sleeps == 100  # one before each read after the first, and the end of the trace


def test_a_source_that_paces_itself_stops_at_the_duration_like_any_other() -> None:
    """No reading is started that would come after the end (calibrate's 3 s holds rely on it)."""

    class PacedSource(ScriptedSource):
        paces_itself = True

        def read_mm(self) -> int:
            self.clock.now += PERIOD_S - READ_S
            return super().read_mm()

    counts = []
    for kind in (ScriptedSource, PacedSource):
        clock = FakeClock(5.0)
        loop, samples, _ = run_loop(kind(clock, [150] * 1000), clock, duration_s=1.0)
        assert loop.stats.ended_by == "duration"
        assert samples[-1][0] < 1.0 + READ_S
        counts.append(len(samples))
    assert counts[0] - 1 <= counts[1] <= counts[0]


def test_a_source_the_caller_started_is_not_started_again_but_restarts_as_usual() -> None:
    """`repsled run` starts the chip before it builds the station (station/outputs.py)."""
    clock = FakeClock()
    source = ScriptedSource(clock, [150, "timeout", "timeout", "timeout", 151])
    loop, samples, statuses = run_loop(source, clock, source_started=True, backoff_min_s=0.1)
    assert source.calls == ["close", "start", "close"]  # only the restart after the fault
    assert [d for _, d in samples] == [150, None, None, None, 151]
    assert [(s.state, s.reason) for s in statuses] == [
        ("sensor_ok", "started"),
        ("sensor_fault", "timeout"),
        ("sensor_ok", "recovered"),
    ]
    assert loop.stats.restarts == 1
