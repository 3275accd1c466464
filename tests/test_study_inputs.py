"""Study inputs: files, folders and globs; output names that mirror folders and never collide; outputs
never replace inputs."""

from pathlib import Path

import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.study.inputs import expand_inputs, plan_outputs


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_are_searched_recursively_for_videos_and_globs_expand(tmp_path):
    a = touch(tmp_path / "in" / "a" / "clip.mp4")
    b = touch(tmp_path / "in" / "b" / "deep" / "clip.MOV")
    touch(tmp_path / "in" / "b" / "notes.txt")
    found = expand_inputs([str(tmp_path / "in")])
    assert sorted(found) == sorted([a, b])
    assert expand_inputs([str(tmp_path / "in" / "*" / "*.mp4")]) == [a]
    assert expand_inputs([str(a), str(tmp_path / "in" / "a")]) == [a], "duplicates are analysed once"
    with pytest.raises(AffectStudioError, match="no file matches"):
        expand_inputs([str(tmp_path / "none" / "*.mp4")])
    with pytest.raises(AffectStudioError, match="file not found"):
        expand_inputs([str(tmp_path / "missing.mp4")])


def test_a_folder_of_images_is_its_images_in_natural_order(tmp_path, capsys):
    """As `analyze img2.jpg img10.jpg ...` would: each image is a one-frame input."""
    images = [touch(tmp_path / "photos" / name) for name in ("img10.jpg", "img2.JPG", "img1.png")]
    touch(tmp_path / "photos" / "notes.txt")
    assert expand_inputs([str(tmp_path / "photos")]) == [images[2], images[1], images[0]]
    touch(tmp_path / "nothing" / "notes.txt")
    assert main(["analyze", str(tmp_path / "nothing"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"affectstudio: error: {tmp_path / 'nothing'}: no video or image files in this folder\n"


def test_study_summary_lists_images_in_natural_order_and_no_output_for_a_failed_one(tmp_path, capsys):
    import pandas as pd
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img10.jpg", "img2.jpg"):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(photos / name)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    assert main(["analyze", str(photos), "-o", str(tmp_path / "out"), "--plain"]) == 2  # one failed
    capsys.readouterr()
    summary = pd.read_csv(tmp_path / "out" / "study_summary.csv")
    assert list(summary["video"]) == ["broken.jpg", "img2.jpg", "img10.jpg"]
    assert list(summary["status"]) == ["failed", "done", "done"]
    assert summary["output"].isna().tolist() == [True, False, False]  # broken.csv was never written
    assert sorted(p.name for p in (tmp_path / "out").glob("*.csv")) == [
        "img10.csv",
        "img2.csv",
        "study_summary.csv",
    ]


def test_same_names_in_different_folders_mirror_the_folders(tmp_path):
    a, b = touch(tmp_path / "a" / "clip.mp4"), touch(tmp_path / "b" / "clip.mov")
    items = plan_outputs([a, b])
    assert [str(i.output) for i in items] == ["a/clip.csv", "b/clip.csv"]
    assert [i.name for i in items] == ["a/clip.mp4", "b/clip.mov"]


def test_names_that_would_still_collide_keep_their_extension(tmp_path):
    one, two = touch(tmp_path / "a" / "clip.mp4"), touch(tmp_path / "a" / "Clip.mov")
    other = touch(tmp_path / "a" / "other.mp4")
    outputs = [str(i.output) for i in plan_outputs([one, two, other], ".parquet")]
    assert outputs == ["clip.mp4.parquet", "Clip.mov.parquet", "other.parquet"]
    assert len({o.lower() for o in outputs}) == 3


def test_analyze_never_writes_over_its_input(tmp_path, monkeypatch, sample_video):
    """Issue 9 item 1: `cd d && affectstudio analyze photo.png` wrote the plot over photo.png."""
    import av

    with av.open(str(sample_video)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.fromarray(np.ascontiguousarray(frame)).save(photo)
    before = photo.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "photo.png"]) == 2
    assert photo.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_a_study_needs_an_output_folder(tmp_path, capsys):
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "b.mp4")
    assert main(["analyze", str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")]) == 2
    assert "needs -o OUT" in capsys.readouterr().err


def test_the_summary_file_is_named_as_the_help_and_the_readme_say(tmp_path, capsys):
    """`--format parquet` writes study_summary.parquet (as the per-frame files); both names are documented."""
    from affectstudio.core.study.runner import SUMMARY_NAME

    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    for suffix in (".csv", ".parquet"):
        assert f"{SUMMARY_NAME}{suffix}" in help_text
        assert f"out/{SUMMARY_NAME}{suffix}" in readme
