"""What the accuracy benches share: run the engine over samples, pair reps with the truth."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from tempo import EngineSettings, Rep, SetDone, TempoEngine


class Span(Protocol):
    t_start: float
    t_end: float


T = TypeVar("T", bound=Span)


def engine_events(
    settings: EngineSettings, samples: Iterable[tuple[float, int | None]]
) -> tuple[list[Rep], list[SetDone]]:
    """The reps and sets the engine finds in one session's samples."""
    engine = TempoEngine(settings)
    events = []
    for t_s, distance_mm in samples:
        events += engine.feed(t_s, distance_mm)
    events += engine.finish()
    return [e for e in events if isinstance(e, Rep)], [e for e in events if isinstance(e, SetDone)]


def match(truth: list[T], reps: list[Rep]) -> list[tuple[T, Rep]]:
    """Pair each true rep with the engine rep whose span overlaps it most (greedy, in order)."""
    pairs = []
    used: set[int] = set()
    for tr in truth:
        best, best_overlap = None, 0.0
        for i, r in enumerate(reps):
            if i in used:
                continue
            overlap = min(tr.t_end, r.t_end) - max(tr.t_start, r.t_start)
            if overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is not None:
            used.add(best)
            pairs.append((tr, reps[best]))
    return pairs


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]
