"""Range statistics, checked against values worked out by hand on a variable-frame-rate clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affectstudio.core.annotations.framelabels import FrameLabels
from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment
from affectstudio.core.annotations.stats import UNLABELLED, range_stats
from affectstudio.core.errors import AnnotationError
from tests.test_annotation_agreement import model_table

# frames shown for 0.1, 0.2, 0.1, 0.2 and 0.2 s (the last as long as the one before it)
TIMES = np.array([0.0, 0.1, 0.3, 0.4, 0.6])
LANES = [
    Lane(LaneKey("expression"), [Segment(0, 1, "Happiness"), Segment(3, 3, "Neutral")]),
    Lane(LaneKey("valence"), trace=np.array([0.1, 0.3, np.nan, 0.5, -1.0], np.float32)),
    Lane(LaneKey("AU12"), [Segment(0, 2, 1), Segment(3, 3, 0)]),
]


def test_time_shares_follow_the_timestamps_not_the_frame_count():
    stats = range_stats(LANES, TIMES)
    assert stats.frames == 5 and stats.seconds == pytest.approx(0.8)
    shares = stats.expressions
    assert shares.loc["Happiness", "seconds"] == pytest.approx(0.3)
    assert shares.loc["Happiness", "percent"] == pytest.approx(37.5)
    assert shares.loc["Neutral", "percent"] == pytest.approx(25.0)
    assert shares.loc[UNLABELLED, "seconds"] == pytest.approx(0.3) and shares.loc[UNLABELLED, "frames"] == 2
    assert shares["percent"].sum() == pytest.approx(100.0)
    assert shares.loc["Fear", "frames"] == 0


def test_va_mean_and_sample_sd_and_au_rate_over_coded_frames():
    stats = range_stats(LANES, TIMES)
    # valence 0.1, 0.3, 0.5, -1 (frame 2 unlabelled): mean -0.025; squared deviations sum to 1.3475
    assert stats.va.loc["valence", "frames"] == 4
    assert stats.va.loc["valence", "mean"] == pytest.approx(-0.025, abs=1e-7)
    assert stats.va.loc["valence", "sd"] == pytest.approx(math.sqrt(1.3475 / 3), rel=1e-6)
    assert "arousal" not in stats.va.index
    # AU12 on in frames 0-2, off in 3, not coded in 4: 3 of 4 coded frames
    assert stats.aus.loc["AU12", "rate"] == pytest.approx(0.75)
    assert list(stats.aus.index) == ["AU12"]
    assert stats.face_frames is None


def test_a_sub_range_minus_exclusions():
    lanes = [*LANES, Lane(LaneKey("exclusion"), [Segment(4, 4)])]
    stats = range_stats(lanes, TIMES, start=1, stop=4, exclusions=[(3, 3)])
    # frames 1 and 2 remain: 0.2 s Happiness + 0.1 s unlabelled
    assert (stats.frames, stats.excluded_frames) == (2, 2)
    assert stats.seconds == pytest.approx(0.3)
    assert stats.expressions.loc["Happiness", "percent"] == pytest.approx(200 / 3)
    assert stats.va.loc["valence", "frames"] == 1 and np.isnan(stats.va.loc["valence", "sd"])
    assert stats.aus.loc["AU12", "rate"] == 1.0
    table = stats.to_frame()
    share = table[(table.statistic == "time share") & (table.name == "Happiness") & (table.unit == "%")]
    assert share.value.iloc[0] == pytest.approx(200 / 3)


def test_predictions_count_frames_with_a_face():
    n = 40
    times = np.arange(n) / 25.0
    labels = FrameLabels.from_results(model_table(n), track_id=0)
    stats = range_stats(labels, times, start=0, stop=19)
    assert stats.face_frames == 18  # frames 9 and 19 have no face
    assert stats.face_seconds == pytest.approx(18 / 25)
    assert stats.expressions.loc[UNLABELLED, "frames"] == 2
    assert set(stats.aus.index) == {
        "AU1",
        "AU2",
        "AU4",
        "AU6",
        "AU7",
        "AU10",
        "AU12",
        "AU15",
        "AU23",
        "AU24",
        "AU25",
        "AU26",
    }
    assert (stats.aus["coded_frames"] == 18).all()


@pytest.mark.parametrize(("start", "stop"), [(-1, 3), (3, 2), (0, 5)])
def test_a_range_outside_the_video_is_refused(start, stop):
    with pytest.raises(AnnotationError, match="frame range"):
        range_stats(LANES, TIMES, start, stop)
