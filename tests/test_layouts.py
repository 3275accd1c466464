"""Column styles and formats: every style and format reads back through read_results to the same rows."""

import gc

import numpy as np
import pandas as pd
import pytest

import affectstudio
from affectstudio.core.errors import ResultsError
from affectstudio.core.results import COLUMNS, NO_FACE, ResultWriter, batch_to_frame
from tests.test_results import make_batch

THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.5, 0.5, 0.5, 0.2, 0.8, 0.5, 0.5]


def written(tmp_path, name, style, batches):
    writer = ResultWriter(tmp_path / name, {"model": "m", "au_thresholds": THRESHOLDS}, THRESHOLDS, style)
    for batch in batches:
        writer.write(batch)
    return writer.close()


def expected(batches):
    return pd.concat([batch_to_frame(b, THRESHOLDS) for b in batches], ignore_index=True)


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame):
    assert list(got.columns) == COLUMNS
    assert len(got) == len(want)
    for column in COLUMNS:
        if column == "expression":
            assert got[column].tolist() == want[column].tolist()
        elif column.endswith("_active") or column in ("frame", "track_id"):
            assert got[column].astype("Int64").tolist() == want[column].astype("Int64").tolist(), column
        else:
            np.testing.assert_allclose(
                got[column].to_numpy(dtype=float, na_value=np.nan),
                want[column].to_numpy(dtype=float, na_value=np.nan),
                rtol=2e-5,
                atol=1e-4 if column in ("x0", "y0", "x1", "y1") else 2e-6,  # pyfeat stores width, 6 digits
                err_msg=column,
            )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("style", ["affectstudio", "openface", "pyfeat"])
def test_every_style_and_format_reads_back_the_same_rows(tmp_path, style, suffix):
    batches = [make_batch([0, 1, 1, 2], [0, 0, 1, NO_FACE], seed=1), make_batch([3, 4], [NO_FACE, 1], seed=2)]
    path = written(tmp_path, f"out{suffix}", style, batches)
    df = affectstudio.read_results(path)
    assert df.attrs["style"] == style and df.attrs["metadata"]["au_thresholds"] == THRESHOLDS
    assert_same_rows(df, expected(batches))


def test_openface_names_and_conventions(tmp_path):
    path = written(tmp_path, "of.csv", "openface", [make_batch([0, 1], [0, NO_FACE])])
    raw = pd.read_csv(path, comment="#")
    assert list(raw.columns[:5]) == ["frame", "face_id", "timestamp", "confidence", "success"]
    assert "AU01_c" in raw.columns and "AU26_p" in raw.columns and "AU01_r" not in raw.columns
    assert raw["frame"].tolist() == [1, 2], "OpenFace counts frames from 1"
    assert raw["success"].tolist() == [1, 0]


def test_pyfeat_names(tmp_path):
    batch = make_batch([0, 1], [0, NO_FACE])
    path = written(tmp_path, "pf.parquet", "pyfeat", [batch])
    raw = pd.read_parquet(path)
    for name in ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore", "AU01", "AU12"):
        assert name in raw.columns
    emotions = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    assert [c for c in raw.columns if c in emotions] == emotions
    assert raw["FaceRectWidth"][0] == pytest.approx(batch.boxes[0, 2] - batch.boxes[0, 0])
    assert raw["happiness"][0] == pytest.approx(batch.expr[0, 4])


def test_empty_parquet_and_bad_files_name_the_file(tmp_path):
    path = written(tmp_path, "empty.parquet", "affectstudio", [])
    assert len(affectstudio.read_results(path)) == 0
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(ResultsError, match=r"bad\.parquet"):
        affectstudio.read_results(bad)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ResultsError, match=r"other\.csv"):
        affectstudio.read_results(other)


def test_two_writers_of_one_name_never_share_a_temporary_file(tmp_path):
    """Issue 9 item 2: two runs writing `clip.csv` at once shared `clip.csv.partial` and published mixed
    bytes. Each writer now has its own temporary file; the last to finish wins, whole."""
    first = ResultWriter(tmp_path / "clip.csv", {"run": 1}, THRESHOLDS)
    second = ResultWriter(tmp_path / "clip.csv", {"run": 2}, THRESHOLDS)
    a, b = make_batch([0, 1, 2], [0, 0, 0], seed=3), make_batch([0, 1], [0, 0], seed=4)
    first.write(a)
    second.write(b)
    first.close()
    assert_same_rows(affectstudio.read_results(tmp_path / "clip.csv"), expected([a]))
    second.close()
    df = affectstudio.read_results(tmp_path / "clip.csv")
    assert df.attrs["metadata"] == {"run": 2}
    assert_same_rows(df, expected([b]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.csv"]


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_an_aborted_writer_leaves_nothing(tmp_path, name, capfd):
    writer = ResultWriter(tmp_path / name, {}, THRESHOLDS)
    for seed in range(3):
        writer.write(make_batch([seed], [0], seed=seed))
    if writer.parquet:
        writer._flush_parquet()  # a row group already in the file
    writer.abort()
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []
    assert "Exception ignored" not in capfd.readouterr().err
