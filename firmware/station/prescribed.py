"""Each set's prescription (athlete, load, tempo) applied to the engine's reps and sets.

The engine scores the lowering against `[tempo] target_eccentric_s` and knows nothing of
athletes or tempos. A set whose next set prescribes a tempo is judged against it here, at the
edge, so the engine stays pure and untouched: the prescribed eccentric becomes the set's
`target_eccentric_s` and `eccentric_score` and the `fast_eccentric` flag are recomputed with
tempo.scoring's own rules; the rep gains a `tempo_score`, per-phase deviations and, for a
prescribed pause held too briefly, the `short_pause` flag (docs/prescriptions.md). With a
target velocity and the athlete's profile, a set's first rep may get `load_too_light` or
`load_too_heavy` (firmware/station/zones.py).

Used by the station and by `repsled replay`, so both give the same payloads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from firmware.station.next_set import NextSet, NextSetTracker
from firmware.station.zones import VERDICT_FLAGS, VelocityZones, zone_fields
from firmware.vbt.profile import ZoneAdvice
from tempo.events import BOUNCE, FAST_ECCENTRIC, TIMES_UNKNOWN, Rep, SetDone
from tempo.prescription import (
    PHASES,
    SHORT_PAUSE,
    TempoPrescription,
    pauses_cut_short,
    rep_phases,
    tempo_score,
)
from tempo.scoring import eccentric_score, rep_flags, velocity_loss_pct
from tempo.settings import EngineSettings, StartSide

# Payload keys of the signed per-phase deviations (measured minus prescribed, seconds).
DEVIATION_KEYS = {phase: f"{phase}_deviation_s" for phase in PHASES}
# An eccentric prescribed X (as fast as possible) is followed by any lowering.
X_ECCENTRIC_SCORE = 100


def prescribed_rep(rep: Rep, tempo: TempoPrescription | None, settings: EngineSettings) -> Rep:
    """The rep as the engine would judge it with the prescribed eccentric as its target.

    Without a tempo the rep is returned as it is. Other flags keep their order; `short_pause`
    comes last, after the engine's own flags.
    """
    if tempo is None or TIMES_UNKNOWN in rep.flags:
        return rep  # times a sensor fault hid are never judged (docs/engine.md)
    flags = [f for f in rep.flags if f != FAST_ECCENTRIC]
    target = tempo.eccentric_s
    if target is None:
        score = X_ECCENTRIC_SCORE
    else:
        score = eccentric_score(rep.eccentric_s, target)
        set_settings = replace(settings, target_eccentric_s=target)
        # The engine's own rule decides "too fast"; lockout and bounce do not matter to it.
        if FAST_ECCENTRIC in rep_flags(set_settings, "full", rep.eccentric_s, BOUNCE in flags):
            flags.insert(0, FAST_ECCENTRIC)
    if pauses_cut_short(rep_phases(rep, settings.start), tempo):
        flags.append(SHORT_PAUSE)
    return replace(rep, eccentric_score=score, flags=tuple(flags))


def tempo_fields(rep: Rep, tempo: TempoPrescription | None, start: StartSide) -> dict[str, Any]:
    """`tempo_score` and the four `*_deviation_s` of a rep payload; null without a tempo."""
    if tempo is None or TIMES_UNKNOWN in rep.flags:
        return {"tempo_score": None, **dict.fromkeys(DEVIATION_KEYS.values())}
    scored = tempo_score(rep_phases(rep, start), tempo)
    return {
        "tempo_score": scored.score,
        **{DEVIATION_KEYS[phase]: scored.deviations_s[phase] for phase in PHASES},
    }


def _with_zone_verdict(rep: Rep, zone: ZoneAdvice | None) -> Rep:
    """A set's first rep with its load's verdict (`load_too_light`, `load_too_heavy`)."""
    flag = VERDICT_FLAGS.get(zone.verdict) if rep.rep == 1 and zone is not None else None
    return rep if flag is None else replace(rep, flags=(*rep.flags, flag))


class _SetTally:
    """What a set's payload needs from its reps: tempo scores and the velocity-loss stop."""

    def __init__(self) -> None:
        self.scores: dict[int, int] = {}  # by rep number: a revised rep replaces its score
        self.best_m_s = 0.0
        self.exceeded = False
        self.zone: ZoneAdvice | None = None


class SetPrescriptions:
    """Binds each set to its next set and applies it to the set's reps and summary.

    `apply` and `finish` run on the sampling thread; the tracker may be offered a new next set
    from the MQTT thread at any time (it applies from the next set that starts).
    """

    def __init__(
        self,
        tracker: NextSetTracker,
        settings: EngineSettings,
        *,
        stop_at_velocity_loss_pct: float,
        zones: VelocityZones | None = None,
    ) -> None:
        self.tracker = tracker
        self.zones = zones
        self.settings = settings
        self.stop_at_velocity_loss_pct = stop_at_velocity_loss_pct
        self._tallies: dict[int, _SetTally] = {}

    @property
    def pending(self) -> NextSet:
        return self.tracker.pending

    def apply(self, rep: Rep) -> tuple[Rep, dict[str, Any]]:
        """The rep judged against its set's tempo, and the fields to add to its payload."""
        next_set, judged, fields, tally = self._judged(rep)
        if TIMES_UNKNOWN in rep.flags:
            return judged, fields  # its velocity is not known: it changes no tally or zone
        velocity = rep.mean_concentric_velocity_m_s
        tally.best_m_s = max(tally.best_m_s, velocity)
        loss = velocity_loss_pct(tally.best_m_s, velocity)
        tally.exceeded = tally.exceeded or loss >= self.stop_at_velocity_loss_pct
        if rep.rep == 1 and self.zones is not None:
            tally.zone = self.zones.advise(velocity, next_set)
        return _with_zone_verdict(judged, tally.zone), fields

    def revise(self, rep: Rep) -> tuple[Rep, dict[str, Any]]:
        """A revised rep (`tempo.events.RepRevised`) judged as `apply` judged it first: its
        tempo again, the set's tempo score replaced; the velocity tallies and the zone
        verdict stand as the first version set them (the cues have gone out)."""
        _, judged, fields, tally = self._judged(rep)
        return _with_zone_verdict(judged, tally.zone), fields

    def _judged(self, rep: Rep) -> tuple[NextSet, Rep, dict[str, Any], _SetTally]:
        """The rep's next set, the rep judged against its tempo, its payload fields, and
        its set's tally, which keeps its tempo score by rep number."""
        next_set = self.tracker.for_set(rep.set)
        judged = prescribed_rep(rep, next_set.tempo, self.settings)
        fields = {**next_set.stamp(), **tempo_fields(rep, next_set.tempo, self.settings.start)}
        tally = self._tallies.setdefault(rep.set, _SetTally())
        if fields["tempo_score"] is not None:
            tally.scores[rep.rep] = fields["tempo_score"]
        return next_set, judged, fields, tally

    def finish(self, done: SetDone) -> dict[str, Any]:
        """The fields to add to a set payload; the set's binding is then forgotten."""
        next_set = self.tracker.finish_set(done.set)
        tally = self._tallies.pop(done.set, _SetTally())
        scores = list(tally.scores.values())
        mean_score = int(sum(scores) / len(scores) + 0.5) if scores else None
        return {
            **next_set.stamp(),
            "mean_tempo_score": mean_score,
            "velocity_loss_exceeded": tally.exceeded,
            "velocity_zone": zone_fields(tally.zone),
        }
