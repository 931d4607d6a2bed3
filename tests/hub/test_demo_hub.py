"""`repsled demo` runs the hub: what the stations publish fills the history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.hub.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_demo_history_fills_up() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "demo", "--port", "0", "--speed", "20"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = next((line.strip() for line in proc.stdout if line.startswith("http://")), "")
        assert url, "demo printed no URL"

        def get(path: str) -> dict:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                return json.loads(response.read())

        assert get("config.json")["hub"] is True
        wait_until(
            lambda: any(s["reps"] >= 2 for s in get("api/v1/sessions")["sessions"]),
            "the demo's reps in the history",
            timeout=60,
        )
        stations = {doc["station"] for doc in get("api/v1/live")["sessions"]}
        assert stations <= {"press-1", "press-2"} and stations
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
