"""What the accuracy benches share: run the engine over samples, pair reps with the truth."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from tempo import (
    BOUNCE,
    FAST_ECCENTRIC,
    TIMES_UNKNOWN,
    EngineSettings,
    Rep,
    SetDone,
    TempoEngine,
    latest_reps,
)


class Span(Protocol):
    t_start: float
    t_end: float


T = TypeVar("T", bound=Span)


def engine_events(
    settings: EngineSettings, samples: Iterable[tuple[float, int | None]]
) -> tuple[list[Rep], list[SetDone]]:
    """The reps and sets the engine finds in one session's samples, each rep as last
    revised (`RepRevised`; its `t_confirmed` stays the first emission's)."""
    engine = TempoEngine(settings)
    events = []
    for t_s, distance_mm in samples:
        events += engine.feed(t_s, distance_mm)
    events += engine.finish()
    return latest_reps(events), [e for e in events if isinstance(e, SetDone)]


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


def miscounted(truth: list[T], reps: list[Rep]) -> list[str]:
    """One line per true rep the engine lost and per engine rep no true rep explains (the
    pairing of `match`), in time order: what a developer looks at first in a miscount."""
    pairs = match(truth, reps)
    kept_truth = {id(tr) for tr, _ in pairs}
    kept_reps = {id(r) for _, r in pairs}
    lines = [
        (tr.t_start, f"lost  true rep {tr.t_start:.2f}-{tr.t_end:.2f} s")
        for tr in truth
        if id(tr) not in kept_truth
    ]
    lines += [
        (
            r.t_start,
            f"extra engine rep {r.t_start:.2f}-{r.t_end:.2f} s, rom_fraction "
            f"{r.rom_fraction:.2f}, flags {', '.join(r.flags) or '-'}",
        )
        for r in reps
        if id(r) not in kept_reps
    ]
    return [line for _, line in sorted(lines)]


def print_miscount(label: str, truth: list[T], reps: list[Rep]) -> None:
    """For a bench's `-v`: nothing when the counts agree, else the session (`label`: its
    seed and how it was drawn), the counts and the `miscounted` lines."""
    if len(reps) == len(truth):
        return
    print(f"  {label}: true {len(truth)} got {len(reps)}")
    for line in miscounted(truth, reps):
        print(f"    {line}")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


TIMES = ("t_start", "t_top", "t_ecc", "t_end")
# The contract's phase durations (docs/engine.md, "Every tempo"), scored where the model's
# truth has them; by start side too, since the two sides end a rep in different phases.
DURATIONS = ("concentric_s", "top_pause_s", "eccentric_s")
STARTS = ("all", "bottom", "top")
CLEAR_FAST_S = 0.1  # a true eccentric this far from the fast_eccentric limit is clear of it
# A lockout verdict is out of glare when no glare lies this close to the lockout-side turn
# (the hold or turn it is read on, and the way into it).
GLARE_CLEAR_S = 1.0


def out_of_glare(t: float, glare: Iterable[tuple[float, float]]) -> bool:
    """Whether no span of glare lies within GLARE_CLEAR_S of time `t`."""
    return not any(g0 - GLARE_CLEAR_S <= t <= g1 + GLARE_CLEAR_S for g0, g1 in glare)


def _tally(tally: list[int], got: bool, want: bool) -> None:
    """Count one verdict: true positive, false positive, miss."""
    tally[0] += got and want
    tally[1] += got and not want
    tally[2] += want and not got


def _precision_recall(tp: int, fp: int, fn: int) -> str:
    return (
        f"precision {100.0 * tp / max(tp + fp, 1):.1f} %, "
        f"recall {100.0 * tp / max(tp + fn, 1):.1f} % ({tp} true positives)"
    )


def phases_run_backwards(rep: Rep, start: str) -> bool:
    """Whether a rep's phases run backwards or leave gaps in its span: the three inside it
    (from `start`, the start side) must be non-negative and add up to t_end - t_start, and
    the pause before it non-negative. A boundary taken from another rep's turn breaks it
    while its lockout and its count may still come out right."""
    if start == "bottom":
        inside = (rep.concentric_s, rep.top_pause_s, rep.eccentric_s)
        before = rep.bottom_pause_s
    else:
        inside = (rep.eccentric_s, rep.bottom_pause_s, rep.concentric_s)
        before = rep.top_pause_s
    span = rep.t_end - rep.t_start
    return min(*inside, before) < 0.0 or abs(sum(inside) - span) > 1e-6


class Scoreboard:
    """Tallies sessions of either sensor model the same way and prints the same figures."""

    def __init__(self) -> None:
        self.sessions = self.exact = self.sets_exact = self.true_total = self.got_total = 0
        self.errors: dict[str, list[float]] = {k: [] for k in TIMES}  # reps with known times
        self.errors_all: dict[str, list[float]] = {k: [] for k in TIMES}  # every matched rep
        self.delay_end: list[float] = []
        self.delay_stop: list[float] = []
        self.delay_stop_50: list[float] = []
        self.delay_stop_50_known: list[float] = []  # of reps no sensor fault hid a time of
        self.lock_ok = self.lock_n = 0
        self.clear_ok = self.clear_n = 0  # reps whose truth is clear of the verdict thresholds
        self.drift_clear_ok = self.drift_clear_n = 0  # ... and of the sensor's drift
        self.unknown = 0  # reps the engine flagged times_unknown (a sensor fault during them)
        self.backwards = 0  # engine reps whose phases run backwards (`phases_run_backwards`)
        # flag verdicts, where the truth has them: true positives, false positives, misses
        self.flags: dict[str, list[int]] = {FAST_ECCENTRIC: [0, 0, 0], BOUNCE: [0, 0, 0]}
        self.fast_clear = [0, 0, 0]  # the same for eccentrics CLEAR_FAST_S from the limit
        self.flags_scored: set[str] = set()  # the flags the model's truth has
        # signed errors (engine - truth, ms) of the phase durations, by start side and for
        # every rep / reps with known times
        self.durations: dict[tuple[str, bool], dict[str, list[float]]] = {
            (side, known): {k: [] for k in DURATIONS} for side in STARTS for known in (False, True)
        }

    def add(  # noqa: PLR0917 (the benches call it positionally)
        self,
        truth: list[Any],
        true_set_reps: list[int],
        reps: list[Rep],
        sets: list[SetDone],
        rate_hz: float,
        fast_below_s: float | None = None,
        start: str | None = None,
    ) -> None:
        """One session: true reps (with t_stop, lockout, optional `clear`, and `bounce` and
        the phase durations where the model has them) against the engine's; `fast_below_s`:
        the eccentric time under which a rep is `fast_eccentric`; `start`: the start side."""
        self.sessions += 1
        self.true_total += len(truth)
        self.got_total += len(reps)
        self.exact += len(reps) == len(truth)
        self.sets_exact += [s.reps for s in sets] == true_set_reps
        if start is not None:
            self.backwards += sum(phases_run_backwards(r, start) for r in reps)
        for tr, r in match(truth, reps):
            known = TIMES_UNKNOWN not in r.flags
            self.unknown += not known
            for k in TIMES:
                error = abs(getattr(r, k) - getattr(tr, k)) * 1000.0
                self.errors_all[k].append(error)
                if known:
                    self.errors[k].append(error)
            self.delay_end.append((r.t_confirmed - tr.t_end) * 1000.0)
            self.delay_stop.append((r.t_confirmed - tr.t_stop) * 1000.0)
            if rate_hz == 50.0:
                self.delay_stop_50.append((r.t_confirmed - tr.t_stop) * 1000.0)
                if known:
                    self.delay_stop_50_known.append((r.t_confirmed - tr.t_stop) * 1000.0)
            if all(hasattr(tr, k) for k in DURATIONS):
                for side in ("all", start):
                    for only_known in (False, True):
                        if side is None or (only_known and not known):
                            continue
                        into = self.durations[side, only_known]
                        for k in DURATIONS:
                            into[k].append((getattr(r, k) - getattr(tr, k)) * 1000.0)
            self.lock_n += 1
            self.lock_ok += r.lockout == tr.lockout
            # times_unknown: no verdict on the rep's times (tempo.scoring.rep_flags)
            truths = {BOUNCE: getattr(tr, "bounce", None) if known else None}
            if fast_below_s is not None and known:
                truths[FAST_ECCENTRIC] = tr.eccentric_s < fast_below_s
            for flag, want in truths.items():
                if want is not None:
                    self.flags_scored.add(flag)
                    _tally(self.flags[flag], flag in r.flags, want)
            if FAST_ECCENTRIC in truths and abs(tr.eccentric_s - fast_below_s) >= CLEAR_FAST_S:
                _tally(self.fast_clear, FAST_ECCENTRIC in r.flags, truths[FAST_ECCENTRIC])
            if getattr(tr, "clear", False):
                self.clear_n += 1
                self.clear_ok += r.lockout == tr.lockout
            if getattr(tr, "drift_clear", False):
                self.drift_clear_n += 1
                self.drift_clear_ok += r.lockout == tr.lockout

    def report(self, header: str, *, with_clear: bool = False) -> None:
        n = self.sessions
        print(header)
        print(f"rep count exact:        {self.exact}/{n} traces ({100.0 * self.exact / n:.1f} %)")
        print(f"set split exact:        {self.sets_exact}/{n} traces")
        print(f"reps true/counted:      {self.true_total}/{self.got_total}")
        print(f"reps flagged times_unknown (a sensor fault hid a boundary): {self.unknown}")
        print(f"reps whose phases run backwards (an engine bug): {self.backwards}")
        print("phase time error |engine - truth| in ms (median / 95th pct):")
        print("            every rep        reps with known times")
        for k in TIMES:
            a, e = self.errors_all[k], self.errors[k]
            print(
                f"  {k:8s}  {pct(a, 0.5):6.0f} / {pct(a, 0.95):6.0f}"
                f"     {pct(e, 0.5):6.0f} / {pct(e, 0.95):6.0f}"
            )
        self._report_durations()
        lockout = (
            f"lockout verdict:        {self.lock_ok}/{self.lock_n} "
            f"({100.0 * self.lock_ok / max(self.lock_n, 1):.1f} %)"
        )
        if with_clear:
            lockout += (
                f", clear of thresholds {self.clear_ok}/{self.clear_n} "
                f"({100.0 * self.clear_ok / max(self.clear_n, 1):.1f} %)"
            )
        print(lockout)
        if self.drift_clear_n:
            print(
                "  clear of thresholds by more than the sensor's drift: "
                f"{self.drift_clear_ok}/{self.drift_clear_n} "
                f"({100.0 * self.drift_clear_ok / self.drift_clear_n:.1f} %)"
            )
        for flag, (tp, fp, fn) in self.flags.items():
            if flag in self.flags_scored:
                line = f"{flag}: {_precision_recall(tp, fp, fn)}, reps with known times"
                if flag == FAST_ECCENTRIC:
                    line += (
                        "; truth clear of the limit by "
                        f"{CLEAR_FAST_S:g} s: {_precision_recall(*self.fast_clear)}"
                    )
                print(line)
        print("confirmation delay in ms (median / 95th pct):")
        for label, values in (
            ("after t_end (2 % boundary):  ", self.delay_end),
            ("after the sled stopped:      ", self.delay_stop),
            ("after it stopped, 50 Hz only:", self.delay_stop_50),
            ("  of those, known times:     ", self.delay_stop_50_known),
        ):
            print(f"  {label} {pct(values, 0.5):5.0f} / {pct(values, 0.95):5.0f}")

    def _report_durations(self) -> None:
        """The contract's figure (median and 95th percentile of |error| over the three
        phase durations of every rep) and each duration's signed median, which shows a
        bias the absolute errors hide."""
        if not self.durations["all", False]["eccentric_s"]:
            return
        print("phase durations (concentric, top pause, eccentric) |engine - truth| in ms")
        print("(median / 95th pct), and each one's signed median (engine - truth):")
        print("               every rep        reps with known times   signed, known times")
        for side in STARTS:
            every = self.durations[side, False]
            known = self.durations[side, True]
            if not every["eccentric_s"]:
                continue
            a = [abs(e) for k in DURATIONS for e in every[k]]
            b = [abs(e) for k in DURATIONS for e in known[k]]
            signed = " ".join(f"{pct(known[k], 0.5):+4.0f}" for k in DURATIONS)
            label = "all" if side == "all" else f"start {side}"
            print(
                f"  {label:12s} {pct(a, 0.5):5.0f} / {pct(a, 0.95):5.0f}"
                f"       {pct(b, 0.5):5.0f} / {pct(b, 0.95):5.0f}          {signed}"
            )
