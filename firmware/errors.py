"""The errors that are the user's to fix: the CLI prints them as one line, no traceback."""

from __future__ import annotations

from firmware.config import ConfigError
from firmware.publishing.outbox import OutboxError
from sensor.source import SensorError
from sensor.trace import TraceError
from tempo.settings import SettingsError

USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    OutboxError,
    SensorError,
    TraceError,
    SettingsError,
)
