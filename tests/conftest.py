"""Suite-wide settings: property tests are deterministic and never fail on a slow machine."""

from __future__ import annotations

from hypothesis import settings

# derandomize: the same examples on every run (tests are deterministic, CI included);
# deadline=None: a loaded CI core must not turn a slow example into a failure.
settings.register_profile("repsled", derandomize=True, deadline=None)
settings.load_profile("repsled")
