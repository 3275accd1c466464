"""`affectstudio project ...` run in-process: exit codes, what lands in the store, one-line errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.annotations.exchange import read_spans_csv
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.project import ProjectStore, video_fingerprint
from affectstudio.core.video import VideoReader
from tests.videos import write_frames, write_indexed_video
from training.data import load_split


def cli(capsys, *argv):
    code = main(["project", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *fragments: str) -> None:
    # progress lines ("    12/12 ...", indented) appear when a step takes longer than their interval
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("    ")]
    assert len(lines) == 1 and lines[0].startswith("affectstudio: error: "), err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.fixture(scope="module")
def clip(sample_video, tmp_path_factory):
    """The first 12 frames of the sample talking head: a face in every frame, quick to analyse."""
    with VideoReader(sample_video) as reader:
        frames = [f.image[:, : f.image.shape[1] // 2 * 2] for f in reader.frames(0, 12)]
    return write_frames(tmp_path_factory.mktemp("clip") / "clip.mp4", frames, fps=10)


@pytest.fixture
def study(tmp_path, clip, capsys):
    video = shutil.copy(clip, tmp_path / "clip.mp4")
    path = tmp_path / "study.affectproj"
    assert cli(capsys, "new", path)[0] == 0
    code, out, _ = cli(capsys, "add", path, video)
    assert code == 0 and "clip.mp4: 12 frames" in out
    return path, video


def spans(tmp_path, text: str):
    path = tmp_path / "spans.csv"
    path.write_text(text)
    return path


def test_new_add_list_relink(tmp_path, capsys, study):
    path, video = study
    code, _, err = cli(capsys, "new", path)
    assert code == 2
    one_line_error(err, "study.affectproj", "already exists")
    moved = tmp_path / "elsewhere.mp4"
    video.rename(moved)
    code, out, _ = cli(capsys, "list", path)
    assert code == 0 and "MISSING" in out and "not analysed" in out
    assert cli(capsys, "relink", path, video, moved)[0] == 0
    with ProjectStore(path) as store:
        (record,) = store.videos()
        assert record.path == moved and record.hash == video_fingerprint(moved)
    other = write_indexed_video(tmp_path / "other.mp4", 5)
    code, _, err = cli(capsys, "relink", path, moved, tmp_path / "other.mp4")
    assert code == 2 and other is not None
    one_line_error(err, "other.mp4", "is not the same video as elsewhere.mp4")
    code, out, _ = cli(capsys, "list", path)
    assert "MISSING" not in out


def test_adding_a_copy_is_refused_and_a_moved_video_says_it_is_re_pointed(tmp_path, capsys, study):
    path, video = study
    copy = shutil.copy(video, tmp_path / "copy.mp4")
    code, _, err = cli(capsys, "add", path, copy)
    assert code == 2
    one_line_error(err, "copy.mp4", f"same content as {video}", "relink")
    with ProjectStore(path) as store:
        assert [record.path for record in store.videos()] == [video]
    video.unlink()  # the project's file is gone: the copy is where it is now
    code, out, _ = cli(capsys, "add", path, copy)
    assert code == 0
    assert f"{copy}: already in the project as {video} (missing); its path now points here" in out
    with ProjectStore(path) as store:
        assert [record.path for record in store.videos()] == [copy]


def test_import_spans_into_lanes_and_export_them(tmp_path, capsys, study):
    path, video = study
    csv = spans(
        tmp_path,
        "lane,start,end,value,annotator\n"
        "expression,0.0,0.45,Happiness,alice\n"
        "valence,0.2,0.55,0.5,alice\n"
        "arousal,0.2,0.55,-0.25,alice\n"
        "AU12,0.1,0.3,1,\n"
        "event,0.6,0.6,laughs,alice\n",
    )
    code, out, _ = cli(capsys, "import", path, video, csv, "--annotator", "bob", "--track", "0")
    assert code == 0 and "imported 5 lanes" in out
    with ProjectStore(path) as store:
        (record,) = store.videos()
        expression = store.segments(record.hash, LaneKey("expression", "alice", 0))
        assert [(s.start, s.stop, s.value) for s in expression] == [(0, 4, "Happiness")]
        assert [
            (s.start, s.stop, s.value) for s in store.segments(record.hash, LaneKey("AU12", "bob", 0))
        ] == [(1, 2, 1)]  # 0.1-0.3 s: the frames shown from 0.1 s until 0.3 s
        valence = store.trace(record.hash, LaneKey("valence", "alice", 0))
        np.testing.assert_allclose(valence[2:6], 0.5)
        assert np.isnan(valence[:2]).all() and np.isnan(valence[6:]).all()
    code, out, _ = cli(capsys, "lanes", path, video, "--csv", tmp_path / "out.csv")
    assert code == 0
    with VideoReader(video) as reader:
        again = read_spans_csv(tmp_path / "out.csv", reader.timestamps)
    assert [s.value for s in again[LaneKey("expression", "alice", 0)].segments] == ["Happiness"]
    assert cli(capsys, "lanes", path, video, "--elan", tmp_path / "out.txt")[0] == 0
    assert "expression@alice/track0" in (tmp_path / "out.txt").read_text()
    # the same spans in both files: begin and end (the end of the span's last frame) agree to the ms
    exported = (tmp_path / "out.csv").read_text().splitlines()[1:]
    csv_spans = sorted(
        (
            f"{lane}@{who}" + (f"/track{track}" if track != "-1" else ""),
            round(float(a), 3),
            round(float(b), 3),
        )
        for lane, a, b, _, who, track, _ in (line.split(",") for line in exported)
        if lane != "event"
    )
    elan = (tmp_path / "out.txt").read_text().splitlines()[1:]
    elan_spans = sorted(
        (tier, float(a), float(b))
        for tier, a, b, *_ in (line.split("\t") for line in elan)
        if not tier.startswith("event")
    )
    assert csv_spans == elan_spans
    assert ("expression@alice/track0", 0.0, 0.5) in csv_spans  # frames 0-4 at 10 fps: shown until 0.5 s
    assert ("AU12@bob/track0", 0.1, 0.3) in csv_spans  # as the imported file said


def test_import_a_per_frame_file_as_an_overlay(tmp_path, capsys, study):
    path, video = study
    table = tmp_path / "tool.csv"
    table.write_text("frame,valence,smile\n" + "".join(f"{f},{f / 20:.2f},{f % 2}\n" for f in range(12)))
    code, out, _ = cli(capsys, "import", path, video, table, "--name", "tool")
    assert code == 0 and "overlay 'tool'" in out
    with ProjectStore(path) as store:
        overlay = store.load_overlay(store.videos()[0].hash, "tool")
        assert overlay.fmt == "generic" and len(overlay.frame) == 12
        np.testing.assert_allclose(overlay.frame["valence"].to_numpy(), np.arange(12) / 20, atol=1e-6)


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda t, p, v: ("list", t / "missing.affectproj"), ("missing.affectproj", "project not found")),
        (lambda t, p, v: ("list", v), ("clip.mp4", "not a usable project file")),
        (
            lambda t, p, v: (
                "import",
                p,
                v,
                spans(t, "lane,start,end,value\nexpression,0,1,Happiness\nAU12,0,x,1\n"),
            ),
            ("spans.csv", "line 3"),
        ),
        (
            lambda t, p, v: ("import", p, v, spans(t, "lane,start,end,value\nvalence,0,1,0.5\n")),
            ("spans.csv", "valence and arousal"),
        ),
        (
            lambda t, p, v: ("import", p, t / "nope.mp4", spans(t, "x")),
            ("nope.mp4", "not a video of the project"),
        ),
        (lambda t, p, v: ("import", p, v, t / "none.csv"), ("none.csv", "file not found")),
        (
            lambda t, p, v: ("import", p, v, spans(t, "frame,valence,arousal\n0,0.5,0.1\n1,2.5,0.2\n")),
            ("spans.csv", "line 3: valence 2.5 is outside [-1, 1]"),
        ),
        (
            lambda t, p, v: ("import", p, v, spans(t, "lane;start;end;value\nexpression;0;0,5;Happiness\n")),
            ("spans.csv", "uses ';' as separator; expected ','"),
        ),
        (
            lambda t, p, v: ("import", p, v, spans(t, "lane\tstart\tend\tvalue\nAU12\t0\t1\t1\n")),
            ("spans.csv", "uses tabs as separator; expected ','"),
        ),
        (lambda t, p, v: ("lanes", p, v, "--csv", t / "l.csv"), ("clip.mp4", "no annotation lanes")),
        (lambda t, p, v: ("export-dataset", p, t / "set"), ("no labelled frame",)),
        (lambda t, p, v: ("agreement", p), ("nothing to compare",)),
    ],
)
def test_bad_inputs_are_one_line_exit_2_and_change_nothing(tmp_path, capsys, study, make, fragments):
    path, video = study
    code, _, err = cli(capsys, *make(tmp_path, path, video))
    assert code == 2
    one_line_error(err, *fragments)
    with ProjectStore(path) as store:
        assert store.lane_keys(store.videos()[0].hash) == []


@pytest.mark.slow
def test_analyze_goes_on_past_a_failing_video_then_export_and_agreement(tmp_path, capsys, study):
    path, video = study
    gone = write_indexed_video(tmp_path / "gone.mp4", 4)
    assert cli(capsys, "add", path, tmp_path / "gone.mp4")[0] == 0 and gone is not None
    (tmp_path / "gone.mp4").unlink()
    code, out, err = cli(capsys, "analyze", path, "--plain")
    assert code == 2
    assert "clip.mp4: 12 frames analysed" in out and "gone.mp4: FAILED: " in out and "not found" in out
    one_line_error(err, "1 video could not be analysed")
    code, out, _ = cli(capsys, "analyze", path, "--plain")
    assert "clip.mp4: already analysed" in out
    assert "warning: model 'untrained (seed 0)' has untrained heads (va, expr, au)" in out  # as analyze says
    code, out, _ = cli(capsys, "list", path)  # the analysis job's state of each video, as the app shows it
    assert "    analysis job: done" in out and "    analysis job: failed: not found" in out
    with ProjectStore(path) as store:
        clip_hash = store.video(video).hash
        assert len(store.latest_results(clip_hash).frame) == 12
        store.add_segment(clip_hash, LaneKey("expression", "alice", 0), Segment(0, 9, "Fear"))
        store.add_segment(clip_hash, LaneKey("expression", "bob", 0), Segment(0, 5, "Fear"))
        store.add_segment(clip_hash, LaneKey("expression", "bob", 0), Segment(6, 9, "Anger"))
    code, out, _ = cli(
        capsys, "export-dataset", path, tmp_path / "set", "--videos", video, "--annotators", "bob"
    )
    assert code == 0 and "8 train, 2 validation" in out
    train = load_split(tmp_path / "set", "train")
    assert list(train.expr) == [EXPRESSIONS.index("Fear")] * 6 + [EXPRESSIONS.index("Anger")] * 2
    code, out, _ = cli(capsys, "agreement", path, "--csv", tmp_path / "agree.csv")
    assert code == 0
    rows = (tmp_path / "agree.csv").read_text().splitlines()
    kappa = [r for r in rows if ",kappa,expression," in r]
    assert len(kappa) == 1 and "alice,bob" in kappa[0]
    assert any("alice,model:" in r for r in rows)
    # train from the project: its dataset is exported beside it, only the labelled task is trained
    config = tmp_path / "run.toml"
    config.write_text(
        'init = "none"\nbatch_size = 4\nnum_workers = 0\nname = "project-tiny"\n'
        '[[stages]]\nname = "scratch"\nepochs = 1\nlr = 1e-3\n'  # from init none: every group trains
    )
    code, out, err = cli(capsys, "train", path, "--config", config, "--set", f"output={tmp_path / 'runs'}")
    assert code == 0, err
    assert f"dataset in {tmp_path / 'study_dataset'}" in out
    assert "training on expr from" in out and "installed as 'project-tiny'" in out
    assert "`affectstudio models default project-tiny`" in out and ModelRegistry().default_name() is None
    assert load_split(tmp_path / "study_dataset", "train").images[0] == "images/clip/00001.jpg"
