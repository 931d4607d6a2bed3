"""`repsled replay`: deterministic output, documented payloads, readable table, clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "traces").glob("*.csv"))
TWO_SETS = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"


def _replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", "replay", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_replaying_twice_gives_byte_identical_output() -> None:
    first = _replay(str(TWO_SETS), "--format", "jsonl")
    second = _replay(str(TWO_SETS), "--format", "jsonl")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.count('"type":"rep"') - first.stdout.count('"revision":1') == 11


@pytest.mark.parametrize("trace", EXAMPLES, ids=lambda p: p.stem)
def test_jsonl_has_every_rep_and_closes_every_set(trace: Path, capsys) -> None:
    assert main(["replay", str(trace), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reps = [p for p in lines if p["type"] == "rep" and "revision" not in p]
    sets = [p for p in lines if p["type"] == "set"]
    expected = int(re.search(r"^# reps=(\d+)$", trace.read_text(), re.M).group(1))
    assert len(reps) == expected
    assert sum(s["reps"] for s in sets) == expected
    assert len({(p["id"], p.get("revision")) for p in lines}) == len(lines)
    assert all(p["schema"] == 1 for p in lines)
    # a revision replaces a rep sent before it, in its open set
    sent: set[str] = set()
    for p in lines:
        if p.get("revision") == 1:
            assert p["id"] in sent
        elif p["type"] == "rep":
            sent.add(p["id"])
        else:
            sent.clear()


def _documented_fields(kind: str) -> list[str]:
    text = (ROOT / "docs" / "payloads.md").read_text(encoding="utf-8")
    section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
    common = text.split("Common fields:", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for block in (common, section):
        for row in re.findall(r"^\| (`[^|]+`) \|", block, re.M):
            names += re.findall(r"`([a-z_]+)`", row)
    return names


@pytest.mark.parametrize("kind", ["Rep", "Set"])
def test_docs_describe_exactly_the_payload_fields(kind: str, capsys) -> None:
    assert main(["replay", str(TWO_SETS), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    payload = next(p for p in lines if p["type"] == kind.lower())
    documented = set(_documented_fields(kind))
    optional = {"imbalance", "revision"}
    assert set(payload) - documented == set(), "undocumented payload fields"
    assert documented - optional - set(payload) == set(), "documented fields missing"


def test_docs_examples_are_real_output(capsys) -> None:
    text = (ROOT / "docs" / "payloads.md").read_text(encoding="utf-8")
    examples = re.findall(r"```json\n(.*?)\n```", text, re.S)
    assert len(examples) == 2
    assert main(["replay", str(TWO_SETS), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [json.loads(e) for e in examples] == [
        next(p for p in lines if p["type"] == "rep"),
        next(p for p in lines if p["type"] == "set"),
    ]


def test_table_lists_reps_and_set_summaries(capsys) -> None:
    assert main(["replay", str(TWO_SETS)]) == 0
    out = capsys.readouterr().out
    assert out.count("set 1: 5 reps") == 1
    assert out.count("set 2: 6 reps") == 1
    assert out.rstrip().endswith("11 reps")


def test_table_shows_each_rep_once_as_revised(capsys) -> None:
    assert main(["replay", str(TWO_SETS), "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    final = {p["id"]: p for p in lines if p["type"] == "rep"}
    revised = [p for p in final.values() if p.get("revision") == 1]
    assert revised  # the example's lowerings creep onto the stops in noise
    assert main(["replay", str(TWO_SETS)]) == 0
    rows = [
        line.split()
        for line in capsys.readouterr().out.splitlines()
        if re.match(r"^\s*\d+\s+\d+\s", line)
    ]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(p["set"], p["rep"]) for p in final.values()]
    for row, p in zip(rows, final.values(), strict=True):
        if p["eccentric_s"] is None:  # times_unknown
            assert row[5] == "-"
        else:
            assert float(row[5]) == pytest.approx(p["eccentric_s"], abs=0.005)


def test_a_malformed_trace_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,distance_mm\n0.00,150\n0.02,151\n0.01,152\n", encoding="utf-8")
    result = _replay(str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"repsled replay: error: {bad}:4: t_s goes backwards (0.01 after 0.02)"
    ]
    assert result.stdout == ""
