"""Spans CSV and ELAN export: every lane type round-trips, and each malformed row is named by its line."""

from __future__ import annotations

import csv
import io
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affectstudio.core.annotations.exchange import (
    elan_tier,
    is_spans_csv,
    read_spans_csv,
    write_elan_tab,
    write_spans_csv,
)
from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment
from affectstudio.core.errors import AnnotationError

FPS30 = np.arange(300) / 30.0  # 10 s at 30 fps
# A variable-frame-rate clock: intervals of 20, 40 and 33.3 ms in turn, not a multiple of any rate.
VFR = np.cumsum(np.tile([0.02, 0.04, 1 / 30], 100)) - 0.02


def sample_lanes(frames: int) -> dict[LaneKey, Lane]:
    valence = np.full(frames, np.nan, dtype=np.float32)
    valence[10:20] = 0.1
    valence[20:25] = -0.75
    valence[40:41] = 1.0
    arousal = np.full(frames, np.nan, dtype=np.float32)
    arousal[0:frames] = np.linspace(-1, 1, frames, dtype=np.float32)  # every frame a different value
    lanes = [
        Lane(LaneKey("expression", "alice"), [Segment(0, 9, "Neutral"), Segment(12, 30, "Happiness", "big")]),
        Lane(LaneKey("expression", "bob", 2), [Segment(5, 5, "Surprise")]),
        Lane(LaneKey("AU12", "alice"), [Segment(3, 8, 1), Segment(9, 14, 0)]),
        Lane(LaneKey("AU26", "alice", 0), [Segment(frames - 5, frames - 1, 1)]),
        Lane(LaneKey("valence", "alice"), trace=valence),
        Lane(LaneKey("arousal", "bob"), trace=arousal),
        Lane(LaneKey("event", "alice"), [Segment(7, 7, 'laughs, then says "no"'), Segment(7, 7, "second")]),
        Lane(LaneKey("exclusion", "alice"), [Segment(50, 60, None, "camera blocked")]),
    ]
    return {lane.key: lane for lane in lanes}


def assert_same_lanes(got: dict[LaneKey, Lane], expected: dict[LaneKey, Lane]) -> None:
    assert set(got) == set(expected)
    for key, lane in expected.items():
        if key.kind == "continuous":
            np.testing.assert_array_equal(got[key].trace, lane.trace)  # NaN == NaN here
            assert got[key].trace.dtype == np.float32
        else:
            assert [(s.start, s.stop, s.value, s.note) for s in got[key].segments] == [
                (s.start, s.stop, s.value, s.note) for s in lane.segments
            ]


@pytest.mark.parametrize("times", [FPS30, VFR], ids=["30fps", "vfr"])
def test_every_lane_type_round_trips_through_the_spans_csv(tmp_path, times):
    lanes = sample_lanes(len(times))
    path = write_spans_csv(tmp_path / "spans.csv", lanes, times)
    assert_same_lanes(read_spans_csv(path, times), lanes)
    # and the file is the documented layout
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    happy = next(r for r in rows if r["value"] == "Happiness")
    assert float(happy["start"]) == pytest.approx(times[12], abs=1e-6)
    assert float(happy["end"]) == pytest.approx(times[31], abs=1e-6)  # frame 30 stops being shown
    assert happy["annotator"] == "alice" and happy["track"] == "-1" and happy["note"] == "big"
    # a valence trace is written as runs of equal value: 0.1 over frames 10-19 is one row
    assert [r["value"] for r in rows if r["lane"] == "valence"] == ["0.1", "-0.75", "1"]
    assert sum(r["lane"] == "arousal" for r in rows) == len(times)


