"""Overlays from OpenFace 2, py-feat and generic frame/time files, written in each tool's documented layout.

The headers below are the tools' real column lists (OpenFace 2.2 FeatureExtraction; py-feat 0.6 Fex), so a
reader that only copes with a trimmed-down file fails here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affectstudio.core.annotations.overlays import Overlay, read_overlay
from affectstudio.core.errors import AnnotationError

OPENFACE_AUS_R = [1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45]
OPENFACE_AUS_C = sorted([*OPENFACE_AUS_R, 28])
OPENFACE_HEADER = [
    "frame",
    "face_id",
    "timestamp",
    "confidence",
    "success",
    *[f"gaze_{e}_{a}" for e in (0, 1) for a in "xyz"],
    "gaze_angle_x",
    "gaze_angle_y",
    *[f"eye_lmk_{c}_{i}" for c in ("x", "y", "X", "Y", "Z") for i in range(56)],
    *[f"pose_{c}" for c in ("Tx", "Ty", "Tz", "Rx", "Ry", "Rz")],
    *[f"{c}_{i}" for c in ("x", "y", "X", "Y", "Z") for i in range(68)],
    *["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"],
    *[f"p_{i}" for i in range(34)],
    *[f"AU{n:02d}_r" for n in OPENFACE_AUS_R],
    *[f"AU{n:02d}_c" for n in OPENFACE_AUS_C],
]
PYFEAT_AUS = [1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 17, 20, 23, 24, 25, 26, 28, 43]
PYFEAT_EMOTIONS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
PYFEAT_HEADER = [
    *["FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore"],
    *[f"{c}_{i}" for c in "xy" for i in range(68)],
    *["Pitch", "Roll", "Yaw"],
    *[f"AU{n:02d}" for n in PYFEAT_AUS],
    *PYFEAT_EMOTIONS,
    *["input", "frame", "approx_time"],
]
TIMES = np.arange(120) * (1001 / 30000)  # 29.97 fps, 120 frames, like the sample clip


def openface_csv(path, rows: list[dict], times=TIMES) -> None:
    """OpenFace's own layout: ', '-separated, 1-based frames, timestamps rounded to milliseconds."""
    lines = [", ".join(OPENFACE_HEADER)]
    for row in rows:
        frame = row["frame"]
        values = {name: 0.0 for name in OPENFACE_HEADER}
        values.update(
            frame=frame + 1, face_id=0, timestamp=round(times[frame], 3), confidence=0.98, success=1
        )
        values.update({k: v for k, v in row.items() if k != "frame"})
        lines.append(
            ", ".join(
                f"{values[n]:g}" if not isinstance(values[n], str) else values[n] for n in OPENFACE_HEADER
            )
        )
    path.write_text("\n".join(lines) + "\n")


def test_openface_rows_align_on_their_timestamps_with_our_names(tmp_path):
    path = tmp_path / "clip.csv"
    rows = [{"frame": f, "AU12_r": f / 40, "AU12_c": int(f > 50), "AU28_c": 1} for f in range(120)]
    rows[7]["success"] = 0
    rows[7]["confidence"] = 0.1
    openface_csv(path, rows)
    overlay = read_overlay(path, TIMES)
    assert isinstance(overlay, Overlay) and overlay.fmt == "openface" and overlay.aligned_by == "time"
    assert overlay.name == "clip" and overlay.source == path
    df = overlay.frame
    assert 7 not in df.index and len(df) == 119
    assert overlay.dropped == {"no face (success = 0)": 1}
    assert df.loc[100, "AU12_intensity"] == pytest.approx(2.5)
    assert df.loc[51, "AU12_active"] == 1 and df.loc[50, "AU12_active"] == 0
    assert "AU28_active" in df and "AU45_intensity" in df and "AU01_r" not in df
    assert df.loc[3, "source_time"] == pytest.approx(round(TIMES[3], 3))
    assert (df["face_id"] == 0).all()
    assert "confidence" in df and "pose_Rx" in df and "x_67" in df  # other numeric columns kept


def test_openface_on_the_real_sample_clip_timestamps(tmp_path, sample_video):
    from affectstudio.core.video import VideoReader

    with VideoReader(sample_video) as reader:
        times = np.array(reader.timestamps)
    path = tmp_path / "of.csv"
    openface_csv(path, [{"frame": f, "AU06_r": 1.0} for f in range(0, len(times), 3)], times)
    df = read_overlay(path, times).frame
    assert df.index.tolist() == list(range(0, len(times), 3))


