"""`affectstudio analyze` options users rely on (issue 13): where `-o` writes, `--no-plot`, `--plain`,
`--min-confidence`, `--face-range` and the no-face warning, each shown by what the run produces, not by
the option being accepted. They run on the first 8 frames of the real sample clip to stay short."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.results import NO_FACE, ResultTable
from affectstudio.core.video import VideoReader
from tests.videos import write_frames


@pytest.fixture
def clip(sample_video, tmp_path):
    """The sample's first 8 frames (a face in each, full-range scores 0.66-0.94) as an H.264 file."""
    with VideoReader(sample_video) as reader:
        frames = [frame.image[:, :192] for frame in reader.frames(0, 8)]  # 193 px wide: x264 needs even
    return write_frames(tmp_path / "clip.mp4", frames)


def analyze(capsys, *args) -> str:
    assert main(["analyze", *map(str, args)]) == 0
    return capsys.readouterr().out


def test_output_as_a_csv_path_writes_there_with_sidecar_and_plot_beside_it(clip, tmp_path, capsys):
    out = analyze(capsys, clip, "-o", tmp_path / "new" / "custom.csv")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["custom.csv", "custom.json", "custom.png"]
    assert "8 frames, 8 with a face" in out
    assert len(ResultTable.from_csv(tmp_path / "new" / "custom.csv")) == 8
    assert (tmp_path / "new" / "custom.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("style", "fmt"), [("pyfeat", "csv"), ("openface", "parquet")])
def test_other_column_styles_and_parquet_get_the_plot_too(clip, tmp_path, capsys, style, fmt):
    out = analyze(capsys, clip, "-o", tmp_path, "--columns", style, "--format", fmt, "--plain")
    assert f"wrote {tmp_path / 'clip.png'}" in out
    assert (tmp_path / "clip.png").read_bytes()[:4] == b"\x89PNG"


def test_output_as_a_folder_and_no_plot_write_no_png(clip, tmp_path, capsys):
    folder = tmp_path / "results"
    out = analyze(capsys, clip, "-o", folder, "--no-plot")
    assert sorted(p.name for p in folder.iterdir()) == ["clip.csv", "clip.json"]
    assert ".png" not in out


@pytest.mark.slow
def test_plain_runs_eager_pytorch_and_agrees_with_the_fast_path(clip, tmp_path, capsys):
    fast_out = analyze(capsys, clip, "-o", tmp_path / "fast.csv", "--no-plot")
    plain_out = analyze(capsys, clip, "-o", tmp_path / "plain.csv", "--no-plot", "--plain")
    plain = json.loads((tmp_path / "plain.json").read_text())
    fast = json.loads((tmp_path / "fast.json").read_text())
    assert plain["backend"] == "eager" and plain["fast_path"] == "off" and "(eager on" in plain_out
    assert f"model: {plain['model']} ({plain['model_digest'][:12]})" in plain_out.splitlines()
    assert f"({fast['backend']} on" in fast_out
    if importlib.util.find_spec("openvino") is not None:  # 8 frames: the fast path may not be ready in time
        assert fast["fast_path"] != "off" and fast["backends"][-1]["last_frame"] == 7
    a = ResultTable.from_csv(tmp_path / "fast.csv").df
    b = ResultTable.from_csv(tmp_path / "plain.csv").df
    columns = ["valence", "arousal", *[c for c in a.columns if c.startswith("expr_") or c.endswith("_prob")]]
    np.testing.assert_allclose(a[columns].to_numpy(float), b[columns].to_numpy(float), atol=1e-3)
    np.testing.assert_array_equal(a["face_score"].to_numpy(), b["face_score"].to_numpy())


def test_min_confidence_above_every_face_score_finds_no_face_and_warns(clip, tmp_path, capsys):
    out = analyze(capsys, clip, "-o", tmp_path / "strict.csv", "--min-confidence", "0.99")
    assert "8 frames, 0 with a face" in out
    assert "warning:" in out and "no face found in any analysed frame" in out
    table = ResultTable.from_csv(tmp_path / "strict.csv").df
    assert len(table) == 8 and (table["track_id"] == NO_FACE).all() and table["valence"].isna().all()
    assert not (tmp_path / "strict.png").exists()  # nothing to plot, and the terminal says so
    assert "no plot written: no frame has a face" in out
    sidecar = json.loads((tmp_path / "strict.json").read_text())
    assert sidecar["frames_with_face"] == 0 and "no face found in any analysed frame" in sidecar["warning"]
    speed = [line for line in out.splitlines() if line.startswith("speed:")]
    assert speed == [speed[0]] and " on cpu)" not in speed[0] and "face detection only" in speed[0]


@pytest.mark.slow
def test_face_range_short_runs_the_short_range_detector(clip, tmp_path, capsys):
    analyze(capsys, clip, "-o", tmp_path / "full.csv", "--no-plot")
    analyze(capsys, clip, "-o", tmp_path / "short.csv", "--no-plot", "--face-range", "short")
    full = ResultTable.from_csv(tmp_path / "full.csv").df
    short = ResultTable.from_csv(tmp_path / "short.csv").df
    assert (full["track_id"] != NO_FACE).all() and (short["track_id"] != NO_FACE).all()
    # the two MediaPipe models score the same face differently: an ignored option gives equal scores
    assert np.abs(full["face_score"].to_numpy() - short["face_score"].to_numpy()).max() > 0.01
    options = json.loads((tmp_path / "short.json").read_text())["options"]
    assert options["face_range"] == "short"
