"""docs/hub.md: its JSON examples parse, and the export columns it lists are the real ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

from firmware.hub.app import API_VERSION
from firmware.hub.export import EXPORT_VERSION, REP_FIELDS, SESSION_COLUMNS, SET_FIELDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "hub.md").read_text(encoding="utf-8")


def test_json_examples_parse_and_carry_the_api_version():
    blocks = re.findall(r"```json\n(.*?)```", DOC, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        assert json.loads(block)["schema"] == API_VERSION
    assert f"version {API_VERSION}" in DOC and f"Export format version {EXPORT_VERSION}" in DOC


def _listed(after: str) -> list[str]:
    text = DOC.split(after, 1)[1].split(", then", 1)[0]
    return re.sub(r"\s+", " ", text.split("`", 1)[1].rsplit("`", 1)[0]).split(", ")


def test_export_columns_are_documented_in_order():
    assert _listed("their order: ") == list(REP_FIELDS)
    assert _listed("prefixed `set_`: ") == [f"set_{name}" for name in SET_FIELDS]
    assert all(f"`{column}`" in DOC for column in SESSION_COLUMNS)
