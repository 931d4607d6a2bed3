"""Subscribe to every station's reps and sets and store each exactly once.

Nothing lost: a persistent MQTT session (fixed client id, clean_session False) at QoS 1 keeps
the broker queueing while the hub is away, and the hub acknowledges a message (paho's manual
acknowledgement) only after the transaction holding its row has committed. A hub killed at
any moment leaves the unacknowledged messages with the broker, which delivers them again; the
store skips ids it already has, so nothing is stored twice. While the database is down the
batch is retried and nothing is acknowledged, so the broker holds the rest.

Messages arrive on paho's network thread and are stored by one writer thread in batches (one
commit for everything that arrived meanwhile): that is what makes thousands per second fit in
a disk's fsync budget.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa

from firmware.hub.profiles import ProfileQuery, station_message
from firmware.hub.records import Aside, Malformed, Record, classify
from firmware.hub.store import Store
from firmware.vbt.profile import DEFAULT_MVT_M_S, DEFAULT_WINDOW_DAYS

log = logging.getLogger("repsled.hub")

DEFAULT_CLIENT_ID = "repsled-hub"
MAX_BATCH = 500  # messages per transaction at most
RETRY_FIRST_S = 0.2  # database down: first retry after this, doubling...
RETRY_MAX_S = 5.0  # ...up to this
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
KEEPALIVE_S = 30
IDLE_POLL_S = 0.5  # the writer checks for stop this often when nothing arrives
# A stop waits this long for a writer inside a database call (a PostgreSQL host gone from
# the network answers nothing until TCP gives up, which takes minutes), then leaves it.
STOP_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class _Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # which connection delivered it: acks never cross a reconnect


@dataclass(slots=True)
class IngestStats:
    stored_batches: int = 0
    messages: int = 0
    malformed: int = 0
    kept_aside: int = 0
    db_failures: int = 0
    profiles_published: int = 0


class Ingestor:
    """Runs until `.stop()`: paho's loop thread plus one writer thread."""

    def __init__(
        self,
        store: Store,
        host: str,
        port: int,
        *,
        prefix: str = "repsled",
        client_id: str = DEFAULT_CLIENT_ID,
        username: str | None = None,
        password: str | None = None,
        clock: Callable[[], float] = time.time,
        on_failure: Callable[[str], None] | None = None,
        publish_profiles: bool = True,
        profile_window_days: float = DEFAULT_WINDOW_DAYS,
        mvt_m_s: float = DEFAULT_MVT_M_S,
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.prefix = prefix
        self.clock = clock
        self.on_failure = on_failure
        self.publish_profiles = publish_profiles
        self.profile_window_days = profile_window_days
        self.mvt_m_s = mvt_m_s
        self.stats = IngestStats()
        self._queue: queue.Queue[_Incoming] = queue.Queue()
        self._stop = threading.Event()
        self._generation = 0
        self._lock = threading.Lock()
        self._aside_topics: set[str] = set()
        self._connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.manual_ack_set(True)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self._unreachable_logged = False
        self._writer = threading.Thread(target=self._write_loop, name="hub-writer", daemon=True)

    @property
    def topics(self) -> list[str]:
        return [f"{self.prefix}/+/rep", f"{self.prefix}/+/set"]

    def start(self) -> Ingestor:
        """Connect in the background (a broker down now is retried) and start storing."""
        self._writer.start()
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        return self

    def wait_subscribed(self, timeout: float) -> bool:
        """True once connected and the broker has confirmed the subscriptions."""
        return self._connected.wait(timeout)

    def stop(self, timeout: float = STOP_WAIT_S) -> bool:
        """Stop taking messages; those not yet committed stay unacknowledged with the broker.

        False when the writer was still inside a database call after `timeout`: it is left
        behind (a daemon thread) rather than waited for. Nothing is lost by that, since a
        message is acknowledged only after its commit: the broker delivers it again.
        """
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._writer.join(timeout)
        if self._writer.is_alive():
            log.warning(
                "hub: the database has not answered for %.0f s; stopping without it "
                "(what was being stored is not acknowledged: the broker delivers it again)",
                timeout,
            )
            return False
        return True

    # --- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("hub: broker %s:%d refused: %s", self.host, self.port, reason)
            return
        with self._lock:
            self._generation += 1
        client.subscribe([(topic, 1) for topic in self.topics])
        self._unreachable_logged = False
        log.info("hub: connected to %s:%d", self.host, self.port)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if any(code.is_failure for code in codes):
            log.warning("hub: the broker refused the subscriptions %s: %s", self.topics, codes)
            return
        log.info("hub: subscribed to %s", " and ".join(self.topics))
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("hub: lost the broker (%s); reconnecting", reason)

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        if not self._unreachable_logged:  # retried every few seconds: say it once
            self._unreachable_logged = True
            log.warning("hub: cannot reach the broker at %s:%d; retrying", self.host, self.port)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            generation = self._generation
        self._queue.put(_Incoming(msg.topic, bytes(msg.payload), msg.mid, msg.qos, generation))

    # --- writer thread ---------------------------------------------------------------------

    def _take_batch(self) -> list[_Incoming]:
        try:
            first = self._queue.get(timeout=IDLE_POLL_S)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        try:
            self._store_until_stopped()
        except Exception as exc:  # a bug, not bad input: say so and let the service restart
            log.exception("hub: storing stopped on an unexpected error")
            if self.on_failure is not None:
                self.on_failure(f"storing stopped: {type(exc).__name__}: {exc}")

    def _store_until_stopped(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if not batch:
                continue
            records: list[Record] = []
            asides: list[Aside] = []
            for item in batch:
                kind = classify(item.topic, item.payload, self.prefix)
                if isinstance(kind, Record):
                    records.append(kind)
                elif isinstance(kind, Aside):
                    asides.append(kind)
                elif isinstance(kind, Malformed):
                    self.stats.malformed += 1
                    log.warning(
                        "hub: skipped a malformed message on %s: %s", kind.topic, kind.reason
                    )
            if not self._commit(records, asides):
                return  # stopping: nothing of this batch is acknowledged
            for aside in asides:
                if aside.topic not in self._aside_topics:
                    self._aside_topics.add(aside.topic)
                    log.warning(
                        "hub: kept aside a payload on %s: %s (this topic is logged once)",
                        aside.topic,
                        aside.reason,
                    )
            self.stats.kept_aside += len(asides)
            self.stats.messages += len(batch)
            self.stats.stored_batches += 1
            self._ack(batch)
            if self.publish_profiles:
                self._publish_profiles(records)

    def _commit(self, records: list[Record], asides: list[Aside]) -> bool:
        """True once committed; retries while the database is down, False if stopped first."""
        delay = RETRY_FIRST_S
        while True:
            try:
                try:
                    self.store.write(records, asides, self.clock())
                except (sa.exc.OperationalError, sa.exc.InterfaceError):
                    raise
                except sa.exc.DBAPIError as exc:
                    # Not an outage: something in the batch the database refuses. Store the
                    # rest one by one and skip the offender, logged, rather than retry for ever.
                    log.warning("hub: the database refused a batch (%s); one by one", exc.orig)
                    self._commit_one_by_one(records, asides)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                self.stats.db_failures += 1
                first_line = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
                log.warning(
                    "hub: database unavailable (%s); retrying in %.1f s, nothing acknowledged",
                    first_line[0] if first_line else type(exc).__name__,
                    delay,
                )
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, RETRY_MAX_S)
            else:
                return True

    def _commit_one_by_one(self, records: list[Record], asides: list[Aside]) -> None:
        items: list[tuple[list[Record], list[Aside], str]] = [([r], [], r.id) for r in records] + [
            ([], [a], a.topic) for a in asides
        ]
        for one_record, one_aside, name in items:
            try:
                self.store.write(one_record, one_aside, self.clock())
            except (sa.exc.OperationalError, sa.exc.InterfaceError):
                raise
            except sa.exc.DBAPIError as exc:
                self.stats.malformed += 1
                log.warning("hub: skipped %s, refused by the database: %s", name, exc.orig)

    def _publish_profiles(self, records: list[Record]) -> None:
        """After storing a set with an athlete: the station's profiles, retained, for its
        velocity-zone cue (docs/prescriptions.md). Best effort: storing never waits on it."""
        stations = sorted(
            {
                r.payload["station"]
                for r in records
                if r.kind == "set" and isinstance(r.payload.get("athlete"), str)
            }
        )
        now = datetime.fromtimestamp(self.clock(), UTC)
        query = ProfileQuery("", None, self.profile_window_days, self.mvt_m_s, now)
        for station in stations:
            try:
                body = station_message(self.store, station, query)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("hub: no profile published for %s: %s", station, exc)
                continue
            self.client.publish(f"{self.prefix}/{station}/profile", body, qos=1, retain=True)
            self.stats.profiles_published += 1

    def _ack(self, batch: list[_Incoming]) -> None:
        with self._lock:
            current = self._generation
        for item in batch:
            # A message from an earlier connection is delivered again by the broker on this
            # one (and then skipped by id): its old packet id may now name another message.
            if item.qos > 0 and item.generation == current:
                self.client.ack(item.mid, item.qos)
