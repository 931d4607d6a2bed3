"""The repsled application: config, sampling loop, cues, MQTT, dashboard, CLI."""

__version__ = "0.1.0"