def test_openface_bad_cell_is_named_by_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    openface_csv(path, [{"frame": f} for f in range(20)])
    lines = path.read_text().splitlines()
    cells = lines[16].split(", ")
    cells[OPENFACE_HEADER.index("AU04_r")] = "abc"
    lines[16] = ", ".join(cells)
    path.write_text("\n".join(lines))
    with pytest.raises(
        AnnotationError, match=r"bad\.csv: line 17: 'abc' is not a number in column ' AU04_r'"
    ):
        read_overlay(path, TIMES)


def pyfeat_csv(path, frames: list[int], faces_per_frame: int = 1, extra: dict | None = None) -> None:
    """A Fex written by pandas' to_csv (an unnamed index column first), one row per face."""
    rng = np.random.default_rng(0)
    records = []
    for f in frames:
        for face in range(faces_per_frame):
            record = {name: rng.random() for name in PYFEAT_HEADER}
            record.update(
                FaceRectX=10 + 100 * face, frame=f, input="clip.mp4", approx_time=f"00:{int(f / 30):02d}"
            )
            record["happiness"] = 0.9 if f % 2 else 0.1
            record.update(extra or {})
            records.append(record)
    pd.DataFrame(records, columns=[*PYFEAT_HEADER, *(extra or {})]).to_csv(path)


def test_pyfeat_fex_aligns_by_frame_with_our_names(tmp_path):
    path = tmp_path / "fex.csv"
    pyfeat_csv(path, [*range(0, 120, 3), 130, 131], extra={"valence": 0.25})
    overlay = read_overlay(path, TIMES, name="py-feat run")
    df = overlay.frame
    assert overlay.fmt == "pyfeat" and overlay.aligned_by == "frame" and overlay.name == "py-feat run"
    assert df.index.tolist() == list(range(0, 120, 3))
    assert overlay.dropped == {"after the video's end": 2}
    assert df.loc[3, "expr_Happiness"] == pytest.approx(0.9) and df.loc[6, "expr_Happiness"] == pytest.approx(
        0.1
    )
    assert {f"AU{n}_prob" for n in PYFEAT_AUS} <= set(df.columns)
    assert {"expr_Anger", "expr_Neutral", "FaceScore", "FaceRectX", "Pitch", "valence"} <= set(df.columns)
    assert "input" not in df and "happiness" not in df and "AU01" not in df
    assert not any(str(c).startswith("column") or c == "Unnamed: 0" for c in df.columns)


def test_pyfeat_several_faces_in_a_frame_get_face_ids_in_file_order(tmp_path):
    path = tmp_path / "fex.csv"
    pyfeat_csv(path, [0, 1, 2], faces_per_frame=2)
    df = read_overlay(path, TIMES).frame
    assert df.index.tolist() == [0, 0, 1, 1, 2, 2]
    assert df["face_id"].tolist() == [0, 1] * 3
    assert df[df.face_id == 1]["FaceRectX"].tolist() == [110, 110, 110]


IMOTIONS = (
    "#Study Name\tMy study\n"
    "#Respondent Name\tP01\n"
    "#Recording time\t2024-01-01\n"
    "Row\tTimestamp\tSource\tFaceId\tAnger\tJoy\tValence\tBrow Furrow\n"
)


def test_imotions_affectiva_tab_export_with_metadata_lines_and_millisecond_timestamps(tmp_path):
    path = tmp_path / "imotions.txt"
    rows = []
    for i, t in enumerate(np.arange(0, 4000, 1000 / 60)):  # 60 Hz sampling of a 30 fps video
        rows.append(f"{i}\t{t:.1f}\tAFFDEX\t0\t{i % 7}\t{i / 10:.1f}\t{-i:.0f}\t\n")
    path.write_text(IMOTIONS + "".join(rows))
    overlay = read_overlay(path, TIMES)
    df = overlay.frame
    assert overlay.fmt == "generic" and overlay.aligned_by == "time"
    assert "milliseconds" in overlay.notes[0]
    assert df.index.is_unique and len(df) == 120  # each frame keeps its nearest sample
    assert sum(overlay.dropped.values()) == len(rows) - 120
    # frame 30 is shown at 1.001 s: the 60 Hz sample at 1000.0 ms is nearest
    assert df.loc[30, "source_time"] == pytest.approx(1.0)
    assert df.loc[30, "Joy"] == pytest.approx(6.0)
    assert {"Anger", "Joy", "Valence", "Brow Furrow", "Row"} <= set(df.columns) and "Source" not in df


