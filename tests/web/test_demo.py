"""`repsled demo` end to end: the README's main command, watched in a real browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.web.helpers import artifact, panel

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def test_demo_serves_a_dashboard_where_reps_count_up(page: Any) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "firmware.cli", "demo", "--port", "0", "--speed", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:  # the URL is printed on a line of its own
            if line.startswith("http://127.0.0.1:"):
                url = line.strip()
                break
        assert url, "demo printed no dashboard URL"
        page.goto(url)
        first = panel(page, "press-1")
        expect(first.locator('[data-testid="status"]')).to_have_text("online", timeout=20_000)
        expect(page.locator('[data-station="press-2"]')).to_be_visible()
        rep_count = first.locator('[data-testid="rep-count"]')
        expect(rep_count).to_have_text("1", timeout=30_000)
        expect(rep_count).to_have_text("2", timeout=30_000)
        page.screenshot(path=str(artifact("demo.png")))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
