"""Model arrays and imported overlays as FrameLabels (what agreement, statistics and overlay traces read)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from affectstudio.core.annotations.agreement import agreement
from affectstudio.core.annotations.sources import model_labels, overlay_labels
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.review_data import TrackArrays


def test_overlay_labels_take_the_first_face_and_each_au_source():
    table = pd.DataFrame(
        {
            "frame": [0, 1, 1, 3],
            "face_id": [0, 1, 0, 0],
            "valence": [0.1, 0.9, 0.2, 0.3],
            "expr_Happiness": [0.8, 0.1, 0.2, 0.1],
            "expr_Anger": [0.1, 0.8, 0.7, 0.2],
            "AU12_active": [1, 0, 0, 1],
            "AU1_intensity": [2.0, 0.0, 0.5, 3.0],
            "AU2_prob": [0.2, 0.9, 0.6, np.nan],
        }
    ).set_index("frame")
    labels = overlay_labels(table, 5)
    assert labels.source == "overlay" and "arousal" not in labels.va
    np.testing.assert_allclose(labels.va["valence"], [0.1, 0.2, np.nan, 0.3, np.nan])
    happy, anger = EXPRESSIONS.index("Happiness"), EXPRESSIONS.index("Anger")
    assert labels.expression.tolist() == [happy, anger, -1, anger, -1]
    assert labels.aus["AU12"].tolist() == [1, 0, -1, 1, -1]
    assert labels.aus["AU1"].tolist() == [1, 0, -1, 1, -1]  # intensity 0.5 < 1
    assert labels.aus["AU2"].tolist() == [0, 1, -1, -1, -1]
    assert set(labels.aus) == {"AU1", "AU2", "AU12"}


def test_model_labels_match_the_arrays_and_agree_with_themselves():
    rng = np.random.default_rng(0)
    arrays = TrackArrays.empty(6)
    arrays.va[1:5] = rng.uniform(-1, 1, (4, 2))
    arrays.expr[1:5] = rng.dirichlet(np.ones(8), 4)
    arrays.au[1:5] = rng.uniform(0, 1, (4, 12))
    arrays.boxes[1:5] = 1.0
    labels = model_labels(arrays, [0.5] * len(ACTION_UNITS))
    assert labels.face.tolist() == [False, True, True, True, True, False]
    assert labels.expression[0] == -1 and labels.expression[2] == np.argmax(arrays.expr[2])
    assert labels.aus["AU1"][0] == -1 and labels.aus["AU1"][3] == int(arrays.au[3, 0] >= 0.5)
    table = agreement(labels, labels, 6)
    ccc = table[(table.measure == "CCC") & (table.lane == "valence")]
    assert float(ccc.value.iloc[0]) == 1.0 and int(ccc.frames.iloc[0]) == 4
