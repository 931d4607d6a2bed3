"""The station's state directory: outbox, next set, all-time counters.

Its own module so that a station without MQTT finds it without loading sqlite3.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from firmware.config import ConfigError

APP_NAME = "repsled"

__all__ = ["APP_NAME", "state_dir", "state_dir_path"]


def state_dir_path(
    config_value: str | None, env: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """Where the station keeps its state, and what said so; nothing is created."""
    environ = os.environ if env is None else env
    if config_value:
        path, source = Path(config_value).expanduser(), "[storage] state_dir"
    elif environ.get("STATE_DIRECTORY"):
        # systemd joins several StateDirectory= entries with colons; ours is the first.
        path, source = Path(environ["STATE_DIRECTORY"].split(":")[0]), "$STATE_DIRECTORY"
    else:
        xdg = environ.get("XDG_STATE_HOME")
        base = Path(xdg) if xdg else Path(environ.get("HOME") or Path.home()) / ".local" / "state"
        path, source = base / APP_NAME, "XDG state directory"
    return path, source


def state_dir(config_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    """The state directory, created: `[storage] state_dir`, else systemd's, else XDG's."""
    path, source = state_dir_path(config_value, env)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot create {path}: {exc.strerror or exc}") from None
    return path
