"""Engine throughput and memory: samples/s on one core, cost per sample, flat peak memory,
and the slowest single samples.

Replays long synthetic sessions (every sensor fault, 50 Hz) through TempoEngine with no
I/O. Memory is measured with tracemalloc around the replay only (the samples are made
beforehand), at two trace lengths: a flat peak means nothing grows with the trace. The
slowest `feed` calls are those at boundaries, where knees are fitted (docs/engine.md,
"Phase boundary convention"), longest after slow smooth negatives: on the device the
sampling loop waits for them, against a period of 20 ms at 50 Hz.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sensor.synthetic import Plan, SyntheticTrace, generate
from tempo import EngineSettings, TempoEngine

SHORT_SETS = 4
LONG_SETS = 40


def session(sets: int) -> SyntheticTrace:
    return generate(77, plan=Plan(sets=sets, reps=(8, 12)), rate_hz=50.0)


def replay(trace: SyntheticTrace) -> tuple[int, float]:
    engine = TempoEngine(EngineSettings(**asdict(trace.settings)))
    feed = engine.feed
    events = 0
    t0 = time.process_time()
    for t_s, d in trace.samples:
        events += len(feed(t_s, d))
    events += len(engine.finish())
    return events, time.process_time() - t0


def slowest_feeds(trace: SyntheticTrace) -> tuple[float, float, float]:
    """Wall time of single `feed` calls, s: median, 99.9th percentile and the slowest."""
    engine = TempoEngine(EngineSettings(**asdict(trace.settings)))
    feed = engine.feed
    clock = time.perf_counter
    times = []
    for t_s, d in trace.samples:
        t0 = clock()
        feed(t_s, d)
        times.append(clock() - t0)
    times.sort()
    return times[len(times) // 2], times[int(0.999 * len(times))], times[-1]


def peak_bytes(trace: SyntheticTrace) -> tuple[int, int]:
    """Peak traced memory, and what the engine still holds after a full collection.

    The peak includes blocks the interpreter keeps on its free lists (bounded; a full
    collection releases them), so the second figure is the engine's own live memory.
    """
    gc.collect()
    tracemalloc.start()
    engine = TempoEngine(EngineSettings(**asdict(trace.settings)))
    for t_s, d in trace.samples:
        engine.feed(t_s, d)
    engine.finish()
    _, peak = tracemalloc.get_traced_memory()
    gc.collect()
    live, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engine
    return peak, live


def main() -> None:
    short, long = session(SHORT_SETS), session(LONG_SETS)
    replay(short)  # warm up
    best = min(replay(long)[1] for _ in range(3))
    n = len(long.samples)
    hours = long.duration_s / 3600.0
    print(f"long trace: {n} samples ({hours:.2f} h at 50 Hz, {len(long.reps)} reps)")
    print(f"throughput: {n / best:,.0f} samples/s on one core (engine alone, no I/O)")
    print(f"per sample: {1e6 * best / n:.2f} us")
    print(f"real time:  {long.duration_s / best:,.0f}x faster than the sensor")
    slow = generate(77, plan=Plan(sets=3, reps=(6, 8), eccentric_s=(10.0, 15.0)), rate_hz=50.0)
    for label, trace in (("the long trace", long), ("smooth negatives of 10-15 s", slow)):
        median, rare, worst = min(slowest_feeds(trace) for _ in range(3))
        print(
            f"one feed, {label}: median {1e6 * median:.0f} us, 99.9th percentile "
            f"{1e3 * rare:.2f} ms, slowest {1e3 * worst:.2f} ms (a 50 Hz period: 20 ms)"
        )
    for trace in (short, long):
        peak, live = peak_bytes(trace)
        print(
            f"memory of the engine over {len(trace.samples):>7} samples: peak "
            f"{peak / 1024:.1f} KiB, live after a full collection {live / 1024:.1f} KiB"
        )


if __name__ == "__main__":
    main()
