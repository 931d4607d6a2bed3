"""Start-up and memory of the device's commands, measured on the fake chip.

`repsled run` is started as the service starts it: a config with a broker (a real mosquitto on
a free port), the buzzer on (gpiozero's mock pin factory stands in for the GPIO chip) and the
fake chip playing a trace at real speed. Printed:

- start-up to first reading: process start to the "sensor_ok (started)" log line, the first
  good reading (median of several starts);
- RSS after 20 s of `repsled run` (VmRSS from /proc);
- wall time and peak RSS of `repsled --help` and of a `repsled replay`.

On a Pi Zero 2 W start-up is several times longer (slower core, SD card); see
docs/performance.md. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.mosquitto

from tests.mosquitto import Mosquitto, mosquitto_binary  # noqa: E402

TRACE = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"
FIRST_READING = "sensor_ok (started)"
STARTS = 5
RSS_AFTER_S = 20.0
START_TIMEOUT_S = 30.0


# What the `repsled` console script runs (the systemd unit starts that script): the source tree
# in the working directory (see --tree) is imported instead of the installed package.
CONSOLE_SCRIPT = (
    "import sys\nfrom firmware.cli import main\nsys.argv[0] = 'repsled'\nsys.exit(main())"
)


def repsled_command() -> list[str]:
    """`repsled` as the console script starts it, from the tree in the working directory."""
    return [sys.executable, "-c", CONSOLE_SCRIPT]


def write_config(folder: Path, port: int | None) -> Path:
    mqtt = f'host = "127.0.0.1"\nport = {port}\nstation = "bench"\n' if port else ""
    path = folder / "config.toml"
    path.write_text(
        f'version = 1\n[sensor]\nkind = "fake:{TRACE}"\n'
        f'[cues]\nbuzzer = "active"\npin = 17\n'
        f"[mqtt]\n{mqtt}"
        f'[storage]\nstate_dir = "{folder / "state"}"\n',
        encoding="utf-8",
    )
    return path


BYTECODE_CACHE = Path(tempfile.mkdtemp(prefix="repsled-bench-pycache-"))
FROM_SOURCE = False  # --from-source: compile every module at every start (no bytecode)


def environment(tree: Path) -> dict[str, str]:
    """As on the device: pip compiled every module to bytecode at install, so a start loads
    .pyc files instead of compiling sources (which costs time and memory). A private cache
    directory stands in for that, whatever PYTHONDONTWRITEBYTECODE says here."""
    env = dict(
        os.environ,
        GPIOZERO_PIN_FACTORY="mock",
        PYTHONPATH=str(tree),
        PYTHONPYCACHEPREFIX=str(BYTECODE_CACHE),
    )
    env.pop("NOTIFY_SOCKET", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if FROM_SOURCE:
        env.pop("PYTHONPYCACHEPREFIX")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_run(config: Path, tree: Path) -> tuple[subprocess.Popen[str], float]:
    """Start `repsled run`; return it once it logged its first reading, and the time taken."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [*repsled_command(), "run", "--config", str(config), "--duration", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tree,
        env=environment(tree),
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if FIRST_READING in line:
            return proc, time.monotonic() - started
        if time.monotonic() - started > START_TIMEOUT_S:
            break
    proc.kill()
    raise SystemExit(f"repsled run gave no first reading: {proc.communicate()[1][-500:]}")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


HEAVY = ("paho", "gpiozero", "sqlite3", "ssl", "adafruit_vl53l0x", "smbus2", "tomllib", "logging")
_PROBE = """
import atexit, sys
def report():
    heavy = [m for m in {heavy!r} if m in sys.modules]
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak_mb = int(status.split()[0]) / 1024
    print(f"@@ {{peak_mb:.1f}} {{','.join(heavy) or '-'}}", file=sys.stderr)
atexit.register(report)
sys.argv = ["repsled", *{args!r}]
from firmware.cli import main
sys.exit(main())
"""


def one_shot(args: list[str], tree: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and the heavy modules loaded by a short command."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY, args=args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tree,
        env=environment(tree),
        check=False,
    )
    wall_s = time.monotonic() - started
    report = [line for line in done.stderr.splitlines() if line.startswith("@@ ")]
    if done.returncode != 0 or not report:
        raise SystemExit(f"repsled {' '.join(args)} failed: {done.stderr[-500:]}")
    _, peak, heavy = report[-1].split(" ", 2)
    return wall_s, float(peak), heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=STARTS)
    parser.add_argument("--rss-after", type=float, default=RSS_AFTER_S, metavar="S")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        metavar="DIR",
        help="measure the repsled source tree in DIR (repeat to compare trees, interleaved; "
        "default: this one)",
    )
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="no bytecode: every start compiles the sources (a checkout run in place by a "
        "user who does not write .pyc files); the default loads bytecode, as an install does",
    )
    opts = parser.parse_args()
    global FROM_SOURCE  # noqa: PLW0603 (one switch read by environment())
    FROM_SOURCE = opts.from_source
    trees = [t.resolve() for t in opts.tree] if opts.tree else [ROOT]
    if mosquitto_binary() is None:
        print("skipped: mosquitto not found (apt-get install mosquitto)")
        return 0
    for tree in trees:
        label = f"[{tree.name}] " if len(trees) > 1 else ""
        for args in (["--help"], ["replay", str(TRACE)]):
            one_shot(args, tree)  # fills the bytecode cache
            wall_s, peak_mb, heavy = one_shot(args, tree)
            print(
                f"{label}repsled {args[0]:<8} {wall_s * 1e3:5.0f} ms wall, peak RSS "
                f"{peak_mb:5.1f} MB, loads: {heavy}"
            )
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        folder = Path(tmp)
        config = write_config(folder, broker.port)
        times: dict[Path, list[float]] = {tree: [] for tree in trees}
        for tree in trees:  # one start each to fill the bytecode cache
            stop(start_run(config, tree)[0])
        for _ in range(opts.starts):
            for tree in trees:  # interleaved, so that a busy machine weighs on every tree
                proc, took_s = start_run(config, tree)
                stop(proc)
                times[tree].append(took_s)
        for tree in trees:
            label = f"[{tree.name}] " if len(trees) > 1 else ""
            t = times[tree]
            print(
                f"{label}repsled run, start-up to first reading: median "
                f"{statistics.median(t):.3f} s (min {min(t):.3f}, max {max(t):.3f}, n={len(t)}; "
                "MQTT and buzzer on)"
            )
        if len(trees) == 2:
            first, last = (statistics.median(times[tree]) for tree in trees)
            print(f"start-up [{trees[1].name}] / [{trees[0].name}]: {last / first:.2f}")
        for tree in trees:
            label = f"[{tree.name}] " if len(trees) > 1 else ""
            proc, _ = start_run(config, tree)
            time.sleep(opts.rss_after)
            rss = rss_mb(proc.pid)
            alive = proc.poll() is None
            stop(proc)
            print(
                f"{label}repsled run, RSS after {opts.rss_after:g} s: {rss:.1f} MB"
                + ("" if alive else " (process had ended: figure not valid)")
            )
    shutil.rmtree(BYTECODE_CACHE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