def test_hand_written_spans_map_seconds_to_the_frames_shown_in_them(tmp_path):
    path = tmp_path / "spans.csv"
    path.write_text(
        "lane,start,end,value\n"
        "expression,1.0,2.0,happiness\n"  # names are case-insensitive; the frames shown in that second
        "AU01,0.5,0.55,1\n"  # AU01 is AU1; frames at 0.5 and 0.5333
        "valence,0.01,0.07,-0.5\n"  # frames at 0.0333 and 0.0667
        "event,0.05,0.05,clap\n"  # between frames 1 and 2: the frame on screen is 1
        "exclusion,9.9,10.0,\n"  # up to the end of the last frame (9.9667 + 1/30)
    )
    lanes = read_spans_csv(path, FPS30, default_annotator="carol")
    expr = lanes[LaneKey("expression", "carol")].segments
    assert [(s.start, s.stop, s.value) for s in expr] == [(30, 59, "Happiness")]
    assert [(s.start, s.stop, s.value) for s in lanes[LaneKey("AU1", "carol")].segments] == [(15, 16, 1)]
    trace = lanes[LaneKey("valence", "carol")].trace
    assert len(trace) == 300 and np.flatnonzero(np.isfinite(trace)).tolist() == [1, 2]
    assert trace[1] == np.float32(-0.5)
    assert [(s.start, s.value) for s in lanes[LaneKey("event", "carol")].segments] == [(1, "clap")]
    assert [(s.start, s.stop) for s in lanes[LaneKey("exclusion", "carol")].segments] == [(297, 299)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("smile,1,2,1", "unknown lane 'smile'"),
        ("expression,1,2,Joy", "unknown expression 'Joy'"),
        ("valence,1,2,1.5", "[-1, 1]"),
        ("arousal,1,2,high", "'high' is not a number"),
        ("expression,2,1,Fear", "before start"),
        ("expression,9,11,Fear", "outside the video"),
        ("expression,-1,1,Fear", "outside the video"),
        ("expression,1.01,1.02,Fear", "contains no frame"),
        ("event,1,2,x", "start == end"),
        ("AU12,1,2,yes", "1 (on) or 0 (off)"),
        ("AU12,1,2", "3 fields, the header has 4"),
        ("expression,1,nan,Fear", "not a finite number"),
        ("expression,1,2,Fear,me,1.5", "not a face track id"),
        ("expression,0.5,1.5,Fear", "overlaps the expression span of line 2"),
    ],
)
def test_each_malformed_row_is_named_by_file_and_line(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    header, first = ("lane,start,end,value,annotator,track", "expression,1.0,1.2,Anger,me,-1")
    if row.count(",") < 5:
        header, first = ("lane,start,end,value", "expression,1.0,1.2,Anger")
    path.write_text(f"{header}\n{first}\n\n{row}\n")
    with pytest.raises(AnnotationError, match="line 4") as caught:
        read_spans_csv(path, FPS30)
    assert message in str(caught.value) and "bad.csv" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"start,end,value\n", "header must name"),
        (b"lane,start,end,value,colour\n", "header must name"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        (b"lane,start\x81,end", "not a UTF-8 or Windows-1252 text file"),
    ],
)
def test_unreadable_files_say_why(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(AnnotationError, match=message):
        read_spans_csv(path, FPS30)


def test_a_missing_file_is_an_annotation_error(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        read_spans_csv(tmp_path / "nope.csv", FPS30)


def test_writing_a_segment_past_the_video_is_refused_and_leaves_no_file(tmp_path):
    lanes = [Lane(LaneKey("expression"), [Segment(290, 310, "Fear")])]
    with pytest.raises(AnnotationError, match="past the video"):
        write_spans_csv(tmp_path / "out.csv", lanes, FPS30)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [FPS30, VFR], ids=["30fps", "vfr"])
def test_elan_tab_rows_cover_each_frame_shown_and_never_overlap_within_a_tier(tmp_path, times):
    lanes = sample_lanes(len(times))
    path = write_elan_tab(tmp_path / "lanes.txt", lanes, times)
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["tier", "begin", "end", "duration", "value"]
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 5 for r in rows)
    tiers = {r[0] for r in rows}
    assert tiers == {elan_tier(key) for key in lanes}
    assert "expression@bob/track2" in tiers and "AU12@alice" in tiers
    ends = np.append(times[1:], times[-1] + (times[-1] - times[-2]))
    happy = next(r for r in rows if r[4] == "Happiness")
    assert float(happy[1]) == pytest.approx(times[12], abs=6e-4)
    assert float(happy[2]) == pytest.approx(ends[30], abs=6e-4)  # until frame 30 stops being shown
    for r in rows:
        begin, end, duration = float(r[1]), float(r[2]), float(r[3])
        assert end > begin and duration == pytest.approx(end - begin, abs=1e-9)
    for tier in tiers - {"event@alice"}:  # two events on one frame are two markers at one time
        spans = sorted((float(r[1]), float(r[2])) for r in rows if r[0] == tier)
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))
    event = next(r for r in rows if r[0] == "event@alice")
    assert event[4] == 'laughs, then says "no"'
    assert float(event[1]) == pytest.approx(times[7], abs=6e-4)


SPAN_CELLS = st.one_of(
    st.sampled_from(
        ["expression", "AU12", "au01", "valence", "event", "exclusion", "smile", "", "Happiness"]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1, 11).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["0", "1", "-1", "1.5", '"', "a,b", "\t", "me", "  "]),
    st.text(max_size=5),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(SPAN_CELLS, min_size=3, max_size=6), max_size=6))
def test_malformed_span_rows_give_an_annotation_error_or_valid_lanes(tmp_path, rows):
    path = tmp_path / "fuzz.csv"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["lane", "start", "end", "value", "annotator"], *rows])
    path.write_text(text.getvalue(), encoding="utf-8")
    try:
        lanes = read_spans_csv(path, FPS30)
    except AnnotationError as error:
        assert str(path) in str(error) and "line " in str(error)
        return
    for key, lane in lanes.items():
        assert lane.key == key
        if key.kind == "continuous":
            assert len(lane.trace) == len(FPS30)
        for segment in lane.segments:
            assert 0 <= segment.start <= segment.stop < len(FPS30)


def test_a_spans_csv_is_told_from_an_overlay_by_its_header(tmp_path):
    spans = write_spans_csv(tmp_path / "spans.csv", sample_lanes(len(FPS30)), FPS30)
    assert is_spans_csv(spans)
    (tmp_path / "hand.csv").write_text("\nLane, Start, End, Value\nexpression,1,2,Fear\n")
    assert is_spans_csv(tmp_path / "hand.csv")
    (tmp_path / "openface.csv").write_text("frame, face_id, timestamp, confidence, success, AU01_r\n")
    assert not is_spans_csv(tmp_path / "openface.csv")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01")
    assert not is_spans_csv(tmp_path / "binary.csv") and not is_spans_csv(tmp_path / "missing.csv")
