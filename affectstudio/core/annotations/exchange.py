"""Lanes to and from files other tools read: a spans CSV (round-trips) and ELAN's tab-delimited text.

Spans CSV, one row per span, header required, times in seconds on the video's clock:

    lane,start,end,value,annotator,track,note
    expression,1.200000,2.400000,Happiness,alice,-1,
    AU12,1.200000,1.800000,1,alice,-1,
    valence,0.000000,1.000000,0.25,alice,-1,
    event,3.000000,3.000000,laughs,alice,-1,
    exclusion,5.000000,6.000000,,alice,-1,

Comma-separated: a file whose header is separated by ';' or tabs (a spreadsheet in a locale with decimal
commas) is refused with that reason, not guessed at, so `0,5` is never misread. `lane`, `start`, `end` and
`value` are required; `annotator` (default: the importer's), `track` (the face track, default -1 = any) and
`note` are optional, in any order. A span covers the frames whose presentation time lies in [start, end): its
end is when its last frame stops being shown, the end ELAN gets for the same span (1.0-2.0 s at 30 fps is the
30 frames shown in that second, and a span written as frames 30-59 is exported as 1.0-2.0 s by both). An event
(start == end) marks the frame on screen at that time; a valence/arousal span sets that constant value on the
frames it covers (traces are written as runs of equal value). Errors name the file and line.

ELAN (File > Import > CSV / Tab-delimited Text): one row per annotation, `tier, begin, end, duration,
value`, a header row (set "first row of data" to 2), times in seconds with milliseconds. A segment ends
when its last frame stops being shown, as in the spans CSV; an event lasts one frame, because ELAN has no
zero-length annotations. Tiers are `<lane>@<annotator>`, with `/track<N>` appended for a lane tied to
face track N.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from affectstudio.core.annotations.lanes import (
    ANY_TRACK,
    DEFAULT_ANNOTATOR,
    LANE_NAMES,
    Lane,
    LaneKey,
    Segment,
    check_segment,
)
from affectstudio.core.annotations.timing import (
    TOLERANCE_S,
    as_timestamps,
    frame_shown_at,
    frames_within,
    span_end,
    video_end,
)
from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.paths import write_text_atomic

# What read_spans_csv returns: every lane the file names, with its segments (ids None, sorted by start)
# or, for valence/arousal, a trace as long as the video (NaN where the file says nothing). The store
# applies it by adding the segments and writing the trace's finite values over its own.
ImportedLanes = dict[LaneKey, Lane]

SPAN_COLUMNS = ("lane", "start", "end", "value", "annotator", "track", "note")
_REQUIRED = SPAN_COLUMNS[:4]
_OVERLAP_CHECKED = ("expression", "au", "continuous")


def read_spans_csv(path: str | Path, timestamps, default_annotator: str = DEFAULT_ANNOTATOR) -> ImportedLanes:
    """Lanes from a `lane,start,end,value[,annotator,track,note]` CSV; AnnotationError names file and line."""
    path = Path(path)
    times = as_timestamps(timestamps)
    rows = _read_rows(path)
    _check_separator(path, rows[0][1])
    header = [name.strip().lower() for name in rows[0][1]]
    missing = [name for name in _REQUIRED if name not in header]
    unknown = [name for name in header if name not in SPAN_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise AnnotationError(
            path,
            f"line {rows[0][0]}: the header must name the columns {', '.join(_REQUIRED)} "
            f"(optional: annotator, track, note), each once; got {', '.join(rows[0][1])}",
        )
    end = video_end(times)
    lanes: ImportedLanes = {}
    owner: dict[LaneKey, np.ndarray] = {}  # line that set each frame, for overlap errors
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise AnnotationError(path, f"line {line}: {len(cells)} fields, the header has {len(header)}")
        row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        try:
            key, first, last, value = _span(row, times, end, default_annotator)
            if key not in lanes:
                lanes[key] = Lane(key)
                owner[key] = np.zeros(len(times), dtype=np.int64)
            lane = lanes[key]
            if key.kind in _OVERLAP_CHECKED:
                taken = owner[key]
                clash = taken[first : last + 1]
                if clash.any():
                    raise AnnotationError(None, f"overlaps the {key.name} span of line {clash[clash > 0][0]}")
                taken[first : last + 1] = line
            if key.kind == "continuous":
                if lane.trace is None:
                    lane.trace = np.full(len(times), np.nan, dtype=np.float32)
                lane.trace[first : last + 1] = value
            else:
                segment = Segment(first, last, value, note=row.get("note", ""))
                lane.segments.append(check_segment(key.kind, segment))
        except AnnotationError as error:
            raise AnnotationError(path, f"line {line}: {error.problem}") from None
    for lane in lanes.values():
        lane.segments.sort(key=lambda s: (s.start, s.stop))
    return lanes


def is_spans_csv(path: str | Path) -> bool:
    """Whether a file's header is a spans CSV's (lane, start, end, value, ...): how `project import` tells
    it from an overlay (OpenFace, py-feat, generic frame/time file). False for anything unreadable."""
    try:
        lines = read_text(Path(path)).splitlines()
    except AnnotationError:
        return False
    header = next((line for line in lines if line.strip()), "")
    names = {name.strip().lower() for name in next(csv.reader([header]), [])}
    return set(_REQUIRED) <= names


SEPARATORS = {";": "';'", "\t": "tabs"}


def header_separator(header: str) -> str | None:
    """The separator (',', ';' or a tab) that splits `header` into names that include `lane`."""
    for separator in (",", *SEPARATORS):
        if "lane" in {name.strip().lower() for name in header.split(separator)}:
            return separator
    return None


def _check_separator(path: Path, header: list[str]) -> None:
    separator = header_separator(",".join(header))
    if separator in SEPARATORS:
        raise AnnotationError(
            path, f"uses {SEPARATORS[separator]} as separator; expected ',' (lane,start,end,value,...)"
        )


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank rows with their line numbers; the first is the header."""
    text = read_text(path)
    rows = []
    try:
        for cells in (reader := csv.reader(io.StringIO(text, newline=""))):
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise AnnotationError(path, f"line {reader.line_num}: {error}") from None
    if not rows:
        raise AnnotationError(path, "empty file; expected the header lane,start,end,value[,annotator]")
    return rows


