"""MQTT publishing without loss: reps and sets go through the disk outbox, then to paho.

Threads: the sampling loop calls `publish_rep`, `publish_set` and `publish_state`, which only
write the outbox (one durable commit) and post to a queue, so they never wait on the network.
paho runs its network loop in its own thread (`loop_start`); its callbacks only post to the same
queue. One worker thread owns everything else: it hands outbox rows to paho in order through
a bounded in-flight window, maps paho message ids to outbox rows and acks a row when the
broker's PUBACK arrives (`wait_for_publish` cannot serve messages queued while offline).

Reconnects: paho re-sends, with the DUP flag and the same message id, what it had sent but
not seen acked; the worker hands out further rows only after those, so order is kept.
Consumers drop the possible duplicates by the payload `id` (docs/mqtt.md).

paho types never leave this module.
"""

from __future__ import annotations

import logging
import math
import queue
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from firmware import __version__
from firmware.clock import Clock, SystemClock
from firmware.config import Config, ConfigError
from firmware.publishing import discovery
from firmware.publishing.outbox import Outbox, OutboxError
from firmware.publishing.payloads import dumps

log = logging.getLogger(__name__)

STATE_SCHEMA = 1
DEFAULT_WINDOW = 20
STATE_PERIOD_S = 0.1  # the live state topic runs at 10 Hz at most
STALL_S = 30.0  # in flight with no ack this long while connected: hand everything out again

ConnectionCallback = Callable[[bool, str], None]
MessageCallback = Callable[[str, bytes], object]
"""(topic, payload) of a message on a subscribed topic; runs on the worker thread."""


