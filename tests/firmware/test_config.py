"""Config loading: defaults, strict keys, one-line errors, and docs that list every key."""

from __future__ import annotations

import datetime
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.config import (
    SCHEMA,
    ConfigError,
    Key,
    load,
    parse,
    range_text,
    read,
    sensor_section,
    source_name,
)

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
        ({"sensor": {"timing_budget_ms": 15}}, "c.toml: [sensor] timing_budget_ms: must be"),
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


# The values that got through or crashed the loader before every key had a plausible range.
@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"sled": {"bottom_mm": math.nan}},
            "[sled] bottom_mm: must be between 0 and 2000, not nan",
        ),
        ({"sets": {"rest_s": math.nan}}, "[sets] rest_s: must be between 1 and 600, not nan"),
        ({"sled": {"lockout_mm": math.inf}}, "[sled] lockout_mm: must be between"),
        (
            {"sled": {"lockout_mm": 10**400}},
            "[sled] lockout_mm: must be between 0 and 2000, not a huge",
        ),
        ({"tempo": {"fast_margin_s": -math.inf}}, "[tempo] fast_margin_s: must be between"),
        (
            {"sled": {"lockout_mm": 52000}},
            "[sled] lockout_mm: must be between 0 and 2000, not 52000",
        ),
        ({"mqtt": {"port": 99999}}, "[mqtt] port: must be between 1 and 65535, not 99999"),
        ({"mqtt": {"port": 0}}, "[mqtt] port: must be between 1 and 65535"),
        ({"mqtt": {"keepalive": -1}}, "[mqtt] keepalive: must be between 5 and 3600, not -1"),
        ({"mqtt": {"keepalive": 100000}}, "[mqtt] keepalive: must be between 5 and 3600"),
        ({"mqtt": {"station": "x" * 70_000}}, "[mqtt] station: is 70000 characters long"),
        ({"mqtt": {"station": "a\x00b"}}, "[mqtt] station: must not hold control characters"),
        ({"mqtt": {"station": "a+b"}}, "[mqtt] station: 'a+b' cannot be a topic level"),
        ({"mqtt": {"station": "a/b"}}, "[mqtt] station: 'a/b' cannot be a topic level"),
        ({"mqtt": {"station": "leg press"}}, "[mqtt] station: 'leg press' cannot be a topic"),
        ({"mqtt": {"station": ""}}, "[mqtt] station: '' cannot be a topic level"),
        ({"mqtt": {"topic_prefix": "gym/#"}}, "[mqtt] topic_prefix: 'gym/#' cannot start MQTT"),
        ({"mqtt": {"topic_prefix": "+"}}, "[mqtt] topic_prefix: '+' cannot start MQTT"),
        ({"mqtt": {"topic_prefix": "gym/"}}, "[mqtt] topic_prefix: 'gym/' cannot start MQTT"),
        ({"mqtt": {"discovery_prefix": "ha\n"}}, "[mqtt] discovery_prefix: must not hold"),
        ({"mqtt": {"host": "h" * 300}}, "[mqtt] host: is 300 characters long, more than 253"),
        ({"mqtt": {"host": "gym pi"}}, "[mqtt] host: 'gym pi' is not a host name or address"),
        ({"mqtt": {"host": ""}}, "[mqtt] host: '' is not a host name or address"),
        ({"mqtt": {"password_file": "/etc/\x00pw"}}, "[mqtt] password_file: must not hold"),
        ({"sensor": {"timing_budget_ms": 1e9}}, "[sensor] timing_budget_ms: must be between 20"),
        ({"sensor": {"io_timeout_s": 0}}, "[sensor] io_timeout_s: must be between"),
        (
            {"sensor": {"timing_budget_ms": 200, "io_timeout_s": 0.1}},
            "[sensor] io_timeout_s: (0.1 s)",
        ),
        ({"sensor": {"address": 0x80}}, "[sensor] address: must be between 8 and 119, not 128"),
        ({"cues": {"pin": 40}}, "[cues] pin: must be between 0 and 27, not 40"),
        ({"button": {"pin": -1}}, "[button] pin: must be between 0 and 27, not -1"),
        ({"cues": {"velocity_loss_pct": 0}}, "[cues] velocity_loss_pct: must be between 1 and 99"),
        ({"storage": {"outbox_max": 0}}, "[storage] outbox_max: must be between 100 and 2000000"),
        ({"version": 10**400}, "version: a huge integer is not supported"),
        ({"version": 1.0}, "version: expected int, got float 1.0"),
        ({"sled": 3}, "sled: must be a table ([sled]), not a value"),
        ({"sled": {"start": "x" * 5000}}, "[sled] start: must be one of 'bottom', 'top', not 'xxx"),
        ({"sled": {"k\n" * 50: 1}}, "[sled] 'k\\nk\\nk\\n"),
        ({"mqtt": {"host": {"a": {"b": {}}}}}, "[mqtt] host: expected str, got dict a table"),
    ],
)
def test_implausible_values_are_refused_in_one_short_line(doc: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(doc, "c.toml")
    assert str(info.value).startswith(f"c.toml: {message}"), str(info.value)[:200]
    _assert_one_short_line(str(info.value))


def _assert_one_short_line(text: str) -> None:
    assert "\n" not in text
    assert "\r" not in text
    assert "\x00" not in text
    assert len(text) < 400


@pytest.mark.parametrize(
    "good",
    [
        {"mqtt": {"station": "legpress-1", "topic_prefix": "gym/repsled"}},
        {"sled": {"bottom_mm": 0, "lockout_mm": 2000}},
        {"sensor": {"timing_budget_ms": 500, "io_timeout_s": 1}},
        {"mqtt": {"port": 65535, "keepalive": 5}, "button": {"pin": 0}},
    ],
)
def test_the_ends_of_the_ranges_are_accepted(good: dict) -> None:
    parse(good, "c.toml")


def test_every_numeric_key_has_a_documented_range() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for section, keys in SCHEMA.items():
        heading = "top level" if section == "" else f"[{section}]"
        block = text.split(f"### {heading}", 1)[1].split("###", 1)[0]
        for key, spec in keys.items():
            if bool in spec.types or not set(spec.types) & {int, float}:
                continue
            assert spec.range is not None, f"{heading} {key} has no plausible range"
            row = re.search(rf"^\| `{key}` \|.*$", block, re.M)
            assert row and f"| {range_text(spec)} " in row.group(0), f"{heading} {key}"


def test_every_default_is_inside_its_own_range() -> None:
    for keys in SCHEMA.values():
        for key, spec in keys.items():
            if spec.range is not None and spec.default is not None:
                assert spec.range[0] <= spec.default <= spec.range[1], key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sled]\nbottom_mm = " + "9" * 5000 + "\n", "not valid TOML: Exceeds the limit"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML: arrays or tables nested"),
        ("[sled]\nbottom_mm = nan\n", "[sled] bottom_mm: must be between 0 and 2000, not nan"),
        ("[sled]\nlockout_mm = 1e400\n", "[sled] lockout_mm: must be between 0 and 2000, not inf"),
    ],
)
def test_hostile_files_give_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)[:200]
    _assert_one_short_line(str(info.value))


