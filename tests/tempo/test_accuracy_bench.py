"""The accuracy bench scores the flags where its model knows the truth, and still runs (two
sessions: the figures themselves are the bench's job, not this test's)."""

from __future__ import annotations

import runpy
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.factories import make_rep

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _scoring(monkeypatch) -> dict:
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    return runpy.run_path(str(BENCH / "scoring.py"), run_name="scoring")


def test_flags_are_tallied_against_the_truth(monkeypatch, capsys) -> None:
    board = _scoring(monkeypatch)["Scoreboard"]()

    def truth(t_start: float, eccentric_s: float, bounce: bool) -> SimpleNamespace:
        return SimpleNamespace(
            t_start=t_start, t_top=t_start + 1.0, t_ecc=t_start + 1.0, t_end=t_start + 3.0,
            t_stop=t_start + 3.1, lockout="full", eccentric_s=eccentric_s, bounce=bounce,
        )  # fmt: skip

    def rep(t_start: float, flags: tuple[str, ...]):
        base = make_rep()
        return replace(
            base, t_start=t_start, t_top=t_start + 1.0, t_ecc=t_start + 1.0,
            t_end=t_start + 3.0, lockout="full", flags=flags, t_confirmed=t_start + 3.2,
        )  # fmt: skip

    truths = [truth(0.0, 1.0, True), truth(10.0, 3.0, False), truth(20.0, 1.5, True)]
    reps = [
        rep(0.0, ("fast_eccentric", "bounce")),  # both right
        rep(10.0, ("bounce",)),  # a bounce that was none
        rep(20.0, ("times_unknown",)),  # no verdicts on its times: not counted
    ]
    board.add(truths, [3], reps, [], 50.0, 2.0)
    assert board.flags == {"fast_eccentric": [1, 0, 0], "bounce": [1, 1, 0]}
    assert board.fast_clear == [1, 0, 0]


def test_the_bench_prints_the_flags(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_accuracy.py", "--seeds", "2", "--first", "900000"])
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    runpy.run_path(str(BENCH / "bench_accuracy.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "fast_eccentric: precision" in out
    assert "bounce: precision" in out
    assert "phase durations (concentric, top pause, eccentric)" in out
    assert "after it stopped, 50 Hz only:" in out
    assert "of those, known times:" in out
    assert "reps whose phases run backwards (an engine bug): 0" in out
    assert "lockout verdict, reps with no glare within 1 s of their lockout-side turn:" in out


def test_phase_durations_are_scored_signed_by_start_side(monkeypatch, capsys) -> None:
    board = _scoring(monkeypatch)["Scoreboard"]()

    def truth(t_start: float) -> SimpleNamespace:
        return SimpleNamespace(
            t_start=t_start, t_top=t_start + 1.0, t_ecc=t_start + 1.5, t_end=t_start + 4.0,
            t_stop=t_start + 4.1, lockout="full", concentric_s=1.0, top_pause_s=0.5,
            eccentric_s=2.5,
        )  # fmt: skip

    def rep(t_start: float, eccentric_s: float, flags: tuple[str, ...] = ()):
        return replace(
            make_rep(), t_start=t_start, t_top=t_start + 1.0, t_ecc=t_start + 1.5,
            t_end=t_start + 4.0, concentric_s=1.0, top_pause_s=0.5, eccentric_s=eccentric_s,
            lockout="full", flags=flags, t_confirmed=t_start + 4.2,
        )  # fmt: skip

    # two eccentrics 40 ms short, one right, and one 300 ms short whose times are unknown
    reps = [rep(0.0, 2.46), rep(10.0, 2.46), rep(20.0, 2.5), rep(30.0, 2.2, ("times_unknown",))]
    truths = [truth(t) for t in (0.0, 10.0, 20.0, 30.0)]
    board.add(truths, [4], reps, [], 50.0, start="bottom")
    known = board.durations["bottom", True]["eccentric_s"]
    assert [round(e) for e in known] == [-40, -40, 0]
    every = board.durations["all", False]["eccentric_s"]
    assert [round(e) for e in every] == [-40, -40, 0, -300]
    assert board.durations["top", False]["eccentric_s"] == []
    board.report("four reps")
    out = capsys.readouterr().out
    assert "phase durations (concentric, top pause, eccentric)" in out
    line = next(x for x in out.splitlines() if x.startswith("  start bottom"))
    assert line.split()[-1] == "-40"  # the eccentric's signed median, known times
    assert not any(x.startswith("  start top") for x in out.splitlines())


def test_a_miscount_names_the_reps_lost_and_the_reps_too_many(monkeypatch) -> None:
    miscounted = _scoring(monkeypatch)["miscounted"]

    def truth(t_start: float) -> SimpleNamespace:
        return SimpleNamespace(t_start=t_start, t_end=t_start + 3.0)

    def rep(t_start: float, t_end: float):
        return replace(make_rep(), t_start=t_start, t_end=t_end, rom_fraction=0.4, flags=())

    truths = [truth(0.0), truth(10.0), truth(20.0)]
    reps = [rep(0.1, 3.0), rep(5.0, 6.0), rep(20.0, 23.1)]
    assert miscounted(truths, reps) == [
        "extra engine rep 5.00-6.00 s, rom_fraction 0.40, flags -",
        "lost  true rep 10.00-13.00 s",
    ]
    assert miscounted(truths, [rep(0.0, 3.0), rep(10.0, 13.0), rep(20.0, 23.0)]) == []


def test_the_bench_lists_what_it_got_wrong_when_asked(monkeypatch, capsys) -> None:
    # accuracy seed 900020: a full rep read partial after a stuck sensor hid its bottom
    argv = ["bench_accuracy.py", "--seeds", "1", "--first", "900020", "-v"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    runpy.run_path(str(BENCH / "bench_accuracy.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "seed 900020 rep 1.5 at 39.05 s: lockout full read partial" in out


def test_the_bench_draws_the_lowerings_asked_for(monkeypatch, capsys) -> None:
    argv = ["bench_accuracy.py", "--seeds", "1", "--first", "900000", "--eccentric", "6", "10"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    runpy.run_path(str(BENCH / "bench_accuracy.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "(all sensor faults, lowerings of 6-10 s)" in out.splitlines()[0]
    assert "rep count exact:        1/1 traces" in out


def test_the_bench_refuses_an_upside_down_range(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_accuracy.py", "--eccentric", "10", "6"])
    monkeypatch.setattr(sys, "path", [str(BENCH), *sys.path])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(BENCH / "bench_accuracy.py"), run_name="__main__")
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("--eccentric: LO and HI must be seconds, 0 < LO <= HI")


def test_reps_whose_phases_run_backwards_are_counted(monkeypatch, capsys) -> None:
    scoring = _scoring(monkeypatch)
    backwards = scoring["phases_run_backwards"]
    good = make_rep()  # 0.9 s up, 0.3 s at the top, 3 s down: its span
    assert not backwards(good, "bottom")
    # its top taken from the rep before: the way up runs backwards, the span is not filled
    bad = replace(good, t_top=good.t_start - 2.0, concentric_s=-2.0, top_pause_s=3.2)
    assert backwards(bad, "bottom")
    # from the top the phases inside are eccentric, bottom pause, concentric
    top = replace(good, eccentric_s=0.9, bottom_pause_s=0.3, concentric_s=3.0, top_pause_s=1.0)
    assert not backwards(top, "top")
    assert backwards(replace(top, top_pause_s=-0.1), "top")
    board = scoring["Scoreboard"]()
    board.add([], [], [good, bad], [], 50.0, start="bottom")
    assert board.backwards == 1
