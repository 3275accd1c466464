"""Per-frame output of other tools (OpenFace 2, py-feat, any frame/time CSV) as read-only overlays.

An overlay is a table indexed by *our* 0-based frame index, aligned on the video's presentation
timestamps, so it plots beside the model's predictions and enters agreement like them. Recognised layouts:

- **OpenFace 2** (FeatureExtraction, FaceLandmarkVidMulti): `frame, face_id, timestamp, confidence, success,
  ..., AU01_r ... AU45_r, AU01_c ... AU45_c`, header names with a leading space, 1-based frames. Aligned by
  `timestamp`. Rows with `success == 0` are frames where OpenFace found no face: dropped and counted.
  `AUxx_c` (presence 0/1) becomes `AU<n>_active`, `AUxx_r` (intensity 0-5) `AU<n>_intensity`.
- **py-feat** Fex CSV (`Detector.detect_video(...).to_csv`): `FaceRectX/Y/Width/Height, FaceScore`, landmarks,
  AU probabilities `AU01 ... AU43`, emotions `anger ... neutral`, `input`, `frame` (0-based), maybe
  `approx_time` and `valence`/`arousal`. Aligned by `frame`, because `approx_time` is rounded to whole
  seconds. `AUxx` becomes `AU<n>_prob`, `happiness` becomes `expr_Happiness` (and so on for the 7 classes).
  Several faces in one frame are numbered 0, 1, ... in `face_id` in file order.
- **Generic**: any comma-, tab- or semicolon-separated file with a frame or time column, after optional `#`
  metadata lines (as iMotions/Affectiva write them). Time columns are seconds (`time`, `timestamp`,
  `seconds`, `approx_time`, also `mm:ss.fff` text) or milliseconds (`ms`, `msec`, `time_ms`, ...; a
  `timestamp` whose values only fit the video as milliseconds is read as milliseconds, with a note).
  A frame column is 0-based. Column names are kept (trimmed); columns already named like ours (`valence`,
  `expr_Happiness`, `AU12_prob`, ...) line up with the model's.

A `valence` or `arousal` value outside [-1, 1] (py-feat's, or a generic file's column of that name) is an
error naming the file, line and value: a wrong scale (0-10, percent) would otherwise plot off the axes
and distort agreement.

Rows are aligned to the nearest frame within half a frame interval of their time (or to their frame
number); rows outside the video, without a face, or a second row for the same frame and face are
dropped and counted in `Overlay.dropped`. The table keeps `face_id` (where the file has faces),
`source_time` (the row's own time, when aligned by time) and every other numeric column; the file's frame
and time columns, non-numeric columns (file names, labels) and unnamed ones (the index pandas writes) are
left out, and a file's own column named `frame`, `face_id` or `source_time` is kept as `file_<name>`.
Anything malformed raises AnnotationError naming the file and line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from affectstudio.core.annotations.exchange import read_text
from affectstudio.core.annotations.timing import as_timestamps, nearest_frames, video_end
from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import VA_NAMES, VA_RANGE
from affectstudio.core.wording import plural

FORMATS = ("openface", "pyfeat", "generic")
PYFEAT_EMOTIONS = {
    "anger": "Anger",
    "disgust": "Disgust",
    "fear": "Fear",
    "happiness": "Happiness",
    "sadness": "Sadness",
    "surprise": "Surprise",
    "neutral": "Neutral",
}
_SECONDS = {"time", "times", "timestamp", "seconds", "sec", "secs", "timesec", "timestampsec", "approxtime"}
_SECONDS |= {"mediatime", "timeins", "timestampins"}
_MILLIS = {
    "ms",
    "msec",
    "msecs",
    "millis",
    "milliseconds",
    "timems",
    "timestampms",
    "timemsec",
    "mediatimems",
}
_FRAMES = {"frame", "frames", "frameindex", "frameno", "framenr", "framenumber", "framenum"}
_FACES = {"faceid", "face", "trackid", "track"}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


@dataclass
class Overlay:
    """One imported file: per-frame values indexed by our frame index (`frame` is its DataFrame)."""

    name: str
    fmt: str  # one of FORMATS
    source: Path
    frame: pd.DataFrame  # index "frame" (0-based, ours); `face_id` where the file has faces; float columns
    aligned_by: str  # "time" or "frame"
    dropped: dict[str, int] = field(default_factory=dict)  # why -> rows
    notes: list[str] = field(default_factory=list)


def _normal(name: str) -> str:
    return re.sub(r"[\s_()\[\]-]", "", name.lower())


def _fail(path: Path, line: int, problem: str) -> AnnotationError:
    return AnnotationError(path, f"line {line}: {problem}")


def _table(path: Path) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Header names (as written), the data by column position, and each data row's line number."""
    lines = read_text(path).splitlines()
    first = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None
    )
    if first is None:
        raise AnnotationError(path, "empty file: no header row with a frame or time column")
    header = lines[first]
    delimiter = max((",", "\t", ";"), key=header.count)
    names = next(csv.reader([header], delimiter=delimiter))
    rows = [(i + 1, line) for i, line in enumerate(lines[first + 1 :], first + 1)]
    rows = [(n, line) for n, line in rows if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise AnnotationError(path, f"no data rows after the header (line {first + 1})")
    for number, line in rows:
        if line.count(delimiter) != len(names) - 1:
            fields = len(next(csv.reader([line], delimiter=delimiter), []))
            if fields != len(names):
                raise _fail(path, number, f"{fields} fields, the header (line {first + 1}) has {len(names)}")
    decimal = "," if delimiter == ";" and any("," in line for _, line in rows[:50]) else "."
    try:
        data = pd.read_csv(
            io.StringIO("\n".join(line for _, line in rows)),
            sep=delimiter,
            header=None,
            names=list(range(len(names))),
            skipinitialspace=True,
            skip_blank_lines=False,
            decimal=decimal,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise AnnotationError(path, f"cannot be read as {delimiter!r}-separated values ({error})") from None
    return names, data, np.array([n for n, _ in rows])


def _numeric(path: Path, name: str, column: pd.Series, lines: np.ndarray, required: bool) -> pd.Series | None:
    """The column as float64, None for a text column; a bad cell in a number column is an error."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype(np.float64)
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype(np.float64)
    else:  # pandas found a cell that is not a number: which, and is this a number column at all?
        text = pd.Series(["" if pd.isna(v) else str(v).strip() for v in column], dtype=object)
        values = pd.to_numeric(text, errors="coerce").astype(np.float64)
        filled = (text != "").to_numpy(dtype=bool)
        bad = filled & values.isna().to_numpy()
        present = np.flatnonzero(filled)
        if bad.any() and (required or (present.size and not bad[present[0]])):
            row = int(np.flatnonzero(bad)[0])
            raise _fail(path, lines[row], f"{column.iloc[row]!r} is not a number in column {name!r}")
        if bad.any():
            return None
    infinite = np.flatnonzero(np.isinf(values.to_numpy()))
    if infinite.size:
        row = int(infinite[0])
        raise _fail(path, lines[row], f"{column.iloc[row]!r} is not a finite number in column {name!r}")
    return values


def _check_va(path: Path, name: str, values: pd.Series, lines: np.ndarray) -> None:
    """Valence and arousal lie in [-1, 1]: a value outside is a wrong file or column, never clipped."""
    low, high = VA_RANGE
    outside = np.flatnonzero((values.to_numpy() < low) | (values.to_numpy() > high))
    if outside.size:
        row = int(outside[0])
        problem = f"{name.strip()} {values.iloc[row]:g} is outside [{low:g}, {high:g}]"
        more = f" ({plural(outside.size, 'row')} outside)" if outside.size > 1 else ""
        raise _fail(path, lines[row], problem + more)


def _detect(names: list[str]) -> str:
    stripped = set(names)
    if {"frame", "timestamp", "confidence", "success"} <= stripped and any(
        re.fullmatch(r"AU\d+_[rc]", n) for n in names
    ):
        return "openface"
    if {"FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight"} <= stripped:
        return "pyfeat"
    return "generic"


def _our_name(fmt: str, name: str) -> str:
    if fmt == "openface" and (m := re.fullmatch(r"AU0*(\d+)_([rc])", name)):
        return f"AU{m.group(1)}_{'intensity' if m.group(2) == 'r' else 'active'}"
    if fmt == "pyfeat":
        if m := re.fullmatch(r"AU0*(\d+)", name):
            return f"AU{m.group(1)}_prob"
        if name in PYFEAT_EMOTIONS:
            return f"expr_{PYFEAT_EMOTIONS[name]}"
    return name


def _role(names: list[str], wanted: set[str]) -> int | None:
    return next((i for i, name in enumerate(names) if _normal(name) in wanted), None)


def _clock_seconds(column: pd.Series) -> pd.Series | None:
    """`[hh:]mm:ss[.fff]` text as seconds, None if the column is not all clock times."""
    text = column.dropna().astype(str).str.strip()
    parts = text.str.extract(_CLOCK)
    if text.empty or parts[1].isna().any():
        return None
    seconds = parts[0].astype(float).fillna(0) * 3600 + parts[1].astype(float) * 60 + parts[2].astype(float)
    return seconds.reindex(column.index)


def _only_fits_as_ms(t: np.ndarray, end: float) -> bool:
    """Times that run two orders of magnitude past the video but fit it in milliseconds (iMotions writes
    `Timestamp` in ms); a file a little longer than the video stays in seconds and loses its tail."""
    latest = np.max(t[np.isfinite(t)], initial=0.0)
    return bool(latest > 100 * end and latest / 1000 <= end + 1)


def read_overlay(path: str | Path, timestamps, name: str | None = None) -> Overlay:
    """Read an OpenFace, py-feat or generic frame/time file and align it to the video's `timestamps`."""
    path = Path(path)
    times = as_timestamps(timestamps)
    raw, data, lines = _table(path)
    names = [n.strip() or f"column{i + 1}" for i, n in enumerate(raw)]
    fmt = _detect(names)
    ours = [_our_name(fmt, n) for n in names]
    seen: set[str] = set()
    for i, n in enumerate(ours):
        if n in seen:
            raise AnnotationError(path, f"column {raw[i]!r} appears twice in the header")
        seen.add(n)
    time_col = None if fmt == "pyfeat" and "frame" in names else _role(names, _SECONDS | _MILLIS)
    frame_col, face_col = _role(names, _FRAMES), _role(names, _FACES)
    if fmt == "openface":
        time_col, frame_col = names.index("timestamp"), names.index("frame")
    if time_col is None and frame_col is None:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise AnnotationError(
            path, f"no frame or time column (frame, time, timestamp, ms, ...); columns: {shown}"
        )
    notes: list[str] = []
    dropped: dict[str, int] = {}
    roles = {time_col, frame_col, face_col} - {None}
    success = names.index("success") if fmt == "openface" and "success" in names else None
    values: dict[int, pd.Series] = {}
    for i in range(len(names)):
        clock = (
            _clock_seconds(data[i]) if i == time_col and not pd.api.types.is_numeric_dtype(data[i]) else None
        )
        required = i in roles or i == success
        series = clock if clock is not None else _numeric(path, raw[i], data[i], lines, required)
        if series is not None:
            values[i] = series
        if ours[i] in VA_NAMES and series is not None:
            _check_va(path, raw[i], series, lines)
    keep = np.ones(len(data), dtype=bool)

    def drop(mask: np.ndarray, why: str) -> None:
        mask = mask & keep
        if mask.any():
            dropped[why] = dropped.get(why, 0) + int(mask.sum())
            keep[mask] = False

    if success is not None:
        drop(values[success].to_numpy() == 0, "no face (success = 0)")
    frame = np.zeros(len(data), dtype=np.int64)
    distance = np.zeros(len(data))
    if time_col is not None:
        t = values[time_col].to_numpy()
        if _normal(names[time_col]) in _MILLIS:
            t = t / 1000.0
        elif fmt == "generic" and _only_fits_as_ms(t, video_end(times)):
            t = t / 1000.0
            notes.append(
                f"column {names[time_col]!r} read as milliseconds: in seconds it runs past the video"
            )
        drop(np.isnan(t), "no time value")
        safe = np.where(np.isnan(t), 0.0, t)
        nearest, inside = nearest_frames(times, safe)
        drop(~inside & (safe < times[0]), "before the video's start")
        drop(~inside, "after the video's end")
        frame, distance = nearest, np.abs(safe - times[nearest])
    else:
        f = values[frame_col].to_numpy()
        drop(np.isnan(f), "no frame number")
        whole = np.isnan(f) | (f == np.round(f))
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise _fail(path, lines[row], f"frame {data[frame_col].iloc[row]!r} is not a whole number")
        frame = np.where(np.isnan(f), 0, f).astype(np.int64)
        drop(frame < 0, "before the video's start")
        drop(frame >= len(times), "after the video's end")
    if face_col is not None:
        drop(values[face_col].isna().to_numpy(), "no face id")
    if not keep.any():
        reasons = "; ".join(f"{n} {why}" for why, n in dropped.items())
        raise AnnotationError(
            path, f"no row lies on the video ({plural(len(data), 'row')} dropped: {reasons})"
        )
    unnamed = {i for i, n in enumerate(raw) if not n.strip()}  # e.g. the index pandas' to_csv writes
    reserved = {"frame", "face_id", "source_time", "_distance"}  # ours; a file's own keep a file_ prefix
    columns = {
        f"file_{ours[i]}" if ours[i] in reserved else ours[i]: series.to_numpy()[keep]
        for i, series in values.items()
        if i not in roles | unnamed
    }
    out = pd.DataFrame(columns)
    out.insert(0, "frame", frame[keep])
    if face_col is not None:
        out.insert(1, "face_id", values[face_col].to_numpy()[keep].astype(np.int64))
    elif out["frame"].duplicated().any() and time_col is None:
        out.insert(1, "face_id", out.groupby("frame").cumcount().to_numpy())  # several faces per frame
    if time_col is not None:
        out.insert(1, "source_time", safe[keep])
    group = ["frame", "face_id"] if "face_id" in out else ["frame"]
    out["_distance"] = distance[keep]
    out = out.sort_values([*group, "_distance"], kind="stable")
    duplicate = out.duplicated(group, keep="first").to_numpy()
    if duplicate.any():
        dropped["another row for the same frame and face (kept the nearest)"] = int(duplicate.sum())
    out = out[~duplicate].drop(columns="_distance").set_index("frame")
    return Overlay(
        name or path.stem, fmt, path, out, "time" if time_col is not None else "frame", dropped, notes
    )
