"""Outputs built while the station already samples (`repsled run`): nothing is lost or reordered.

The station holds events and sensor statuses until its buzzer, button and publisher are ready
and then hands them over in order, so a station whose outputs come late publishes and cues
exactly what one built with its outputs publishes and cues.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from firmware.clock import FakeClock
from firmware.config import load
from firmware.station.outputs import LateOutputs, Outputs
from firmware.station.sensors import open_source
from firmware.station.station import Station
from tests.publisher_stub import RecordingPublisher

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"


class RecordingCues:
    """A CuePlayer stand-in: what it was asked to play, in order."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def handle(self, item: Any) -> None:
        state = getattr(item, "state", None)
        if state is not None:
            self.heard.append(f"{state}:{item.reason}")
        else:
            self.heard.append(f"{type(item).__name__}:{getattr(item, 'rep', '')}")

    def update(self, _now_s: float) -> None:
        pass


class ScriptedLateOutputs:
    """A LateOutputs whose build finishes after `ready_after` polls (never, if None)."""

    def __init__(self, outputs: Outputs, ready_after: int | None, error: Exception | None = None):
        self.outputs = outputs
        self.ready_after = ready_after
        self.error = error
        self.polls = 0
        self.started = 0
        self.waited = False

    def start(self) -> None:
        self.started += 1

    def poll(self) -> Outputs | None:
        self.polls += 1
        if self.ready_after is None or self.polls <= self.ready_after:
            return None
        if self.error is not None:
            raise self.error
        return self.outputs

    def wait(self) -> Outputs:
        self.waited = True
        if self.error is not None:
            raise self.error
        return self.outputs

    def close(self) -> None:
        pass


def _station(
    late: ScriptedLateOutputs | None, state_dir: Path
) -> tuple[Station, RecordingPublisher, RecordingCues]:
    cfg = load(TRACE.with_suffix(".toml"))
    cfg.storage["state_dir"] = str(state_dir)  # all-time totals start from zero
    clock = FakeClock()
    source = open_source(
        f"fake:{TRACE}",
        bus=1,
        address=0x29,
        timing_budget_ms=cfg.sensor["timing_budget_ms"],
        io_timeout_s=cfg.sensor["io_timeout_s"],
        clock=clock,
    )
    publisher, cues = RecordingPublisher(), RecordingCues()
    if late is None:
        station = Station(
            cfg, clock=clock, source=source, session="S1", publisher=publisher, cues=cues
        )  # type: ignore[arg-type]
    else:
        late.outputs = Outputs(publisher=publisher, cues=cues)  # type: ignore[arg-type]
        station = Station(cfg, clock=clock, source=source, session="S1", late_outputs=late)  # type: ignore[arg-type]
    return station, publisher, cues


def _without_wall_clock(calls: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The summary's `last_rep_at` is the wall clock when the rep was published."""
    return [
        (kind, {k: v for k, v in p.items() if k != "last_rep_at"} if kind == "summary" else p)
        for kind, p in calls
    ]


@pytest.fixture(scope="module")
def built_first(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[RecordingPublisher, RecordingCues]:
    station, publisher, cues = _station(None, tmp_path_factory.mktemp("state"))
    station.run()
    assert len(publisher.reps) >= 8 and len(publisher.sets) == 2  # the trace's two sets
    return publisher, cues


@pytest.mark.parametrize("ready_after", [0, 1, 40, 600, None])
def test_late_outputs_publish_and_cue_what_built_ones_do(
    built_first: tuple[RecordingPublisher, RecordingCues],
    ready_after: int | None,
    tmp_path: Path,
) -> None:
    """Ready at the first reading, a second later, after the first reps, or only after the
    loop ended (a trace shorter than the build)."""
    late = ScriptedLateOutputs(Outputs(), ready_after)
    station, publisher, cues = _station(late, tmp_path)
    station.run()
    want_publisher, want_cues = built_first
    assert _without_wall_clock(publisher.calls) == _without_wall_clock(want_publisher.calls)
    assert cues.heard == want_cues.heard
    assert cues.heard[0] == "sensor_ok:started"  # held, then played: the "ready" beep
    assert late.started >= 1
    assert late.waited == (ready_after is None)
    assert station.publisher is publisher and station.retained is not None


def test_reps_before_the_outputs_are_held_not_published(tmp_path: Path) -> None:
    late = ScriptedLateOutputs(Outputs(), ready_after=None)
    station, publisher, _ = _station(late, tmp_path)
    station.loop.run(60.0)  # the loop alone: the station never got to attach them
    assert not station.reps and publisher.calls == []
    assert any(type(item).__name__ == "Rep" for item in station._held)


def test_a_build_error_ends_the_run_with_it(tmp_path: Path) -> None:
    late = ScriptedLateOutputs(Outputs(), ready_after=3, error=RuntimeError("GPIO17 is busy"))
    station, _, _ = _station(late, tmp_path)
    with pytest.raises(RuntimeError, match="GPIO17 is busy"):
        station.run()


def test_late_outputs_build_once_on_a_thread_and_close_what_they_built() -> None:
    release = threading.Event()
    builds: list[str] = []
    closed: list[str] = []

    class Closing(Outputs):
        def close(self) -> None:
            closed.append(threading.current_thread().name)

    def build() -> Outputs:
        builds.append(threading.current_thread().name)
        release.wait()
        return Closing()

    late = LateOutputs(build)
    late.close()  # never started: nothing to wait for
    assert late.poll() is None
    late.start()
    late.start()
    assert late.poll() is None  # still building
    release.set()
    outputs = late.wait()
    assert isinstance(outputs, Closing) and late.poll() is outputs
    late.close()
    assert builds == ["outputs"] and closed == ["MainThread"]


def test_late_outputs_hand_the_build_error_to_the_caller() -> None:
    def build() -> Outputs:
        raise ValueError("[cues] pin: 99 is not a GPIO pin")

    late = LateOutputs(build)
    with pytest.raises(ValueError, match="not a GPIO pin"):
        late.wait()
    with pytest.raises(ValueError, match="not a GPIO pin"):
        late.poll()
    late.close()  # nothing was built: nothing to close