@pytest.mark.parametrize(
    ("text", "expected_frames"),
    [
        ("time;valence;arousal\n0,0;0,5;0,1\n0,0667;0,25;0,2\n", [0, 2]),  # semicolons, decimal commas
        ("msec,valence\n0,0.5\n33.4,0.25\n", [0, 1]),
        ("approx_time,valence\n00:00.0334,0.5\n00:01.001,0.25\n", [1, 30]),
        ("frame,expr_Happiness\n3,0.5\n4,0.25\n", [3, 4]),
    ],
)
def test_generic_time_and_frame_columns(tmp_path, text, expected_frames):
    path = tmp_path / "g.csv"
    path.write_text(text)
    overlay = read_overlay(path, TIMES)
    assert overlay.frame.index.tolist() == expected_frames
    value = "valence" if "valence" in text else "expr_Happiness"
    assert overlay.frame[value].tolist() == [0.5, 0.25]


def test_columns_named_like_ours_but_not_used_as_such_keep_a_file_prefix(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("frame,face,face_id,source_time,time,valence\n5,0,7,1.5,0.1,0.5\n")
    df = read_overlay(path, TIMES).frame
    assert df.index.tolist() == [3]  # aligned by the time column (0.1 s), not the frame column
    assert df.loc[3, "file_face_id"] == 7 and df.loc[3, "file_source_time"] == 1.5
    assert df.loc[3, "face_id"] == 0 and df.loc[3, "source_time"] == 0.1 and "file_frame" not in df


def test_times_past_the_end_are_dropped_and_counted(tmp_path):
    path = tmp_path / "g.csv"
    end = TIMES[-1] + 1001 / 30000
    path.write_text("time,valence\n" + "".join(f"{t},0.1\n" for t in (-0.5, 1.0, end + 0.001, end + 5)))
    overlay = read_overlay(path, TIMES)
    assert overlay.frame.index.tolist() == [30]
    assert overlay.dropped == {"before the video's start": 1, "after the video's end": 2}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"#only\n#metadata\n", "empty file"),
        (b"time,valence\n", "no data rows"),
        (b"valence,arousal\n0.1,0.2\n", "no frame or time column"),
        (b"\x00\x01\x02binary", "not a text file"),
        (b"frame,valence\n1,0.5\n2,0.5,9\n", "line 3: 3 fields, the header"),
        (b"frame,valence\n1.5,0.5\n", "line 2: frame 1.5 is not a whole number"),
        (b"frame,valence\n1,inf\n", "line 2: inf is not a finite number in column 'valence'"),
        (b"time,valence\n50,0.1\n", "no row lies on the video"),
        (b"frame,valence,valence\n1,0.1,0.2\n", "appears twice"),
        (b"time,valence\nabc,0.1\n", "line 2: 'abc' is not a number in column 'time'"),
        (b"frame,valence\n0,1\n1,2.5\n", r"line 3: valence 2\.5 is outside \[-1, 1\]$"),
        (
            b"frame;arousal\n0;-1\n1;-1,5\n2;-3\n",
            r"line 3: arousal -1\.5 is outside \[-1, 1\] \(2 rows outside\)",
        ),
    ],
)
def test_unreadable_overlays_say_why(tmp_path, content, message):
    path = tmp_path / "o.csv"
    path.write_bytes(content)
    with pytest.raises(AnnotationError, match=message) as caught:
        read_overlay(path, TIMES)
    assert "o.csv" in str(caught.value)


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 200).map(str),
    st.sampled_from(["", "abc", "NaN", "00:01.5", '"', "1,5", "\t", "#", " ", "1e400", "-0"]),
    st.text(max_size=6),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.sampled_from(
        [
            "frame,valence,AU12_prob",
            "time,valence",
            "timestamp\tJoy",
            " frame, face_id, timestamp, confidence, success, AU01_r, AU01_c",
        ]
    ),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=8), max_size=6),
)
def test_malformed_rows_give_an_annotation_error_or_a_valid_overlay(tmp_path, header, rows):
    delimiter = "\t" if "\t" in header else ","
    path = tmp_path / "fuzz.csv"
    path.write_text(header + "\n" + "\n".join(delimiter.join(r) for r in rows) + "\n", encoding="utf-8")
    try:
        overlay = read_overlay(path, TIMES)
    except AnnotationError as error:
        assert str(path) in str(error)
        return
    df = overlay.frame
    assert len(df) > 0 and df.index.name == "frame"
    assert df.index.min() >= 0 and df.index.max() < len(TIMES)
    group = [df.index, df["face_id"]] if "face_id" in df else [df.index]
    assert not pd.Series(0, index=df.index).groupby(group).size().gt(1).any()
    assert all(np.issubdtype(dtype, np.number) for dtype in df.dtypes)
