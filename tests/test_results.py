import numpy as np
import pandas as pd
import pytest

from affectstudio.core.errors import ResultsError
from affectstudio.core.results import (
    AU_ACTIVE_COLUMNS,
    COLUMNS,
    NO_FACE,
    FrameBatch,
    ResultTable,
    ResultWriter,
    smooth,
)


def make_batch(frames, track_ids, seed=0):
    rng = np.random.default_rng(seed)
    n = len(frames)
    face = np.asarray(track_ids) != NO_FACE
    expr = rng.dirichlet(np.ones(8), size=n).astype(np.float32)
    au = rng.random((n, 12)).astype(np.float32)
    va = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    boxes = rng.uniform(0, 100, (n, 4))
    for array in (expr, au, va, boxes):
        array[~face] = np.nan
    return FrameBatch(
        frame=np.asarray(frames),
        time=np.asarray(frames) / 30.0,
        track_id=np.asarray(track_ids),
        face_score=np.where(face, 0.9, np.nan),
        boxes=boxes,
        va=va,
        expr=expr,
        au=au,
    )


def test_writer_round_trip_keeps_every_frame_and_metadata(tmp_path):
    path = tmp_path / "out.csv"
    writer = ResultWriter(path, {"model": "untrained", "untrained_tasks": ["va"]}, [0.5] * 12)
    batch = make_batch([0, 1, 1, 2], [0, 0, 1, NO_FACE])
    writer.write(batch)
    assert not path.exists(), "the final name appears only when the file is complete"
    writer.close()

    table = ResultTable.from_csv(path)
    assert list(table.df.columns) == COLUMNS
    assert table.metadata == {"model": "untrained", "untrained_tasks": ["va"]}
    assert table.df["frame"].tolist() == [0, 1, 1, 2]
    no_face = table.df.iloc[3]
    assert no_face["track_id"] == NO_FACE and no_face["expression"] == "" and np.isnan(no_face["valence"])
    assert pd.isna(no_face[AU_ACTIVE_COLUMNS[0]])
    np.testing.assert_allclose(table.df["valence"][:3], batch.va[:3, 0], atol=1e-5)
    expected_active = (batch.au[:3] >= 0.5).astype(int)
    assert (table.df[AU_ACTIVE_COLUMNS][:3].to_numpy(dtype=int) == expected_active).all()
    assert table.tracks() == [0, 1]


def test_aborted_writer_leaves_nothing(tmp_path):
    writer = ResultWriter(tmp_path / "out.csv", {}, [0.5] * 12)
    writer.write(make_batch([0], [0]))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_track_view_is_dense_with_nan_gaps(tmp_path):
    writer = ResultWriter(tmp_path / "out.csv", {}, [0.5] * 12)
    batch = make_batch([0, 1, 2, 3], [0, NO_FACE, 0, 1])
    writer.write(batch)
    table = ResultTable.from_csv(writer.close())
    series = table.track_view(0)
    assert series.va.shape == (4, 2)
    assert np.isnan(series.va[1]).all() and np.isnan(series.va[3]).all()
    np.testing.assert_allclose(series.va[2], batch.va[2], atol=1e-5)
    np.testing.assert_allclose(series.time, [0, 1 / 30, 2 / 30, 3 / 30], atol=1e-6)


def test_thresholds_rederive_activations_only():
    batch = make_batch([0, 1], [0, 0])
    writer_frame = ResultTable.concat([])
    assert len(writer_frame) == 0
    from affectstudio.core.results import batch_to_frame

    table = ResultTable(batch_to_frame(batch, [0.5] * 12))
    strict = table.with_thresholds([1.0] * 12)
    assert (strict.df[AU_ACTIVE_COLUMNS].to_numpy(dtype=int) == 0).all()
    assert strict.df["AU1_prob"].equals(table.df["AU1_prob"])
    assert strict.metadata["au_thresholds"] == [1.0] * 12


def test_smooth_ignores_nan_and_keeps_gaps():
    x = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0])
    out = smooth(x, 3)
    assert np.isnan(out[2])
    assert out[0] == pytest.approx(0.5) and out[1] == pytest.approx(0.5)
    assert out[3] == pytest.approx(3.5) and out[4] == pytest.approx(4.0)
    np.testing.assert_array_equal(smooth(x, 1)[[0, 1, 3]], x[[0, 1, 3]])


def test_malformed_results_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ResultsError, match=r"bad\.csv: missing columns"):
        ResultTable.from_csv(bad)
    with pytest.raises(ResultsError, match="not found"):
        ResultTable.from_csv(tmp_path / "nope.csv")
