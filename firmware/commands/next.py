"""`repsled next`: set a station's next set (athlete, load, leg, tempo) over MQTT.

Publishes one retained message on `PREFIX/STATION/next` (docs/prescriptions.md); the station
applies it from the next set that starts and keeps it across restarts. The broker comes from
`--config FILE`'s [mqtt] table, as for `repsled run`, or from `--broker mqtt://HOST:PORT`.
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORT = 1883
DEFAULT_PREFIX = "repsled"
BROKER_TIMEOUT_S = 5.0  # connect and acknowledge: milliseconds on a LAN, so 5 s means trouble
EXIT_USAGE = 2
EXIT_BROKER = 1


class _Failure(Exception):
    """One line for stderr and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--station",
        metavar="S",
        help="station name in topics (default: the config's [mqtt] station)",
    )
    parser.add_argument("--athlete", metavar="A", help="who lifts (default: nobody named)")
    parser.add_argument(
        "--load-kg",
        type=float,
        metavar="KG",
        help="load on the sled: plates plus the sled's own weight (default: unknown)",
    )
    parser.add_argument(
        "--tempo", metavar="E-B-C-T", help="tempo prescription, e.g. 3-1-X-0 (default: none)"
    )
    parser.add_argument(
        "--leg", choices=("both", "left", "right"), default="both", help="default: both"
    )
    parser.add_argument(
        "--clear",
        action="store_true",
        help="remove the retained next set: the station goes back to its [athlete] defaults",
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="config TOML ([mqtt] table)")
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="mqtt://HOST:PORT (overrides the config's [mqtt] host and port)",
    )


def parse_broker_url(url: str) -> tuple[str, int]:
    """HOST and PORT of an `mqtt://HOST[:PORT]` URL; _Failure naming the option otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _Failure(f"--broker {url!r}: {exc}", EXIT_USAGE) from None
    if parts.scheme != "mqtt":
        raise _Failure(f"--broker {url!r}: must start with mqtt://", EXIT_USAGE)
    if not parts.hostname:
        raise _Failure(f"--broker {url!r}: no host", EXIT_USAGE)
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise _Failure(f"--broker {url!r}: only mqtt://HOST:PORT is understood", EXIT_USAGE)
    return parts.hostname, port or DEFAULT_PORT


def check_station(station: str | None) -> str:
    if station is None:
        raise _Failure("--station: required (or [mqtt] station in --config FILE)", EXIT_USAGE)
    if not station or station.strip() != station or any(c in station for c in "/+# "):
        raise _Failure(
            f"--station {station!r}: must be one topic level (no '/', '+', '#' or spaces)",
            EXIT_USAGE,
        )
    return station


def build_payload(args: argparse.Namespace) -> bytes:
    """The message bytes, validated exactly as the station will validate them."""
    from firmware.station.next_set import (
        NextSet,
        NextSetError,
        check_athlete,
        check_load_kg,
        check_tempo,
        encode,
    )

    if args.clear:
        given = [o for o, v in (("--athlete", args.athlete), ("--load-kg", args.load_kg),
                                ("--tempo", args.tempo)) if v is not None]  # fmt: skip
        if given:
            raise _Failure(f"--clear: cannot be combined with {', '.join(given)}", EXIT_USAGE)
        return b""
    try:
        athlete = check_athlete(args.athlete)
    except NextSetError as exc:
        raise _Failure(f"--{exc}", EXIT_USAGE) from None
    try:
        load_kg = check_load_kg(args.load_kg)
    except NextSetError as exc:
        raise _Failure(f"--load-kg{str(exc).removeprefix('load_kg')}", EXIT_USAGE) from None
    try:
        tempo = check_tempo(args.tempo)
    except NextSetError as exc:
        raise _Failure(f"--tempo: {exc}", EXIT_USAGE) from None
    return encode(NextSet(athlete, load_kg, args.leg, tempo)).encode("utf-8")


def _read_password(mqtt: dict[str, Any]) -> str | None:
    from firmware.config import ConfigError

    path = mqtt.get("password_file")
    if not path:
        return None
    try:
        secret = Path(path).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise ConfigError(f"[mqtt] password_file: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"[mqtt] password_file: {path}: cannot read: {reason}") from None
    return secret


def publish_retained(mqtt: dict[str, Any], topic: str, payload: bytes) -> None:
    """Connect, publish retained at QoS 1, wait for the broker's PUBACK, disconnect."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    where = f"{mqtt['host']}:{mqtt['port']}"
    v5 = mqtt.get("protocol") == "5"
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"repsled-next-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
    )
    client.connect_timeout = BROKER_TIMEOUT_S
    if mqtt.get("username"):
        client.username_pw_set(mqtt["username"], _read_password(mqtt))
    if mqtt.get("ca_file"):
        try:
            client.tls_set(
                ca_certs=mqtt["ca_file"],
                certfile=mqtt.get("cert_file"),
                keyfile=mqtt.get("key_file"),
            )
        except (OSError, ValueError) as exc:
            raise _Failure(
                f"[mqtt] ca_file/cert_file/key_file: unusable: {exc}", EXIT_USAGE
            ) from None
    connack = threading.Event()
    outcome: dict[str, Any] = {}

    def on_connect(_c: object, _u: object, _f: object, reason: Any, _p: object) -> None:
        outcome["reason"] = reason
        connack.set()

    client.on_connect = on_connect
    try:
        client.connect(mqtt["host"], int(mqtt["port"]), keepalive=int(mqtt.get("keepalive", 60)))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise _Failure(f"cannot reach the broker at {where}: {reason}", EXIT_BROKER) from None
    client.loop_start()
    try:
        if not connack.wait(BROKER_TIMEOUT_S):
            raise _Failure(
                f"no answer from the broker at {where} in {BROKER_TIMEOUT_S:g} s", EXIT_BROKER
            )
        if outcome["reason"].is_failure:
            raise _Failure(
                f"the broker at {where} refused the connection: {outcome['reason']} "
                "(check [mqtt] username and password_file)",
                EXIT_BROKER,
            )
        info = client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(BROKER_TIMEOUT_S)
        if not info.is_published():
            raise _Failure(
                f"the broker at {where} did not acknowledge {topic} in {BROKER_TIMEOUT_S:g} s",
                EXIT_BROKER,
            )
    except RuntimeError as exc:  # paho: the connection dropped while publishing
        raise _Failure(f"publishing to the broker at {where} failed: {exc}", EXIT_BROKER) from None
    finally:
        client.disconnect()
        client.loop_stop()


def run(args: argparse.Namespace) -> int:
    from firmware.config import load

    try:
        payload = build_payload(args)
        broker = parse_broker_url(args.broker) if args.broker else None
        cfg = load(args.config)
        mqtt = dict(cfg.mqtt)
        station = check_station(args.station or mqtt.get("station"))
        if broker is not None:
            mqtt["host"], mqtt["port"] = broker
        if not mqtt.get("host"):
            raise _Failure(
                "no broker: give --broker mqtt://HOST:PORT or --config FILE with [mqtt] host",
                EXIT_USAGE,
            )
        topic = f"{mqtt.get('topic_prefix') or DEFAULT_PREFIX}/{station}/next"
        publish_retained(mqtt, topic, payload)
    except _Failure as exc:
        print(f"repsled next: error: {exc}", file=sys.stderr)
        return exc.status
    print(f"{topic}: {payload.decode('utf-8') or '(cleared)'}")
    return 0
