"""Test package: lets shared helpers be imported as `tests.mosquitto`."""
