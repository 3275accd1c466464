"""The bad-input suite (issue 9): what users really feed `analyze`, `models import` and the window.

Every case checks one contract: the documented exit status (0 analysed, 2 the user's input is at fault), a
message that names the file and the problem on one line (never a traceback), the input unchanged, and no
temporary or half-written file left behind. Inputs that are odd but valid (rotated, grayscale, 4K, VFR, a
still image, a tiny picture, unicode and space paths) are analysed, with faces found where there are faces.

Entry points covered elsewhere, case by case: project files and annotation/overlay rows in
test_cli_project.py, test_annotation_exchange.py and test_annotation_overlays.py (fuzzed with hypothesis);
checkpoints in test_checkpoint.py and test_cli_models.py; training configs in test_training_cli.py and
test_training_data.py; option values and output folders in test_cli_analyze.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.results import BOX_COLUMNS, ResultTable
from affectstudio.core.video import VideoReader
from tests.videos import (
    vfr_timestamps,
    write_audio_only,
    write_frames,
    write_indexed_video,
    write_zero_frame_video,
)

N_FRAMES = 6


@pytest.fixture(scope="module")
def faces(sample_video) -> list[np.ndarray]:
    """The sample's first frames (one face in each), cut to an even width for yuv420p."""
    with VideoReader(sample_video) as reader:
        return [f.image[:, : f.image.shape[1] // 2 * 2] for f in reader.frames(0, N_FRAMES)]


def encode(path: Path, frames, *, codec="libx264", pix_fmt="yuv420p", rotation=0, times=None) -> Path:
    """Write RGB frames (2-D arrays: gray frames); `rotation` is the clockwise turn a player applies
    (stored as a display matrix), `times` irregular presentation times in seconds (VFR)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        time_base = Fraction(1, 1000) if times is not None else Fraction(1, 25)
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        for i, image in enumerate(frames):
            fmt = "gray" if image.ndim == 2 else "rgb24"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
            frame.time_base = time_base
            frame.pts = round(times[i] * 1000) if times is not None else i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


# Odd but valid inputs: (name, how to make it, least share of frames with a face). ---------------------------
def _rotated(folder, faces):  # a phone held upright: the picture is stored turned, the player turns it back
    return encode(folder / "portrait.mp4", [np.rot90(f, k=1) for f in faces], rotation=90)


def _grayscale(folder, faces):
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in faces]
    return encode(folder / "gray.mkv", gray, codec="ffv1", pix_fmt="gray")


def _uhd(folder, faces):
    big = [cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR) for f in faces[:2]]
    return write_frames(folder / "uhd.mp4", big)


def _vfr(folder, faces):
    return encode(folder / "phone.mp4", faces, times=vfr_timestamps(len(faces), seed=3))


def _still(folder, faces):
    path = folder / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(faces[0], cv2.COLOR_RGB2BGR))
    return path


def _unicode_path(folder, faces):
    (folder / "mes vidéos").mkdir()
    return write_frames(folder / "mes vidéos" / "entretien n°2 😀.mp4", faces)


def _tiny(folder, faces):  # 16x16: too small for a face, analysed with every row empty
    return write_frames(folder / "tiny.mp4", [cv2.resize(f, (16, 16)) for f in faces])


VALID = {
    "rotated 90 (display matrix)": (_rotated, 0.8),
    "grayscale (ffv1 gray)": (_grayscale, 0.8),
    "4K UHD": (_uhd, 1.0),
    "variable frame rate": (_vfr, 0.8),
    "still image": (_still, 1.0),
    "unicode and spaces in the path": (_unicode_path, 0.8),
    "16x16 pixels": (_tiny, 0.0),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[Path]:
    """Temporary files (core.paths names them `.NAME.<random>.partial`) that a run left behind."""
    return [p for p in folder.rglob("*") if "partial" in p.name]


def faces_found(table: ResultTable) -> float:
    return float(table.df["face_score"].notna().mean())


@pytest.fixture(scope="module")
def study(faces, tmp_path_factory):
    """One `analyze FOLDER` over a plain clip, every odd-but-valid video and the broken ones (one model load
    for all): the path a many-video user takes, with each file's own outputs to check."""
    root = tmp_path_factory.mktemp("bad-inputs")
    folder = root / "videos"
    folder.mkdir()
    plain = write_frames(folder / "plain.mp4", faces)
    valid = {case: make(folder, faces) for case, (make, _) in VALID.items()}
    broken = {case: BROKEN[case][0](folder) for case in IN_A_STUDY}
    digests = {path: digest(path) for path in [plain, *valid.values(), *broken.values()]}
    out = root / "out"
    still = valid["still image"]  # images are analysed when named; a folder search takes videos only
    code = main(["analyze", str(folder), str(still), "-o", str(out), "--no-plot", "--device", "cpu"])
    return {
        "root": root,
        "folder": folder,
        "out": out,
        "code": code,
        "plain": plain,
        "valid": valid,
        "broken": broken,
        "digests": digests,
    }


def output_csv(study, video: Path) -> Path:
    return study["out"] / video.relative_to(study["folder"]).with_suffix(".csv")


@pytest.mark.slow
@pytest.mark.parametrize("case", list(VALID))
def test_odd_but_valid_videos_are_analysed(case, study):
    video = study["valid"][case]
    _, face_share = VALID[case]
    table = ResultTable.from_csv(output_csv(study, video))
    with VideoReader(video) as reader:
        times = reader.timestamps
    assert len(table) == len(times)
    np.testing.assert_allclose(table.df["time"], times, atol=1e-3)  # VFR: each frame at its own time
    assert faces_found(table) >= face_share, f"{case}: faces in {faces_found(table):.0%} of frames"
    if face_share == 0.0:
        assert faces_found(table) == 0.0
    sidecar = json.loads(output_csv(study, video).with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["complete"] is True
    assert digest(video) == study["digests"][video]


@pytest.mark.slow
def test_a_rotated_video_gives_the_boxes_of_the_upright_picture(study):
    """Ignoring the display matrix still finds the (sideways) face, but in the stored picture's
    coordinates: the boxes must be those of the same frames shot upright."""
    plain = ResultTable.from_csv(output_csv(study, study["plain"])).df[BOX_COLUMNS].to_numpy()
    turned = ResultTable.from_csv(output_csv(study, study["valid"]["rotated 90 (display matrix)"]))
    np.testing.assert_allclose(turned.df[BOX_COLUMNS].to_numpy(), plain, atol=6)


@pytest.mark.slow
def test_a_study_reports_each_broken_video_and_analyses_the_rest(study):
    assert study["code"] == 2  # the documented status of a study in which some videos failed
    assert len(ResultTable.from_csv(output_csv(study, study["plain"]))) == N_FRAMES
    summary = (study["out"] / "study_summary.csv").read_text(encoding="utf-8")
    for case, video in study["broken"].items():
        assert video.name in summary, f"{case}: {video.name} is not in the study summary"
        assert not output_csv(study, video).exists()
        assert digest(video) == study["digests"][video]
    assert leftovers(study["root"]) == []


# Broken inputs: (what the user has, how to make it, what the message says). --------------------------------
def _empty(folder):
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _garbage(folder):
    path = folder / "garbage.mp4"
    path.write_bytes(np.random.default_rng(7).bytes(20_000))
    return path


def _text(folder):
    path = folder / "notes.mov"
    path.write_text("minutes of the meeting\n" * 50)
    return path


def _audio_only(folder):
    return write_audio_only(folder / "interview.mp4")  # a recorder's audio-only export


def _zero_frames(folder):
    return write_zero_frame_video(folder / "zero.avi")


def _truncated_header(folder):
    full = folder / "full.mp4"
    write_indexed_video(full, 30)  # the index (moov) is written last, as most recorders do
    path = folder / "cut.mp4"
    path.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    full.unlink()
    return path


def _missing(folder):
    return folder / "not here.mp4"


def _empty_folder(folder):
    path = folder / "videos"
    path.mkdir()
    return path


IN_A_STUDY = ("empty file", "random bytes", "audio only", "zero frames", "truncated before its index")
BROKEN = {
    "empty file": (_empty, "not a readable video file"),
    "random bytes": (_garbage, "not a readable video file"),
    "a text file": (_text, "not a readable video file"),
    "audio only": (_audio_only, "contains no video stream"),
    "zero frames": (_zero_frames, "no video frames"),
    "truncated before its index": (_truncated_header, "truncated"),
    "missing file": (_missing, "file not found"),
    "a folder with no video": (_empty_folder, "no video or image files in this folder"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_videos_are_one_line_exit_2_and_leave_nothing(case, tmp_path, capsys):
    make, problem = BROKEN[case]
    video = make(tmp_path)
    before = digest(video) if video.is_file() else None
    out = tmp_path / "out"
    code = main(["analyze", str(video), "-o", str(out), "--no-plot", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("affectstudio: error: ")
    assert video.name in err and problem in err, err
    assert not list(out.glob("*")) if out.exists() else True
    assert leftovers(tmp_path) == []
    if before is not None:
        assert digest(video) == before


# Checkpoints that carry code: refused before anything runs. ------------------------------------------------
class _Payload:
    """Unpickling this would create the marker file: the import must never run it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_carrying_code_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "pwned"
    model = tmp_path / "weights.pt"
    model.write_bytes(pickle.dumps({"state_dict": _Payload(marker)}, protocol=2))
    code = main(["models", "import", str(model)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "weights.pt" in err
    assert not marker.exists()
    assert ModelRegistry().list() == [] and os.listdir(ModelRegistry().root) == []

    video = write_frames(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2)
    code = main(["analyze", str(video), "--model", str(model), "--no-plot", "-o", str(tmp_path / "out")])
    assert code == 2 and not marker.exists()


# The window: the same inputs through File > Open. ----------------------------------------------------------
@pytest.mark.parametrize("case", ["empty file", "random bytes", "audio only", "zero frames", "missing file"])
def test_the_window_says_why_a_video_cannot_be_opened_and_keeps_working(case, qtbot, tmp_path, faces):
    from affectstudio.core.settings import Settings
    from affectstudio.gui.main_window import MainWindow

    settings = Settings.load()
    settings.auto_analyse = False
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    make, problem = BROKEN[case]
    video = make(tmp_path)
    assert not window.open_video(video)
    title, message = window.errors[-1]
    assert title == "Cannot open video" and video.name in message and problem in message
    assert window.session.video is None and str(video) not in window.settings.recent.files
    good = write_frames(tmp_path / "good.mp4", faces)
    assert window.open_video(good)
    window.close()
