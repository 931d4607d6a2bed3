"""`repsled calibrate --config FILE`: measure the sled's bottom, lockout and parking positions.

Guided: each position is held for a few seconds and taken as the median of the readings, so a
stray reading does not matter; a wobbly hold or a flaky sensor is refused rather than written.
The values go into [sled] of the config file with tomlkit, keeping the user's comments and
other keys.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

HOLD_S = 3.0
MAX_SPREAD_MM = 15.0
MAX_FAILED_FRACTION = 0.2
ATTEMPTS = 3
OUT_OF_RANGE_MM = 8000

STEPS: tuple[tuple[str, str], ...] = (
    ("bottom", "Bring the sled to the bottom of a full rep, knees bent, and hold it still."),
    ("lockout", "Extend your legs fully, knees straight, and hold the sled still."),
    ("park", "Let the sled rest where it parks between sets."),
)


class CalibrationError(Exception):
    """A measurement that must not be written: unstable, or too many failed reads."""


@dataclass(frozen=True, slots=True)
class Measurement:
    median_mm: float
    spread_mm: float  # standard deviation
    samples: int
    failed: int

    def describe(self) -> str:
        return (
            f"{self.median_mm:.0f} mm (spread {self.spread_mm:.1f} mm, "
            f"{self.samples} readings, {self.failed} failed)"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        metavar="FILE",
        help="config TOML to update (created with `version = 1` if absent)",
    )
    parser.add_argument(
        "--sensor", metavar="SPEC", help='"vl53l0x" or "fake:TRACE.csv" (default: [sensor] kind)'
    )


def measure(source: Any, clock: Any, *, period_s: float, hold_s: float = HOLD_S) -> Measurement:
    """Sample for `hold_s` through the sampling loop; refuse a wobbly or flaky hold."""
    from firmware.station.loop import SamplingLoop

    readings: list[int] = []
    failed = 0

    def sample(_t_s: float, distance_mm: int | None) -> None:
        nonlocal failed
        if distance_mm is None or distance_mm >= OUT_OF_RANGE_MM:
            failed += 1
        else:
            readings.append(distance_mm)

    SamplingLoop(source, clock, period_s=period_s, on_sample=sample).run(hold_s)
    total = len(readings) + failed
    if total == 0 or failed > MAX_FAILED_FRACTION * total:
        raise CalibrationError(
            f"{failed} of {total} readings failed or out of range: check the sensor "
            "(`repsled check`) and that the sled is within 2 m"
        )
    spread = statistics.pstdev(readings) if len(readings) > 1 else 0.0
    m = Measurement(float(statistics.median(readings)), spread, len(readings), failed)
    if spread > MAX_SPREAD_MM:
        raise CalibrationError(
            f"unstable: {m.describe()}; the spread must be at most {MAX_SPREAD_MM:g} mm"
        )
    return m


def guided(
    source: Any,
    clock: Any,
    *,
    period_s: float,
    ask: Callable[[str], str] = input,
    out: TextIO | None = None,
    hold_s: float = HOLD_S,
) -> dict[str, float]:
    """Prompt, wait for Enter, measure; retry an unstable hold. Returns median per step."""
    out = out or sys.stdout
    values: dict[str, float] = {}
    for n, (name, prompt) in enumerate(STEPS, 1):
        out.write(f"\nStep {n} of {len(STEPS)}: {prompt}\n")
        for attempt in range(1, ATTEMPTS + 1):
            out.flush()
            answer = ask(f"Press Enter when ready (hold for {hold_s:g} s), q to quit: ")
            if answer.strip().lower() == "q":
                raise CalibrationError("quit; the config was not changed")
            out.write("measuring...\n")
            out.flush()
            try:
                m = measure(source, clock, period_s=period_s, hold_s=hold_s)
            except CalibrationError as exc:
                if attempt == ATTEMPTS:
                    raise CalibrationError(f"{name}: {exc}") from None
                out.write(f"{name}: {exc}. Try again.\n")
                continue
            out.write(f"{name}: {m.describe()}\n")
            values[name] = m.median_mm
            break
    return values


def sled_values(measured: dict[str, float], current: Any) -> dict[str, Any]:
    """[sled] keys from the measurements, checked by the engine's own validation."""
    from dataclasses import replace

    bottom = round(measured["bottom"])
    lockout = round(measured["lockout"])
    park = measured["park"]
    start = "bottom" if abs(park - bottom) <= abs(park - lockout) else "top"
    # Raises SettingsError naming the key, e.g. a range of motion under 100 mm.
    replace(current, bottom_mm=float(bottom), lockout_mm=float(lockout), start=start)
    return {"bottom_mm": bottom, "lockout_mm": lockout, "start": start}


def write_sled(path: Path, values: dict[str, Any]) -> None:
    """Set [sled] keys in place, keeping every other key and comment; atomic replace."""
    import tomlkit

    from firmware.config import CONFIG_VERSION, ConfigError

    if path.exists():
        try:
            doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        except tomlkit.exceptions.ParseError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    else:
        doc = tomlkit.document()
        doc.add("version", CONFIG_VERSION)
    if "sled" not in doc:
        doc.add("sled", tomlkit.table())
    sled = doc["sled"]
    for key, value in values.items():
        sled[key] = value  # type: ignore[index]
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(tomlkit.dumps(doc))
            f.flush()
            os.fsync(f.fileno())
        if path.exists():  # keep the owner and mode of e.g. a root:repsled 0640 file
            st = path.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from firmware import config as config_mod
    from firmware.station.sensors import configured_source, make_clock, resolve_spec

    path: Path = args.config
    cfg = config_mod.load(path) if path.exists() else config_mod.parse({}, str(path))
    spec = resolve_spec(args.sensor, cfg.sensor, cfg.path)
    sensor = cfg.sensor
    clock = make_clock(spec)
    source = configured_source(spec, sensor, clock)
    try:
        measured = guided(source, clock, period_s=sensor["timing_budget_ms"] / 1000.0)
    except (CalibrationError, EOFError) as exc:
        message = str(exc) if isinstance(exc, CalibrationError) else "no input; nothing written"
        print(f"repsled calibrate: {message}", file=sys.stderr)
        return 1
    finally:
        source.close()
    from tempo.settings import SettingsError

    try:
        values = sled_values(measured, cfg.engine)
    except SettingsError as exc:
        print(
            f"repsled calibrate: refused: bottom {measured['bottom']:.0f} mm, lockout "
            f"{measured['lockout']:.0f} mm: {exc}; nothing written",
            file=sys.stderr,
        )
        return 1
    write_sled(path, values)
    config_mod.load(path)  # what we wrote must load
    print(
        f"\nwrote [sled] bottom_mm = {values['bottom_mm']}, lockout_mm = {values['lockout_mm']}, "
        f'start = "{values["start"]}" to {path}'
    )
    return 0
