"""Phase times per behaviour kind and per rate, on a third, independent lifter model.

Written for the tempo contract (docs/engine.md, "Every tempo"): each session is one kind
of set that lifters really do, drawn at 20, 33 or 50 Hz with the whole travel 0.4-1.2 m
from the sensor (noise grows with distance squared) and with spikes, bursts of 2-6 wrong
readings, read errors and rate jitter. Moves have trapezoidal speed (constant-speed cruise,
short ramps); ground truth is solved on the true trajectory: 2 % boundaries, the bounce
band, and the stall by its definition (longest interior stretch slower than a third of the
phase's median speed). The emission delay at 50 Hz is printed beside its physical floor
(`floor_s`: no rule can emit a rep sooner). Prints the tables; asserts nothing. `--seeds N`
per kind (default 30), `--first S`: seeds 70 000-70 209 and 71 000-71 209 were used while
tuning the engine, so figures are reported from others (docs/engine.md says which). `-v`
lists each miscounted session: its seed, kind and rate, the reps lost and the reps too many.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring import engine_events, match, pct, print_miscount

from tempo import BOUNCE, FAST_ECCENTRIC, TIMES_UNKNOWN, EngineSettings, Rep

FIRST_SEED = 70_000
BAND = 0.02
BOUNCE_MAX_S = 0.15
KINDS = (
    "slow_negative",
    "dropped_negative",
    "grind",
    "dead_stop",
    "lockout_hold",
    "bounce",
    "single_leg",
)
RATES = (20.0, 33.0, 50.0)
# Sessions are also grouped by the sensor's noise at mid-travel (the model's 1 + 5 d^2 mm):
# where a figure falls short only far from the sensor, noise sets the floor, not the rule.
NOISE_CLASSES = ((3.0, "noise < 3 mm"), (5.0, "noise 3-5 mm"), (float("inf"), "noise > 5 mm"))
DT_TRUTH = 0.002
# Flags are also scored on reps whose truth is this far from the flag's limit (a rep 10 ms
# either side of a limit is a coin toss for any estimate of its times).
CLEAR_FAST_S = 0.1
CLEAR_BOUNCE_S = 0.03
# The emission floor: a stop is seen once a line through the readings after it has a slope
# this many of its standard errors below the speed the sled came in with.
STOP_SIGMAS = 2.0


@dataclass
class Move:
    t0: float
    t1: float
    e0: float
    e1: float
    ramp0: float
    ramp1: float

    def at(self, t: float) -> float:
        """Excursion at t: trapezoidal speed, constant-speed cruise between the ramps."""
        T = self.t1 - self.t0
        d = self.e1 - self.e0
        r0, r1 = self.ramp0, self.ramp1
        v = d / (T - 0.5 * r0 - 0.5 * r1)
        u = min(max(t - self.t0, 0.0), T)
        if u < r0:
            s = v * u * u / (2 * r0)
        elif u <= T - r1:
            s = v * r0 / 2 + v * (u - r0)
        else:
            w = T - u
            s = d - v * w * w / (2 * r1)
        return self.e0 + s


@dataclass
class Truth:
    t_start: float
    t_end: float
    t_stop: float
    concentric_s: float = 0.0
    top_pause_s: float = 0.0
    eccentric_s: float = 0.0
    bounce: bool = False
    band_s: float = 1.0  # time within 2 % of the bounce-side turn (the bounce criterion)
    fast: bool = False
    stall_s: float = 0.0
    lockout: str = "full"
    floor_s: float = 0.0  # the earliest any rule could emit the rep, after t_stop


@dataclass
class Track:
    moves: list[Move] = field(default_factory=list)
    t: float = 0.0
    e: float = 0.0

    def hold(self, s: float) -> None:
        self.t += s

    def move(self, to: float, s: float, r0: float, r1: float) -> Move:
        m = Move(self.t, self.t + s, self.e, to, min(r0, s / 2), min(r1, s / 2))
        self.moves.append(m)
        self.t += s
        self.e = to
        return m

    def at(self, t: float) -> float:
        e = self.moves[0].e0 if self.moves else 0.0
        for m in self.moves:
            if t < m.t0:
                return e
            e = m.at(t)
            if t <= m.t1:
                return e
        return e


def _cross(tr: Track, t0: float, t1: float, level: float, rising: bool) -> float:
    """First time in [t0, t1] at which the excursion crosses `level` the given way."""
    t = t0
    while t < t1:
        e = tr.at(t)
        if (e >= level) if rising else (e <= level):
            lo, hi = t - DT_TRUTH, t
            for _ in range(30):
                mid = (lo + hi) / 2
                em = tr.at(mid)
                if (em >= level) if rising else (em <= level):
                    hi = mid
                else:
                    lo = mid
            return hi
        t += DT_TRUTH
    return t1


def _stall(tr: Track, t0: float, t1: float) -> float:
    """The contract's stall on the true trajectory."""
    step = 0.01
    ts = [t0 + i * step for i in range(int((t1 - t0) / step))]
    if len(ts) < 5:
        return 0.0
    speeds = [abs(tr.at(t + step) - tr.at(t)) / step for t in ts]
    slow = sorted(speeds)[len(speeds) // 2] / 3.0
    best = run = 0
    fast_seen = False
    for v in speeds:
        if v < slow:
            run += 1
        else:
            if fast_seen:
                best = max(best, run)
            run = 0
            fast_seen = True
    return best * step


def floor_s(
    t_end: float, t_stop: float, t_left: float, *, speed_mm_s: float, noise: float, rate: float
) -> float:
    """The physical floor of the emission delay (docs/engine.md, "Confirmation delay").

    Two things must be known before a rep can go out with its flags, whatever the rule:
    whether the sled stayed 0.15 s within 2 % of where it stopped (the `bounce` flag; for
    a touch-and-go, when it left), and that it stopped at all, not moving on at the speed
    it came in with. A line fitted to readings taken at `rate` over T seconds has a slope
    error of noise * sqrt(12 / (rate T^3)); telling speed_mm_s from zero at two of those
    takes T = (12 * 2^2 * noise^2 / (rate * speed^2))^(1/3) after the stop.
    """
    bounce_known = min(t_end + BOUNCE_MAX_S, t_left) - t_stop
    seen_stopped = (12.0 * STOP_SIGMAS**2 * noise**2 / (rate * speed_mm_s**2)) ** (1.0 / 3.0)
    return max(bounce_known, seen_stopped, 0.0)


def session(seed: int, kind: str, rate: float):
    rng = random.Random(seed)
    distance = rng.uniform(400.0, 1200.0)
    rom = rng.uniform(250.0, 450.0)
    flip = rng.random() < 0.5
    start = "top" if kind != "bounce" and rng.random() < 0.3 else "bottom"
    # The whole travel lies 0.4-1.2 m from the sensor, whichever way it faces.
    near = 400.0 + (distance - 400.0) / 800.0 * (800.0 - rom)
    bottom, lockout = (near + rom, near) if flip else (near, near + rom)
    settings = EngineSettings(bottom_mm=round(bottom), lockout_mm=round(lockout), start=start)
    rom_real = settings.rom_mm
    tr = Track()
    tr.hold(rng.uniform(1.5, 3.0))
    truths: list[Truth] = []
    n = rng.randint(4, 7)
    was_touch = False  # the previous rep ended in a touch-and-go
    for i in range(n):
        locked = rng.random() < 0.15
        top = rng.uniform(0.99, 1.04) if locked else rng.uniform(0.86, 0.94)
        home = rng.uniform(-0.01, 0.01)
        conc = rng.uniform(0.7, 1.6)
        ecc = rng.uniform(1.5, 4.0)
        top_pause = rng.uniform(0.2, 1.0)
        bottom_pause = rng.uniform(0.4, 1.2)
        ramp = rng.uniform(0.15, 0.35)
        stall_at = stall_s = 0.0
        touch = False
        if kind == "slow_negative":
            ecc = rng.uniform(2.0, 12.0)
        elif kind == "dropped_negative":
            ecc = rng.uniform(0.4, 0.8)
        elif kind == "grind":
            conc = rom_real / 1000.0 * (top - 0.0) / rng.uniform(0.1, 0.3)
            stall_at = rng.uniform(0.15, 0.7)
            stall_s = rng.uniform(0.3, 1.0)
        elif kind == "dead_stop":
            bottom_pause = rng.uniform(1.0, 3.0)
        elif kind == "lockout_hold":
            top_pause = rng.uniform(0.5, 2.0)
        elif kind == "bounce":
            touch = i < n - 1 and rng.random() < 0.6
            ecc = rng.uniform(1.0, 2.5)  # a touch-and-go arrives fast
        elif kind == "single_leg":
            conc *= 1.3
            ecc *= 1.2
        # The rep in excursion from the start side: the far turn and the way home.
        if start == "top":
            e_far = 1.0 - rng.uniform(-0.02, 0.02)  # full depth
            e_home = 1.0 - top  # back up to the lockout level
        else:
            e_far, e_home = top, home
        first_phase_s = conc if start == "bottom" else ecc
        second_phase_s = ecc if start == "bottom" else conc
        prev_touch = was_touch
        r_in = 0.04 if prev_touch else ramp
        t_rep0 = tr.t
        if kind == "grind" and start == "bottom":
            e_mid = tr.e + stall_at * (e_far - tr.e)
            tr.move(e_mid, first_phase_s * stall_at, r_in, 0.12)
            tr.hold(stall_s)
            tr.move(e_far, first_phase_s * (1 - stall_at), 0.12, ramp)
        else:
            turn_ramp = 0.04 if (kind == "bounce" and start == "top") else ramp
            tr.move(e_far, first_phase_s, r_in, turn_ramp)
        t_far_hold = tr.t
        if not (kind == "bounce" and start == "top"):
            tr.hold(top_pause if start == "bottom" else bottom_pause)
        t_back0 = tr.t
        if kind == "grind" and start == "top":
            e_mid = e_far + stall_at * (e_home - e_far)
            tr.move(e_mid, second_phase_s * stall_at, ramp, 0.12)
            tr.hold(stall_s)
            tr.move(e_home, second_phase_s * (1 - stall_at), 0.12, ramp)
        else:
            tr.move(e_home, second_phase_s, ramp, 0.04 if touch else ramp)
        t_stop = tr.t
        if not touch:
            tr.hold(bottom_pause if start == "bottom" else top_pause)
        # truth, by the 2 % convention on the true trajectory
        e0 = tr.at(t_rep0)
        t_s = _cross(tr, t_rep0, t_far_hold, e0 + BAND, True)
        t_top_in = _cross(tr, t_rep0, t_far_hold + 0.01, e_far - BAND, True)
        t_back = _cross(tr, t_far_hold, t_stop, e_far - BAND, False)
        t_e = _cross(tr, t_back0, t_stop + 0.01, e_home + BAND, False)
        out_s, pause_s, back_s = t_top_in - t_s, t_back - t_top_in, t_e - t_back
        truth = Truth(t_start=t_s, t_end=t_e, t_stop=t_stop)
        last = tr.moves[-1]
        cruise_s = last.t1 - last.t0 - 0.5 * last.ramp0 - 0.5 * last.ramp1
        speed = abs(last.e1 - last.e0) * rom_real / cruise_s
        at_mm = settings.bottom_mm + settings.direction * rom_real * (
            e_home if start == "bottom" else 1.0 - e_home
        )
        truth.floor_s = floor_s(
            t_e, t_stop, tr.t, speed_mm_s=speed, noise=noise_mm(at_mm), rate=rate
        )
        if start == "bottom":
            truth.concentric_s, truth.top_pause_s, truth.eccentric_s = out_s, pause_s, back_s
            lock_f = e_far
            rom_f = e_far - e0
        else:
            truth.eccentric_s, truth.concentric_s = out_s, back_s
            truth.top_pause_s = t_s - truths[-1].t_end if truths else 0.0
            lock_f = 1.0 - e_home
            rom_f = e_far - e_home
        truth.fast = truth.eccentric_s < settings.target_eccentric_s - settings.fast_margin_s
        truth.lockout = (
            "locked"
            if lock_f >= settings.locked_above
            else "partial"
            if rom_f < settings.partial_below
            else "full"
        )
        if prev_touch:  # the previous rep's end turn: left at this rep's start
            prev = truths[-1]
            prev.band_s = t_s - prev.t_end
            prev.floor_s = max(t_s - prev.t_stop, 0.0)  # a turn: known once it left the band
            prev.bounce = prev.band_s < BOUNCE_MAX_S
        if kind == "bounce" and start == "top":
            t_in = _cross(tr, t_rep0, t_far_hold + 0.01, e_far - BAND, True)
            t_out = _cross(tr, t_far_hold, t_stop, e_far - BAND, False)
            truth.band_s = t_out - t_in
            truth.bounce = truth.band_s < BOUNCE_MAX_S
        if kind == "grind":
            a, b = (t_s, t_top_in) if start == "bottom" else (t_back, t_e)
            truth.stall_s = _stall(tr, a, b)
        truths.append(truth)
        was_touch = touch
    tr.hold(settings.rest_s + 2.0)
    return settings, _sense(rng, tr, settings, rate), truths


def turn_bands(settings: EngineSettings, pairs: list[tuple[Truth, Rep]]) -> list[float | None]:
    """The engine's time within 2 % of each rep's bounce-side turn, where it says one.

    That turn's arrival and departure are the boundaries either side of the bottom pause:
    a touch-and-go ends one rep and starts the next (start "bottom"), a far turn is inside
    its rep (start "top"). The `bounce` flag is this time under 0.15 s at a turn.
    """
    out: list[float | None] = []
    for i, (_, r) in enumerate(pairs):
        if settings.start == "top":
            out.append(r.bottom_pause_s)
        elif i + 1 < len(pairs) and pairs[i + 1][1].rep == r.rep + 1:
            out.append(pairs[i + 1][1].bottom_pause_s)
        else:
            out.append(None)
    return out


def noise_mm(distance_mm: float) -> float:
    """The model's reading noise (one deviation) at a distance."""
    return 1.0 + 5.0 * (distance_mm / 1000.0) ** 2


def noise_class(s: EngineSettings) -> str:
    """The NOISE_CLASSES label of a session, by its noise at mid-travel."""
    sigma = noise_mm(0.5 * (s.bottom_mm + s.lockout_mm))
    return next(label for top, label in NOISE_CLASSES if sigma < top)


def _sense(rng, tr: Track, s: EngineSettings, rate: float):
    out: list[tuple[float, int | None]] = []
    t = rng.uniform(0.0, 1.0 / rate)
    burst = 0
    offset = 0.0
    sign = s.direction
    while t < tr.t:
        mm = s.bottom_mm + sign * s.rom_mm * (tr.at(t) if s.start == "bottom" else 1.0 - tr.at(t))
        sigma = noise_mm(mm)
        reading = mm + rng.gauss(0.0, sigma)
        if burst == 0 and rng.random() < 0.004:
            burst = rng.randint(2, 6)
            offset = rng.choice((-1, 1)) * rng.uniform(60.0, 250.0)
        if burst:
            burst -= 1
            reading += offset
        elif rng.random() < 0.01:
            reading += rng.choice((-1, 1)) * rng.uniform(40.0, 250.0)
        value: int | None = max(round(reading), 1)
        if rng.random() < 0.005:
            value = None
        out.append((round(t, 4), value))
        t += rng.uniform(0.85, 1.15) / rate
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first", type=int, default=FIRST_SEED)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    phases = ("concentric_s", "top_pause_s", "eccentric_s")
    errs: dict[str, list[float]] = {}
    exact: dict[str, list[int]] = {}
    flags = {f: [0, 0, 0] for f in (FAST_ECCENTRIC, BOUNCE)}  # tp, fp, fn
    flags_clear = {f: [0, 0, 0] for f in (FAST_ECCENTRIC, BOUNCE)}  # truth clear of the limit
    lock = [0, 0]
    stall_err: list[float] = []
    no_stall: list[float] = []  # stall_s reported on reps that have none
    band_err: dict[str, list[tuple[float, float]]] = {}  # per rate: error ms, estimate s
    delays: dict[str, list[float]] = {}  # per kind and noise class, at 50 Hz
    floors: dict[str, list[float]] = {}  # the physical floor of each of those delays
    by_noise: dict[str, dict[str, list]] = {
        label: {"errs": [], "bounce": [0, 0], "lock": [0, 0]} for _, label in NOISE_CLASSES
    }
    unknown = 0
    seed = args.first
    for kind in KINDS:
        for _ in range(args.seeds):
            rate = RATES[seed % 3]
            settings, samples, truth = session(seed, kind, rate)
            seed += 1
            reps, _sets = engine_events(settings, samples)
            noisy = noise_class(settings)
            here = by_noise[noisy]
            for key in (kind, f"{rate:.0f} Hz", "all"):
                exact.setdefault(key, []).append(int(len(reps) == len(truth)))
            if args.verbose:
                print_miscount(f"seed {seed - 1} ({kind}, {rate:.0f} Hz)", truth, reps)
            pairs = match(truth, reps)
            for (tr, _), band_s in zip(pairs, turn_bands(settings, pairs), strict=True):
                if tr.bounce and band_s is not None:
                    band_err.setdefault(f"{rate:.0f} Hz", []).append(
                        ((band_s - tr.band_s) * 1000.0, band_s)
                    )
            for tr, r in pairs:
                unknown += TIMES_UNKNOWN in r.flags
                e = [abs(getattr(r, p) - getattr(tr, p)) * 1000.0 for p in phases]
                for key in (kind, f"{rate:.0f} Hz", "all"):
                    errs.setdefault(key, []).extend(e)
                here["errs"].extend(e)
                lock[0] += r.lockout == tr.lockout
                lock[1] += 1
                here["lock"][0] += r.lockout == tr.lockout
                here["lock"][1] += 1
                if tr.bounce:
                    here["bounce"][0] += BOUNCE in r.flags
                    here["bounce"][1] += 1
                fast_limit = settings.target_eccentric_s - settings.fast_margin_s
                for f, want, clear in (
                    (FAST_ECCENTRIC, tr.fast, abs(tr.eccentric_s - fast_limit) >= CLEAR_FAST_S),
                    (BOUNCE, tr.bounce, abs(tr.band_s - BOUNCE_MAX_S) >= CLEAR_BOUNCE_S),
                ):
                    got = f in r.flags
                    for tally in (flags[f], flags_clear[f]) if clear else (flags[f],):
                        tally[0] += got and want
                        tally[1] += got and not want
                        tally[2] += want and not got
                if tr.stall_s >= 0.3:
                    stall_err.append(abs(getattr(r, "stall_s", 0.0) - tr.stall_s))
                elif kind != "grind":  # no sticking point (a grind's has one, even where
                    # its truth is 0: stuck for over half the phase, the median speed is 0)
                    no_stall.append(r.stall_s)
                if rate == 50.0:
                    for key in (kind, "all", noisy):
                        delays.setdefault(key, []).append((r.t_confirmed - tr.t_stop) * 1000.0)
                        floors.setdefault(key, []).append(tr.floor_s * 1000.0)
    last = seed - 1
    print(f"tempo kinds: {args.seeds} sessions per kind, seeds {args.first}..{last} (fresh)")
    print("phase durations (concentric, top pause, eccentric): |error| in ms")
    print(f"  {'':18s} {'sessions exact':>15s} {'median':>7s} {'95th':>7s}")
    for key in (*KINDS, *(f"{r:.0f} Hz" for r in RATES), "all"):
        ex = exact[key]
        e = errs.get(key, [])
        print(f"  {key:18s} {sum(ex):>7d}/{len(ex):<7d} {pct(e, 0.5):7.0f} {pct(e, 0.95):7.0f}")
    print(f"reps flagged times_unknown (counted in the errors above): {unknown}")
    print(f"lockout verdict: {lock[0]}/{lock[1]} ({100.0 * lock[0] / max(lock[1], 1):.1f} %)")
    for f, (tp, fp, fn) in flags.items():
        prec = 100.0 * tp / max(tp + fp, 1)
        rec = 100.0 * tp / max(tp + fn, 1)
        ctp, cfp, cfn = flags_clear[f]
        cprec = 100.0 * ctp / max(ctp + cfp, 1)
        crec = 100.0 * ctp / max(ctp + cfn, 1)
        print(
            f"{f}: precision {prec:.1f} %, recall {rec:.1f} % ({tp} true positives); "
            f"truth clear of the limit: {cprec:.1f} % / {crec:.1f} % ({ctp})"
        )
    print(
        "bounce band (time within 2 % of the turn), engine minus truth, true bounces: "
        "median / 5th / 95th ms, and the share estimated at the 0.15 s limit or over:"
    )
    for rate in RATES:
        got = band_err.get(f"{rate:.0f} Hz", [])
        e = [err for err, _ in got]
        over = sum(band >= BOUNCE_MAX_S for _, band in got)
        print(
            f"  {rate:.0f} Hz   {pct(e, 0.5):+5.0f} {pct(e, 0.05):+5.0f} {pct(e, 0.95):+5.0f}"
            f"   at the limit or over: {over}/{len(got)}"
        )
    print(
        f"stall_s error for sticking points >= 0.3 s: median {pct(stall_err, 0.5):.2f} s, "
        f"95th {pct(stall_err, 0.95):.2f} s, within 0.15 s: "
        f"{sum(x <= 0.15 for x in stall_err)}/{len(stall_err)}"
    )
    print(
        f"stall_s on reps of the other kinds (none there): {sum(x > 0 for x in no_stall)}"
        f"/{len(no_stall)} reported, {sum(x >= 0.3 for x in no_stall)} of 0.3 s or more"
    )
    everywhere = delays.get("all", [])
    print(
        f"rep emitted after the sled stopped, 50 Hz: median {pct(everywhere, 0.5):.0f} ms, "
        f"95th {pct(everywhere, 0.95):.0f} ms; per kind, median / 95th ms of the delay, of "
        "its physical floor (bounce band known, stop told from the speed it came in with) "
        "and of the delay above that floor:"
    )
    for kind in (*KINDS, "all"):
        ms = delays.get(kind, [])
        if ms:
            fl = floors[kind]
            above = [d - f for d, f in zip(ms, fl, strict=True)]
            print(
                f"  {kind:20s} {pct(ms, 0.5):5.0f} {pct(ms, 0.95):5.0f}   floor "
                f"{pct(fl, 0.5):5.0f} {pct(fl, 0.95):5.0f}   above "
                f"{pct(above, 0.5):5.0f} {pct(above, 0.95):5.0f}"
            )

    print(
        "by sensor noise at mid-travel: phases median / 95th ms, bounce recall, "
        "emission at 50 Hz 95th ms (and its floor's), lockout verdict:"
    )
    for _, label in NOISE_CLASSES:
        here = by_noise[label]
        e = here["errs"]
        caught, bounces = here["bounce"]
        right, verdicts = here["lock"]
        ms = delays.get(label, [])
        fl = floors.get(label, [])
        print(
            f"  {label:14s} {pct(e, 0.5):5.0f} {pct(e, 0.95):5.0f}   "
            f"bounce {caught}/{bounces}   emission {pct(ms, 0.95):5.0f} (floor "
            f"{pct(fl, 0.95):3.0f})   "
            f"lockout {right}/{verdicts}"
        )


if __name__ == "__main__":
    main()
