"""Tempo notation and tempo score: known answers, worked out by hand from docs/prescriptions.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tempo.prescription import (
    MAX_PHASE_S,
    PHASES,
    TIMING_TOLERANCE_S,
    RepPhases,
    TempoError,
    TempoPrescription,
    parse_tempo,
    pauses_cut_short,
    phase_score,
    rep_phases,
    tempo_score,
)
from tests import factories

# ---- notation ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-1-X-0", TempoPrescription(3.0, 1.0, None, 0.0)),
        ("3-1-1-0", TempoPrescription(3.0, 1.0, 1.0, 0.0)),
        ("x-0-x-0", TempoPrescription(None, 0.0, None, 0.0)),
        ("2.5-0.5-1-0", TempoPrescription(2.5, 0.5, 1.0, 0.0)),
        ("  4 - 2 - X - 1 ", TempoPrescription(4.0, 2.0, None, 1.0)),
        ("31X0", TempoPrescription(3.0, 1.0, None, 0.0)),
        ("10-0-10-0", TempoPrescription(10.0, 0.0, 10.0, 0.0)),
        ("30-0-1-30", TempoPrescription(30.0, 0.0, 1.0, 30.0)),
    ],
)
def test_valid_tempos(text, expected):
    assert parse_tempo(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("3-1-x-0", "3-1-X-0"), ("31X0", "3-1-X-0"), ("2.5-0.5-1.0-0", "2.5-0.5-1-0")],
)
def test_canonical_text(text, canonical):
    prescription = parse_tempo(text)
    assert prescription.text == canonical
    assert str(prescription) == canonical
    assert parse_tempo(canonical) == prescription


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "tempo '': empty; write E-B-C-T in seconds, e.g. 3-1-X-0"),
        ("   ", "tempo '   ': empty; write E-B-C-T in seconds, e.g. 3-1-X-0"),
        (
            "3-1-1",
            "tempo '3-1-1': 3 part(s), expected 4 "
            "(eccentric-bottom pause-concentric-top pause, e.g. 3-1-X-0)",
        ),
        (
            "3-1-1-0-0",
            "tempo '3-1-1-0-0': 5 part(s), expected 4 "
            "(eccentric-bottom pause-concentric-top pause, e.g. 3-1-X-0)",
        ),
        (
            "310",
            "tempo '310': 1 part(s), expected 4 "
            "(eccentric-bottom pause-concentric-top pause, e.g. 3-1-X-0)",
        ),
        ("3-a-1-0", "tempo '3-a-1-0': bottom pause 'a' is not a number of seconds or X"),
        ("3-1-1-0s", "tempo '3-1-1-0s': top pause '0s' is not a number of seconds or X"),
        ("3,5-1-1-0", "tempo '3,5-1-1-0': eccentric '3,5' is not a number of seconds or X"),
        ("3--1-0", "tempo '3--1-0': bottom pause is empty"),
        ("2.25-0-1-0", "tempo '2.25-0-1-0': eccentric '2.25' has more than one decimal"),
        (
            "3-X-1-0",
            "tempo '3-X-1-0': bottom pause cannot be X "
            "(X means as fast as possible; write 0 for no pause)",
        ),
        (
            "3-0-1-x",
            "tempo '3-0-1-x': top pause cannot be X "
            "(X means as fast as possible; write 0 for no pause)",
        ),
        ("40-0-1-0", "tempo '40-0-1-0': eccentric 40 s is over the 30 s maximum"),
        (
            "3-0-0-0",
            "tempo '3-0-0-0': concentric cannot take 0 s (write X for as fast as possible)",
        ),
        ("3-1-X-0\n", None),  # a trailing newline (a shell's echo) is whitespace: valid
    ],
)
def test_invalid_tempos_give_one_exact_line(text, message):
    if message is None:
        assert parse_tempo(text).text == "3-1-X-0"
        return
    with pytest.raises(TempoError) as info:
        parse_tempo(text)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [3, 3.0, None, ["3", "1", "X", "0"]])
def test_a_tempo_must_be_a_string(value):
    with pytest.raises(TempoError, match=r"^tempo must be a string like 3-1-X-0, not "):
        parse_tempo(value)


def test_max_phase_is_allowed_and_one_tenth_more_is_not():
    assert parse_tempo(f"{MAX_PHASE_S:g}-0-1-0").eccentric_s == MAX_PHASE_S
    with pytest.raises(TempoError, match="over the 30 s maximum"):
        parse_tempo("30.1-0-1-0")


# ---- score ----


def test_phase_score_known_values():
    assert phase_score(3.0, 3.0) == 100.0
    assert phase_score(3.0 + TIMING_TOLERANCE_S, 3.0) == 100.0
    assert phase_score(2.0, 3.0) == pytest.approx(100 * (1 - 0.5 / 3))  # 1 s early
    assert phase_score(1.0, 3.0) == pytest.approx(50.0)  # 2 s early: 1.5 s over tolerance
    assert phase_score(6.5, 3.0) == 0.0  # 3 s beyond tolerance: a whole span off
    assert phase_score(0.3, 0.0) == 100.0  # a turnaround measures ~0.3 s: no pause kept
    assert phase_score(1.0, 0.0) == pytest.approx(50.0)  # span is 1 s for a 0 s target
    assert phase_score(0.0, 1.0) == pytest.approx(50.0)


def test_perfect_rep_scores_100_with_zero_deviations():
    result = tempo_score(RepPhases(3.0, 1.0, 0.8, 0.3), parse_tempo("3-1-X-0"))
    assert result.score == 100
    assert result.deviations_s == {
        "eccentric": 0.0,
        "bottom_pause": 0.0,
        "concentric": None,  # X: as fast as possible has no duration to miss
        "top_pause": 0.3,
    }


def test_worked_example_from_the_docs():
    # 3-1-X-0, measured eccentric 1.6 s, bottom pause 0.2 s, concentric 0.9 s, top 0.1 s.
    # eccentric: |−1.4| − 0.5 = 0.9 over, span 3 → 70; bottom: 0.3 over, span 1 → 70;
    # top: within tolerance → 100. Weighted by span 3, 1, 1: (210 + 70 + 100) / 5 = 76.
    result = tempo_score(RepPhases(1.6, 0.2, 0.9, 0.1), parse_tempo("3-1-X-0"))
    assert result.score == 76
    assert result.deviations_s == {
        "eccentric": -1.4,
        "bottom_pause": -0.8,
        "concentric": None,
        "top_pause": 0.1,
    }


def test_too_slow_costs_like_too_fast():
    prescription = parse_tempo("3-0-1-0")
    fast = tempo_score(RepPhases(1.5, 0.3, 1.0, 0.3), prescription)
    slow = tempo_score(RepPhases(4.5, 0.3, 1.0, 0.3), prescription)
    assert fast.score == slow.score
    assert fast.deviations_s["eccentric"] == -1.5
    assert slow.deviations_s["eccentric"] == 1.5


def test_a_wildly_wrong_rep_scores_0_not_below():
    result = tempo_score(RepPhases(20.0, 10.0, 15.0, 9.0), parse_tempo("2-0-1-0"))
    assert result.score == 0


def test_unobserved_phases_and_x_are_left_out():
    prescription = parse_tempo("3-2-X-0")
    result = tempo_score(RepPhases(3.0, None, 0.7, 0.2), prescription)
    assert result.score == 100
    assert result.deviations_s["bottom_pause"] is None
    nothing = tempo_score(RepPhases(None, None, 0.7, None), prescription)
    assert nothing.score is None
    assert set(nothing.deviations_s.values()) == {None}


def test_deviation_rounding_is_to_milliseconds():
    result = tempo_score(RepPhases(3.12345, 1.0, 1.0, 0.0), parse_tempo("3-1-1-0"))
    assert result.deviations_s["eccentric"] == 0.123


def test_non_finite_measurement_is_not_scored():
    result = tempo_score(RepPhases(float("nan"), 1.0, 1.0, 0.0), parse_tempo("3-1-1-0"))
    assert result.deviations_s["eccentric"] is None
    assert result.score == 100


# ---- engine reps ----


def test_first_rep_of_a_set_has_no_start_side_pause():
    rep = factories.make_rep(1, 1, eccentric_s=3.0)
    bottom = rep_phases(rep, "bottom")
    assert bottom == RepPhases(3.0, None, rep.concentric_s, rep.top_pause_s)
    top = rep_phases(rep, "top")
    assert top == RepPhases(3.0, rep.bottom_pause_s, rep.concentric_s, None)


def test_later_reps_keep_every_phase_in_written_order():
    rep = factories.make_rep(1, 2, eccentric_s=2.5)
    phases = rep_phases(rep, "bottom")
    assert phases == RepPhases(2.5, rep.bottom_pause_s, rep.concentric_s, rep.top_pause_s)
    assert rep_phases(rep, "top") == phases  # eccentric first whichever side the sled parks


# ---- the pause cue ----


def test_pause_cut_short():
    prescription = parse_tempo("3-2-X-1")
    assert pauses_cut_short(RepPhases(3.0, 2.0, 1.0, 1.0), prescription) == ()
    assert pauses_cut_short(RepPhases(3.0, 1.6, 1.0, 0.6), prescription) == ()  # within 0.5 s
    assert pauses_cut_short(RepPhases(3.0, 1.4, 1.0, 1.0), prescription) == ("bottom_pause",)
    assert pauses_cut_short(RepPhases(3.0, 0.3, 1.0, 0.2), prescription) == (
        "bottom_pause",
        "top_pause",
    )
    assert pauses_cut_short(RepPhases(3.0, None, 1.0, 0.2), prescription) == ("top_pause",)


def test_no_pause_prescribed_is_never_cut_short():
    assert pauses_cut_short(RepPhases(3.0, 0.0, 1.0, 0.0), parse_tempo("3-0-X-0")) == ()


# ---- the docs ----


def _doc() -> str:
    return (Path(__file__).resolve().parents[2] / "docs" / "prescriptions.md").read_text("utf-8")


def test_documented_tempo_errors_are_the_real_ones():
    section = _doc().split("## Tempo notation", 1)[1].split("## Tempo score", 1)[0]
    block = re.search(r"```text\n(.*?)\n```", section, re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    assert len(lines) == 5
    for line in lines:
        text = re.match(r"tempo '([^']*)'", line)
        assert text is not None, line
        with pytest.raises(TempoError) as info:
            parse_tempo(text.group(1))
        assert str(info.value) == line


def test_documented_worked_example_is_the_real_score():
    assert "`tempo_score = (3 × 70 + 1 × 70 + 1 × 100) / 5 = 76`" in _doc()
    result = tempo_score(RepPhases(1.6, 0.2, 0.9, 0.1), parse_tempo("3-1-X-0"))
    assert result.score == 76


# ---- properties ----

PROPS = settings(max_examples=200, deadline=None, derandomize=True)
tenths = st.integers(min_value=0, max_value=300).map(lambda n: n / 10)
moving = st.one_of(st.none(), tenths.filter(lambda v: v > 0))
prescriptions = st.builds(TempoPrescription, moving, tenths, moving, tenths)
measured = st.one_of(st.none(), st.floats(min_value=0, max_value=60, allow_nan=False))


@PROPS
@given(prescriptions)
def test_canonical_text_parses_back_to_the_same_prescription(prescription):
    assert parse_tempo(prescription.text) == prescription


@PROPS
@given(st.text(max_size=20))
def test_any_text_parses_or_gives_one_line(text):
    try:
        parse_tempo(text)
    except TempoError as exc:
        assert "\n" not in str(exc)


@PROPS
@given(st.builds(RepPhases, measured, measured, measured, measured), prescriptions)
def test_score_is_within_0_100_and_deviations_match(phases, prescription):
    score, deviations = tempo_score(phases, prescription)
    assert score is None or 0 <= score <= 100
    for phase, actual in zip(deviations, phases, strict=True):
        target = prescription.target_s(phase)
        if target is None or actual is None:
            assert deviations[phase] is None
        else:
            assert deviations[phase] == pytest.approx(actual - target, abs=5e-4)


@PROPS
@given(prescriptions)
def test_doing_exactly_the_prescription_scores_100(prescription):
    targets = [prescription.target_s(p) for p in PHASES]
    phases = RepPhases(*(0.7 if t is None else t for t in targets))  # X: any duration
    assert tempo_score(phases, prescription).score == 100