def test_unreadable_files_give_one_line(tmp_path: Path) -> None:
    (tmp_path / "bin.toml").write_bytes(b"version = 1\n\xff\xfe\n")
    (tmp_path / "big.toml").write_bytes(b"#" * 2_000_000)
    (tmp_path / "dir.toml").mkdir()
    for name, message in [
        ("bin.toml", "not UTF-8 text (byte 12)"),
        ("big.toml", "larger than 1000000 bytes"),
        ("dir.toml", "is a directory"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / name}: {message}")):
            load(tmp_path / name)


def repsled(*args: str) -> subprocess.CompletedProcess[str]:
    """`repsled ARGS` in a process of its own (the error handling is the command line's)."""
    return subprocess.run(
        [sys.executable, "-m", "firmware.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_a_bad_key_is_one_line_through_the_cli(tmp_path: Path) -> None:
    """`keepalive = -1` used to be a traceback from paho when `run` started."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mqtt]\nhost = "127.0.0.1"\nkeepalive = -1\n', encoding="utf-8")
    done = repsled("run", "--config", str(cfg), "--sensor", "fake:nothing.csv", "--text-cues")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"repsled run: error: {cfg}: [mqtt] keepalive: must be between 5 and 3600, not -1"
    ]


# --- fuzzing: no document, however odd, gives anything but a Config or one ConfigError line.

_KNOWN = [(section, key) for section, keys in SCHEMA.items() if section for key in keys]
_scalars = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda i: i * 10**370),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=2000),
    st.sampled_from(["vl53l0x", "fake:x.csv", "bottom", "top", "none", "3.1.1", "5", "repsled"]),
    st.datetimes(max_value=datetime.datetime(9999, 1, 1)),
    st.dates(),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _plausible(spec: Key) -> st.SearchStrategy[Any]:
    """Values of the key's type near and across the ends of its range, so that fuzzing finds
    many accepted configs too (and checks them)."""
    if spec.choices:
        return st.sampled_from(spec.choices)
    if bool in spec.types:
        return st.booleans()
    if spec.range is not None:
        lo, hi = spec.range
        ints = st.integers(int(lo) - 2, int(hi) + 2)
        return ints if float not in spec.types else st.one_of(ints, st.floats(lo - 1, hi + 1))
    return st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


_SECTIONS = [s for s in SCHEMA if s]


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for section, key in draw(st.lists(st.sampled_from(_KNOWN), max_size=8)):
        spec = SCHEMA[section][key]
        odd = draw(st.integers(0, 9)) == 0  # one value in ten is anything at all
        doc.setdefault(section, {})[key] = draw(_values if odd else _plausible(spec))
    extra = draw(st.integers(0, 9))
    if extra == 0:  # an unknown top-level key or section
        doc[draw(st.text(max_size=8))] = draw(_values)
    elif extra == 1:  # a known section given as a value, or a version of any kind
        doc[draw(st.sampled_from([*_SECTIONS, "version"]))] = draw(_values)
    return doc


def _check_outcome(doc_source: str, run: Any) -> None:
    try:
        cfg = run()
    except ConfigError as exc:
        text = str(exc)
        assert text.startswith(doc_source)
        _assert_one_short_line(text)
        return
    for section, keys in SCHEMA.items():
        if not section:
            continue
        for key, spec in keys.items():
            value = cfg.raw[section][key]
            if spec.range is not None and value is not None:
                assert math.isfinite(value)
                assert spec.range[0] <= value <= spec.range[1]
    assert math.isfinite(cfg.engine.rom_mm)
    _drive_engine(cfg.engine)


def _drive_engine(engine_settings: Any) -> None:
    """A few full reps through the engine built from an accepted config: it must cope."""
    from tempo.engine import TempoEngine

    engine = TempoEngine(engine_settings)
    bottom, lockout = engine_settings.bottom_mm, engine_settings.lockout_mm
    t_s = 0.0
    for _ in range(3):
        for i in range(60):  # up, down, rest: 0.033 s apart like the real chip
            engine.feed(t_s, bottom + (lockout - bottom) * i / 59)
            t_s += 0.033
        for i in range(90):
            engine.feed(t_s, lockout - (lockout - bottom) * i / 89)
            t_s += 0.033
        for _ in range(30):
            engine.feed(t_s, bottom)
            t_s += 0.033
    engine.finish()


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_fuzzed_documents_never_give_a_traceback(doc: dict[str, Any]) -> None:
    _check_outcome("fuzz.toml: ", lambda: parse(doc, "fuzz.toml"))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(_documents(), st.integers(0, 200), st.text(max_size=20))
def test_fuzzed_files_never_give_a_traceback(doc: dict[str, Any], cut: int, noise: str) -> None:
    """Real TOML text (tomlkit writes it), sometimes with a few characters spliced in."""
    try:
        text = tomlkit.dumps(doc)
    except Exception:  # documents TOML cannot hold (e.g. a table inside an array of values)
        text = ""
    if noise:
        at = min(cut, len(text))
        text = text[:at] + noise + text[at:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check_outcome(str(path), lambda: load(path))


def test_the_sensor_table_alone_is_checked_as_the_whole_config_checks_it(tmp_path: Path) -> None:
    """`repsled run` starts the chip with `sensor_section`, then parses the rest."""
    doc = {"version": 1, "sensor": {"timing_budget_ms": 50, "io_timeout_s": 0.5}, "mqtt": {}}
    assert sensor_section(doc, "c.toml") == parse(doc, "c.toml").sensor
    assert sensor_section(read(None), source_name(None)) == load(None).sensor
    for bad, message in (
        ({"sensor": {"timing_budget_ms": 5}}, r"c\.toml: \[sensor\] timing_budget_ms: must be"),
        ({"sensor": {"colour": 1}}, r"c\.toml: \[sensor\] colour: unknown key"),
        (
            {"sensor": {"io_timeout_s": 0.1, "timing_budget_ms": 200}},
            r"c\.toml: \[sensor\] io_timeout_s: .* longer",
        ),
        ({"sensor": 3}, r"c\.toml: sensor: must be a table"),
        ({"version": 2, "sensor": {}}, r"c\.toml: version: 2 is not supported"),
    ):
        with pytest.raises(ConfigError, match=message):
            sensor_section(bad, "c.toml")
        with pytest.raises(ConfigError, match=message):
            parse(bad, "c.toml")


def test_a_bad_key_elsewhere_stops_run_after_the_chip_started(tmp_path: Path) -> None:
    """The rest of the config is checked while the chip measures: still one line, exit 2."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[athlete]\nload_kg = -3\n", encoding="utf-8")
    trace = ROOT / "examples" / "traces" / "reverse_press_clean.csv"
    done = repsled("run", "--config", str(cfg), "--sensor", f"fake:{trace}")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"repsled run: error: {cfg}: [athlete] load_kg: must be between 0 and 1500, not -3"
    ]