def read_text(path: Path) -> str:
    """A text file's content: UTF-8 (with or without BOM), else Windows-1252 as spreadsheet exports on
    Windows write it; a file with NUL bytes is binary, not text."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AnnotationError(path, "file not found") from None
    except OSError as error:
        raise AnnotationError(path, f"cannot read it ({error.strerror or error})") from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise AnnotationError(path, f"line {line}: a NUL byte: not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise AnnotationError(path, f"not a UTF-8 or Windows-1252 text file ({error.reason})") from None


def _lane_name(text: str) -> str:
    match = re.fullmatch(r"au0*(\d+)", text.lower())
    name = f"AU{match.group(1)}" if match else text.lower()
    if name not in LANE_NAMES:
        raise AnnotationError(None, f"unknown lane {text!r}; lanes are: {', '.join(LANE_NAMES)}")
    return name


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(None, f"{what} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise AnnotationError(None, f"{what} {text!r} is not a finite number")
    return value


@functools.lru_cache(maxsize=4096)
def _key(name: str, annotator: str, track: int) -> LaneKey:
    return LaneKey(name, annotator, track)  # validated once per lane, not once per row


def _span(row: dict[str, str], times: np.ndarray, stop: float, default_annotator: str):
    """(key, first frame, last frame, value) of one CSV row, checked."""
    name = _lane_name(row["lane"])
    track_text = row.get("track", "")
    track = _number(track_text, "track") if track_text else ANY_TRACK
    if track != int(track) or track < ANY_TRACK:
        raise AnnotationError(None, f"track {track_text!r} is not a face track id (-1 = any, 0, 1, ...)")
    track = int(track)
    key = _key(name, row.get("annotator") or default_annotator, track)
    start, end = _number(row["start"], "start"), _number(row["end"], "end")
    if end < start:
        raise AnnotationError(None, f"end {end:g} s is before start {start:g} s")
    if start < -TOLERANCE_S or end > stop + TOLERANCE_S:
        raise AnnotationError(None, f"span {start:g}-{end:g} s lies outside the video (0-{stop:g} s)")
    if key.kind == "event":
        if abs(end - start) > TOLERANCE_S:
            raise AnnotationError(None, "an event is a point in time: start == end")
        first = last = frame_shown_at(times, start)
    else:
        frames = frames_within(times, start, end)
        if frames is None:
            raise AnnotationError(None, f"span {start:g}-{end:g} s contains no frame's presentation time")
        first, last = frames
    value: object = row["value"]
    if key.kind == "expression":
        names = {e.lower(): e for e in EXPRESSIONS}
        if value.lower() not in names:
            expected = ", ".join(EXPRESSIONS)
            raise AnnotationError(None, f"unknown expression {value!r}; expected one of {expected}")
        value = names[value.lower()]
    elif key.kind == "au":
        if value not in ("0", "1"):
            raise AnnotationError(None, f"an AU span's value is 1 (on) or 0 (off), got {value!r}")
        value = int(value)
    elif key.kind == "continuous":
        value = _number(value, name)
        if not -1.0 <= value <= 1.0:
            raise AnnotationError(None, f"{name} {value:g} is outside [-1, 1]")
    elif key.kind == "exclusion":
        value = None
    return key, first, last, value


def _lanes(lanes: Iterable[Lane] | Mapping[LaneKey, Lane]) -> list[Lane]:
    items = list(lanes.values()) if isinstance(lanes, Mapping) else list(lanes)
    order = {name: i for i, name in enumerate(LANE_NAMES)}
    return sorted(items, key=lambda lane: (order[lane.key.name], lane.key.annotator, lane.key.track_id))


def _runs(lane: Lane, frame_count: int) -> list[tuple[int, int, str, str]]:
    """(first frame, last frame, value text, note) of a lane: its segments, or a trace's equal-value runs."""
    if lane.key.kind != "continuous":
        out = []
        for s in lane.segments:
            if s.stop >= frame_count:
                problem = f"{lane.key.name} segment {s.start}..{s.stop} is past the video's end"
                raise AnnotationError(None, problem)
            out.append((s.start, s.stop, "" if s.value is None else str(s.value), s.note))
        return out
    trace = np.asarray(lane.trace if lane.trace is not None else [], dtype=np.float32)[:frame_count]
    labelled = np.isfinite(trace)
    change = np.flatnonzero(np.diff(trace) != 0)  # NaN != anything: unlabelled frames are runs of one
    starts = np.concatenate([[0], change + 1]) if trace.size else np.zeros(0, dtype=int)
    stops = np.concatenate([change, [trace.size - 1]]) if trace.size else np.zeros(0, dtype=int)
    return [
        (int(a), int(b), np.format_float_positional(trace[a], unique=True, trim="-"), "")
        for a, b in zip(starts, stops, strict=True)
        if labelled[a]
    ]


