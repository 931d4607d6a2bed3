"""Engine events with plausible defaults, for tests that need a Rep or a SetDone to hand on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tempo.events import LOCKED_KNEES, PARTIAL, Rep, SetDone
from tempo.scoring import eccentric_score


def make_rep(
    set_no: int = 1,
    rep_no: int = 1,
    *,
    eccentric_s: float = 3.0,
    velocity_m_s: float = 0.5,
    flags: tuple[str, ...] = (),
    **overrides: Any,
) -> Rep:
    """Rep `rep_no` of set `set_no`, 10 s apart; the lockout verdict follows the flags."""
    t0 = 10.0 * rep_no + 100.0 * set_no
    if LOCKED_KNEES in flags:
        lockout = "locked"
    elif PARTIAL in flags:
        lockout = "partial"
    else:
        lockout = "full"
    rep = Rep(
        set=set_no,
        rep=rep_no,
        t_start=t0,
        t_top=t0 + 0.9,
        t_ecc=t0 + 1.2,
        t_end=t0 + 1.2 + eccentric_s,
        concentric_s=0.9,
        top_pause_s=0.3,
        eccentric_s=eccentric_s,
        bottom_pause_s=0.4,
        rom_mm=360.0,
        rom_fraction=0.97,
        lockout=lockout,
        eccentric_score=eccentric_score(eccentric_s, 3.0),
        mean_concentric_velocity_m_s=velocity_m_s,
        peak_concentric_velocity_m_s=velocity_m_s * 1.4,
        flags=flags,
        t_confirmed=t0 + 1.5 + eccentric_s,
    )
    return replace(rep, **overrides)


def make_set_done(set_no: int = 1, reps: int = 3, **overrides: Any) -> SetDone:
    done = SetDone(
        set=set_no,
        reps=reps,
        t_start=100.0 * set_no,
        t_end=100.0 * set_no + 60.0,
        mean_eccentric_s=2.9,
        time_under_tension_s=41.0,
        mean_concentric_velocity_m_s=0.48,
        best_concentric_velocity_m_s=0.55,
        last_concentric_velocity_m_s=0.41,
        velocity_loss_pct=25.5,
        reason="rest",
    )
    return replace(done, **overrides)
