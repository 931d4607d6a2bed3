"""Defer standard-library modules that a dependency imports but this process may never use.

paho-mqtt imports `urllib.request` (with http.client, email, ssl and more) to look for a
proxy, a lookup it skips unless PySocks is installed; `ssl`, which a broker without TLS never
needs; `hashlib` (OpenSSL's libcrypto) for the WebSockets handshake only. gpiozero, through
importlib.metadata, imports archive, CSV and e-mail helpers it does not need to find its pin
factories. `repsled run` defers them all (UNUSED_BY_RUN says who imports each and what for):
about 9 MB of a Pi's memory. A deferred module is a placeholder in sys.modules:
`import` statements get it without loading anything, and the first attribute looked up on it
imports the real module, which then serves every lookup. So nothing breaks if the module is
used after all (TLS configured, an exception handler naming ssl.SSLError): it only costs its
memory then. (importlib.util.LazyLoader cannot do this on Python 3.11: the import statement
itself reads the module's __spec__ and so loads it.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()

UNUSED_BY_RUN: dict[str, str] = {
    "urllib.request": "paho: proxy lookup, skipped unless PySocks is installed",
    "ssl": "paho: TLS, unused without [mqtt] ca_file",
    "hashlib": "paho: the WebSockets handshake (OpenSSL's libcrypto, 3.5 MB)",
    "uuid": "paho: a made-up client id when given none",
    "csv": "importlib.metadata (gpiozero): RECORD files",
    "tempfile": "importlib.resources (gpiozero): resources as files",
    "bz2": "shutil: archive formats",
    "lzma": "shutil: archive formats",
    "subprocess": "gpiozero: its PingServer device",
    "ipaddress": "urllib.parse: bracketed IPv6 hosts in URLs",
    "calendar": "email (importlib.metadata): date headers",
    "inspect": "dataclasses: a signature for a class without a docstring (ast, dis, tokenize)",
}
"""Standard-library modules the station's dependencies import but `repsled run` does not use,
and who imports them for what."""

PAHO_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "ssl": ("SSLError", "SSLWantReadError", "SSLWantWriteError")
}
"""Exception classes paho tests every socket read against, TLS or not (see _Deferred)."""

GPIOZERO_FUNCTIONS: dict[str, tuple[str, ...]] = {
    # gpiozero.mixins and input_devices: averages for smoothed input devices (statistics
    # loads fractions and decimal with its C library); the button and buzzer are not smoothed
    "statistics": ("median", "mean"),
    "pprint": ("pformat",),  # gpiozero.boards: the text of one of its errors
    # gpiozero.devices: its pin factories by name; station/pins.py looks up gpiozero's own
    # (email, zipfile and importlib.resources come with it: about 1.5 MB)
    "importlib.metadata": ("entry_points",),
}
"""Functions gpiozero imports by name (`from statistics import median`) at import time but the
station never calls: a stand-in that loads the module on its first call (see _Deferred)."""


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is needed."""

    _deferred_real: types.ModuleType | None = None
    _deferred_never_raised: frozenset[str] = frozenset()
    _deferred_functions: frozenset[str] = frozenset()

    def __getattr__(self, attribute: str) -> Any:
        # Only called for what the placeholder itself lacks: everything but the module's
        # identity (__name__, __spec__, ...), which the import statement reads.
        real = self._deferred_real
        if real is None:
            if attribute in self._deferred_never_raised:
                # An exception class of a module nobody loaded cannot have been raised: an
                # `except module.Error` may test against a class of its own until it is.
                return _NeverRaised
            if attribute == "__path__":
                # `from module import name` asks whether the module is a package; a package's
                # placeholder has its __path__, so this is a plain module.
                raise AttributeError(attribute)
            if attribute in self._deferred_functions:
                # `from module import function`: a stand-in that loads it when first called.
                return _forwarder(self, attribute)
            real = _real(self)
        return getattr(real, attribute)


def _forwarder(placeholder: _Deferred, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        real = placeholder._deferred_real or _real(placeholder)
        return getattr(real, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


class _NeverRaised(Exception):
    """What a deferred module's exception classes are until the module is loaded."""


def _real(placeholder: _Deferred) -> types.ModuleType:
    name = placeholder.__name__
    with _lock:
        if sys.modules.get(name) is placeholder:
            del sys.modules[name]
        module = importlib.import_module(name)
    object.__setattr__(placeholder, "_deferred_real", module)
    return module


def defer(
    *names: str,
    exceptions: dict[str, tuple[str, ...]] | None = None,
    functions: dict[str, tuple[str, ...]] | None = None,
) -> list[str]:
    """Replace each module named by a placeholder unless it is loaded; returns those deferred.

    `exceptions` names, per module, exception classes whose lookup does not load the module
    (see _Deferred): paho tests every read against ssl.SSLWantReadError, TLS or not.
    `functions` names, per module, functions that may be imported by name without loading it:
    the module loads when one of them is first called.
    """
    deferred = []
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        placeholder = _Deferred(name)
        placeholder.__spec__ = spec
        placeholder.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            placeholder.__path__ = list(spec.submodule_search_locations)
        placeholder._deferred_never_raised = frozenset((exceptions or {}).get(name, ()))
        placeholder._deferred_functions = frozenset((functions or {}).get(name, ()))
        sys.modules[name] = placeholder
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, placeholder)
        deferred.append(name)
    return deferred


def defer_unused_by_run() -> list[str]:
    """What `repsled run` defers, before it imports paho and gpiozero."""
    return defer(
        *UNUSED_BY_RUN,
        *GPIOZERO_FUNCTIONS,
        exceptions=PAHO_EXCEPTIONS,
        functions=GPIOZERO_FUNCTIONS,
    )