def write_spans_csv(path: str | Path, lanes: Iterable[Lane] | Mapping[LaneKey, Lane], timestamps) -> Path:
    """Every lane as spans in seconds (read back by read_spans_csv to the same lanes), written atomically."""
    times = as_timestamps(timestamps)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(SPAN_COLUMNS)
    for lane in _lanes(lanes):
        key = lane.key
        try:
            runs = _runs(lane, len(times))
        except AnnotationError as error:
            raise AnnotationError(path, error.problem) from None
        for first, last, value, note in runs:
            end = times[first] if key.kind == "event" else span_end(times, last)  # an event is a point
            start, end = f"{times[first]:.6f}", f"{end:.6f}"
            writer.writerow([key.name, start, end, value, key.annotator, key.track_id, note])
    return write_text_atomic(path, text.getvalue())


def elan_tier(key: LaneKey) -> str:
    return f"{key.name}@{key.annotator}" + (f"/track{key.track_id}" if key.track_id != ANY_TRACK else "")


def write_elan_tab(path: str | Path, lanes: Iterable[Lane] | Mapping[LaneKey, Lane], timestamps) -> Path:
    """Every lane as ELAN-importable tab-delimited text (see the module docstring), written atomically."""
    times = as_timestamps(timestamps)
    lines = ["tier\tbegin\tend\tduration\tvalue"]
    for lane in _lanes(lanes):
        try:
            runs = _runs(lane, len(times))
        except AnnotationError as error:
            raise AnnotationError(path, error.problem) from None
        for first, last, value, _note in runs:
            begin, end = round(times[first], 3), round(span_end(times, last), 3)
            flat = " ".join(value.split())  # a tab or newline in event text would break the row
            lines.append(f"{elan_tier(lane.key)}\t{begin:.3f}\t{end:.3f}\t{end - begin:.3f}\t{flat}")
    return write_text_atomic(path, "\n".join(lines) + "\n")
