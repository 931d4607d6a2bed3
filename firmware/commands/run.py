"""`repsled run`: count reps live, cue the lifter, publish over MQTT; the systemd service."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="config TOML")
    parser.add_argument(
        "--sensor", metavar="SPEC", help='"vl53l0x" or "fake:TRACE.csv" (default: [sensor] kind)'
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="play a fake sensor N times faster"
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--record", type=Path, metavar="OUT.csv", help="also record the trace")
    parser.add_argument(
        "--force", action="store_true", help="let --record overwrite an existing OUT.csv"
    )
    parser.add_argument(
        "--text-cues", action="store_true", help="print cues on stdout instead of beeping"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log phases and debug lines")


def setup_logging(verbose: bool) -> None:
    """One line per event on stderr; journald adds the time stamps."""
    import logging  # here: `run` starts the sensor first

    class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
        """Writes to whatever sys.stderr is now, so a swapped stream (tests) is never stale."""

        def emit(self, record: logging.LogRecord) -> None:
            self.stream = sys.stderr
            super().emit(record)

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=[_StderrHandler()],
        force=True,
    )
    if not verbose:  # libraries' chatter (the demo's embedded broker is verbose at INFO)
        for name in ("paho", "amqtt", "transitions", "websockets"):
            logging.getLogger(name).setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    from firmware.config import choose, parse_file, read, sensor_section, source_name
    from firmware.station.sensors import (
        configured_source,
        fake_trace_path,
        make_clock,
        recording_metadata,
        resolve_spec,
        start_early,
    )

    # Same rule as `replay`: a fake trace's .toml beside it, unless --config says otherwise.
    trace_played = fake_trace_path(args.sensor) if args.sensor else None
    config_path, config_why = choose(args.config, trace_played)
    document = read(config_path)
    sensor = sensor_section(document, source_name(config_path))
    spec = resolve_spec(args.sensor, sensor, config_path)
    clock = make_clock(spec, args.speed)

    # The chip first: it takes its first measurement (a timing budget, 20-200 ms) while the
    # rest of the config is checked and the station loads. The buzzer, the button and MQTT
    # (gpiozero and paho: most of the start-up) are built on a thread of their own once the
    # sensor is started; the station holds what happens until they are ready
    # (station/outputs.py).
    try:
        source = configured_source(spec, sensor, clock, speed=args.speed)
    except Exception:
        parse_file(document, config_path)  # a config mistake is reported first, as always
        raise
    started = start_early(source)
    try:
        cfg = parse_file(document, config_path)
        if args.record:
            from firmware.commands.record import check_trace_out

            check_trace_out(args.record, force=args.force, playing=fake_trace_path(spec))
    except BaseException:
        source.close()
        raise
    setup_logging(args.verbose)
    import logging
    import signal

    logging.getLogger("repsled").info("using %s", config_why)  # once the options are fine

    from firmware.station.outputs import LateOutputs, build_run_outputs
    from firmware.station.sdnotify import Notifier
    from firmware.station.station import Station

    cue_text = sys.stdout if args.text_cues else None
    outputs = LateOutputs(lambda: build_run_outputs(cfg, clock=clock, cue_text=cue_text))
    trace = None
    try:
        if args.record:
            from firmware.commands.record import open_trace_writer

            trace = open_trace_writer(
                args.record, recording_metadata(spec, cfg.sensor, speed=args.speed)
            )
        station = Station(
            cfg,
            clock=clock,
            source=source,
            notifier=Notifier.from_env(),
            trace=trace,
            late_outputs=outputs,
            loop_options={"source_started": started},
        )

        def on_signal(signum: int, _frame: object) -> None:
            logging.getLogger("repsled").info("%s: stopping", signal.Signals(signum).name)
            station.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        station.run(args.duration)
    finally:
        source.close()  # the loop closes it too; here for a station that never ran
        if trace is not None:
            trace.close()
        outputs.close()
    return 0
