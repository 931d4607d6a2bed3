"""systemd/repsled.service: systemd's own checks, and the settings the app relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "repsled.service"
EXEC_START = "ExecStart=/opt/repsled/venv/bin/repsled run --config /etc/repsled/config.toml"
MAX_EXPOSURE = 3.0


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    return tool


def settings() -> list[tuple[str, str]]:
    out = []
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


def test_verify_prints_nothing(tmp_path):
    """verify exits 0 even on unknown keys, so its output must be empty.

    It also checks that ExecStart's binary exists, which it does not on a build machine: the
    copy verified differs only in that path, which points to a stand-in executable.
    """
    tool = analyze()
    stand_in = tmp_path / "repsled"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(EXEC_START) == 1
    copy = tmp_path / "repsled.service"
    copy.write_text(text.replace("/opt/repsled/venv/bin/repsled", str(stand_in)))
    proc = subprocess.run([tool, "verify", str(copy)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


def test_security_exposure(capsys):
    tool = analyze()
    proc = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(UNIT)],
        check=False,
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for repsled\.service: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    with capsys.disabled():
        print(f"\nsystemd-analyze security: repsled.service exposure {exposure}")
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
