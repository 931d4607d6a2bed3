"""Load-velocity profile and e1RM on constructed data with answers worked out by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.vbt.profile import (
    DEFAULT_MVT_M_S,
    LoadVelocityProfile,
    NotEnoughData,
    ProfilePoint,
    best_per_load,
    e1rm_trend,
    fit_profile,
    round_to_step,
    velocity_zone,
)


def test_exact_line_gives_its_own_slope_intercept_and_e1rm():
    # v = 1.2 - 0.005 × load: e1RM at 0.21 m/s is (1.2 - 0.21) / 0.005 = 198 kg.
    sets = [(60.0, 0.9), (100.0, 0.7), (140.0, 0.5)]
    result = fit_profile(sets)
    assert isinstance(result, LoadVelocityProfile)
    assert result.slope_m_s_per_kg == pytest.approx(-0.005)
    assert result.intercept_m_s == pytest.approx(1.2)
    assert result.r_squared == pytest.approx(1.0)
    assert result.mvt_m_s == DEFAULT_MVT_M_S == 0.21
    assert result.e1rm_kg == pytest.approx(198.0)
    assert result.velocity_at(198.0) == pytest.approx(0.21)
    assert result.load_at(0.7) == pytest.approx(100.0)


def test_scattered_points_known_r_squared():
    # x 100, 120, 140; y 0.80, 0.62, 0.50. Means 120 and 0.64; Sxy = -6.0, Sxx = 800:
    # slope -0.0075, intercept 1.54; residuals 0.01, -0.02, 0.01: SSres 0.0006, SStot 0.0456.
    result = fit_profile([(100, 0.80), (120, 0.62), (140, 0.50)])
    assert isinstance(result, LoadVelocityProfile)
    assert result.slope_m_s_per_kg == pytest.approx(-0.0075)
    assert result.intercept_m_s == pytest.approx(1.54)
    assert result.r_squared == pytest.approx(1 - 0.0006 / 0.0456)
    assert result.e1rm_kg == pytest.approx((1.54 - 0.21) / 0.0075)  # 177.3 kg


def test_mvt_is_a_parameter():
    result = fit_profile([(60.0, 0.9), (100.0, 0.7), (140.0, 0.5)], mvt_m_s=0.3)
    assert isinstance(result, LoadVelocityProfile)
    assert result.e1rm_kg == pytest.approx(180.0)


@pytest.mark.parametrize("mvt", [0.0, -0.2, math.nan])
def test_absurd_mvt_is_a_programming_error(mvt):
    with pytest.raises(ValueError, match="mvt_m_s must be a positive number"):
        fit_profile([(60.0, 0.9)], mvt_m_s=mvt)


def test_each_load_keeps_its_fastest_set():
    sets = [(100.0, 0.66), (100.0, 0.70), (100.0, 0.61), (60.0, 0.9), (140.0, 0.5)]
    assert best_per_load(sets) == (
        ProfilePoint(60.0, 0.9, 1),
        ProfilePoint(100.0, 0.70, 3),
        ProfilePoint(140.0, 0.5, 1),
    )
    result = fit_profile(sets)
    assert isinstance(result, LoadVelocityProfile)
    assert result.r_squared == pytest.approx(1.0)  # the slow sets at 100 kg do not count


def test_sets_without_load_or_velocity_are_left_out():
    sets = [
        (None, 0.8),
        (100.0, None),
        (100.0, 0.0),
        (-5.0, 0.9),
        (80.0, math.inf),
        (80.0, math.nan),
        (math.nan, 0.5),
        (1e308, 0.1),  # an absurd load (the next-set message refuses over 1500 kg)
        (90.0, 50.0),  # an absurd velocity: a measurement fault
        (60.0, 0.9),
    ]
    assert best_per_load(sets) == (ProfilePoint(60.0, 0.9, 1),)


def test_two_loads_are_not_enough_however_many_sets():
    sets = [(100.0, 0.7)] * 5 + [(140.0, 0.5)] * 5
    result = fit_profile(sets)
    assert isinstance(result, NotEnoughData)
    assert result.reason == (
        "2 distinct load(s); a profile needs sets at 3 or more different loads"
    )
    assert [p.load_kg for p in result.points] == [100.0, 140.0]


def test_no_sets_at_all():
    result = fit_profile([])
    assert isinstance(result, NotEnoughData)
    assert result.reason.startswith("0 distinct load(s)")


def test_a_line_that_does_not_slope_down_gives_no_e1rm():
    rising = fit_profile([(60.0, 0.5), (100.0, 0.6), (140.0, 0.7)])
    assert isinstance(rising, NotEnoughData)
    assert rising.reason == (
        "velocity does not fall as load rises (slope +0.250 m/s per 100 kg): "
        "the sets were not all-out, or the loads are mislabelled"
    )
    flat = fit_profile([(60.0, 0.5), (100.0, 0.5), (140.0, 0.5)])
    assert isinstance(flat, NotEnoughData)
    assert "slope +0.000 m/s per 100 kg" in flat.reason


def test_a_line_under_the_threshold_everywhere_gives_no_e1rm():
    result = fit_profile([(60.0, 0.15), (100.0, 0.12), (140.0, 0.09)])  # 0.195 at no load
    assert isinstance(result, NotEnoughData)
    assert result.reason == "the line is already under the 0.21 m/s threshold at no load"


def test_to_dict_is_json_ready():
    result = fit_profile([(60.0, 0.9), (100.0, 0.7), (140.0, 0.5)])
    assert result.to_dict() == {
        "status": "ok",
        "points": [
            {"load_kg": 60.0, "velocity_m_s": 0.9, "sets": 1},
            {"load_kg": 100.0, "velocity_m_s": 0.7, "sets": 1},
            {"load_kg": 140.0, "velocity_m_s": 0.5, "sets": 1},
        ],
        "slope_m_s_per_kg": -0.005,
        "intercept_m_s": 1.2,
        "r_squared": 1.0,
        "mvt_m_s": 0.21,
        "e1rm_kg": 198.0,
    }
    none = fit_profile([(60.0, 0.9)])
    assert none.to_dict() == {
        "status": "not_enough_data",
        "reason": "1 distinct load(s); a profile needs sets at 3 or more different loads",
        "points": [{"load_kg": 60.0, "velocity_m_s": 0.9, "sets": 1}],
    }


def test_describe_in_one_line():
    exact = fit_profile([(60.0, 0.9), (100.0, 0.7), (140.0, 0.5)])
    assert exact.describe() == (
        "3 loads (60-140 kg): 1.200 m/s at no load, -0.500 m/s per 100 kg, R² 1.000, "
        "e1RM 198.0 kg at 0.21 m/s"
    )
    assert fit_profile([]).describe() == (
        "not enough data: 0 distinct load(s); a profile needs sets at 3 or more different loads"
    )


DAY_S = 86400.0


def test_e1rm_trend_over_a_sliding_window():
    # Weeks 0-2 on the line 1.2 - 0.005 × load (e1RM 198 kg), weeks 8-10 a stronger lifter on
    # 1.3 - 0.005 × load (e1RM 218 kg). A 6-week window at day 80 no longer sees the old sets.
    old = [(d * DAY_S, load, 1.2 - 0.005 * load) for d, load in [(0, 60), (7, 100), (14, 140)]]
    new = [(d * DAY_S, load, 1.3 - 0.005 * load) for d, load in [(56, 60), (63, 100), (70, 140)]]
    trend = e1rm_trend(old + new, [7 * DAY_S, 14 * DAY_S, 70 * DAY_S, 80 * DAY_S])
    assert [t for t, _ in trend] == [7 * DAY_S, 14 * DAY_S, 70 * DAY_S, 80 * DAY_S]
    first, second, mixed, recent = (r for _, r in trend)
    assert isinstance(first, NotEnoughData)  # two loads by day 7
    assert isinstance(second, LoadVelocityProfile)
    assert second.e1rm_kg == pytest.approx(198.0)
    assert isinstance(mixed, LoadVelocityProfile)  # day 70: days 28-70, only the new sets
    assert mixed.e1rm_kg == pytest.approx(218.0)
    assert isinstance(recent, LoadVelocityProfile)
    assert recent.e1rm_kg == pytest.approx(218.0)


def test_e1rm_trend_window_includes_its_end_and_excludes_its_start():
    sets = [(0.0, 60.0, 0.9), (DAY_S, 100.0, 0.7), (2 * DAY_S, 140.0, 0.5)]
    ((_, exactly),) = e1rm_trend(sets, [2 * DAY_S], window_days=2.0)
    assert isinstance(exactly, NotEnoughData)  # the set at day 0 is on the open edge
    ((_, wider),) = e1rm_trend(sets, [2 * DAY_S], window_days=2.5)
    assert isinstance(wider, LoadVelocityProfile)


# ---- velocity zones ----

PROFILE = fit_profile([(60.0, 0.9), (100.0, 0.7), (140.0, 0.5)])  # v = 1.2 - 0.005 × load


def test_zone_verdicts_around_the_target():
    assert velocity_zone(0.80, 0.70).verdict == "too_light"  # faster than wanted
    assert velocity_zone(0.60, 0.70).verdict == "too_heavy"
    assert velocity_zone(0.74, 0.70).verdict == "on_target"
    assert velocity_zone(0.66, 0.70).verdict == "on_target"
    assert velocity_zone(0.80, 0.70).suggested_load_kg is None  # no profile, no suggestion


def test_suggested_load_follows_todays_first_rep():
    assert isinstance(PROFILE, LoadVelocityProfile)
    # At 100 kg the profile expects 0.70 m/s; today's first rep did 0.80 (a good day).
    # Today's line is 0.10 m/s higher: 0.70 m/s is reached at 100 + 0.10 / 0.005 = 120 kg.
    advice = velocity_zone(0.80, 0.70, profile=PROFILE, load_kg=100.0)
    assert advice.verdict == "too_light"
    assert advice.suggested_load_kg == 120.0
    # A bad day: 0.62 at 100 kg, target 0.70: 100 - 0.08 / 0.005 = 84 kg, loadable as 85.
    assert velocity_zone(0.62, 0.70, profile=PROFILE, load_kg=100.0).suggested_load_kg == 85.0


def test_suggested_load_from_the_profile_alone():
    assert isinstance(PROFILE, LoadVelocityProfile)
    advice = velocity_zone(0.62, 0.5, profile=PROFILE)
    assert advice.verdict == "too_light"
    assert advice.suggested_load_kg == 140.0
    assert velocity_zone(0.62, 1.5, profile=PROFILE).suggested_load_kg is None  # below 0 kg


def test_round_to_step():
    assert round_to_step(121.2) == 120.0
    assert round_to_step(121.3) == 122.5
    assert round_to_step(84.0) == 85.0


# ---- properties ----

PROPS = settings(max_examples=200, deadline=None, derandomize=True)


@PROPS
@given(
    st.floats(min_value=0.5, max_value=2.0),  # intercept, m/s
    st.floats(min_value=0.001, max_value=0.02),  # velocity lost per kg
    st.lists(st.integers(min_value=8, max_value=120), min_size=3, max_size=8, unique=True),
)
def test_points_on_a_falling_line_give_that_line_back(intercept, loss_per_kg, steps):
    loads = [2.5 * s for s in steps]  # loadable loads, 20 to 300 kg
    sets = [(load, intercept - loss_per_kg * load) for load in loads]
    if min(v for _, v in sets) <= 0:
        return  # a line that stops before the heaviest load is not a lifter's
    result = fit_profile(sets)
    assert isinstance(result, LoadVelocityProfile)
    assert result.slope_m_s_per_kg == pytest.approx(-loss_per_kg, rel=1e-6)
    assert result.intercept_m_s == pytest.approx(intercept, rel=1e-6)
    assert result.r_squared == pytest.approx(1.0, abs=1e-9)
    assert result.e1rm_kg == pytest.approx((intercept - DEFAULT_MVT_M_S) / loss_per_kg, rel=1e-6)


@PROPS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(allow_nan=True)),
            st.one_of(st.none(), st.floats(allow_nan=True)),
        ),
        max_size=12,
    )
)
def test_any_input_gives_a_profile_or_a_reason(sets):
    result = fit_profile(sets)
    if isinstance(result, LoadVelocityProfile):
        assert result.slope_m_s_per_kg < 0
        assert result.e1rm_kg > 0
        assert len(result.points) >= 3
    else:
        assert result.reason
        assert "\n" not in result.reason
