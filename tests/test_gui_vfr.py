"""Variable frame rate: every plot draws a frame's values at that frame's presentation time."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import synthetic_rows

from affectstudio.core.plot_times import frame_columns
from affectstudio.core.review_data import ReviewData
from affectstudio.core.video import VideoReader
from affectstudio.gui.timeline import TimelinePanel, au_image, expression_image
from affectstudio.gui.transport import frame_at
from tests.videos import write_indexed_video

FRAMES = 90


@pytest.fixture(scope="module")
def vfr_times(tmp_path_factory):
    """The presentation times PyAV/FFmpeg report for a phone-like clip with irregular pts."""
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    written = write_indexed_video(path, FRAMES, vfr=True)
    with VideoReader(path) as reader:
        times = np.asarray(reader.timestamps, dtype=float)
    np.testing.assert_allclose(times, written, atol=1e-3)
    assert np.diff(times).std() > 0.01, "the clip must really have a variable frame rate"
    return times


def _column_at(image_item, seconds: float) -> int:
    rect = image_item.boundingRect()  # in image pixels; the item maps them onto seconds
    left = image_item.mapToParent(rect.topLeft()).x()
    right = image_item.mapToParent(rect.topRight()).x()
    return int((seconds - left) / (right - left) * image_item.image.shape[0])


def test_heat_maps_put_each_frame_at_its_presentation_time(qtbot, vfr_times):
    data = ReviewData(vfr_times)
    data.add_rows(synthetic_rows(FRAMES, 30.0).assign(time=vfr_times))
    panel = TimelinePanel()
    qtbot.addWidget(panel)
    panel.set_duration(vfr_times)
    panel.set_track(data.tracks[0], 1, [0.5] * 12, [])
    expected = {
        panel.expr_image: expression_image(data.tracks[0].expr),
        panel.au_image: au_image(data.tracks[0].au, [0.5] * 12),
    }
    ends = np.append(vfr_times[1:], panel.duration)
    width = panel.duration / panel.expr_image.image.shape[0]  # a column: at most half the shortest frame
    assert width <= np.diff(vfr_times).min() / 2 + 1e-9
    for index, (start, stop) in enumerate(zip(vfr_times, ends, strict=True)):
        # any column within the frame's time shows that frame (one straddling a frame change shows the
        # frame on screen at its centre time)
        for moment in (start + 1.01 * width, (start + stop) / 2, stop - 1.01 * width):
            assert frame_at(vfr_times, moment) == index  # the readout and the playhead's frame
            for item, per_frame in expected.items():
                column = _column_at(item, moment)
                np.testing.assert_array_equal(item.image[column], per_frame[index], err_msg=f"{index}")
    x, _ = panel.raw_curves[0].getData()
    np.testing.assert_array_equal(x, vfr_times)  # the traces: at the frame times too


def test_constant_frame_rate_keeps_one_column_per_frame():
    times = np.arange(300) / 30.0
    columns, width = frame_columns(times, 10.0)
    assert list(columns) == list(range(300)) and width == pytest.approx(1 / 30)
