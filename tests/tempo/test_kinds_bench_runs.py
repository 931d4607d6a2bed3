"""The tempo-kinds bench still runs and prints every figure the contract names (one
session per kind: the figures themselves are the bench's job, not this test's)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

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
        "stall_s error for sticking points",
        "stall_s on reps of the other kinds (none there):",
        "rep emitted after the sled stopped, 50 Hz:",
        "by sensor noise at mid-travel:",
    ):
        assert line in out
    per_kind, by_noise = out.split("per kind (median / 95th):")[1].split("by sensor noise")
    rows = per_kind.strip().splitlines()
    assert rows  # one session per kind: the kinds drawn at 50 Hz have a row
    for row in rows:
        kind, median, p95 = row.split()
        assert kind in kinds
        assert 0.0 <= float(median) <= float(p95)
    labels = [label for _, label in bench["NOISE_CLASSES"]]
    noise_rows = by_noise.strip().splitlines()[1:]
    starts = [row.strip()[: len(label)] for row, label in zip(noise_rows, labels, strict=True)]
    assert starts == labels
