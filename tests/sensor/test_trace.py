"""Trace format: round trip, streaming, and one-line errors naming file and line."""

from __future__ import annotations

import io
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensor.trace import Sample, TraceError, TraceWriter, read_trace


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_keeps_samples_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    samples = [Sample(0.0, 150), Sample(0.0333, None), Sample(0.0667, 8190), Sample(0.1, 151)]
    with TraceWriter(path, {"sensor": "vl53l0x", "timing_budget_ms": "33"}) as w:
        for s in samples:
            w.write(s.t_s, s.distance_mm)
    reader = read_trace(path)
    assert reader.metadata == {"format_version": "1", "sensor": "vl53l0x", "timing_budget_ms": "33"}
    assert list(reader) == samples


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**7),
            st.one_of(st.none(), st.integers(min_value=0, max_value=8191)),
        ),
        max_size=50,
    )
)
def test_round_trip_property(rows: list[tuple[int, int | None]]) -> None:
    times = sorted(r[0] for r in rows)
    samples = [Sample(t / 10_000, d) for t, (_, d) in zip(times, rows, strict=True)]
    buf = io.StringIO()
    w = TraceWriter(buf, {"sensor": "fake"})
    for s in samples:
        w.write(s.t_s, s.distance_mm)
    w.close()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "p.csv"
        p.write_text(buf.getvalue(), encoding="utf-8")
        assert list(read_trace(p)) == samples


def test_extra_columns_and_column_order_are_handled(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.csv", "# a=b\ndistance_mm,note,t_s\n150,x,0.0\n,y,0.5\n")
    assert list(read_trace(p)) == [Sample(0.0, 150), Sample(0.5, None)]


def test_lines_that_are_not_two_plain_numbers_are_read_as_text(tmp_path: Path) -> None:
    # blanks and CRLF around the numbers, a read error, a comment and a blank line among the
    # samples, Unicode digits and a no-break space: the same samples as text gives them
    text = (
        "t_s,distance_mm\r\n 0.0 , 150 \r\n0.1,\n# note\n\n0.2,\u0661\u0665\u0660\n"
        "0.3,151\u00a0\n0.3,152\n"
    )
    p = _write(tmp_path / "x.csv", text)
    assert list(read_trace(p).pairs()) == [
        (0.0, 150),
        (0.1, None),
        (0.2, 150),
        (0.3, 151),
        (0.3, 152),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "x.csv:0: no header line"),
        ("t_s,dist\n", "x.csv:1: header lacks the distance_mm column"),
        ("t_s,distance_mm\n0.1,100\n0.05,100\n", "x.csv:3: t_s goes backwards"),
        ("t_s,distance_mm\nabc,100\n", "x.csv:2: t_s is not a number: 'abc'"),
        ("t_s,distance_mm\n0.1,12.5\n", "x.csv:2: distance_mm is not an integer: '12.5'"),
        ("t_s,distance_mm\n0.1,-3\n", "x.csv:2: distance_mm is negative"),
        ("t_s,distance_mm\n0.1,3,4\n", "x.csv:2: expected 2 fields, got 3"),
        ("t_s,distance_mm\nnan,3\n", "x.csv:2: t_s must be a finite number"),
        ("# format_version=9\nt_s,distance_mm\n", "x.csv:2: format_version='9' is not supported"),
    ],
)
def test_malformed_traces_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    p = _write(tmp_path / "x.csv", text)
    with pytest.raises(TraceError) as info:
        list(read_trace(p))
    assert str(info.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(info.value)


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"nope\.csv: no such trace file"):
        read_trace(tmp_path / "nope.csv")
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"t_s,distance_mm\n0.1,\xff\xfe\n")
    with pytest.raises(TraceError, match=r"bin\.csv:2: not UTF-8"):
        list(read_trace(bad))


def test_reader_streams_in_constant_memory(tmp_path: Path) -> None:
    def peak_for(n: int) -> int:
        p = tmp_path / f"long{n}.csv"
        with TraceWriter(p) as w:
            for i in range(n):
                w.write(i * 0.02, 150 + i % 300)
        tracemalloc.start()
        count = sum(1 for _ in read_trace(p))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == n
        return peak

    small, large = peak_for(2_000), peak_for(40_000)
    assert large < small * 2 + 64_000  # flat, not 20x


def test_writer_flushes_every_second_of_its_clock(tmp_path: Path) -> None:
    now = [0.0]
    p = tmp_path / "f.csv"
    w = TraceWriter(p, flush_every_s=1.0, monotonic=lambda: now[0])
    w.write(0.0, 100)
    before = p.read_text(encoding="utf-8")
    now[0] = 1.5
    w.write(0.02, 101)
    after = p.read_text(encoding="utf-8")
    assert "0.0000,100" not in before
    assert after.endswith("0.0000,100\n0.0200,101\n")
    w.close()


def test_writer_rejects_metadata_that_would_break_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="spans lines"):
        TraceWriter(tmp_path / "m.csv", {"note": "a\nb"})


def test_a_huge_header_with_control_characters_is_cut_and_escaped(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("t_s," + "\x1b[2J\x07" * 200_000 + "\n0.1,150\n", encoding="utf-8")
    with pytest.raises(TraceError) as info:
        list(read_trace(p))
    message = str(info.value)
    assert len(message) < 300
    assert "\x1b" not in message and "\x07" not in message
    assert "header lacks the distance_mm column" in message
    assert "(1000004 characters)" in message
