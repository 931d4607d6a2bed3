"""Each command loads only what it uses: checked in a fresh interpreter, through sys.modules.

On a Pi Zero 2 W every module costs start-up time and memory, so `repsled --help` loads none
of the heavy libraries, `replay` no hardware or network library, and `run` paho only when a
broker is configured (and then not the parts of the standard library paho never uses).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.lazy import GPIOZERO_FUNCTIONS, UNUSED_BY_RUN
from tests.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "examples" / "traces" / "reverse_press_clean.csv"
HEAVY = ("paho", "gpiozero", "sqlite3", "tomllib", "logging", "smbus2", "adafruit_vl53l0x")

# Runs `repsled ARGS`, then prints which modules ended up loaded and really imported (a module
# deferred by firmware.lazy is in sys.modules as a placeholder until it is used).
PROBE = """
import atexit, json, sys
def report():
    loaded = sorted({name.split(".")[0] for name in sys.modules})
    real = sorted(
        name for name, module in sys.modules.items()
        if module is not None and type(module).__name__ != "_Deferred"
    )
    print(json.dumps({"loaded": loaded, "real": real}), file=sys.stderr)
atexit.register(report)
sys.argv[0] = "repsled"
from firmware.cli import main
sys.exit(main())  # as the console script calls it
"""


def probed(probe: str, *args: str) -> list[str]:
    """The stderr lines of `repsled ARGS` run by the `probe` script in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GPIOZERO_PIN_FACTORY": "mock"}
    env.pop("NOTIFY_SOCKET", None)
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.strip().splitlines()


def modules_of(*args: str) -> tuple[set[str], set[str]]:
    """Top-level packages loaded, and module names really imported, by `repsled ARGS`."""
    report = json.loads(probed(PROBE, *args)[-1])
    return set(report["loaded"]), set(report["real"])


def test_help_loads_no_heavy_library() -> None:
    loaded, _ = modules_of("--help")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_command_help_loads_only_that_command() -> None:
    _, real = modules_of("replay", "--help")
    commands = {name for name in real if name.startswith("firmware.commands.")}
    assert commands == {"firmware.commands.replay"}


def test_replay_loads_no_hardware_network_or_storage_library() -> None:
    loaded, _ = modules_of("replay", str(TRACE))
    assert loaded.isdisjoint({"paho", "gpiozero", "sqlite3", "smbus2", "adafruit_vl53l0x"})


def write_config(tmp_path: Path, mqtt: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        TRACE.with_suffix(".toml").read_text(encoding="utf-8")
        + f'\n[cues]\nbuzzer = "active"\n[mqtt]\n{mqtt}\n'
        + f'[storage]\nstate_dir = "{tmp_path / "state"}"\n',
        encoding="utf-8",
    )
    return path


def test_run_without_a_broker_loads_neither_paho_nor_sqlite(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    loaded, _ = modules_of(
        "run", "--config", str(config), "--sensor", f"fake:{TRACE}", "--speed", "20"
    )
    assert "paho" not in loaded
    assert "sqlite3" not in loaded


@pytest.mark.broker
def test_run_with_a_broker_loads_paho_but_not_what_paho_never_uses(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        config = write_config(
            tmp_path, f'host = "127.0.0.1"\nport = {broker.port}\nstation = "lean"'
        )
        loaded, real = modules_of(
            "run", "--config", str(config), "--sensor", f"fake:{TRACE}", "--speed", "20"
        )
    assert {"paho", "sqlite3"} <= loaded
    # ssl and urllib.request (with http.client and email's parser) only if TLS or a proxy
    # asks for them: a plain broker connection, its reads included, leaves them unloaded.
    assert "http.client" not in real
    # Every deferral still saves its memory: no dependency uses the module after all.
    assert real.isdisjoint(UNUSED_BY_RUN), sorted(real & set(UNUSED_BY_RUN))
    # Nor the modules of functions gpiozero imports by name but never calls for a buzzer
    # (station/pins.py picks gpiozero's own pin factory without its entry points).
    assert real.isdisjoint(GPIOZERO_FUNCTIONS), sorted(real & set(GPIOZERO_FUNCTIONS))


# Runs `repsled run ARGS` and prints the modules loaded at the moment the chip is started.
AT_CHIP_START = """
import json, sys
sys.argv[0] = "repsled"
import firmware.station.sensors as sensors
start_early = sensors.start_early
def spy(source):
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
    return start_early(source)
sensors.start_early = spy
from firmware.cli import main
sys.exit(main())
"""


def test_run_starts_the_chip_before_the_rest_of_the_config_and_logging(tmp_path: Path) -> None:
    """The chip measures (a timing budget) while the rest of the start-up loads."""
    config = write_config(tmp_path, "")
    args = ["run", "--config", str(config), "--sensor", f"fake:{TRACE}", "--speed", "50"]
    at_start = set(json.loads(probed(AT_CHIP_START, *args)[0]))
    assert "tomllib" in at_start  # the config file was read, its [sensor] table checked
    later = {"logging", "firmware.station.next_set", "tempo.settings", "gpiozero", "paho"}
    assert at_start.isdisjoint(later), sorted(at_start & later)
