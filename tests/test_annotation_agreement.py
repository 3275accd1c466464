"""Agreement (CCC, F1, kappa) against scikit-learn on random lanes, and on cases small enough by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score

from affectstudio.core.annotations.agreement import agreement, write_agreement_csv
from affectstudio.core.annotations.framelabels import FrameLabels
from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import NO_FACE, FrameBatch, ResultTable, batch_to_frame
from training.metrics import ccc as training_ccc


def segments(values: np.ndarray, as_value=lambda v: v) -> list[Segment]:
    """Runs of equal labelled values (-1 = unlabelled) as segments."""
    out, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            if values[start] >= 0:
                out.append(Segment(start, i - 1, as_value(int(values[start]))))
            start = i
    return out


def annotator(name, expr, aus: dict, valence, exclusions=()) -> list[Lane]:
    lanes = [
        Lane(LaneKey("expression", name), segments(expr, lambda v: EXPRESSIONS[v])),
        Lane(LaneKey("valence", name), trace=valence.astype(np.float32)),
        Lane(LaneKey("exclusion", name), [Segment(a, b) for a, b in exclusions]),
    ]
    lanes += [Lane(LaneKey(au, name), segments(v)) for au, v in aus.items()]
    return lanes


def row(table, measure, lane, cls=""):
    found = table[(table.measure == measure) & (table.lane == lane) & (table["class"] == cls)]
    assert len(found) == 1, (measure, lane, cls)
    return found.iloc[0]


def test_two_annotators_match_scikit_learn_on_random_lanes():
    rng = np.random.default_rng(7)
    n = 600
    expr_a = rng.integers(-1, 5, n)  # classes 0-4 used, -1 = not labelled
    expr_b = np.where(rng.random(n) < 0.6, expr_a, rng.integers(-1, 6, n))
    aus_a = {au: rng.integers(-1, 2, n) for au in ("AU1", "AU12", "AU25")}
    aus_b = {au: np.where(rng.random(n) < 0.7, v, rng.integers(-1, 2, n)) for au, v in aus_a.items()}
    val_a = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(-1, 1, n))
    val_b = np.clip(val_a * 0.8 + rng.normal(0, 0.2, n), -1, 1)
    a = annotator("alice", expr_a, aus_a, val_a, exclusions=[(100, 149)])
    b = annotator("bob", expr_b, aus_b, val_b, exclusions=[(500, 509)])
    table = agreement(a, b, n, exclusions=[Segment(0, 9)])

    keep = np.ones(n, dtype=bool)
    keep[100:150] = keep[500:510] = keep[0:10] = False
    both = keep & (expr_a >= 0) & (expr_b >= 0)
    x, y = expr_a[both], expr_b[both]
    per_class = f1_score(x, y, labels=range(8), average=None, zero_division=np.nan)
    for k, name in enumerate(EXPRESSIONS):
        got = row(table, "F1", "expression", name)
        assert got.frames == both.sum()
        if np.isnan(per_class[k]):
            assert np.isnan(got.value) and got.note == "absent on both sides"
        else:
            assert got.value == pytest.approx(per_class[k])
    assert row(table, "F1 macro", "expression").value == pytest.approx(f1_score(x, y, average="macro"))
    assert row(table, "kappa", "expression").value == pytest.approx(cohen_kappa_score(x, y))
    for au in aus_a:
        ok = keep & (aus_a[au] >= 0) & (aus_b[au] >= 0)
        u, v = aus_a[au][ok], aus_b[au][ok]
        assert row(table, "F1", au).value == pytest.approx(f1_score(u, v))
        assert row(table, "kappa", au).value == pytest.approx(cohen_kappa_score(u, v))
        assert row(table, "F1", au).frames == ok.sum()
    mean_au = np.mean([row(table, "F1", au).value for au in aus_a])
    assert row(table, "F1 mean", "AU").value == pytest.approx(mean_au)
    ok = keep & np.isfinite(val_a)
    assert row(table, "CCC", "valence").value == pytest.approx(training_ccc(val_a[ok], val_b[ok]), rel=1e-5)
    assert "arousal" not in set(table.lane)  # only lanes both sides have are compared


def test_a_tiny_case_computed_by_hand():
    a = [Lane(LaneKey("expression", "a"), [Segment(0, 1, "Neutral"), Segment(2, 3, "Anger")])]
    b = [Lane(LaneKey("expression", "b"), [Segment(0, 0, "Neutral"), Segment(1, 3, "Anger")])]
    table = agreement(a, b, 4)
    # Neutral: tp 1, 2 + 1 labels -> 2/3; Anger: tp 2, 2 + 3 labels -> 4/5; macro over the two used
    assert row(table, "F1", "expression", "Neutral").value == pytest.approx(2 / 3)
    assert row(table, "F1", "expression", "Anger").value == pytest.approx(4 / 5)
    assert row(table, "F1 macro", "expression").value == pytest.approx((2 / 3 + 4 / 5) / 2)
    # observed 3/4; expected 0.5 * 0.25 + 0.5 * 0.75 = 0.5 -> kappa 0.5
    assert row(table, "kappa", "expression").value == pytest.approx(0.5)
    v = [Lane(LaneKey("valence", "a"), trace=np.array([0.0, 0.5, 1.0], np.float32))]
    w = [Lane(LaneKey("valence", "b"), trace=np.array([0.0, 0.5, 0.5], np.float32))]
    # means 0.5 / 1/3, variances 1/6 / 1/18, covariance 1/12: 2/12 / (1/6 + 1/18 + 1/36) = 2/3
    assert row(agreement(v, w, 3), "CCC", "valence").value == pytest.approx(2 / 3, rel=1e-6)


def test_undefined_measures_are_nan_with_a_reason_never_an_exception():
    same = [
        Lane(LaneKey("expression", "a"), [Segment(0, 9, "Fear")]),
        Lane(LaneKey("AU4", "a"), [Segment(0, 9, 0)]),
    ]
    other = [
        Lane(LaneKey("expression", "b"), [Segment(0, 9, "Fear")]),
        Lane(LaneKey("AU4", "b"), [Segment(0, 9, 0)]),
    ]
    table = agreement(same, other, 10)
    assert row(table, "F1", "expression", "Fear").value == 1.0
    assert np.isnan(row(table, "kappa", "expression").value)
    assert "same label on every frame" in row(table, "kappa", "expression").note
    assert np.isnan(row(table, "F1", "AU4").value) and row(table, "F1", "AU4").note == "absent on both sides"
    assert np.isnan(row(table, "F1 mean", "AU").value)
    apart = [Lane(LaneKey("expression", "b"), [Segment(20, 29, "Fear")])]
    table = agreement(same, apart, 30)
    assert np.isnan(row(table, "kappa", "expression").value)
    assert row(table, "F1 macro", "expression").note == "no frames labelled by both"
    flat = [Lane(LaneKey("arousal", "a"), trace=np.full(5, 0.2, np.float32))]
    table = agreement(flat, [Lane(LaneKey("arousal", "b"), trace=np.full(5, 0.2, np.float32))], 5)
    assert np.isnan(row(table, "CCC", "arousal").value) and "constant" in row(table, "CCC", "arousal").note


def model_table(n: int, seed=3) -> ResultTable:
    rng = np.random.default_rng(seed)
    track = np.where(np.arange(n) % 10 == 9, NO_FACE, 0)  # every tenth frame has no face
    face = track != NO_FACE
    expr = rng.dirichlet(np.ones(8), size=n).astype(np.float32)
    au = rng.random((n, 12)).astype(np.float32)
    va = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    boxes = rng.uniform(0, 100, (n, 4))
    for array in (expr, au, va, boxes):
        array[~face] = np.nan
    batch = FrameBatch(
        np.arange(n), np.arange(n) / 30, track, np.where(face, 0.9, np.nan), boxes, va, expr, au
    )
    return ResultTable(batch_to_frame(batch, [0.5] * 12), {"au_thresholds": [0.5] * 12})


def test_annotator_against_the_model_uses_its_argmax_and_thresholds_on_frames_with_a_face():
    n = 200
    table = model_table(n)
    model = FrameLabels.from_results(table, track_id=0, thresholds=[0.3] * 12)
    rng = np.random.default_rng(1)
    expr = rng.integers(0, 8, n)
    au12 = rng.integers(0, 2, n)
    lanes = annotator("alice", expr, {"AU12": au12}, rng.uniform(-1, 1, n))
    result = agreement(lanes, model, n)
    face = np.arange(n) % 10 != 9
    predicted = np.argmax(table.df[[f"expr_{e}" for e in EXPRESSIONS]].to_numpy(), axis=1)[face]
    assert row(result, "F1 macro", "expression").value == pytest.approx(
        f1_score(expr[face], predicted, average="macro")
    )
    au_prob = table.df["AU12_prob"].to_numpy()[face]
    assert row(result, "F1", "AU12").value == pytest.approx(f1_score(au12[face], au_prob >= 0.3))
    assert row(result, "F1", "AU12").frames == face.sum()
    assert "kappa" not in set(result.measure)  # kappa is between annotators
    assert set(result[result.measure == "F1"].lane) == {"expression", "AU12"}  # AUs the annotator coded


def test_agreement_csv_keeps_nan_reasons(tmp_path):
    same = [Lane(LaneKey("expression", "a"), [Segment(0, 3, "Fear")])]
    other = [Lane(LaneKey("expression", "b"), [Segment(0, 3, "Fear")])]
    table = agreement(same, other, 4)
    path = write_agreement_csv(tmp_path / "agreement.csv", table)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns) == ["measure", "lane", "class", "value", "frames", "note"]
    assert len(back) == len(EXPRESSIONS) + 2
    kappa = back[back.measure == "kappa"].iloc[0]
    assert kappa.value == "" and "same label" in kappa.note


def test_per_frame_labels_of_lanes_leave_uncoded_au_frames_unlabelled():
    labels = FrameLabels.from_lanes([Lane(LaneKey("AU12"), [Segment(2, 3, 1), Segment(5, 5, 0)])], 8)
    assert labels.aus["AU12"].tolist() == [-1, -1, 1, 1, -1, 0, -1, -1]
    assert labels.expression is None and set(labels.aus) == {"AU12"} and ACTION_UNITS[6] == "AU12"


def test_an_imported_overlay_compares_like_the_model(tmp_path):
    from affectstudio.core.annotations.overlays import read_overlay

    path = tmp_path / "other_tool.csv"
    path.write_text(
        "frame,face_id,AU12_active,expr_Happiness,expr_Neutral,valence\n"
        "0,0,1,0.9,0.1,0.5\n1,0,1,0.1,0.9,0.4\n2,0,0,0.8,0.2,0.3\n"
        "0,1,0,0.0,1.0,-1\n"  # a second face, not the one compared
    )
    overlay = read_overlay(path, np.arange(4) / 30)
    lanes = [
        Lane(LaneKey("AU12", "a"), [Segment(0, 0, 1), Segment(1, 2, 0)]),
        Lane(LaneKey("expression", "a"), [Segment(0, 3, "Happiness")]),
    ]
    table = agreement(lanes, FrameLabels.from_overlay(overlay, 4), 4)
    assert row(table, "F1", "AU12").value == pytest.approx(2 / 3) and row(table, "F1", "AU12").frames == 3
    # the tool says Happiness, Neutral, Happiness over frames 0-2 (frame 3 has no row)
    assert row(table, "F1", "expression", "Happiness").value == pytest.approx(0.8)
    assert row(table, "F1", "expression", "Neutral").value == 0.0
    assert row(table, "F1 macro", "expression").value == pytest.approx(0.4)
    assert "kappa" not in set(table.measure)
    other_face = FrameLabels.from_overlay(overlay, 4, face_id=1)
    assert other_face.va["valence"][0] == -1 and np.isnan(other_face.va["valence"][1])
