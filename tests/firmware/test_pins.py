"""The pin factory from GPIOZERO_PIN_FACTORY, found without gpiozero's entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware.station.pins import GPIOZERO_FACTORIES

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from firmware.lazy import defer_unused_by_run
defer_unused_by_run()
from gpiozero import Device
from firmware.station.pins import choose_pin_factory
choose_pin_factory()
real = type(sys.modules["importlib.metadata"]).__name__ != "_Deferred"
print(type(Device.pin_factory).__name__, real)
"""


def chosen(name: str | None) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GPIOZERO_PIN_FACTORY", None)
    if name is not None:
        env["GPIOZERO_PIN_FACTORY"] = name
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize("name", ["mock", "MOCK"])
def test_gpiozero_own_factory_is_chosen_without_importlib_metadata(name: str) -> None:
    assert chosen(name) == "MockFactory False"


@pytest.mark.parametrize("name", [None, "somebody_elses_factory"])
def test_other_choices_are_left_to_gpiozero(name: str | None) -> None:
    """Unset: gpiozero's own order of preference; a third party's: its entry points."""
    assert chosen(name) == "NoneType False"


def test_the_table_matches_gpiozero_entry_points() -> None:
    from importlib.metadata import entry_points

    group = entry_points(group="gpiozero_pin_factories")
    assert {ep.name: ep.value for ep in group} == GPIOZERO_FACTORIES


def test_a_factory_that_fails_to_load_is_left_to_gpiozero(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpiozero then tries it itself and says why it cannot (the buzzer's one-line error)."""
    from gpiozero import Device

    from firmware.station import pins

    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "lgpio")
    monkeypatch.setitem(pins.GPIOZERO_FACTORIES, "lgpio", "no_such_gpio_library:Factory")
    monkeypatch.setattr(Device, "pin_factory", None)
    pins.choose_pin_factory()
    assert Device.pin_factory is None
