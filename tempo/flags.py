"""Flags a rep can carry (docs/engine.md explains each): plain strings, in payloads too.

Apart from the event classes so that code that only names a flag (the payloads, the config)
does not load them: the device's start-up reaches its first reading sooner.
"""

FAST_ECCENTRIC = "fast_eccentric"
BOUNCE = "bounce"
LOCKED_KNEES = "locked_knees"
PARTIAL = "partial"
TIMES_UNKNOWN = "times_unknown"  # a sensor fault during the rep: its phase times are unknown
