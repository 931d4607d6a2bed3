"""`repsled hub`: store every rep and set from the broker, serve the live page and the history.

Options override the `[hub]` table of the config file (docs/config.md); docs/hub.md has the
rest. Runs until Ctrl-C or SIGTERM (systemd/repsled-hub.service).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from firmware.commands.stop_signal import stop_on_signal

DEFAULT_MQTT_PORT = 1883


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="config TOML ([hub] table)")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: history.sqlite3 in the state directory)",
    )
    parser.add_argument(
        "--broker", metavar="URL", help="mqtt://HOST:PORT to subscribe to (default 127.0.0.1:1883)"
    )
    parser.add_argument(
        "--broker-ws", metavar="URL", help="broker WebSockets URL for the live page"
    )
    parser.add_argument(
        "--page-user",
        metavar="NAME",
        help="broker user the live page logs in as (deploy/mosquitto: dashboard)",
    )
    parser.add_argument(
        "--page-password-file",
        type=Path,
        metavar="FILE",
        help="file holding that user's password; the page receives it, so never a station's",
    )
    parser.add_argument("--bind", metavar="ADDR", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default 8080; 0: any)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug lines")


def parse_broker(url: str) -> tuple[str, int]:
    """(host, port) of an mqtt:// URL; ValueError naming the option otherwise."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"--broker {url!r}: must start with mqtt://")
    try:
        port = parts.port or DEFAULT_MQTT_PORT
    except ValueError:
        raise ValueError(f"--broker {url!r}: bad port") from None
    if not parts.hostname:
        raise ValueError(f"--broker {url!r}: no host")
    return parts.hostname, port


def _read_password(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"[hub] password_file {path!r}: {getattr(exc, 'strerror', exc)}") from None


def options_from(args: argparse.Namespace) -> Any:
    """HubOptions from the command line over the config file; ValueError/ConfigError: one line."""
    from firmware.commands.dashboard import check_broker_url, page_login
    from firmware.config import load
    from firmware.hub.server import HubOptions
    from firmware.hub.store import default_db_url

    cfg = load(args.config)
    section = cfg.raw["hub"]

    def pick(name: str) -> Any:
        value = getattr(args, name, None)
        return section[name] if value is None else value

    host, port = parse_broker(pick("broker"))
    broker_ws = pick("broker_ws")
    if broker_ws is not None and (problem := check_broker_url(broker_ws)):
        raise ValueError(problem)
    page_file = pick("page_password_file")
    login = page_login(
        pick("page_user"),
        None if page_file is None else Path(page_file),
        ("--page-user / [hub] page_user", "--page-password-file / [hub] page_password_file"),
    )
    http_port = pick("port")
    if not 0 <= http_port <= 65535:
        raise ValueError(f"--port {http_port}: must be 0..65535")
    return HubOptions(
        db_url=pick("db") or default_db_url(),
        broker_host=host,
        broker_port=port,
        broker_ws=broker_ws,
        bind=pick("bind"),
        port=http_port,
        prefix=cfg.mqtt["topic_prefix"].strip("/"),
        client_id=section["client_id"],
        username=section["username"],
        password=_read_password(section["password_file"]),
        target_eccentric_s=cfg.engine.target_eccentric_s,
        page_login=login,
        mvt_m_s=cfg.vbt["mvt_m_s"],
    )


def run(args: argparse.Namespace) -> int:
    from firmware.commands.run import setup_logging

    def fail(message: str) -> int:
        print(f"repsled hub: error: {message}", file=sys.stderr)
        return 2

    setup_logging(args.verbose)
    try:
        from firmware.hub.server import Hub
        from firmware.hub.store import HubDatabaseError
    except ImportError as exc:
        return fail(f"{exc.name} is missing: pip install 'repsled[hub]'")
    try:
        options = options_from(args)
    except ValueError as exc:
        return fail(str(exc))

    stop = threading.Event()
    failures: list[str] = []

    def on_failure(message: str) -> None:
        failures.append(message)
        stop.set()

    with stop_on_signal(stop, "hub"):
        hub = Hub(options, on_failure=on_failure)
        try:
            try:
                hub.start()
            except HubDatabaseError as exc:
                return fail(str(exc))
            except OSError as exc:
                return fail(
                    f"cannot listen on {options.bind}:{options.port}: {exc.strerror or exc}"
                )
            print(hub.url, flush=True)
            if options.bind not in ("127.0.0.1", "localhost", "::1"):
                print(f"listening on {options.bind}:{hub.port} (open to the network)", flush=True)
            stop.wait()
            if failures:
                return fail(failures[0])  # exit 2: systemd's Restart=on-failure starts it again
        finally:
            hub.stop()
    return 0
