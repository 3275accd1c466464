"""Which face a label belongs to, and which labels a frame gets, before any crop is made."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from affectstudio.core.annotations.lanes import ANY_TRACK, Lane, LaneKey, Segment
from affectstudio.core.dataset_labels import labelled_faces
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS

N = 20


def boxes():
    """Track 0: frames 0-14, 40 px wide; track 1: frames 5-19, 60 px wide (the larger face)."""
    rows = []
    for frame in range(N):
        if frame < 15:
            rows.append((frame, 0, 0.0, 0.0, 40.0, 40.0))
        if frame >= 5:
            rows.append((frame, 1, 100.0, 0.0, 160.0, 60.0))
    return pd.DataFrame(rows, columns=["frame", "track_id", "x0", "y0", "x1", "y1"])


def lane(name, track, *segments, trace=None):
    return Lane(LaneKey(name, "a", track), list(segments), trace)


def test_track_labels_take_their_track_and_any_track_the_only_or_largest_face():
    lanes = [
        lane("expression", 0, Segment(10, 19, "Fear")),  # track 0 ends at 14: 15-19 skipped
        lane("expression", ANY_TRACK, Segment(0, 9, "Anger")),  # 0-4 only track 0; 5-9 track 1 is larger
    ]
    skipped = Counter()
    faces = labelled_faces(lanes, boxes(), N, skipped)
    got = {(f.frame, f.track): EXPRESSIONS[f.expr] for f in faces}
    assert got == {
        **{(f, 0): "Anger" for f in range(5)},
        **{(f, 1): "Anger" for f in range(5, 10)},
        **{(f, 0): "Fear" for f in range(10, 15)},
    }
    assert skipped == Counter({"no face on track 0 at that frame": 5})
    assert list(faces[0].box) == [0, 0, 40, 40] and list(faces[-1].box) == [0, 0, 40, 40]


def test_a_specific_track_wins_over_any_track_field_by_field():
    va = np.full(N, np.nan, np.float32)
    va[5:10] = 0.5
    lanes = [
        lane("expression", 1, Segment(5, 9, "Sadness")),
        lane("expression", ANY_TRACK, Segment(5, 9, "Happiness")),  # resolves to track 1 too
        lane("valence", ANY_TRACK, trace=va),
        lane("arousal", ANY_TRACK, trace=-va),
        lane("AU12", ANY_TRACK, Segment(5, 7, 1)),
    ]
    faces = labelled_faces(lanes, boxes(), N, Counter())
    assert [(f.frame, f.track) for f in faces] == [(f, 1) for f in range(5, 10)]
    assert all(EXPRESSIONS[f.expr] == "Sadness" for f in faces)
    np.testing.assert_allclose([f.va for f in faces], [[0.5, -0.5]] * 5)
    assert [int(f.au[ACTION_UNITS.index("AU12")]) for f in faces] == [1, 1, 1, -1, -1]


def test_exclusions_valence_alone_and_missing_faces():
    lanes = [
        lane("expression", 0, Segment(0, 14, "Neutral")),
        lane("exclusion", 0, Segment(2, 3)),  # this track only
        lane("exclusion", ANY_TRACK, Segment(12, 13)),  # every track
        lane("expression", 1, Segment(5, 19, "Fear")),
        lane("valence", 1, trace=np.full(N, 0.2, np.float32)),  # no arousal: never a label
    ]
    faces = labelled_faces(lanes, boxes(), N, Counter())
    track0 = [f.frame for f in faces if f.track == 0]
    track1 = [f.frame for f in faces if f.track == 1]
    assert track0 == [0, 1, *range(4, 12), 14]
    assert track1 == [*range(5, 12), *range(14, 20)]
    assert all(np.isnan(f.va).all() for f in faces)
    skipped = Counter()
    assert labelled_faces(lanes[:1], boxes().iloc[:0], N, skipped) == []
    assert skipped == Counter({"no face on track 0 at that frame": 15})
