"""`repsled` command line: one subcommand per module in firmware/commands.

Command modules import their heavy dependencies inside `run`, so `repsled --help` and the
device's start-up stay lean.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from firmware import __version__

COMMANDS: dict[str, str] = {
    "replay": "replay a recorded trace through the engine and print reps and sets",
    "record": "record a raw trace from the sensor",
    "check": "hardware self-test: I2C bus, sensor, buzzer, broker",
    "calibrate": "measure bottom and lockout positions and write them to the config",
    "run": "count reps live: sensor, cues, MQTT",
    "next": "set a station's next set: athlete, load, leg, tempo (retained MQTT message)",
    "dashboard": "serve the live web dashboard",
    "hub": "store every rep and set, serve the live page, history and export",
    "history": "export the stored history: one row per rep, CSV or JSON Lines",
    "demo": "everything on one laptop: embedded broker, dashboard, simulated stations",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repsled", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"repsled {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"firmware.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2, never a traceback."""
    try:  # Ctrl-C while the command modules are still importing: quiet, like later on
        from firmware.errors import USER_ERRORS

        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        return 130
    try:
        return int(args._module.run(args) or 0)
    except USER_ERRORS as exc:
        print(f"repsled {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `repsled replay ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
