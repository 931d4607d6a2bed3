"""`repsled dashboard`: serve the live web dashboard until Ctrl-C.

The page connects to the broker's WebSockets listener itself; this command only serves it.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from firmware.commands.stop_signal import stop_on_signal

DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker-ws",
        metavar="URL",
        help="broker WebSockets URL for the page, e.g. ws://gym-pi.local:9001 "
        "(default: port 9001 on the host the page was loaded from)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 opens it to the network)",
    )
    parser.add_argument("--prefix", default="repsled", help="MQTT topic prefix (default repsled)")
    parser.add_argument(
        "--broker-user",
        metavar="NAME",
        help="broker user the page logs in as (deploy/mosquitto: dashboard)",
    )
    parser.add_argument(
        "--broker-password-file",
        type=Path,
        metavar="FILE",
        help="file holding that user's password; the page receives it, so never a station's",
    )


def check_broker_url(url: str) -> str | None:
    """The problem with a --broker-ws value, or None: the browser can only use ws:// or wss://."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        return f"--broker-ws {url!r}: must start with ws:// or wss://"
    if not parts.hostname:
        return f"--broker-ws {url!r}: no host"
    try:
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return f"--broker-ws {url!r}: bad port"
    return None


def page_login(
    user: str | None,
    password_file: Path | None,
    flags: tuple[str, str] = ("--broker-user", "--broker-password-file"),
) -> tuple[str, str] | None:
    """The broker login handed to the page, or None; ValueError: one line."""
    user_flag, file_flag = flags
    if (user is None) != (password_file is None):
        raise ValueError(f"{user_flag} and {file_flag} go together")
    if user is None or password_file is None:
        return None
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ValueError(f"{file_flag} {password_file}: {reason}") from None
    if not password:
        raise ValueError(f"{file_flag} {password_file}: the file is empty")
    return user, password


def run(args: argparse.Namespace) -> int:
    from firmware.web.server import DashboardServer

    def fail(message: str) -> int:
        print(f"repsled dashboard: error: {message}", file=sys.stderr)
        return 2

    if args.broker_ws is not None and (problem := check_broker_url(args.broker_ws)):
        return fail(problem)
    if not 0 <= args.port <= 65535:
        return fail(f"--port {args.port}: must be 0..65535")
    prefix = args.prefix.strip("/")
    if not prefix or any(c in prefix for c in "+#"):
        return fail(f"--prefix {args.prefix!r}: must be a topic without wildcards")

    try:
        login = page_login(args.broker_user, args.broker_password_file)
    except ValueError as exc:
        return fail(str(exc))

    server = DashboardServer(
        args.broker_ws, prefix, host=args.bind, port=args.port, broker_login=login
    )
    try:
        server.start()
    except OSError as exc:
        return fail(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}")

    stop = threading.Event()
    # Ctrl-C and systemd's SIGTERM both just set the flag, installed before the URL is
    # printed: a signal can never land between two statements and escape as a traceback.
    with stop_on_signal(stop, "dashboard"):
        try:
            print(server.url, flush=True)
            if args.bind not in ("127.0.0.1", "localhost", "::1"):
                print(f"listening on {args.bind}:{server.port} (open to the network)", flush=True)
            stop.wait()
        finally:
            server.stop()
    return 0
