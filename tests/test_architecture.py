"""The dependency direction (firmware -> sensor, tempo) and the engine's purity, kept by a test."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = sys.stdlib_module_names


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("tempo"), ids=lambda p: p.name)
def test_tempo_is_pure_standard_library(path: Path) -> None:
    outside = {name for name in imports_of(path) if name not in STDLIB and name != "tempo"}
    assert not outside, f"{path.name} imports {outside}"
    banned = {"time", "socket", "threading", "os", "io", "logging", "random", "subprocess"}
    assert not imports_of(path) & banned, f"{path.name}: no clock, I/O or threads in the engine"


@pytest.mark.parametrize("path", modules("sensor"), ids=lambda p: p.name)
def test_sensor_never_imports_firmware_or_tempo(path: Path) -> None:
    assert not imports_of(path) & {"firmware", "tempo"}, path.name


def test_tempo_never_imports_sensor_or_firmware() -> None:
    for path in modules("tempo"):
        assert not imports_of(path) & {"sensor", "firmware"}, path.name
