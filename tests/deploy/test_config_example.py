"""deploy/config.example.toml: loads, names every schema key, and shows the true defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from firmware.config import SCHEMA, load

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config.example.toml"


def keys_by_section() -> dict[str, dict[str, bool]]:
    """{section: {key: active}}; a commented-out `# key = value` line counts as inactive."""
    out: dict[str, dict[str, bool]] = {"": {}}
    section = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line):
            section = m.group(1)
            out.setdefault(section, {})
        elif m := re.fullmatch(r"(# )?(\w+) = .+", line):
            out[section][m.group(2)] = m.group(1) is None
    return out


def test_example_loads():
    load(EXAMPLE)


def test_every_schema_key_is_in_the_example_and_nothing_else():
    found = keys_by_section()
    assert {s: set(k) for s, k in found.items()} == {s: set(k) for s, k in SCHEMA.items()}


def test_active_values_are_the_defaults_and_only_unset_keys_are_commented():
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for section, keys in keys_by_section().items():
        for key, active in keys.items():
            default = SCHEMA[section][key].default
            assert active == (default is not None), f"[{section}] {key}"
            if active:
                value = data[key] if section == "" else data[section][key]
                assert value == default, f"[{section}] {key}: {value!r} != {default!r}"


def test_every_key_has_a_comment_above_it():
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"(# )?\w+ = .+", line):
            above = lines[i - 1]
            assert above.startswith("#") and not re.fullmatch(r"# \w+ = .+", above), line
