"""Config loading: defaults, strict keys, one-line errors, and docs that list every key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware.config import SCHEMA, ConfigError, load, parse

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_issue() -> None:
    cfg = load(None)
    assert (cfg.engine.bottom_mm, cfg.engine.lockout_mm, cfg.engine.start) == (150, 520, "bottom")
    assert cfg.engine.target_eccentric_s == 3.0
    assert (cfg.engine.partial_below, cfg.engine.locked_above) == (0.80, 0.97)
    assert cfg.engine.rest_s == 8.0
    assert cfg.sensor["timing_budget_ms"] == 33


def test_direction_follows_the_order_of_bottom_and_lockout() -> None:
    assert parse({"sled": {"bottom_mm": 150, "lockout_mm": 520}}).engine.direction == 1
    flipped = parse({"sled": {"bottom_mm": 600, "lockout_mm": 200}}).engine
    assert (flipped.direction, flipped.rom_mm) == (-1, 400)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"sled": {"bottm_mm": 1}}, "c.toml: [sled] bottm_mm: unknown key"),
        ({"sled": {"bottom_mm": "x"}}, "c.toml: [sled] bottom_mm: expected int or float"),
        ({"sled": {"bottom_mm": True}}, "c.toml: [sled] bottom_mm: expected a number"),
        ({"sled": {"start": "middle"}}, "c.toml: [sled] start: must be one of"),
        ({"sled": {"bottom_mm": 480}}, "c.toml: [sled] lockout_mm: range of motion"),
        ({"lockout": {"partial_below": 0.98}}, "c.toml: [lockout] partial_below: (0.98) must be"),
        ({"sensor": {"timing_budget_ms": 15}}, "c.toml: [sensor] timing_budget_ms: 15 ms"),
        ({"gym": {}}, "c.toml: [gym]: unknown section"),
        ({"bottom_mm": 3}, "c.toml: bottom_mm: unknown top-level key"),
        ({"version": 2}, "c.toml: version: 2 is not supported"),
        ({"tempo": {"target_eccentric_s": 0}}, "c.toml: [tempo] target_eccentric_s: must be"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(doc: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(doc, "c.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: no such config file"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sled\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load(bad)


def test_cli_reports_config_errors_in_one_line(tmp_path: Path, capsys) -> None:
    from firmware.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text("[sled]\nbottom_mm = 150\nlockout_mm = 200\n", encoding="utf-8")
    trace = tmp_path / "t.csv"
    trace.write_text("t_s,distance_mm\n0.0,150\n", encoding="utf-8")
    assert main(["replay", str(trace), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"repsled replay: error: {cfg}: [sled] lockout_mm: range of motion "
        "|lockout_mm - bottom_mm| is 50 mm, under the minimum of 100 mm"
    ]


def test_docs_list_every_key_with_its_default() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        heading = "top level" if section == "" else f"[{section}]"
        assert f"### {heading}" in text, heading
        block = text.split(f"### {heading}", 1)[1].split("###", 1)[0]
        for key in keys:
            assert re.search(rf"^\| `{key}` \| `", block, re.M), f"{heading} {key} undocumented"


def test_docs_example_loads(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    example = text.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    assert load(path).engine.rom_mm == 370
