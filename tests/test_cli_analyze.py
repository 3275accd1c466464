"""`affectstudio analyze` as a user runs it: output files, one-line errors, Ctrl-C keeps what was done."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from affectstudio.cli import main
from affectstudio.core.results import ResultTable
from affectstudio.core.video import VideoReader
from tests.videos import write_frames


def test_sample_run_writes_csv_sidecar_and_plot(tmp_path, capsys):
    assert main(["analyze", "--sample", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["carphone_pristine.csv", "carphone_pristine.json", "carphone_pristine.png"]
    assert "untrained" in out and "120 frames, 120 with a face" in out
    assert len(ResultTable.from_csv(tmp_path / "carphone_pristine.csv")) == 120
    assert (tmp_path / "carphone_pristine.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "{tmp}/missing.mp4"], "missing.mp4: file not found"),
        (["analyze", "{tmp}/notes.mp4"], "notes.mp4"),
        (["analyze"], "give either a VIDEO or --sample"),
        (["analyze", "{tmp}/v.mp4", "--model", "{tmp}/broken.pt"], "broken.pt"),
        (["analyze", "{tmp}/v.mp4", "--model", "no-such-model"], "no-such-model"),
        (["analyze", "{tmp}/v.mp4", "--device", "cuda:7"], "cuda:7"),
        # issue 9 item 6: tracebacks or values silently changed before
        (["analyze", "{tmp}/v.mp4", "--detect-every", "0"], "--detect-every must be at least 1 (got 0)"),
        (["analyze", "{tmp}/v.mp4", "--min-confidence", "5"], "--min-confidence must lie in [0, 1] (got 5)"),
        (["analyze", "{tmp}/v.mp4", "--device", "meta"], "--device must be auto, cpu, cuda, cuda:N or mps"),
        (["analyze", "{tmp}/v.mp4", "--batch-size", "0"], "--batch-size must be at least 1 (got 0)"),
        (["analyze", "{tmp}/v.mp4", "--batch-size", "-1"], "--batch-size must be at least 1 (got -1)"),
        (["analyze", "{tmp}/v.mp4", "{tmp}/v.mp4", "-o", "{tmp}/o", "--save-crops", "{tmp}/c"], "one video"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    (tmp_path / "notes.mp4").write_text("this is not a video")
    (tmp_path / "broken.pt").write_bytes(b"PK\x03\x04 truncated")
    write_frames(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2)
    code = main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("affectstudio: error: ") and message in err
    assert not list(tmp_path.glob("*.csv*")), "a failed run leaves no CSV behind"


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly_and_keeps_the_frames_done(sample_video, tmp_path, stop_signal):
    """SIGTERM (a service manager's stop, `kill`) behaves like Ctrl-C (issue 9 item 7)."""
    with VideoReader(sample_video) as reader:
        frames = [f.image[:, :192] for f in reader]
    video = write_frames(tmp_path / "long.mp4", frames * 8)  # 960 frames
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "affectstudio", "analyze", str(video), "-o", str(out), "--batch-size", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 600  # start-up alone can take minutes on a loaded shared machine

    def partial_size() -> int:  # the temporary file is unique per run (core.paths.atomic_write)
        return max((p.stat().st_size for p in out.glob(".long.*partial*")), default=0)

    while partial_size() <= 4000 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(stop_signal)
    stdout, stderr = child.communicate(timeout=600)
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    table = ResultTable.from_csv(out / "long.csv")
    assert 0 < len(table) < 960
    assert table.df["frame"].tolist() == list(range(len(table)))
    sidecar = json.loads((out / "long.json").read_text())
    assert sidecar["complete"] is False and sidecar["frames_analysed"] == len(table)
    assert "stopped early" in stdout


def test_a_truncated_video_is_analysed_as_far_as_it_goes_and_says_so(tmp_path, capsys):
    """Issue 9: 226 of 472 promised frames used to report complete: true with no warning."""
    import json

    from videos import write_indexed_video

    full = tmp_path / "full.mp4"
    write_indexed_video(full, 40, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    code = main(["analyze", str(cut), "-o", str(tmp_path / "out"), "--no-plot", "--device", "cpu"])
    out, _ = capsys.readouterr()
    assert code == 0
    sidecar = json.loads((tmp_path / "out" / "cut.json").read_text())
    frames = sidecar["frames_analysed"]
    assert 10 < frames < 40 and sidecar["complete"] is False
    assert sidecar["video_truncated"].startswith("truncated or damaged")
    assert f"warning: {cut}: truncated or damaged" in out


def test_an_output_folder_that_cannot_be_made_is_one_line_and_exit_2(tmp_path, capsys):
    """Issue 9 item 4: `-o` below a file (or a read-only or full disk) gave a traceback and exit 1."""
    (tmp_path / "taken").write_text("a file, not a folder")
    write_frames(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 2)
    code = main(["analyze", str(tmp_path / "v.mp4"), "-o", str(tmp_path / "taken" / "out"), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("affectstudio: error: ") and "taken" in err and "Not a directory" in err
    assert (tmp_path / "taken").read_text() == "a file, not a folder"
