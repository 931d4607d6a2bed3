"""Plausible limits of a next set, shared by the config schema, next-set messages, Home
Assistant's controls and the velocity profile.

A module of its own so that the config, on the device's start-up path before the sensor is
started, need not load the next-set module (and json, the tempo parser) to know them.
"""

MAX_ATHLETE_CHARS = 40
# The load on the sled, plates plus the sled itself. Over this it is a typo (an extra zero),
# not a load; a sled that really carries more needs this raised.
MAX_LOAD_KG = 1500.0
