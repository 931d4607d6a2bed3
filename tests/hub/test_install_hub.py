"""deploy/install.sh --hub in --root mode: the hub's unit and config, idempotent, removable."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from firmware.config import load

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "install.sh"
UNIT = "etc/systemd/system/repsled-hub.service"
CONFIG = "etc/repsled-hub/hub.toml"


def install(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(root), "--no-venv", "--hub", *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_installs_the_unit_and_a_loadable_config_then_nothing_to_do(tmp_path):
    out = install(tmp_path)
    assert (tmp_path / UNIT).read_bytes() == (REPO / "systemd" / "repsled-hub.service").read_bytes()
    cfg = load(tmp_path / CONFIG)
    assert cfg.raw["hub"]["client_id"] == "repsled-hub" and cfg.raw["hub"]["db"] is None
    assert "skipped (--root): systemctl enable repsled-hub.service" in out
    assert not (tmp_path / "etc/systemd/system/repsled.service").exists()  # no station
    again = install(tmp_path)
    assert "Nothing to do: the repsled hub is already installed as asked." in again


def test_with_mosquitto_the_config_uses_the_hub_broker_user(tmp_path):
    out = install(tmp_path, "--with-mosquitto")
    assert (tmp_path / "etc/mosquitto/repsled.acl").is_file()
    hub = load(tmp_path / CONFIG).raw["hub"]
    if shutil.which("mosquitto_passwd"):
        assert hub["username"] == "hub"
        assert hub["password_file"] == "/etc/repsled-hub/mqtt-password"
        password = (tmp_path / "etc/repsled-hub/mqtt-password").read_text().strip()
        assert len(password) >= 20
        users = (tmp_path / "etc/mosquitto/repsled.passwd").read_text()
        assert {line.split(":")[0] for line in users.splitlines()} == {"hub", "dashboard"}
    else:
        assert "skipped (no mosquitto_passwd here)" in out


def test_uninstall_keeps_the_history_unless_purged(tmp_path):
    install(tmp_path)
    (tmp_path / "var/lib/repsled-hub").mkdir(parents=True)
    out = install(tmp_path, "--uninstall")
    assert not (tmp_path / UNIT).exists()
    assert (tmp_path / CONFIG).exists() and "kept /var/lib/repsled-hub" in out
    install(tmp_path, "--uninstall", "--purge")
    assert not (tmp_path / "etc/repsled-hub").exists()
    assert not (tmp_path / "var/lib/repsled-hub").exists()
