"""`repsled` command line: one subcommand per module in firmware/commands.

Only the chosen command's module is imported, and command modules import their heavy
dependencies inside `run`, so `repsled --help` and the device's start-up stay lean (a test
checks which modules each command loads).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

from firmware import __version__

if TYPE_CHECKING:
    import argparse

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


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (the first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def engine_build() -> str:
    """ "compiled" when the engine was installed compiled (docs/install.md), else "pure Python".

    Found from where `tempo.engine` would load from, without loading it.
    """
    from importlib.util import find_spec

    spec = find_spec("tempo.engine")
    origin = spec.origin if spec is not None else None
    return "compiled" if origin is not None and not origin.endswith(".py") else "pure Python"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, the arguments of that command alone (its module alone loaded)."""
    import argparse  # here: after main() had a chance to defer what argparse loads

    class Version(argparse.Action):
        """`--version` with the engine's build, looked up only when asked."""

        def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
            print(f"repsled {__version__} (engine: {engine_build()})")  # stdout, as argparse's
            parser.exit()

    parser = argparse.ArgumentParser(prog="repsled", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version", action=Version, nargs=0, help="print the version and the engine's build"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        if only and name != only:
            continue  # each sub-parser costs argparse's message lookups (gettext), ~0.2 ms
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module = importlib.import_module(f"firmware.commands.{name}")
            module.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2, never a traceback."""
    words = sys.argv[1:] if argv is None else argv
    command = chosen_command(words)
    try:  # Ctrl-C while the command modules are still importing: quiet, like later on
        if command == "run" and argv is None:
            # Before anything imports them (argparse imports shutil, which imports bz2 and
            # lzma): the station on a Pi keeps only what it uses in memory. Only in a process
            # of its own (the console script): a caller's process (a test) keeps its modules.
            from firmware.lazy import defer_unused_by_run

            defer_unused_by_run()
        args = build_parser(only=command or "").parse_args(words)
    except KeyboardInterrupt:
        return 130
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `repsled replay ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        from firmware.errors import is_user_error

        if not is_user_error(exc):
            raise
        print(f"repsled {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
