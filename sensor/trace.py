"""Trace files: the recorded distance stream as CSV with `# key=value` metadata.

The format is public: docs/trace-format.md.

The reader streams (constant memory, one line at a time) and names file and line in every
error; the writer is what `repsled record` uses and flushes often so a power cut loses little.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TRACE_FORMAT_VERSION = 1
REQUIRED_COLUMNS = ("t_s", "distance_mm")


SHOWN_MAX = 60  # characters of a bad field or header quoted in an error message


def _shown(text: str) -> str:
    """A piece of the file for an error message: escaped (no control characters) and cut."""
    if len(text) > SHOWN_MAX:
        return repr(text[:SHOWN_MAX]) + f"... ({len(text)} characters)"
    return repr(text)


class TraceError(ValueError):
    """Malformed trace: the message starts with `FILE:LINE:`."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: `distance_mm` as the sensor reported it, None for a read error."""

    t_s: float
    distance_mm: int | None


class TraceReader:
    """Iterates the samples of a trace file; `metadata` is read when the file is opened."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = str(path)
        try:
            self._file: IO[bytes] = open(self.path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise TraceError(f"{self.name}: no such trace file") from None
        except OSError as exc:
            raise TraceError(f"{self.name}: cannot open: {exc.strerror}") from None
        self.metadata: dict[str, str] = {}
        self._line_no = 0
        self._t_col = 0
        self._d_col = 1
        self._ncols = 2
        self._read_header()

    def _fail(self, message: str) -> TraceError:
        self.close()
        return TraceError(f"{self.name}:{self._line_no}: {message}")

    def _next_line(self) -> str | None:
        raw = self._file.readline()
        if not raw:
            return None
        self._line_no += 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail("not UTF-8 text") from None
        return line.rstrip("\r\n")

    def _read_header(self) -> None:
        while True:
            line = self._next_line()
            if line is None:
                raise self._fail("no header line (expected columns t_s,distance_mm)")
            if line.startswith("\ufeff"):
                line = line[1:]
            if line.startswith("#"):
                key, sep, value = line[1:].strip().partition("=")
                if sep and key.strip():
                    self.metadata[key.strip()] = value.strip()
                continue
            if not line.strip():
                continue
            columns = [c.strip() for c in line.split(",")]
            for col in REQUIRED_COLUMNS:
                if col not in columns:
                    raise self._fail(f"header lacks the {col} column (got {_shown(line)})")
            self._t_col = columns.index("t_s")
            self._d_col = columns.index("distance_mm")
            self._ncols = len(columns)
            version = self.metadata.get("format_version")
            if version is not None and version != str(TRACE_FORMAT_VERSION):
                raise self._fail(
                    f"format_version={_shown(version)} is not supported "
                    f"(this reader reads {TRACE_FORMAT_VERSION})"
                )
            return

    def __iter__(self) -> Iterator[Sample]:
        for t_s, reading in self.pairs():
            yield Sample(t_s, reading)

    def pairs(self) -> Iterator[tuple[float, int | None]]:
        """The samples as plain `(t_s, distance_mm)` tuples: the fast path (replay).

        A line of two plain numbers in the usual column order is parsed from its bytes
        (`float` and `int` take ASCII bytes as they take text); any other line (a comment,
        a read error, other columns, a mistake) goes through `_parsed_text`, which has the
        last word on it, error messages included.
        """
        last_t = -math.inf
        inf = math.inf
        simple = (self._t_col, self._d_col, self._ncols) == (0, 1, 2)
        line_no = self._line_no
        parsed_text = self._parsed_text
        try:
            for raw in self._file:
                line_no += 1
                fields = raw.split(b",")
                if simple and len(fields) == 2:
                    try:
                        t_s = float(fields[0])
                        reading = int(fields[1])
                    except ValueError:
                        pass
                    else:
                        if 0.0 <= t_s < inf and t_s >= last_t and reading >= 0:
                            last_t = t_s
                            yield t_s, reading
                            continue
                sample = parsed_text(raw, line_no, last_t)
                if sample is not None:
                    last_t = sample[0]
                    yield sample
        finally:
            self._line_no = line_no
        self.close()

    def _parsed_text(
        self, raw: bytes, line_no: int, last_t: float
    ) -> tuple[float, int | None] | None:
        """Line `line_no` of the samples as text: its sample, None for a comment or a blank
        line; a `TraceError` naming the line when it is malformed."""
        self._line_no = line_no
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail("not UTF-8 text") from None
        if line[:1] == "#" or not line.strip():
            return None
        fields = line.split(",")
        ncols = self._ncols
        if len(fields) != ncols:
            raise self._fail(f"expected {ncols} fields, got {len(fields)}")
        t_text, d_text = fields[self._t_col], fields[self._d_col]
        try:
            t_s = float(t_text)  # surrounding blanks and the line end are allowed
        except ValueError:
            raise self._fail(f"t_s is not a number: {_shown(t_text.strip())}") from None
        if not 0.0 <= t_s < math.inf:  # also refuses NaN
            raise self._fail(f"t_s must be a finite number >= 0, got {_shown(t_text.strip())}")
        if t_s < last_t:
            raise self._fail(f"t_s goes backwards ({t_s:g} after {last_t:g})")
        try:
            reading: int | None = int(d_text)
        except ValueError:
            d_text = d_text.strip()
            if d_text:
                raise self._fail(f"distance_mm is not an integer: {_shown(d_text)}") from None
            reading = None
        if reading is not None and reading < 0:
            raise self._fail(f"distance_mm is negative: {reading}")
        return t_s, reading

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_trace(path: str | Path) -> TraceReader:
    """Open a trace; iterate it for samples, read `.metadata` for its `# key=value` lines."""
    return TraceReader(path)


def _check_meta(key: str, value: str) -> None:
    if not key or any(c in key for c in "=\n\r,#") or key != key.strip():
        raise ValueError(f"bad metadata key {key!r}")
    if "\n" in value or "\r" in value:
        raise ValueError(f"metadata value for {key!r} spans lines")


class TraceWriter:
    """Writes a trace; fsyncs at least every `flush_every_s` so a power cut loses little."""

    def __init__(
        self,
        target: str | Path | IO[str],
        metadata: dict[str, str] | None = None,
        *,
        flush_every_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._owns = True
        else:
            self._file = target
            self._owns = False
        self._flush_every_s = flush_every_s
        self._monotonic = monotonic
        self._last_flush = self._monotonic()
        self.samples_written = 0
        meta = {"format_version": str(TRACE_FORMAT_VERSION), **(metadata or {})}
        for key, value in meta.items():
            _check_meta(key, str(value))
            self._file.write(f"# {key}={value}\n")
        self._file.write("t_s,distance_mm\n")
        self.flush()

    def write(self, t_s: float, distance_mm: int | None) -> None:
        """Append one sample; None is written as an empty field (read error)."""
        d = "" if distance_mm is None else str(int(distance_mm))
        self._file.write(f"{t_s:.4f},{d}\n")
        self.samples_written += 1
        now = self._monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        """Push buffered lines to disk, through the OS cache when the target is a real file."""
        self._file.flush()
        if self._owns:
            with contextlib.suppress(OSError, io.UnsupportedOperation):
                os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file.closed:
            return
        self.flush()
        if self._owns:
            self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
