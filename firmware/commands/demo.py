"""`repsled demo`: the whole system on one laptop, no hardware, nothing else to install.

An embedded MQTT broker (TCP and WebSockets on 127.0.0.1), the hub (live dashboard, history
pages, SQLite history in a temporary directory), and simulated stations: each plays a bundled
trace in real time, looping, through the fake chip under the real driver, the sampling loop
and the engine, and publishes exactly like a device. Cues are printed as text instead of
beeping.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

DEFAULT_PORT = 8080
# Station name -> bundled example trace (examples/traces/NAME.csv with NAME.toml beside it).
DEMO_STATIONS = {
    "press-1": "two_sets_with_rest",
    "press-2": "press45_start_top_flipped",
    "press-3": "partial_locked_fast",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stations", type=int, default=2, metavar="N", help=f"1-{len(DEMO_STATIONS)} stations"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="dashboard port")
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="play the traces N times faster"
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--open", action="store_true", help="open the dashboard in a browser")
    parser.add_argument("-v", "--verbose", action="store_true", help="log phases and debug lines")


def demo_traces(count: int, work_dir: Path) -> list[tuple[str, Path]]:
    """(station, trace) pairs: the bundled examples, or freshly generated ones if not shipped."""
    examples = Path(__file__).resolve().parents[2] / "examples" / "traces"
    pairs: list[tuple[str, Path]] = []
    for seed, (station, name) in enumerate(list(DEMO_STATIONS.items())[:count], start=100):
        trace = examples / f"{name}.csv"
        if not (trace.is_file() and trace.with_suffix(".toml").is_file()):
            from sensor.synthetic import generate, write

            trace = work_dir / f"{name}.csv"
            write(generate(seed), trace)
        pairs.append((station, trace))
    return pairs


class _Prefixed:
    """A text stream that prefixes each line with the station, for the demo's printed cues."""

    def __init__(self, station: str, out: TextIO) -> None:
        self.station = station
        self.out = out

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.out.write(f"[{self.station}] {line}\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def run(args: argparse.Namespace) -> int:
    import logging
    import tempfile
    import threading
    import tomllib
    import webbrowser
    from dataclasses import replace

    from firmware.commands.run import setup_logging
    from firmware.commands.stop_signal import DEMO_STOP_GRACE_S, stop_on_signal
    from firmware.config import MAX_TCP_PORT, ConfigError, parse
    from firmware.hub.server import Hub, HubOptions
    from firmware.publishing.broker import EmbeddedBroker
    from firmware.publishing.mqtt import MqttPublisher
    from firmware.publishing.outbox import Outbox
    from firmware.station.sensors import make_clock
    from firmware.station.station import Station, build_station

    if not 1 <= args.stations <= len(DEMO_STATIONS):
        raise ConfigError(f"--stations: must be between 1 and {len(DEMO_STATIONS)}")
    if not 0 <= args.port <= MAX_TCP_PORT:
        raise ConfigError(f"--port: must be between 0 and {MAX_TCP_PORT} (0: any free port)")
    try:
        import amqtt  # noqa: F401  (the embedded broker: only in the demo extra)
    except ImportError:
        raise ConfigError(
            "the demo needs its extra, which this install lacks: "
            "pip install 'repsled[demo]' (in a clone of the project: make demo)"
        ) from None
    setup_logging(args.verbose)
    log = logging.getLogger("repsled")
    stop = threading.Event()
    with (
        stop_on_signal(stop, "demo", grace_s=DEMO_STOP_GRACE_S),
        tempfile.TemporaryDirectory(prefix="repsled-demo-") as tmp,
    ):
        work = Path(tmp)
        broker = EmbeddedBroker().start()
        hub_options = HubOptions(
            db_url=f"sqlite:///{work / 'history.sqlite3'}",
            broker_host="127.0.0.1",
            broker_port=broker.tcp_port,
            broker_ws=broker.ws_url,
            port=args.port,
        )
        dashboard = Hub(hub_options)
        try:
            dashboard.start()
        except OSError:
            dashboard = Hub(replace(hub_options, port=0)).start()
        stations: list[Station] = []
        publishers: list[MqttPublisher] = []
        outboxes: list[Outbox] = []
        threads: list[threading.Thread] = []
        try:
            for station_name, trace in demo_traces(args.stations, work):
                data = tomllib.loads(trace.with_suffix(".toml").read_text(encoding="utf-8"))
                data["mqtt"] = {
                    "host": "127.0.0.1",
                    "port": broker.tcp_port,
                    "station": station_name,
                }
                data["storage"] = {"state_dir": str(work / station_name)}
                cfg = parse(data, str(trace.with_suffix(".toml")))
                spec = f"fake:{trace}"
                outbox = Outbox(work / f"{station_name}.sqlite3", cfg.storage["outbox_max"])
                outboxes.append(outbox)
                publisher = MqttPublisher.from_config(cfg, outbox).start()
                publishers.append(publisher)
                station = build_station(
                    cfg,
                    sensor_spec=spec,
                    speed=args.speed,
                    clock=make_clock(spec, args.speed),
                    publisher=publisher,
                    cue_text=_Prefixed(station_name, sys.stdout),
                    loop_trace=True,
                )
                stations.append(station)
                thread = threading.Thread(
                    target=station.run, name=f"station-{station_name}", daemon=True
                )
                threads.append(thread)
            for thread in threads:
                thread.start()
            names = ", ".join(s.station for s in stations)
            log.info("demo: broker on 127.0.0.1:%d, stations %s", broker.tcp_port, names)
            print("Dashboard (Ctrl-C stops the demo):", flush=True)
            print(dashboard.url, flush=True)
            if args.open:
                webbrowser.open(dashboard.url)
            stop.wait(args.duration)
        finally:
            for station in stations:
                station.stop()
            for thread in threads:
                thread.join(timeout=5)
            for publisher in publishers:
                publisher.close()
            for outbox in outboxes:
                outbox.close()
            dashboard.stop()
            broker.stop()
    log.info("demo: stopped")
    return 0
