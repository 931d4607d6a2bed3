"""`repsled record OUT.csv`: record the raw distance stream to a trace file.

The trace is fsynced at least once a second, so a power cut loses at most a second; Ctrl-C,
SIGTERM, --duration and the end of a fake trace all end the recording cleanly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from sensor.trace import TraceWriter

TTY_REFRESH_S = 0.2
LOG_EVERY_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT.csv", help="trace file to write")
    parser.add_argument(
        "--sensor", metavar="SPEC", help='"vl53l0x" or "fake:TRACE.csv" (default: [sensor] kind)'
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="config TOML")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="play a fake sensor N times faster"
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT.csv if it exists")


class LiveLine:
    """The recorder's progress on stderr: redrawn in place on a terminal, else a line now and
    then so that logs (journald, CI) stay readable."""

    def __init__(self, out: TextIO, label: str) -> None:
        import time

        self._monotonic = time.monotonic
        self.out = out
        self.label = label
        self.tty = out.isatty()
        self.every_s = TTY_REFRESH_S if self.tty else LOG_EVERY_S
        self.samples = 0
        self.errors = 0
        self.t_s = 0.0
        self.distance_mm: int | None = None
        self._last_shown = self._monotonic()
        self._dirty = False

    def sample(self, t_s: float, distance_mm: int | None) -> None:
        self.t_s = t_s
        if distance_mm is None:
            self.errors += 1
        else:
            self.samples += 1
            self.distance_mm = distance_mm
        now = self._monotonic()
        if now - self._last_shown >= self.every_s:
            self._last_shown = now
            self.show()

    def text(self) -> str:
        rate_hz = self.samples / self.t_s if self.t_s > 0 else 0.0
        if self.distance_mm is None:
            dist = "-"
        elif self.distance_mm >= 8000:
            dist = "out of range"
        else:
            dist = f"{self.distance_mm} mm"
        return (
            f"{self.label}: {self.samples} samples, {rate_hz:.1f} Hz, {dist}, "
            f"{self.errors} read errors, {self.t_s:.1f} s"
        )

    def show(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[K" + self.text())
            self._dirty = True
        else:
            self.out.write(self.text() + "\n")
        self.out.flush()

    def message(self, text: str) -> None:
        """A line of its own (status changes), not overwritten by the next redraw."""
        if self._dirty:
            self.out.write("\n")
            self._dirty = False
        self.out.write(text + "\n")
        self.out.flush()

    def end(self) -> None:
        if self._dirty:
            self.out.write("\n")
            self._dirty = False
        self.out.flush()


def check_trace_out(path: Path, *, force: bool, playing: Path | None = None) -> None:
    """Refuse a trace file name before the sensor starts: `record` and `run --record` alike.

    An existing trace is someone's recording: it is replaced only with --force, and never
    while a fake sensor is `playing` it.
    """
    from sensor.trace import TraceError

    if playing is not None and path.resolve() == playing.resolve():
        raise TraceError(f"{path}: is the trace the fake sensor plays; record to another file")
    if path.is_dir():
        raise TraceError(f"{path}: is a folder; name a file in it, e.g. {path / 'trace.csv'}")
    if not path.parent.is_dir():
        raise TraceError(f"{path}: folder {path.parent} does not exist")
    if path.exists() and not force:
        raise TraceError(f"{path}: already exists (pass --force to overwrite)")


def open_trace_writer(path: Path, metadata: dict[str, str]) -> TraceWriter:
    """A TraceWriter, or one line naming the file when it cannot be written."""
    from sensor.trace import TraceError, TraceWriter

    try:
        return TraceWriter(path, metadata, flush_every_s=1.0)
    except OSError as exc:
        raise TraceError(f"{path}: cannot write: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    import signal

    from firmware import config as config_mod
    from firmware.station.loop import SamplingLoop, SensorStatus
    from firmware.station.sensors import (
        configured_source,
        fake_trace_path,
        make_clock,
        recording_metadata,
        resolve_spec,
        trace_origin_s,
    )

    cfg = config_mod.load(args.config)
    spec = resolve_spec(args.sensor, cfg.sensor, cfg.path)
    if args.duration is not None and not args.duration > 0:
        raise config_mod.ConfigError(f"--duration: must be positive, not {args.duration:g}")
    check_trace_out(args.out, force=args.force, playing=fake_trace_path(spec))
    clock = make_clock(spec, args.speed)
    sensor = cfg.sensor
    source = configured_source(spec, sensor, clock, speed=args.speed)
    metadata = recording_metadata(spec, sensor, speed=args.speed)
    writer = open_trace_writer(args.out, metadata)

    live = LiveLine(sys.stderr, f"recording {args.out}")

    def status(s: SensorStatus) -> None:
        if s.state == "sensor_ok":
            live.message(f"sensor ok ({s.reason}) at {s.t_s:.1f} s")
        else:
            live.message(f"sensor fault: {s.reason} at {s.t_s:.1f} s ({s.errors_total} errors)")

    loop = SamplingLoop(
        source,
        clock,
        period_s=sensor["timing_budget_ms"] / 1000.0,
        trace=writer,
        on_sample=live.sample,
        on_status=status,
        # A fake's trace time is the loop's; a real recording starts at zero now.
        t0_s=trace_origin_s(source),
    )

    def on_signal(_signum: int, _frame: object) -> None:
        loop.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stats = loop.run(args.duration)
    except BaseException:
        writer.close()
        if writer.samples_written == 0:  # e.g. no I2C bus: leave no empty trace behind
            args.out.unlink(missing_ok=True)
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        writer.close()
        live.end()
    ended = {"end_of_trace": "end of the fake trace", "duration": "duration reached"}
    print(
        f"wrote {writer.samples_written} samples ({stats.errors_total} read errors, "
        f"{stats.overruns} overruns) to {args.out}; {ended.get(stats.ended_by, 'stopped')}",
        file=sys.stderr,
    )
    return 0
