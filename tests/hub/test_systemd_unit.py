"""systemd/repsled-hub.service: the settings the hub relies on (systemd's own checks on it run
beside the station's, in tests/deploy/test_systemd_unit.py)."""

from __future__ import annotations

from tests.deploy.test_systemd_unit import HUB_EXEC_START, REPO
from tests.deploy.test_systemd_unit import settings as unit_settings

UNIT = REPO / "systemd" / "repsled-hub.service"


def settings() -> list[tuple[str, str]]:
    return unit_settings(UNIT)


def test_settings_the_hub_relies_on():
    s = settings()
    keys = dict(s)
    assert f"ExecStart={keys['ExecStart']}" == HUB_EXEC_START
    assert keys["Restart"] == "on-failure"
    # default_db_url() puts the SQLite history in $STATE_DIRECTORY.
    assert keys["StateDirectory"] == keys["User"] == "repsled-hub"
    assert keys["ProtectSystem"] == "strict" and keys["PrivateDevices"] == "yes"
    assert keys["CapabilityBoundingSet"] == "" and keys["AmbientCapabilities"] == ""
    assert keys["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"
