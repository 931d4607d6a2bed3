"""`[athlete]` and `[vbt]` in the config, and `repsled replay --athlete/--load-kg/--tempo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.config import ConfigError, load, parse
from firmware.station.next_set import NextSet

ROOT = Path(__file__).resolve().parents[2]
TWO_SETS = ROOT / "examples" / "traces" / "two_sets_with_rest.csv"


def test_defaults_name_nobody_and_stop_at_20_pct() -> None:
    cfg = parse({})
    assert cfg.next_set_defaults == NextSet()
    assert cfg.vbt == {
        "mvt_m_s": 0.21,
        "target_velocity_m_s": None,
        "stop_at_velocity_loss_pct": 20.0,
    }
    assert cfg.cues["velocity_loss_pct"] == 20.0


def test_athlete_table_is_the_next_set_default(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[athlete]\nname = " Ana "\nload_kg = 140\n', encoding="utf-8")
    assert load(path).next_set_defaults == NextSet("Ana", 140.0)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"athlete": {"name": "Ana/Ben"}},
            "c.toml: [athlete] name: 'Ana/Ben' has characters not allowed in a name: '/' "
            "(letters, digits, space and . ' - _ are)",
        ),
        (
            {"athlete": {"load_kg": 0}},
            "c.toml: [athlete] load_kg: 0 kg: must be more than 0 (the sled itself counts)",
        ),
        (
            {"athlete": {"load_kg": 14000}},
            "c.toml: [athlete] load_kg: must be between 0 and 1500, not 14000",
        ),
        ({"vbt": {"mvt_m_s": 0}}, "c.toml: [vbt] mvt_m_s: must be between 0.01 and 0.99, not 0"),
        (
            {"vbt": {"target_velocity_m_s": 0.2}},
            "c.toml: [vbt] target_velocity_m_s: 0.2 m/s: must be above mvt_m_s (0.21)",
        ),
        (
            {"vbt": {"stop_at_velocity_loss_pct": 100}},
            "c.toml: [vbt] stop_at_velocity_loss_pct: must be between 1 and 99, not 100",
        ),
        (
            {"cues": {"velocity_loss_pct": -5}},
            "c.toml: [cues] velocity_loss_pct: must be between 1 and 99, not -5",
        ),
        (
            {"cues": {"velocity_loss_pct": 25}, "vbt": {"stop_at_velocity_loss_pct": 30}},
            "c.toml: [cues] velocity_loss_pct (25) and [vbt] stop_at_velocity_loss_pct (30) "
            "disagree: keep only the [vbt] one",
        ),
    ],
)
def test_bad_values_are_one_line_naming_the_key(data: dict, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data, "c.toml")
    assert str(caught.value) == error


def test_the_old_cues_key_still_sets_the_stop() -> None:
    cfg = parse({"cues": {"velocity_loss_pct": 30}})
    assert cfg.vbt["stop_at_velocity_loss_pct"] == 30
    same = parse({"cues": {"velocity_loss_pct": 30}, "vbt": {"stop_at_velocity_loss_pct": 30}})
    assert same.cues["velocity_loss_pct"] == 30
    new = parse({"vbt": {"stop_at_velocity_loss_pct": 35}})
    assert new.cues["velocity_loss_pct"] == 35  # what the cue player is built with


def _jsonl(capsys, *args: str) -> list[dict]:
    assert main(["replay", str(TWO_SETS), "--format", "jsonl", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_replay_stamps_the_options_on_every_rep_and_set(capsys) -> None:
    payloads = _jsonl(capsys, "--athlete", "Ana", "--load-kg", "140", "--tempo", "31x0")
    assert len([p for p in payloads if "revision" not in p]) == 13  # 11 reps, 2 sets
    for p in payloads:  # revised reps (docs/payloads.md) too
        assert (p["athlete"], p["load_kg"], p["tempo"]) == ("Ana", 140.0, "3-1-X-0")
    reps = [p for p in payloads if p["type"] == "rep"]
    # Every rep is scored but one whose times a sensor fault hid (docs/engine.md).
    unscored = [(p["set"], p["rep"]) for p in reps if p["tempo_score"] is None]
    assert unscored == [(p["set"], p["rep"]) for p in reps if "times_unknown" in p["flags"]]
    assert all(isinstance(p["tempo_score"], int) for p in reps if p["tempo_score"] is not None)
    # a first rep has no pause before it to deviate (nor has it once revised)
    firsts = [p for p in reps if p["rep"] == 1]
    assert len([p for p in firsts if "revision" not in p]) == 2
    assert [p["bottom_pause_deviation_s"] for p in firsts] == [None] * len(firsts)


def test_replay_example_in_the_docs_is_real_output(capsys) -> None:
    text = (ROOT / "docs" / "payloads.md").read_text(encoding="utf-8")
    example = json.loads(
        text.split("--tempo 3-1-X-0` (a subset", 1)[1].split("```text\n")[1].split("\n```")[0]
    )
    payloads = _jsonl(capsys, "--athlete", "Ana", "--load-kg", "140", "--tempo", "3-1-X-0")
    second = next(p for p in payloads if p["type"] == "rep" and (p["set"], p["rep"]) == (1, 2))
    assert {k: second[k] for k in example} == example


def test_replay_options_override_the_config(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        TWO_SETS.with_suffix(".toml").read_text(encoding="utf-8")
        + '\n[athlete]\nname = "Ana"\nload_kg = 140\n',
        encoding="utf-8",
    )
    payloads = _jsonl(capsys, "--config", str(cfg), "--load-kg", "150")
    assert {(p["athlete"], p["load_kg"], p["tempo"]) for p in payloads} == {("Ana", 150.0, None)}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--tempo", "3-X-1-0"],
            "--tempo: tempo '3-X-1-0': bottom pause cannot be X "
            "(X means as fast as possible; write 0 for no pause)",
        ),
        (["--load-kg", "-20"], "--load-kg: -20 kg: must be more than 0 (the sled itself counts)"),
        (["--athlete", ""], "--athlete: empty name (use null for nobody)"),
    ],
)
def test_replay_refuses_bad_options_in_one_line(args: list[str], error: str, capsys) -> None:
    assert main(["replay", str(TWO_SETS), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"repsled replay: error: {error}"]
    assert captured.out == ""


def test_replay_table_shows_the_tempo_score_and_the_next_set(capsys) -> None:
    assert main(["replay", str(TWO_SETS), "--athlete", "Ana", "--tempo", "3-1-X-0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-2:] == ["tempo", "flags"]
    # rep 1.2 as revised: 90 as first sent (docs/payloads.md), its lowering 2.25 s; the hold
    # after it placed its end 71 ms later (the truth: 2.37 s)
    assert out[2].split()[-1] == "92"
    assert out[6].endswith("; Ana, tempo 3-1-X-0 (score 72)")
    assert ", went past the velocity-loss stop;" in out[6]
