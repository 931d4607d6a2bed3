"""Tempo prescriptions as lifters write them (`3-1-X-0`) and how well a rep followed one.

Pure: standard library only. The notation and the score formula are documented in
docs/prescriptions.md; the tests hold this module to the examples there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, Protocol

PhaseName = Literal["eccentric", "bottom_pause", "concentric", "top_pause"]

# The written order, whatever side the machine starts on: eccentric first.
PHASES: tuple[PhaseName, ...] = ("eccentric", "bottom_pause", "concentric", "top_pause")
MOVING_PHASES: tuple[PhaseName, ...] = ("eccentric", "concentric")
PAUSES: tuple[PhaseName, ...] = ("bottom_pause", "top_pause")
_LABELS: dict[PhaseName, str] = {
    "eccentric": "eccentric",
    "bottom_pause": "bottom pause",
    "concentric": "concentric",
    "top_pause": "top pause",
}

AS_FAST_AS_POSSIBLE: Final = "X"
# No set prescribes a phase longer than this; a larger number is a typo (30 for 3).
MAX_PHASE_S: Final = 30.0
EXAMPLE: Final = "3-1-X-0"
# The rep flag of a prescribed pause held shorter than prescribed (see pauses_cut_short).
SHORT_PAUSE: Final = "short_pause"

# Timing slack before a deviation costs anything: a lifter counting seconds is about half a
# second off, and a turnaround with no pause measures about 0.3 s under the engine's 2 %
# boundary convention (docs/engine.md), so a prescribed 0 s pause must not lose points for it.
TIMING_TOLERANCE_S: Final = 0.5
# A phase's score reaches zero when its deviation beyond the tolerance equals its prescribed
# duration, but never less than this, so 0 s and 1 s targets are not all-or-nothing.
MIN_SCORE_SPAN_S: Final = 1.0

_NUMBER = re.compile(r"\d+(\.\d)?")
_COMPACT = re.compile(r"[0-9Xx]{4}")


class TempoError(ValueError):
    """A tempo string that is not `E-B-C-T`; the message is one line quoting the input."""


@dataclass(frozen=True, slots=True)
class TempoPrescription:
    """Prescribed seconds per phase; None for a moving phase written X (as fast as possible)."""

    eccentric_s: float | None
    bottom_pause_s: float
    concentric_s: float | None
    top_pause_s: float

    def target_s(self, phase: PhaseName) -> float | None:
        """The prescribed duration of one phase, None for X."""
        value: float | None = getattr(self, f"{phase}_s")
        return value

    @property
    def text(self) -> str:
        """The canonical notation, e.g. `3-1-X-0`: what payloads and the next-set message carry."""
        return "-".join(_format_phase(self.target_s(p)) for p in PHASES)

    def __str__(self) -> str:
        return self.text


def _format_phase(value: float | None) -> str:
    if value is None:
        return AS_FAST_AS_POSSIBLE
    return f"{value:g}"


def _parse_phase(text: str, phase: PhaseName, where: str) -> float | None:
    label = _LABELS[phase]
    if text.upper() == AS_FAST_AS_POSSIBLE:
        if phase in PAUSES:
            raise TempoError(
                f"{where}: {label} cannot be X (X means as fast as possible; write 0 for no pause)"
            )
        return None
    if not text:
        raise TempoError(f"{where}: {label} is empty")
    if not _NUMBER.fullmatch(text):
        if re.fullmatch(r"\d+\.\d{2,}", text):
            raise TempoError(f"{where}: {label} {text!r} has more than one decimal")
        raise TempoError(f"{where}: {label} {text!r} is not a number of seconds or X")
    value = float(text)
    if value > MAX_PHASE_S:
        raise TempoError(f"{where}: {label} {value:g} s is over the {MAX_PHASE_S:g} s maximum")
    if value == 0 and phase in MOVING_PHASES:
        raise TempoError(f"{where}: {label} cannot take 0 s (write X for as fast as possible)")
    return value


def parse_tempo(text: object) -> TempoPrescription:
    """`E-B-C-T` seconds, each a whole or one-decimal number, X allowed for E and C.

    The compact four-character form lifters also write (`31X0`) is accepted; spaces around
    the parts are ignored. Errors are TempoError with one line naming the faulty part.
    """
    if not isinstance(text, str):
        raise TempoError(
            f"tempo must be a string like {EXAMPLE}, not {type(text).__name__} {text!r}"
        )
    where = f"tempo {text!r}"
    stripped = text.strip()
    if not stripped:
        raise TempoError(f"{where}: empty; write E-B-C-T in seconds, e.g. {EXAMPLE}")
    if "-" not in stripped and _COMPACT.fullmatch(stripped):
        parts = list(stripped)
    else:
        parts = [p.strip() for p in stripped.split("-")]
    if len(parts) != len(PHASES):
        raise TempoError(
            f"{where}: {len(parts)} part(s), expected 4 "
            f"(eccentric-bottom pause-concentric-top pause, e.g. {EXAMPLE})"
        )
    e, b, c, t = (
        _parse_phase(part, phase, where) for part, phase in zip(parts, PHASES, strict=True)
    )
    assert b is not None and t is not None  # pauses cannot be X
    return TempoPrescription(eccentric_s=e, bottom_pause_s=b, concentric_s=c, top_pause_s=t)


class RepPhases(NamedTuple):
    """Measured seconds per phase of one rep; None for a phase that was not observed."""

    eccentric_s: float | None
    bottom_pause_s: float | None
    concentric_s: float | None
    top_pause_s: float | None


class _RepLike(Protocol):
    @property
    def rep(self) -> int: ...
    @property
    def eccentric_s(self) -> float: ...
    @property
    def bottom_pause_s(self) -> float: ...
    @property
    def concentric_s(self) -> float: ...
    @property
    def top_pause_s(self) -> float: ...


def rep_phases(rep: _RepLike, start: Literal["bottom", "top"]) -> RepPhases:
    """The phases of an engine rep (tempo.Rep), with the unobserved pause as None.

    The engine reports, for the pause on the start side, the pause *before* the rep (0 for a
    set's first rep, docs/engine.md): that 0 was never measured, so it is not scored.
    """
    first = rep.rep <= 1
    return RepPhases(
        eccentric_s=rep.eccentric_s,
        bottom_pause_s=None if first and start == "bottom" else rep.bottom_pause_s,
        concentric_s=rep.concentric_s,
        top_pause_s=None if first and start == "top" else rep.top_pause_s,
    )


class TempoScore(NamedTuple):
    """0-100 (None when no phase could be scored) and signed deviations in seconds."""

    score: int | None
    deviations_s: dict[PhaseName, float | None]


def _span_s(target_s: float) -> float:
    return max(target_s, MIN_SCORE_SPAN_S)


def phase_score(actual_s: float, target_s: float) -> float:
    """100 within the tolerance, then linearly down to 0 one span further (unrounded)."""
    excess = max(0.0, abs(actual_s - target_s) - TIMING_TOLERANCE_S)
    return 100.0 * max(0.0, 1.0 - excess / _span_s(target_s))


def tempo_score(phases: RepPhases, prescription: TempoPrescription) -> TempoScore:
    """How closely one rep followed the prescription (formula in docs/prescriptions.md).

    Deviations are measured minus prescribed (positive: slower or longer), rounded to
    milliseconds; None for an X phase or an unobserved one, which also do not count in the
    score. The score is the mean of the phase scores weighted by each phase's span.
    """
    deviations: dict[PhaseName, float | None] = {}
    weighted = 0.0
    weights = 0.0
    for phase, actual in zip(PHASES, phases, strict=True):
        target = prescription.target_s(phase)
        if target is None or actual is None or not math.isfinite(actual):
            deviations[phase] = None
            continue
        deviations[phase] = round(actual - target, 3)
        weighted += _span_s(target) * phase_score(actual, target)
        weights += _span_s(target)
    score = int(weighted / weights + 0.5) if weights else None
    return TempoScore(score, deviations)


def pauses_cut_short(phases: RepPhases, prescription: TempoPrescription) -> tuple[PhaseName, ...]:
    """The prescribed pauses (over 0 s) held shorter than prescribed beyond the tolerance."""
    short: list[PhaseName] = []
    for phase in PAUSES:
        target = prescription.target_s(phase)
        actual = getattr(phases, f"{phase}_s")
        if target and actual is not None and actual < target - TIMING_TOLERANCE_S:
            short.append(phase)
    return tuple(short)
