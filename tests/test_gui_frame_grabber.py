"""The frame grabber decodes only the newest request, previews far seeks from the proxy, stops cleanly."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import WAIT_MS

from affectstudio.core import scrub_proxy
from affectstudio.core.paths import cache_dir
from affectstudio.core.scrub_proxy import proxy_path
from affectstudio.core.video import VideoReader
from affectstudio.gui.frame_grabber import FrameGrabber, rgb_to_qimage
from tests.long_gop import write_long_gop_video
from tests.videos import decode_index


def test_qimage_is_an_owned_copy_of_the_rgb_array():
    array = np.zeros((4, 6, 3), dtype=np.uint8)
    array[1, 2] = (10, 20, 30)
    image = rgb_to_qimage(array)
    array[:] = 255
    assert (image.width(), image.height()) == (6, 4)
    assert image.pixelColor(2, 1).getRgb()[:3] == (10, 20, 30)


def test_a_burst_of_requests_serves_the_last_and_skips_stale_ones(qtbot, sample_video):
    grabber = FrameGrabber(sample_video)
    delivered = []
    grabber.frame_ready.connect(lambda index, image: delivered.append((index, image)))
    grabber.start()
    try:
        for index in range(0, 120, 2):  # a fast scrub: 60 requests at once
            grabber.request(index)
        qtbot.waitUntil(lambda: bool(delivered) and delivered[-1][0] == 118, timeout=WAIT_MS)
        assert len(delivered) < 20, "stale requests were decoded"
        with VideoReader(sample_video) as reader:
            expected = reader.read(118).image
        image = delivered[-1][1]
        assert image.pixelColor(30, 40).getRgb()[:3] == tuple(int(v) for v in expected[40, 30])
    finally:
        grabber.stop()
    assert not grabber.isRunning()


def test_an_unreadable_video_reports_failure(qtbot, tmp_path):
    grabber = FrameGrabber(tmp_path / "missing.mp4")
    with qtbot.waitSignal(grabber.failed, timeout=WAIT_MS) as failed:
        grabber.start()
    assert "missing.mp4" in failed.args[0]
    grabber.stop()


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory):
    return write_long_gop_video(tmp_path_factory.mktemp("grabber") / "long_gop.mp4", 280)


def pixels(image) -> np.ndarray:
    """An RGB888 QImage as an HxWx3 array."""
    view = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return view[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def test_a_far_seek_shows_the_proxy_picture_then_the_exact_frame(qtbot, long_gop, monkeypatch):
    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 0)  # a proxy for this small video too
    grabber = FrameGrabber(long_gop)
    previews, exact = [], []
    grabber.preview_ready.connect(lambda index, image: previews.append((index, image)))
    grabber.frame_ready.connect(lambda index, image: exact.append((index, image)))
    grabber.start()
    try:
        grabber.make_proxy("grabber-test")
        qtbot.waitUntil(lambda: grabber.proxy_task.isFinished(), timeout=30000)
        assert proxy_path("grabber-test").is_file()
        grabber.request(2)  # near the start: exact at once, no preview
        qtbot.waitUntil(lambda: bool(exact) and exact[-1][0] == 2, timeout=10000)
        assert previews == []
        grabber.request(240)  # 235 frames of decoding away: the proxy's picture comes first
        qtbot.waitUntil(lambda: exact[-1][0] == 240, timeout=10000)
        assert [index for index, _ in previews] == [240]
        preview = pixels(previews[0][1])
        assert preview.shape == (144, 192, 3) and decode_index(preview) == 240
        with VideoReader(long_gop) as reader:
            assert np.array_equal(pixels(exact[-1][1]), reader.read(240).image)
        qtbot.waitUntil(grabber.settled, timeout=10000)  # the frames around 240 are decoded meanwhile
        grabber.request(239)  # a step back: from the cache, exact, no preview
        qtbot.waitUntil(lambda: exact[-1][0] == 239, timeout=10000)
        assert len(previews) == 1
    finally:
        grabber.stop()
    assert not grabber.isRunning() and not grabber.proxy_task.isRunning()


def test_a_seek_a_few_frames_past_the_decoder_shows_the_proxy_picture_first(qtbot, long_gop, monkeypatch):
    """Issue 12: only seeks of 12 frames' decoding or more were previewed, so with a keyframe every 30 frames
    more than a third of the seeks waited for a 720p decoding run of up to 11 frames (40-90 ms)."""
    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 0)
    grabber = FrameGrabber(long_gop)
    previews, exact = [], []
    grabber.preview_ready.connect(lambda index, image: previews.append(index))
    grabber.frame_ready.connect(lambda index, image: exact.append(index))
    grabber.start()
    try:
        grabber.make_proxy("a-few-frames")
        qtbot.waitUntil(lambda: grabber.proxy_task.isFinished(), timeout=30000)
        grabber.request(0)
        qtbot.waitUntil(lambda: exact == [0] and grabber.settled(), timeout=10000)  # 1..8 decoded ahead
        grabber.request(15)  # the decoder is at 9: 7 frames to decode
        qtbot.waitUntil(lambda: exact[-1] == 15, timeout=10000)
        assert previews == [15]
    finally:
        grabber.stop()


def test_in_the_window_a_far_seek_shows_the_proxy_picture_at_once(qtbot, long_gop, monkeypatch):
    """Issue 12: the preview came from the grabber thread through the event loop, after the frame that thread
    was prefetching, the GIL and a repaint of the moved playhead (10-15 ms, 30-50 at the 95th percentile on a
    busy machine); now it is set before the seek returns and painted with the playhead."""
    from test_gui_main_window import no_auto_analysis, open_and_wait

    from affectstudio.gui.main_window import MainWindow

    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 0)
    settings = no_auto_analysis()
    settings.display.scrub_proxy = True
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    try:
        open_and_wait(window, qtbot, long_gop)
        grabber = window.grabber
        qtbot.waitUntil(lambda: grabber.proxy_task.isFinished() and grabber.proxy_ready, timeout=30000)
        qtbot.waitUntil(grabber.settled, timeout=WAIT_MS)
        window.seek(240)  # 235 frames of decoding away
        assert (window.video.index, window.video.exact) == (240, False)  # no event processed yet
        qtbot.waitUntil(lambda: window.video.exact and window.video.index == 240, timeout=WAIT_MS)
    finally:
        window.close()


def test_stopping_while_the_proxy_is_made_leaves_no_partial_file(qtbot, long_gop, monkeypatch):
    monkeypatch.setattr(scrub_proxy, "MIN_SEEK_PIXELS", 0)
    grabber = FrameGrabber(long_gop)
    grabber.start()
    grabber.make_proxy("stopped-early")
    progress = []
    grabber.proxy_task.progress.connect(progress.append)
    qtbot.waitUntil(lambda: bool(progress), timeout=30000)
    grabber.stop()
    assert not grabber.proxy_task.isRunning()
    assert [p.name for p in (cache_dir() / "scrub").iterdir() if "stopped-early" in p.name] == []
