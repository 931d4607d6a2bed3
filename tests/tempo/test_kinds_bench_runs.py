"""The tempo-kinds bench still runs and prints every figure the contract names (one
session per kind: the figures themselves are the bench's job, not this test's)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_tempo_kinds.py"


def test_the_kinds_bench_prints_every_figure(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(BENCH), "--seeds", "1", "--first", "99000"])
    # run as a script would be: its own folder first on the path
    monkeypatch.setattr(sys, "path", [str(BENCH.parent), *sys.path])
    bench = runpy.run_path(str(BENCH), run_name="__main__")
    kinds = bench["KINDS"]
    out = capsys.readouterr().out
    for line in (
        "phase durations",
        "lockout verdict:",
        "fast_eccentric: precision",
        "bounce: precision",
        "bounce band (time within 2 % of the turn), engine minus truth",
        "stall_s error for sticking points",
        "stall_s on reps of the other kinds (none there):",
        "rep emitted after the sled stopped, 50 Hz:",
        "by sensor noise at mid-travel:",
    ):
        assert line in out
    per_kind, by_noise = out.split("above that floor:")[1].split("by sensor noise")
    rows = per_kind.strip().splitlines()
    assert rows[-1].split()[0] == "all"
    assert rows[:-1]  # one session per kind: the kinds drawn at 50 Hz have a row
    for row in rows:
        kind, median, p95, floor, f_median, f_p95, above, a_median, a_p95 = row.split()
        assert kind in (*kinds, "all")
        assert (floor, above) == ("floor", "above")
        assert 0.0 <= float(median) <= float(p95)
        assert 0.0 <= float(f_median) <= float(f_p95)
        assert float(a_median) <= float(a_p95)
    labels = [label for _, label in bench["NOISE_CLASSES"]]
    noise_rows = by_noise.strip().splitlines()[1:]
    starts = [row.strip()[: len(label)] for row, label in zip(noise_rows, labels, strict=True)]
    assert starts == labels


def test_the_emission_floor_is_the_later_of_the_bounce_band_and_the_stop_seen():
    floor_s = runpy.run_path(str(BENCH))["floor_s"]
    # A dead stop from 0.5 m/s: seen within 25 ms, but the bounce band needs 0.15 s from
    # the 2 % crossing, 50 ms before the stop.
    assert floor_s(1.0, 1.05, 3.0, speed_mm_s=500.0, noise=2.0, rate=50.0) == pytest.approx(0.1)
    # A slow negative ending at 25 mm/s in 5 mm of noise: a line through 50 Hz readings
    # tells that from still after (12 * 4 * 25 / (50 * 625)) ** (1 / 3) = 0.337 s.
    assert floor_s(1.0, 1.05, 9.0, speed_mm_s=25.0, noise=5.0, rate=50.0) == pytest.approx(
        0.3374, abs=1e-4
    )
    # A touch-and-go that leaves the band 0.06 s after it turned: a bounce, known then.
    assert floor_s(1.0, 1.02, 1.08, speed_mm_s=800.0, noise=2.0, rate=50.0) == pytest.approx(0.06)


def test_the_bounce_band_is_read_from_the_pause_beside_the_turn():
    bench = runpy.run_path(str(BENCH))
    turn_bands, settings = bench["turn_bands"], bench["EngineSettings"]

    def rep(n: int, pause_s: float) -> SimpleNamespace:
        return SimpleNamespace(rep=n, bottom_pause_s=pause_s)

    pairs = [(None, rep(1, 0.0)), (None, rep(2, 0.11)), (None, rep(4, 0.5))]
    # start at the bottom: a touch-and-go ends a rep and starts the next, whose bottom
    # pause it is; none where the next rep is not the one after (or there is none)
    bottom = settings(bottom_mm=100, lockout_mm=400, start="bottom")
    assert turn_bands(bottom, pairs) == [0.11, None, None]
    # start at the top: the far turn is inside its own rep
    top = settings(bottom_mm=100, lockout_mm=400, start="top")
    assert turn_bands(top, pairs) == [0.0, 0.11, 0.5]
