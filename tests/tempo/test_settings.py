"""EngineSettings refuses numbers no sled has, with one line naming the config key."""

from __future__ import annotations

import pytest

from tempo import EngineSettings, SettingsError


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("bottom_mm", "sled.bottom_mm"),
        ("lockout_mm", "sled.lockout_mm"),
        ("target_eccentric_s", "tempo.target_eccentric_s"),
        ("fast_margin_s", "tempo.fast_margin_s"),
        ("partial_below", "lockout.partial_below"),
        ("locked_above", "lockout.locked_above"),
        ("rest_s", "sets.rest_s"),
    ],
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e300, 10**400])
def test_non_finite_and_huge_numbers_are_refused(field, key, value):
    with pytest.raises(SettingsError) as info:
        EngineSettings(**{field: value})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert "\n" not in str(info.value)


def test_a_boolean_is_not_a_number():
    with pytest.raises(SettingsError, match=r"^sets\.rest_s: must be a number"):
        EngineSettings(rest_s=True)


def test_plausible_settings_pass():
    assert EngineSettings(bottom_mm=150, lockout_mm=520, rest_s=30).rom_mm == 370
