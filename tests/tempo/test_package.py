"""The `tempo` package's names load on first use and are the objects of their home modules."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import tempo

ROOT = Path(__file__).resolve().parents[2]


def test_every_exported_name_resolves_to_its_home_module() -> None:
    assert sorted(tempo.__all__) == sorted(tempo._HOME)
    for name, home in tempo._HOME.items():
        assert getattr(tempo, name) is getattr(importlib.import_module(home), name)
    assert set(tempo.__all__) <= set(dir(tempo))


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Engine'"):
        _ = tempo.Engine  # type: ignore[attr-defined]


def test_settings_alone_do_not_load_the_engine() -> None:
    """The config validates `[engine]` settings before the chip starts: no engine yet."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, tempo.settings; print('tempo.engine' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "False"
