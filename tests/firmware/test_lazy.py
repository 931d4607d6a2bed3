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
