"""A station never loads the hub's libraries: `repsled run`'s imports stay lean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUB_LIBRARIES = ("sqlalchemy", "alembic", "starlette", "uvicorn", "psycopg", "firmware.hub")


def test_run_command_imports_none_of_the_hub_libraries():
    code = (
        "import sys\n"
        "from firmware.cli import build_parser\n"
        "build_parser()\n"
        "import firmware.commands.run, firmware.station.station, firmware.publishing.mqtt\n"
        "import firmware.station.loop, firmware.web.server\n"
        f"print([m for m in sys.modules if m.startswith({HUB_LIBRARIES!r})])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
