"""The systemd units: systemd's own checks on each, and the settings the station relies on
(the hub's are checked in tests/hub/test_systemd_unit.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "repsled.service"
EXEC_START = "ExecStart=/opt/repsled/venv/bin/repsled run --config /etc/repsled/config.toml"
HUB_EXEC_START = "ExecStart=/opt/repsled/venv/bin/repsled hub --config /etc/repsled-hub/hub.toml"
UNITS = {"repsled.service": EXEC_START, "repsled-hub.service": HUB_EXEC_START}
MAX_EXPOSURE = 3.0


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    return tool


def settings(unit: Path = UNIT) -> list[tuple[str, str]]:
    out = []
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


@pytest.mark.parametrize("name", UNITS)
def test_verify_prints_nothing(tmp_path, name):
    """verify exits 0 even on unknown keys, so its output must be empty.

    It also checks that ExecStart's binary exists, which it does not on a build machine: the
    copy verified differs only in that path, which points to a stand-in executable.
    """
    tool = analyze()
    stand_in = tmp_path / "repsled"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = (REPO / "systemd" / name).read_text(encoding="utf-8")
    assert text.count(UNITS[name]) == 1
    copy = tmp_path / name
    copy.write_text(text.replace("/opt/repsled/venv/bin/repsled", str(stand_in)))
    proc = subprocess.run([tool, "verify", str(copy)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", UNITS)
def test_security_exposure(capsys, name):
    tool = analyze()
    proc = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(REPO / "systemd" / name)],
        check=False,
        capture_output=True,
        text=True,
    )
    match = re.search(rf"Overall exposure level for {re.escape(name)}: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    with capsys.disabled():
        print(f"\nsystemd-analyze security: {name} exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, proc.stdout


def test_settings_the_app_relies_on():
    s = settings()
    keys = dict(s)
    assert keys["Type"] == "notify" and keys["NotifyAccess"] == "main"
    assert keys["WatchdogSec"] == "10s" and keys["Restart"] == "on-failure"
    assert f"ExecStart={keys['ExecStart']}" == EXEC_START
    assert ("Environment", "LG_WD=%t/repsled") in s
    assert ("Environment", "GPIOZERO_PIN_FACTORY=lgpio") in s
    assert keys["RuntimeDirectory"] == keys["StateDirectory"] == keys["User"] == "repsled"
    # The hardware must stay reachable: I2C buses and GPIO chips, nothing else.
    assert keys["DevicePolicy"] == "closed"
    assert [v for k, v in s if k == "DeviceAllow"] == ["char-i2c rw", "char-gpiochip rw"]
    assert "PrivateDevices" not in keys
    # gpiozero reads the board revision from /proc/cpuinfo or /proc/device-tree.
    assert "ProcSubset" not in keys
    assert keys["CapabilityBoundingSet"] == "" and keys["AmbientCapabilities"] == ""
