"""firmware.lazy: a deferred module loads on first use and then behaves as itself.

Each case runs in a fresh interpreter: the test process has long imported ssl and urllib.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_statements_do_not_load_and_first_use_does() -> None:
    out = run_python(
        """
        import sys
        from firmware.lazy import defer
        print(defer("urllib.request", "ssl"))
        import ssl, urllib.request
        print("_ssl" in sys.modules, "http.client" in sys.modules)
        context = ssl.create_default_context()  # TLS configured after all: it just works
        print(type(context).__name__, "_ssl" in sys.modules, sys.modules["ssl"] is not ssl)
        print(urllib.request.getproxies.__module__, "http.client" in sys.modules)
        print(ssl.PROTOCOL_TLS_CLIENT == sys.modules["ssl"].PROTOCOL_TLS_CLIENT)
        """
    )
    assert out.splitlines() == [
        "['urllib.request', 'ssl']",
        "False False",
        "SSLContext True True",
        "urllib.request True",
        "True",
    ]


def test_exception_classes_of_an_unloaded_module_match_nothing_until_it_loads() -> None:
    out = run_python(
        """
        import sys
        from firmware.lazy import defer
        defer("ssl", exceptions={"ssl": ("SSLWantReadError",)})
        import ssl
        try:
            raise BlockingIOError()
        except ssl.SSLWantReadError:
            print("wrongly caught")
        except BlockingIOError:
            print("passed through", "_ssl" in sys.modules)
        real = ssl.SSLContext  # anything else loads it; then the real class is answered
        print(ssl.SSLWantReadError is sys.modules["ssl"].SSLWantReadError)
        """
    )
    assert out.splitlines() == ["passed through False", "True"]


def test_a_module_already_loaded_is_left_alone() -> None:
    out = run_python(
        """
        import ssl
        from firmware.lazy import defer
        print(defer("ssl", "no_such_module_here"))
        """
    )
    assert out == "[]"


def test_functions_imported_by_name_load_their_module_on_first_call() -> None:
    """gpiozero does `from statistics import median` at import time and never calls it for a
    buzzer or a button: the stand-in loads statistics (and fractions, decimal) on first call."""
    out = run_python(
        """
        import sys
        from firmware.lazy import defer
        defer("statistics", functions={"statistics": ("median",)})
        from statistics import median
        print(median.__name__, "fractions" in sys.modules)
        print(median([3, 1, 2]), "fractions" in sys.modules)
        from statistics import mean  # not a stand-in: the real function, module loaded
        print(mean([1, 2]), sys.modules["statistics"].__name__)
        """
    )
    assert out.splitlines() == ["median False", "2 True", "1.5 statistics"]


def test_a_deferred_package_still_imports_its_submodules() -> None:
    out = run_python(
        """
        import sys
        from firmware.lazy import defer
        print(defer("json"))
        from json import decoder
        print(decoder.JSONDecodeError.__name__, hasattr(sys.modules["json"], "__path__"))
        """
    )
    assert out.splitlines() == ["['json']", "JSONDecodeError True"]
