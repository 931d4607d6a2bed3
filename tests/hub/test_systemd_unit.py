"""systemd/repsled-hub.service: systemd's own checks, and the settings the hub relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "repsled-hub.service"
EXEC_START = "ExecStart=/opt/repsled/venv/bin/repsled hub --config /etc/repsled-hub/hub.toml"
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
    """verify checks ExecStart's binary exists: the copy points it to a stand-in."""
    tool = analyze()
    stand_in = tmp_path / "repsled"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(EXEC_START) == 1
    copy = tmp_path / "repsled-hub.service"
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
    match = re.search(r"Overall exposure level for repsled-hub\.service: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    with capsys.disabled():
        print(f"\nsystemd-analyze security: repsled-hub.service exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, proc.stdout


def test_settings_the_hub_relies_on():
    s = settings()
    keys = dict(s)
    assert f"ExecStart={keys['ExecStart']}" == EXEC_START
    assert keys["Restart"] == "on-failure"
    # default_db_url() puts the SQLite history in $STATE_DIRECTORY.
    assert keys["StateDirectory"] == keys["User"] == "repsled-hub"
    assert keys["ProtectSystem"] == "strict" and keys["PrivateDevices"] == "yes"
    assert keys["CapabilityBoundingSet"] == "" and keys["AmbientCapabilities"] == ""
    assert keys["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"
