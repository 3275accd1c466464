"""The scrubbing proxy: frame i is the video's frame i, every frame a keyframe, and never half-written."""

from __future__ import annotations

import os

import numpy as np
import pytest

from affectstudio.core import scrub_proxy
from affectstudio.core.jobs import Cancelled, JobState
from affectstudio.core.paths import cache_dir
from affectstudio.core.scrub_proxy import make_proxy, open_proxy, proxy_path, proxy_size
from affectstudio.core.video import VideoReader
from tests.long_gop import write_long_gop_video
from tests.videos import decode_index

FRAMES = 120


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory):
    return write_long_gop_video(tmp_path_factory.mktemp("proxy") / "long_gop.mp4", FRAMES, size=(256, 192))


def test_proxy_frame_i_shows_frame_i_and_every_frame_is_a_keyframe(long_gop):
    path = make_proxy(JobState(), long_gop, "abc", max_height=96)
    assert path == proxy_path("abc") and path.parent == cache_dir() / "scrub"
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (128, 96) and len(reader) == FRAMES
        assert reader.longest_gop == 1  # any frame decodes on its own
    proxy = open_proxy("abc", FRAMES)
    try:
        order = np.random.default_rng(3).permutation(FRAMES).tolist()
        assert [decode_index(proxy.read(i)) for i in order] == order
    finally:
        proxy.close()


def test_a_cancelled_proxy_leaves_no_file_behind(long_gop):
    reports = []
    state = JobState(on_progress=lambda p: (reports.append(p.done), state.cancel()))
    with pytest.raises(Cancelled):
        make_proxy(state, long_gop, "cancelled")
    assert reports and reports[0] < FRAMES  # it was stopped part way
    left = [p.name for p in (cache_dir() / "scrub").iterdir() if "cancelled" in p.name]
    assert left == []  # neither the proxy nor a partial file
    assert open_proxy("cancelled", FRAMES) is None


def test_a_stale_proxy_is_dropped_and_made_again(long_gop, tmp_path):
    short = write_long_gop_video(tmp_path / "short.mp4", 30)
    make_proxy(JobState(), short, "same-hash", max_height=48)
    assert open_proxy("same-hash", FRAMES) is None and not proxy_path("same-hash").exists()
    proxy_path("same-hash").write_bytes(b"not a video")
    assert open_proxy("same-hash", FRAMES) is None and not proxy_path("same-hash").exists()
    make_proxy(JobState(), long_gop, "same-hash", max_height=48)
    proxy = open_proxy("same-hash", FRAMES)
    assert proxy is not None and decode_index(proxy.read(FRAMES - 1)) == FRAMES - 1
    proxy.close()


def test_only_videos_that_seek_slowly_get_a_proxy(long_gop, monkeypatch):
    assert make_proxy(JobState(), long_gop, "small", if_slow=True) is None  # 256x192: fast enough
    assert not proxy_path("small").exists()
    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 256 * 192 * 100)  # its 250-frame group is above
    assert make_proxy(JobState(), long_gop, "small", if_slow=True, max_height=48) == proxy_path("small")


def test_made_and_opened_in_one_background_job(long_gop, monkeypatch):
    """The grabber's job: the proxy comes back open (indexing a long proxy is not for the UI thread)."""
    from affectstudio.core.scrub_proxy import make_and_open_proxy

    assert make_and_open_proxy(JobState(), long_gop, "fast", if_slow=True) is None  # 256x192 seeks fast
    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 0)
    proxy = make_and_open_proxy(JobState(), long_gop, "opened", if_slow=True)
    try:
        assert len(proxy) == FRAMES and decode_index(proxy.read(77)) == 77
    finally:
        proxy.close()


def test_720p_with_a_keyframe_every_30_frames_gets_a_proxy(tmp_path):
    """Issue 12: its seeks take 40-90 ms, over the 50 ms a scrub may take; the threshold was 720p x 60."""
    from affectstudio.core.scrub_proxy import worth_a_proxy

    hd = write_long_gop_video(tmp_path / "hd.mp4", 31, size=(1280, 720), keyint=30)
    sd = write_long_gop_video(tmp_path / "sd.mp4", 31, size=(640, 360), keyint=30)
    with VideoReader(hd) as reader:
        assert reader.longest_gop == 30 and worth_a_proxy(reader)
    with VideoReader(sd) as reader:  # a quarter of the pixels: its seeks are fast enough without
        assert reader.longest_gop == 30 and not worth_a_proxy(reader)


def test_proxy_sizes_keep_the_aspect_at_even_sizes():
    assert proxy_size(1280, 720) == (640, 360)
    assert proxy_size(1920, 1080) == (640, 360)
    assert proxy_size(720, 1280) == (202, 360)
    assert proxy_size(193, 144) == (192, 144)  # small videos keep their size (made even)


def test_the_cli_makes_proxies_ahead_of_time(long_gop, tmp_path, capsys):
    from affectstudio.cli import main
    from affectstudio.core.project import video_fingerprint

    assert main(["proxy", str(long_gop)]) == 0  # small: seeks fast, no copy
    assert "no copy needed" in capsys.readouterr().out
    assert main(["proxy", "--always", str(long_gop)]) == 0
    path = proxy_path(video_fingerprint(long_gop))
    assert str(path) in capsys.readouterr().out
    proxy = open_proxy(video_fingerprint(long_gop), FRAMES)
    assert proxy is not None
    proxy.close()
    assert main(["proxy", str(tmp_path / "missing.mp4")]) == 2
    error = capsys.readouterr().err
    assert "missing.mp4" in error and len(error.strip().splitlines()) == 1


def test_the_least_recently_used_proxies_go_once_over_the_budget(long_gop, tmp_path, monkeypatch):
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(tmp_path / "cache"))  # only this test's proxies
    for name in ("old", "used", "new"):
        make_proxy(JobState(), long_gop, name, max_height=48)
    for age, name in enumerate(("new", "old", "used")):  # "used" the oldest, until it is opened
        os.utime(proxy_path(name), (1e9 - age * 1000, 1e9 - age * 1000))
    open_proxy("used", FRAMES).close()  # opening marks it used now
    size = proxy_path("old").stat().st_size
    scrub_proxy.prune(2 * size)
    assert proxy_path("used").exists() and proxy_path("new").exists() and not proxy_path("old").exists()
