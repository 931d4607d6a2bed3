"""The errors that are the user's to fix: the CLI prints them as one line, no traceback.

Named, not imported: importing them all would load what every command needs (sqlite3 for the
outbox, tomllib for the config) into every command, `repsled --help` included. An error class
whose module was never imported cannot have been raised, so the check looks only at modules
already loaded.
"""

from __future__ import annotations

import sys

USER_ERROR_CLASSES: tuple[tuple[str, str], ...] = (
    ("firmware.config", "ConfigError"),
    ("firmware.publishing.outbox", "OutboxError"),
    ("sensor.source", "SensorError"),
    ("sensor.trace", "TraceError"),
    ("tempo.settings", "SettingsError"),
)


def user_error_types() -> tuple[type[BaseException], ...]:
    """The user-error classes among the modules imported so far."""
    found = []
    for module_name, class_name in USER_ERROR_CLASSES:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def is_user_error(exc: BaseException) -> bool:
    """True for an error the user fixes (config, trace, sensor, outbox): one line, exit 2."""
    return isinstance(exc, user_error_types())


def __getattr__(name: str) -> object:
    """`USER_ERRORS`, the tuple of all the classes, imported on demand (it loads them all)."""
    if name == "USER_ERRORS":
        import importlib  # noqa: PLC0415

        return tuple(
            getattr(importlib.import_module(module), cls) for module, cls in USER_ERROR_CLASSES
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
