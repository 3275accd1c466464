"""Counts in messages read as English: one helper, and the messages a one-frame input produces."""

from __future__ import annotations

from affectstudio.cli import main
from affectstudio.core.wording import plural


def test_plural():
    assert [plural(n, "frame") for n in (0, 1, 2)] == ["0 frames", "1 frame", "2 frames"]
    assert plural(1, "person", "people") == "1 person" and plural(3, "person", "people") == "3 people"


def test_a_one_frame_video_is_1_frame_and_a_one_video_project_1_video(tmp_path, capsys):
    """`project add` and `list` of an image (a one-frame input) said "1 frames" and "1 video(s)"."""
    import numpy as np
    from PIL import Image

    image = tmp_path / "photo.png"
    Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(image)
    project = tmp_path / "p.affectproj"
    assert main(["project", "new", str(project)]) == 0
    assert main(["project", "add", str(project), str(image)]) == 0
    assert main(["project", "list", str(project)]) == 0
    out = capsys.readouterr().out
    assert "photo.png: 1 frame, " in out and f"{project}: 1 video, " in out and f"{image}  1 frame  " in out
    assert "frames" not in out and "(s)" not in out
