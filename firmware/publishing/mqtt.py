"""MQTT publishing without loss: reps and sets go through the disk outbox, then to paho.

Threads: the sampling loop calls `publish_rep`, `publish_set` and `publish_state`, which only
append to a bounded in-memory intake and post to a queue: they never wait on the disk or the
network. paho runs its network loop in its own thread (`loop_start`); its callbacks only post
to the same queue. One worker thread owns everything else: it writes each message to the
outbox (one durable commit, firmware.publishing.store), and only then hands it to paho, so a
rep is on disk before the broker is asked to take it. A crash loses at most what is still in
the intake: normally one commit's time, tens of milliseconds.

Delivery is confirmed by the broker echoing the message back: the station subscribes to its
own rep, set and status topics, and a message leaves the outbox only when it came back. A
PUBACK alone proves nothing: under MQTT 3.1.1 mosquitto acknowledges a publish its ACL refused.
A message acknowledged but not echoed within `echo_timeout_s` (or refused with an MQTT 5
reason code) means the broker does not accept the station's messages: one clear error names the
user, the topic and the ACL line, the messages stay in the outbox and are tried again every
`REFUSED_RETRY_S`. The station's "online" status, published on connect, is the start-up check.

Reconnects: paho re-sends, with the DUP flag, what it had sent but not seen acked, before the
station's subscriptions are back; so the worker offers everything that was in flight again,
in order, once subscribed. Order is kept; consumers drop the duplicates by the payload `id`
(docs/mqtt.md).

paho types never leave this module.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from firmware import __version__
from firmware.clock import Clock, SystemClock
from firmware.config import Config, ConfigError
from firmware.publishing import discovery
from firmware.publishing.outbox import Outbox
from firmware.publishing.payloads import dumps
from firmware.publishing.store import MessageStore

log = logging.getLogger(__name__)

MEMORY_FLUSH_TIMEOUT_S = 6.0  # at exit, within systemd's 10 s stop timeout

STATE_SCHEMA = 1
DEFAULT_WINDOW = 20
STATE_PERIOD_S = 0.1  # the live state topic runs at 10 Hz at most
HEALTH_SCHEMA = 1
TICK_S = 1.0  # the worker's timers (echo, stall, disk retry) run this often
STALL_S = 30.0  # in flight with no ack this long while connected: hand everything out again
ECHO_TIMEOUT_S = 10.0  # acked but not echoed back this long: the broker refused it (its ACL)
REFUSED_RETRY_S = 60.0  # how often messages the broker refused are offered again
WAITING_RECONNECT_MAX_S = 5.0  # reconnect back-off cap while messages wait to be delivered
INTAKE_MAX = 1000  # messages queued for the worker (a disk stalled for an hour of reps)

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


@dataclass(slots=True)
class _Flight:
    """A message handed to paho and not yet seen echoed back."""

    mid: int
    sent_s: float
    row_id: int = 0  # the outbox row (0: kept in memory)
    acked_s: float | None = None  # PUBACK time (real monotonic)


class MqttPublisher:
    """Publishes one station's reps, sets, live state, status and discovery to a broker."""

    def __init__(
        self,
        mqtt: Mapping[str, Any],
        outbox: Outbox | MessageStore,
        *,
        station: str,
        clock: Clock | None = None,
        on_connection_change: ConnectionCallback | None = None,
        window: int = DEFAULT_WINDOW,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        flush_timeout_s: float = 2.0,
        echo_timeout_s: float = ECHO_TIMEOUT_S,
        refused_retry_s: float = REFUSED_RETRY_S,
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
        self.dashboard_url: str | None = mqtt.get("dashboard_url")
        self.sw_version = sw_version
        self.on_connection_change = on_connection_change
        self.flush_timeout_s = flush_timeout_s
        self.echo_timeout_s = echo_timeout_s
        self.refused_retry_s = refused_retry_s
        self.store = outbox if isinstance(outbox, MessageStore) else MessageStore.for_outbox(outbox)
        self._clock: Clock = clock or SystemClock()
        self._window = window
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s

        base = f"{self.prefix}/{station}"
        self.rep_topic = f"{base}/rep"
        self.set_topic = f"{base}/set"
        self.state_topic = f"{base}/state"
        self.health_topic = f"{base}/health"
        self.status_topic = discovery.status_topic(self.prefix, station)
        self.summary_topic = discovery.summary_topic(self.prefix, station)
        self.ha_status_topic = f"{self.discovery_prefix}/status"
        self._echo_topics = {self.rep_topic, self.set_topic, self.status_topic}

        username = mqtt.get("username")
        self.username: str | None = username or None
        password = None
        if mqtt.get("password_file"):
            if not username:
                raise ConfigError("[mqtt] password_file: needs [mqtt] username as well")
            password = _read_secret("password_file", mqtt["password_file"])

        v5 = mqtt.get("protocol", "3.1.1") == "5"
        # A random part: a client id nobody can guess cannot be used to knock the station off.
        default_id = f"repsled-{discovery.object_id(station)}-{os.urandom(6).hex()}"
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or default_id,
            clean_session=None if v5 else True,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        self.client_id = client_id or default_id
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
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.connect_error = self._on_connect_error
        self._client = client
        self._keepalive = int(mqtt.get("keepalive", 60))

        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._connected = False
        self._last_error: str | None = None
        self._last_os_error: OSError | None = None
        # Sampling thread -> worker: messages to store, bounded (the loop never waits).
        self._intake: deque[tuple[str, str]] = deque()
        self._intake_lock = threading.Lock()
        self._intake_dropped = 0
        self._queued = 0  # messages given to the intake (sampling thread)
        self._stored = 0  # messages the worker has stored or dropped
        self._stored_cond = threading.Condition()
        # Worker-thread state only:
        self._inflight: dict[tuple[str, str], _Flight] = {}  # (topic, payload) -> flight
        self._mids: dict[int, tuple[str, str]] = {}  # paho mid -> (topic, payload)
        self._waiters: dict[int, threading.Event] = {}  # mids of non-outbox messages we await
        self._retained: dict[str, str] = {}  # topic -> latest retained state, re-sent on connect
        self._subscriptions: dict[str, tuple[int, MessageCallback]] = {}
        self._subscribed: set[str] = set()  # on this connection (worker thread only)
        self._last_progress_s = 0.0
        self._probe: _Flight | None = None  # the "online" status, echoed if the ACL allows
        self._echo_sub_mid: int | None = None  # the echo subscription's mid (both threads)
        self._sub_lock = threading.Lock()
        self._confirmed = False  # an echo came back on this connection
        self._refused: str | None = None
        self._retry_refused_s = math.inf
        self._health_sent: tuple[Any, ...] | None = None
        self._backoff_cap_s = reconnect_max_s
        self._drained = threading.Event()
        self._first_attempt_done = threading.Event()  # connected, refused or unreachable
        self._closing = False
        # Sampling-thread state only:
        self._last_state_s = -math.inf

    @classmethod
    def from_config(
        cls, config: Config, outbox: Outbox | MessageStore, **kwargs: Any
    ) -> MqttPublisher:
        """A publisher for the config's [mqtt] section and station name."""
        return cls(config.mqtt, outbox, station=config.station, **kwargs)

    # ---- the sampling loop's side: never waits on the disk or the network ----

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def refused(self) -> str | None:
        """Why the broker does not take the station's messages, or None."""
        return self._refused

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

    def publish_rep(self, payload: dict[str, Any]) -> None:
        """Queue a rep payload (firmware.publishing.payloads.rep_payload): the worker stores
        it durably, then publishes it."""
        if payload.get("type") != "rep":
            raise ValueError("publish_rep needs a rep payload")
        self._queue(self.rep_topic, dumps(payload))

    def publish_set(self, payload: dict[str, Any]) -> None:
        """Queue a set payload (publishing.payloads.set_payload): stored, then published."""
        if payload.get("type") != "set":
            raise ValueError("publish_set needs a set payload")
        self._queue(self.set_topic, dumps(payload))

    def publish_retained(self, kind: str, text: str) -> None:
        """Derived state on `PREFIX/STATION/kind` (QoS 1, retained; `summary`, `session`):
        not stored in the outbox (the next version replaces it), re-sent on every connection."""
        self._events.put(("retained", f"{self.prefix}/{self.station}/{kind}", text))

    def publish_retained_once(self, kind: str, text: str) -> None:
        """A retained message on `PREFIX/STATION/kind` (QoS 1) sent now, if connected, and
        never again: for messages others may replace meanwhile (`next`), which a re-send on
        reconnect would overwrite."""
        self._events.put(("retained_once", f"{self.prefix}/{self.station}/{kind}", text))

    def _queue(self, topic: str, text: str) -> None:
        with self._intake_lock:
            if len(self._intake) >= INTAKE_MAX:
                # The worker has been stuck for INTAKE_MAX messages: keep the newest.
                self._intake.popleft()
                self._intake_dropped += 1
            self._intake.append((topic, text))
            self._queued += 1
        self._events.put(("store",))

    def wait_stored(self, timeout_s: float) -> bool:
        """Block until every message queued so far is stored (on disk, or in memory if the disk
        fails); for tests, benches and shutdown, never the sampling loop."""
        with self._intake_lock:
            target = self._queued
        with self._stored_cond:
            return self._stored_cond.wait_for(lambda: self._stored >= target, timeout_s)

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
        """Store what is queued, say "offline", flush what the broker takes within
        `flush_timeout_s` (longer for messages held only in memory), disconnect."""
        if self._worker is None:
            return
        # Stopped while the first connection is still being made (`repsled run` stopped
        # straight after start, its outputs built while it sampled): let it finish within
        # the flush time, so the station still says "offline" and hands over what it has.
        self._first_attempt_done.wait(self.flush_timeout_s)
        self._drained.clear()
        self._events.put(("close",))
        self.wait_stored(self.flush_timeout_s + 5.0)
        if self._connected:
            wait_s = self.flush_timeout_s
            if self.store.status()["in_memory"]:
                # The disk failed: what the broker does not take now is lost at exit.
                wait_s = max(wait_s, MEMORY_FLUSH_TIMEOUT_S)
            self._drained.wait(wait_s)
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

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        failed = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        with self._sub_lock:
            ours = mid == self._echo_sub_mid
        if failed and ours:
            self._events.put(("subscribe_refused", failed[0]))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.ha_status_topic:
            self._events.put(("ha_status", message.payload.decode("utf-8", "replace")))
        elif message.topic in self._echo_topics and not message.retain:
            self._events.put(("echo", message.topic, message.payload.decode("utf-8", "replace")))
        elif message.topic in self._subscriptions:
            self._events.put(("message", message.topic, bytes(message.payload)))

    # ---- the worker thread ----

    def _run(self) -> None:
        next_tick_s = time.monotonic() + TICK_S
        while True:
            try:
                event = self._events.get(timeout=max(0.0, next_tick_s - time.monotonic()))
            except queue.Empty:
                event = ("tick",)
            if event[0] == "stop":
                return
            events = [event]
            if event[0] != "tick" and time.monotonic() >= next_tick_s:
                events.append(("tick",))  # the live state at 10 Hz must not starve the timers
            for ev in events:
                if ev[0] == "tick":
                    next_tick_s = time.monotonic() + TICK_S
                try:
                    getattr(self, f"_ev_{ev[0]}")(*ev[1:])
                    self._after_event()
                except Exception:
                    log.exception("MQTT worker: handling %s failed", ev[0])

    def _ev_store(self) -> None:
        while True:
            with self._intake_lock:
                if not self._intake:
                    dropped, self._intake_dropped = self._intake_dropped, 0
                    break
                topic, text = self._intake.popleft()
            item = self.store.put(topic, text, qos=1)
            log.debug("stored %s %s", "on disk" if item.row_id else "in memory", text[:120])
            self._mark_stored(1)
            self._pump()
        if dropped:
            self._mark_stored(dropped)
            log.error("the storage worker fell behind: %d message(s) dropped", dropped)

    def _mark_stored(self, n: int) -> None:
        with self._stored_cond:
            self._stored += n
            self._stored_cond.notify_all()

    def _ev_tick(self) -> None:
        # Network timeouts: real time, whatever clock drives the samples.
        now = time.monotonic()
        self.store.maintain()
        if not self._connected:
            return
        probe = self._probe
        if (
            probe is not None
            and probe.acked_s is not None
            and (now - probe.acked_s > self.echo_timeout_s)
        ):
            self._probe = None
            self._refuse(self.status_topic, "the broker acknowledged it but never delivered it")
        for (topic, _), flight in list(self._inflight.items()):
            if self._refused is not None:
                break  # known; only an echo ends it
            if flight.acked_s is not None and now - flight.acked_s > self.echo_timeout_s:
                self._refuse(topic, "the broker acknowledged it but never delivered it")
        if self._refused is not None and now >= self._retry_refused_s:
            log.debug("offering the refused messages to the broker again")
            self._retry_refused_s = now + self.refused_retry_s
            self._resend_all()
            return
        stalled = now - self._last_progress_s > STALL_S
        if self._inflight and stalled and self._refused is None:
            unacked = [f for f in self._inflight.values() if f.acked_s is None]
            if unacked:
                log.warning(
                    "no broker ack for %d messages in %.0f s: re-sending", len(unacked), STALL_S
                )
                self._resend_all()
        self._pump()

    def _resend_all(self) -> None:
        self._inflight.clear()
        self._mids.clear()
        self._last_progress_s = time.monotonic()
        self._pump(even_if_refused=True)

    def _ev_ack(self, mid: int, failed: bool, reason: str) -> None:
        now = time.monotonic()
        self._last_progress_s = now
        if self._probe is not None and self._probe.mid == mid:
            self._probe.acked_s = now
            if failed:
                self._probe = None
                self._refuse(self.status_topic, reason)
            return
        key = self._mids.pop(mid, None)
        if key is not None:
            flight = self._inflight.get(key)
            if flight is not None and flight.mid == mid:
                flight.acked_s = now
                if failed:  # MQTT 5 says so at once (e.g. "Not authorized")
                    self._refuse(key[0], reason)
        elif mid in self._waiters:
            self._waiters.pop(mid).set()

    def _ev_echo(self, topic: str, payload: str) -> None:
        if topic == self.status_topic:
            if payload == "online" and self._probe is not None:
                self._probe = None
                self._delivery_confirmed()
            return
        self._last_progress_s = time.monotonic()
        flight = self._inflight.pop((topic, payload), None)
        if flight is not None:  # else a duplicate: its row, if any, goes with its own echo
            self.store.ack(topic, payload, flight.row_id)
        self._delivery_confirmed()
        self._pump()

    def _delivery_confirmed(self) -> None:
        if not self._confirmed:
            log.debug("the broker delivers the station's messages (echo received)")
        self._confirmed = True
        if self._refused is not None:
            log.info("MQTT broker %s:%d accepts the station's messages again", self.host, self.port)
            self._refused = None
            self._retry_refused_s = math.inf
            self._pump()

    def _ev_connected(self) -> None:
        self.store.maintain()  # opens the outbox if this is the first use
        was_error = self._last_error is not None
        self._last_error = None
        self._connected = True
        self._first_attempt_done.set()  # a close queued from now on comes after this event
        self._confirmed = False
        self._last_progress_s = time.monotonic()
        log.info(
            "MQTT connected to %s:%d%s (%d message(s) waiting in the outbox)",
            self.host,
            self.port,
            " again" if was_error else "",
            len(self.store),
        )
        # Subscribed before anything is published: the broker echoes what it accepted.
        with self._sub_lock:  # the SUBACK may come before subscribe() returns
            _, self._echo_sub_mid = self._client.subscribe(
                [(self.rep_topic, 1), (self.set_topic, 1), (self.status_topic, 1)]
            )
        info = self._client.publish(self.status_topic, "online", qos=1, retain=True)
        self._probe = _Flight(info.mid, time.monotonic())
        self._health_sent = None
        if self.discovery_enabled:
            self._client.subscribe(self.ha_status_topic, qos=1)
            self._announce()
        self._subscribed.clear()
        for topic in list(self._subscriptions):
            self._ev_subscribe(topic)
        for topic, text in self._retained.items():
            self._client.publish(topic, text, qos=1, retain=True)
        # What was in flight when the connection dropped: paho re-sends it at once, before
        # our subscriptions are in place, so its echo may never come. Offer it again after
        # them (in the same order; consumers drop the duplicates by id).
        self._inflight.clear()
        self._mids.clear()
        self._pump()
        self._notify(True, "connected")

    def _ev_subscribe_refused(self, reason: str) -> None:
        # Brokers other than mosquitto 2.0 refuse the subscription itself: no echo will come.
        self._refuse(f"{self.prefix}/{self.station}/#", f"reading its own topics refused: {reason}")

    def _ev_refused(self, reason: str) -> None:
        hint = ""
        low = reason.lower()
        if "authori" in low or "password" in low or "user name" in low:
            hint = " (check [mqtt] username and password_file)"
        self._report(f"MQTT broker {self.host}:{self.port} refused the connection: {reason}{hint}")
        self._first_attempt_done.set()

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
        self._first_attempt_done.set()

    def _ev_disconnected(self, reason: str) -> None:
        if not self._connected:
            return
        self._connected = False
        self._probe = None
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

    def _ev_state(self, payload: str) -> None:
        if self._connected:
            self._client.publish(self.state_topic, payload, qos=0)

    def _ev_retained(self, topic: str, payload: str) -> None:
        self._retained[topic] = payload
        if self._connected:
            self._client.publish(topic, payload, qos=1, retain=True)

    def _ev_retained_once(self, topic: str, payload: str) -> None:
        if self._connected:
            self._client.publish(topic, payload, qos=1, retain=True)
        else:
            log.warning("%s: not published, the broker is not connected", topic)

    def _ev_close(self) -> None:
        self._ev_store()
        self._closing = True
        if self._connected:
            info = self._client.publish(self.status_topic, "offline", qos=1, retain=True)
            done = threading.Event()
            self._waiters[info.mid] = done

    # ---- helpers (worker thread) ----

    def _refuse(self, topic: str, reason: str) -> None:
        """The broker does not deliver what the station publishes: keep it, say why once."""
        user = repr(self.username) if self.username else "anonymous"
        message = (
            f"MQTT broker {self.host}:{self.port} does not accept user {user} publishing to "
            f"{topic} ({reason}); reps are kept in the outbox and offered again every "
            f"{self.refused_retry_s:g} s. The broker's ACL must let this user read and write "
            f"{self.prefix}/{self.station}/#: the shipped ACL line `pattern readwrite "
            f"{self.prefix}/%u/#` does so only when [mqtt] username is the station name "
            f"{self.station!r}"
        )
        if self._refused is None:
            log.error("%s", message)
        else:
            log.debug("broker still refuses %s", topic)
        self._refused = self._refused or message
        self._retry_refused_s = time.monotonic() + self.refused_retry_s

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
            configuration_url=self.dashboard_url,
        ):
            self._client.publish(topic, payload, qos=1, retain=True)

    def _pump(self, even_if_refused: bool = False) -> None:
        """Hand the next stored messages to paho, oldest first, up to the in-flight window.

        While the broker refuses them, the window stays full of the refused ones: nothing
        more is offered until they are retried.
        """
        if not self._connected or (self._refused is not None and not even_if_refused):
            return
        room = self._window - len(self._inflight)
        if room <= 0:
            return
        now = time.monotonic()
        for item in self.store.pending(room, skip=self._inflight.keys()):
            info = self._client.publish(item.topic, item.payload, qos=item.qos)
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                log.error("paho refused a stored message: %s", info.rc)
                return
            key = (item.topic, item.payload)
            self._inflight[key] = _Flight(info.mid, now, item.row_id)
            self._mids[info.mid] = key

    def _after_event(self) -> None:
        self._set_backoff()
        self._send_health()
        if self._closing and not self._inflight and not self._waiters and len(self.store) == 0:
            self._drained.set()

    def _set_backoff(self) -> None:
        """While messages wait, reconnect at least every WAITING_RECONNECT_MAX_S."""
        waiting = len(self.store) > 0
        cap = min(self._reconnect_max_s, WAITING_RECONNECT_MAX_S) if waiting else None
        cap_s = cap if cap is not None else self._reconnect_max_s
        if cap_s != self._backoff_cap_s:
            self._backoff_cap_s = cap_s
            self._client.reconnect_delay_set(
                self._reconnect_min_s,  # type: ignore[arg-type]
                cap_s,  # type: ignore[arg-type]
            )

    def health(self) -> dict[str, Any]:
        """What the station says about its storage and delivery (the retained health topic)."""
        status = self.store.status()
        return {
            "type": "health",
            "schema": HEALTH_SCHEMA,
            "station": self.station,
            "storage": status["storage"],
            "storage_problem": status["storage_problem"],
            "delivery": "refused" if self._refused else "ok" if self._confirmed else "checking",
            "delivery_problem": self._refused,
            "quarantined": status["quarantined"],
        }

    def _send_health(self) -> None:
        if not self._connected:
            return
        body = self.health()
        key = tuple(body.values())
        if key != self._health_sent:
            self._health_sent = key
            self._client.publish(self.health_topic, dumps(body), qos=1, retain=True)

    def counts(self) -> dict[str, int]:
        """Outbox size and in-flight window use, for status displays and `repsled check`."""
        return {"outbox": len(self.store), "inflight": len(self._inflight)}