def _read_secret(key: str, path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"[mqtt] {key}: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"[mqtt] {key}: {path}: cannot read: {reason}") from None
    secret = text.rstrip("\r\n")
    if not secret:
        raise ConfigError(f"[mqtt] {key}: {path}: the file is empty")
    return secret


def _check_readable(key: str, path: str) -> str:
    p = Path(path).expanduser()
    try:
        with p.open("rb"):
            pass
    except FileNotFoundError:
        raise ConfigError(f"[mqtt] {key}: {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"[mqtt] {key}: {path}: cannot read: {exc.strerror or exc}") from None
    return str(p)


def _tls_reason(exc: OSError | None) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    return str(getattr(exc, "strerror", None) or exc)


def _check_station(station: str) -> None:
    if not station or any(c in station for c in "/+#") or station.strip() != station:
        raise ConfigError(
            f"[mqtt] station: {station!r} cannot be a topic level (no '/', '+', '#' or spaces)"
        )


class _Client(paho.Client):
    """paho's client, telling us why a connection attempt failed (paho only says that it did)."""

    connect_error: Callable[[OSError], None] | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as exc:
            if self.connect_error is not None:
                self.connect_error(exc)
            raise


class MqttPublisher:
    """Publishes one station's reps, sets, live state, status and discovery to a broker."""

    def __init__(
        self,
        mqtt: Mapping[str, Any],
        outbox: Outbox,
        *,
        station: str,
        clock: Clock | None = None,
        on_connection_change: ConnectionCallback | None = None,
        window: int = DEFAULT_WINDOW,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        flush_timeout_s: float = 2.0,
        client_id: str | None = None,
        sw_version: str = __version__,
    ) -> None:
        if not mqtt.get("host"):
            raise ConfigError("[mqtt] host: not set, so there is no broker to publish to")
        _check_station(station)
        if window < 1:
            raise ValueError("window must be at least 1")
        self.host: str = mqtt["host"]
        self.port: int = int(mqtt.get("port", 1883))
        self.station = station
        self.prefix: str = mqtt.get("topic_prefix", "repsled")
        self.discovery_enabled: bool = bool(mqtt.get("discovery", True))
        self.discovery_prefix: str = mqtt.get("discovery_prefix", "homeassistant")
        self.sw_version = sw_version
        self.on_connection_change = on_connection_change
        self.flush_timeout_s = flush_timeout_s
        self._outbox = outbox
        self._clock: Clock = clock or SystemClock()
        self._window = window

        base = f"{self.prefix}/{station}"
        self.rep_topic = f"{base}/rep"
        self.set_topic = f"{base}/set"
        self.state_topic = f"{base}/state"
        self.status_topic = discovery.status_topic(self.prefix, station)
        self.summary_topic = discovery.summary_topic(self.prefix, station)
        self.ha_status_topic = f"{self.discovery_prefix}/status"

        username = mqtt.get("username")
        password = None
        if mqtt.get("password_file"):
            if not username:
                raise ConfigError("[mqtt] password_file: needs [mqtt] username as well")
            password = _read_secret("password_file", mqtt["password_file"])

        v5 = mqtt.get("protocol", "3.1.1") == "5"
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"repsled-{discovery.object_id(station)}",
            clean_session=None if v5 else True,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        if username:
            client.username_pw_set(username, password)
        if mqtt.get("ca_file"):
            ca = _check_readable("ca_file", mqtt["ca_file"])
            cert = (
                _check_readable("cert_file", mqtt["cert_file"]) if mqtt.get("cert_file") else None
            )
            key = _check_readable("key_file", mqtt["key_file"]) if mqtt.get("key_file") else None
            if key and not cert:
                raise ConfigError("[mqtt] key_file: needs [mqtt] cert_file as well")
            try:
                client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
            except (ssl.SSLError, ValueError) as exc:
                raise ConfigError(f"[mqtt] ca_file/cert_file/key_file: unusable: {exc}") from None
        self._tls = bool(mqtt.get("ca_file"))
        if not self._tls and (mqtt.get("cert_file") or mqtt.get("key_file")):
            raise ConfigError("[mqtt] cert_file: TLS needs [mqtt] ca_file as well")
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(0)  # our window bounds the outbox rows; paho: no limit
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.connect_error = self._on_connect_error
        self._client = client
        self._keepalive = int(mqtt.get("keepalive", 60))

        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._connected = False
        self._last_error: str | None = None
        self._last_os_error: OSError | None = None
        # Worker-thread state only:
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id
        self._handed_up_to = 0  # highest row id handed to paho
        self._waiters: dict[int, threading.Event] = {}  # mids of non-outbox messages we await
        self._summary_text: str | None = None
        self._subscriptions: dict[str, tuple[int, MessageCallback]] = {}
        self._subscribed: set[str] = set()  # on this connection (worker thread only)
        self._last_progress_s = 0.0
        self._drained = threading.Event()
        self._closing = False
        # Sampling-thread state only:
        self._summary = discovery.Summary(station)
        self._last_state_s = -math.inf

    @classmethod
    def from_config(cls, config: Config, outbox: Outbox, **kwargs: Any) -> MqttPublisher:
        """A publisher for the config's [mqtt] section and station name."""
        return cls(config.mqtt, outbox, station=config.station, **kwargs)

    # ---- the sampling loop's side: never waits on the network ----

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> MqttPublisher:
        """Begin connecting in the background; returns at once."""
        if self._worker is not None:
            return self
        self._worker = threading.Thread(target=self._run, name="repsled-mqtt", daemon=True)
        self._worker.start()
        self._client.connect_async(self.host, self.port, keepalive=self._keepalive)
        self._client.loop_start()
        return self

    def subscribe(self, topic: str, callback: MessageCallback, *, qos: int = 1) -> None:
        """Hear the messages of one exact topic (retained ones too), from now and after every
        reconnect. `callback(topic, payload)` runs on the worker thread, never paho's; it may
        touch the disk, and what it raises is logged."""
        if any(c in topic for c in "+#"):
            raise ValueError(f"subscribe: {topic!r}: one exact topic, no wildcards")
        self._subscriptions[topic] = (qos, callback)
        self._events.put(("subscribe", topic))

    def publish_rep(self, payload: dict[str, Any]) -> int:
        """Store a rep payload (firmware.publishing.payloads.rep_payload) durably, then publish it.

        Returns the outbox row id (0 if the disk failed and the rep went out from memory).
        """
        if payload.get("type") != "rep":
            raise ValueError("publish_rep needs a rep payload")
        row_id = self._store(self.rep_topic, dumps(payload))
        self._summary.update_rep(payload)
        self._events.put(("summary", self._summary.payload()))
        return row_id

    def publish_set(self, payload: dict[str, Any]) -> int:
        """Store a set payload (publishing.payloads.set_payload) durably, then publish it."""
        if payload.get("type") != "set":
            raise ValueError("publish_set needs a set payload")
        row_id = self._store(self.set_topic, dumps(payload))
        self._summary.update_set(payload)
        self._events.put(("summary", self._summary.payload()))
        return row_id

    def _store(self, topic: str, text: str) -> int:
        """Outbox first; if the disk fails, still publish (from memory) rather than stop."""
        try:
            row_id = self._outbox.put(topic, text, qos=1)
        except OutboxError as exc:
            log.error("%s; publishing this message without keeping it on disk", exc)
            self._events.put(("direct", topic, text))
            return 0
        self._events.put(("put",))
        return row_id

    def publish_state(
        self,
        *,
        t_s: float,
        phase: str,
        position: float | None,
        distance_mm: int | None,
        set_no: int,
        rep_no: int,
    ) -> bool:
        """Live position for dashboards; False if skipped.

        At most one per 0.1 s of the injected clock: give it the real clock (SystemClock), not
        a replay's ScaledClock, for 10 Hz of wall time.
        """
        now = self._clock.monotonic()
        if now - self._last_state_s < STATE_PERIOD_S or not self._connected:
            return False
        self._last_state_s = now
        body = {
            "schema": STATE_SCHEMA,
            "t_s": round(t_s, 4),
            "phase": phase,
            "position": None if position is None else round(position, 3),
            "distance_mm": distance_mm,
            "set": set_no,
            "rep": rep_no,
        }
        self._events.put(("state", dumps(body)))
        return True

    def close(self) -> None:
        """Say "offline", flush what the broker takes within `flush_timeout_s`, disconnect."""
        if self._worker is None:
            return
        self._drained.clear()
        self._events.put(("close",))
        if self._connected:
            self._drained.wait(self.flush_timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
        self._events.put(("stop",))
        self._worker.join(timeout=5.0)
        self._worker = None
        self._connected = False

    def __enter__(self) -> MqttPublisher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- paho's network thread: post and return ----

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._events.put(("refused", str(reason)))
        else:
            self._events.put(("connected",))

    def _on_connect_error(self, exc: OSError) -> None:
        self._last_os_error = exc

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        exc, self._last_os_error = self._last_os_error, None
        self._events.put(("connect_failed", exc))

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._events.put(("disconnected", str(reason)))

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        self._events.put(("ack", mid, bool(reason.is_failure), str(reason)))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.ha_status_topic:
            self._events.put(("ha_status", message.payload.decode("utf-8", "replace")))
        elif message.topic in self._subscriptions:
            self._events.put(("message", message.topic, bytes(message.payload)))

    # ---- the worker thread ----

    def _run(self) -> None:
        while True:
            try:
                event = self._events.get(timeout=1.0)
            except queue.Empty:
                event = ("tick",)
            if event[0] == "stop":
                return
            try:
                getattr(self, f"_ev_{event[0]}")(*event[1:])
                self._check_drained()
            except Exception:
                log.exception("MQTT worker: handling %s failed", event[0])

    def _ev_put(self) -> None:
        self._pump()

    def _ev_tick(self) -> None:
        # A network timeout: real time, whatever clock drives the samples.
        stalled = time.monotonic() - self._last_progress_s > STALL_S
        if self._connected and self._inflight and stalled:
            log.warning(
                "no broker ack for %d messages in %.0f s: re-sending",
                len(self._inflight),
                STALL_S,
            )
            self._inflight.clear()
            self._handed_up_to = 0
            self._pump()

    def _ev_ack(self, mid: int, failed: bool, reason: str) -> None:
        self._last_progress_s = time.monotonic()
        row_id = self._inflight.pop(mid, None)
        if row_id is not None:
            if failed:
                log.error("broker rejected outbox message %d: %s; dropping it", row_id, reason)
            self._outbox.ack(row_id)
            self._pump()
        elif mid in self._waiters:
            self._waiters.pop(mid).set()

    def _ev_connected(self) -> None:
        was_error = self._last_error is not None
        self._last_error = None
        self._connected = True
        self._last_progress_s = time.monotonic()
        log.info(
            "MQTT connected to %s:%d%s (%d message(s) waiting in the outbox)",
            self.host,
            self.port,
            " again" if was_error else "",
            len(self._outbox),
        )
        self._client.publish(self.status_topic, "online", qos=1, retain=True)
        if self.discovery_enabled:
            self._client.subscribe(self.ha_status_topic, qos=1)
            self._announce()
        self._subscribed.clear()
        for topic in list(self._subscriptions):
            self._ev_subscribe(topic)
        if self._summary_text is not None:
            self._client.publish(self.summary_topic, self._summary_text, qos=1, retain=True)
        if not self._inflight:
            # Otherwise paho re-sends those first; their acks pull the next rows, in order.
            self._pump()
        self._notify(True, "connected")

    def _ev_refused(self, reason: str) -> None:
        hint = ""
        low = reason.lower()
        if "authori" in low or "password" in low or "user name" in low:
            hint = " (check [mqtt] username and password_file)"
        self._report(f"MQTT broker {self.host}:{self.port} refused the connection: {reason}{hint}")

    def _ev_connect_failed(self, exc: OSError | None) -> None:
        tls_broken = isinstance(exc, ssl.SSLError) or (
            # A listener without TLS drops our ClientHello: reset or EOF during the handshake.
            self._tls and isinstance(exc, ConnectionResetError | ConnectionAbortedError)
        )
        if tls_broken:
            self._report(
                f"MQTT broker {self.host}:{self.port}: TLS failed: {_tls_reason(exc)} "
                "(check [mqtt] ca_file and that the port speaks TLS)"
            )
        elif exc is not None:
            text = exc.strerror or str(exc)
            self._report(
                f"MQTT broker {self.host}:{self.port} unreachable: {text}", logging.WARNING
            )
        else:
            self._report(f"MQTT broker {self.host}:{self.port} unreachable", logging.WARNING)

    def _ev_disconnected(self, reason: str) -> None:
        if not self._connected:
            return
        self._connected = False
        if not self._closing:
            log.warning(
                "MQTT connection to %s:%d lost (%s); reps stay in the outbox until it is back",
                self.host,
                self.port,
                reason,
            )
        self._notify(False, reason)

    def _ev_ha_status(self, payload: str) -> None:
        if payload == "online" and self._connected and self.discovery_enabled:
            log.info("Home Assistant is online: announcing discovery configs again")
            self._announce()

    def _ev_subscribe(self, topic: str) -> None:
        # Once per connection: each SUBSCRIBE makes the broker send the retained message again.
        if self._connected and topic not in self._subscribed:
            self._subscribed.add(topic)
            self._client.subscribe(topic, qos=self._subscriptions[topic][0])

    def _ev_message(self, topic: str, payload: bytes) -> None:
        _qos, callback = self._subscriptions[topic]
        callback(topic, payload)

    def _ev_direct(self, topic: str, payload: str) -> None:
        # paho keeps a QoS 1 message in memory while offline and sends it on reconnect.
        self._client.publish(topic, payload, qos=1)

    def _ev_state(self, payload: str) -> None:
        if self._connected:
            self._client.publish(self.state_topic, payload, qos=0)

    def _ev_summary(self, payload: str | None) -> None:
        self._summary_text = payload
        if payload is not None and self._connected:
            self._client.publish(self.summary_topic, payload, qos=1, retain=True)

    def _ev_close(self) -> None:
        self._closing = True
        if self._connected:
            info = self._client.publish(self.status_topic, "offline", qos=1, retain=True)
            done = threading.Event()
            self._waiters[info.mid] = done

    # ---- helpers (worker thread) ----

    def _report(self, message: str, level: int = logging.ERROR) -> None:
        """One line per distinct problem; repeats while retrying only at debug level."""
        if message != self._last_error:
            log.log(level, "%s; retrying with backoff, reps are kept in the outbox", message)
            self._last_error = message
        else:
            log.debug("%s (still)", message)

    def _notify(self, connected: bool, reason: str) -> None:
        if self.on_connection_change is not None:
            try:
                self.on_connection_change(connected, reason)
            except Exception:
                log.exception("on_connection_change callback failed")

    def _announce(self) -> None:
        for topic, payload in discovery.config_messages(
            prefix=self.prefix,
            station=self.station,
            discovery_prefix=self.discovery_prefix,
            sw_version=self.sw_version,
        ):
            self._client.publish(topic, payload, qos=1, retain=True)

    def _pump(self) -> None:
        """Hand the next outbox rows to paho, oldest first, up to the in-flight window."""
        if not self._connected:
            return
        room = self._window - len(self._inflight)
        if room <= 0:
            return
        for item in self._outbox.pending(room, after=self._handed_up_to):
            info = self._client.publish(item.topic, item.payload, qos=item.qos)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                log.error("paho refused outbox message %d: %s", item.row_id, info.rc)
                return
            self._inflight[info.mid] = item.row_id
            self._handed_up_to = item.row_id

    def _check_drained(self) -> None:
        if self._closing and not self._inflight and not self._waiters and len(self._outbox) == 0:
            self._drained.set()

    def counts(self) -> dict[str, int]:
        """Outbox size and in-flight window use, for status displays and `repsled check`."""
        return {"outbox": len(self._outbox), "inflight": len(self._inflight)}
