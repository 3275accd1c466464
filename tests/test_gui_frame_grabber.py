"""The frame grabber decodes only the newest request and stops cleanly."""

from __future__ import annotations

import numpy as np
from gui_helpers import WAIT_MS

from affectstudio.core.video import VideoReader
from affectstudio.gui.frame_grabber import FrameGrabber, rgb_to_qimage


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
