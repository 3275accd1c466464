"""Save project as: a consistent copy through SQLite's backup API, including edits still in the WAL."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.project import ProjectError, ProjectStore
from affectstudio.core.project.backup import save_project_as


def _project_with_edits(path):
    store = ProjectStore.create(path)
    store.remember_video("h" * 64, "/videos/a.mp4", 100, 25.0)
    store.add_segment("h" * 64, LaneKey("expression"), Segment(10, 20, "Happiness"))
    store.save_results("h" * 64, "digest", "model-x", pd.DataFrame({"frame": np.arange(3)}))
    return store


def test_copy_holds_every_committed_edit_while_the_source_stays_open(tmp_path):
    store = _project_with_edits(tmp_path / "a.affectproj")
    assert (tmp_path / "a.affectproj-wal").stat().st_size > 0  # the edits are still in the WAL
    raw = tmp_path / "raw.affectproj"
    shutil.copy(tmp_path / "a.affectproj", raw)  # what a raw copy of the main file gets: not the edits
    copy_path = save_project_as(store.path, tmp_path / "copy")
    assert copy_path == tmp_path / "copy.affectproj"
    with ProjectStore(copy_path, create=False) as copy:
        assert [v.path.name for v in copy.videos()] == ["a.mp4"]
        assert copy.segments("h" * 64, LaneKey("expression"))[0].value == "Happiness"
        assert copy.result_models("h" * 64) == {"digest": "model-x"}
    with ProjectStore(raw, create=False) as stale:
        assert stale.videos() == []
    store.add_segment("h" * 64, LaneKey("expression"), Segment(30, 40, "Anger"))  # source still writable
    store.close()


def test_refuses_itself_and_a_missing_source_and_keeps_the_destination_on_failure(tmp_path):
    store = _project_with_edits(tmp_path / "a.affectproj")
    with pytest.raises(ProjectError, match="is the project itself"):
        save_project_as(store.path, store.path)
    with pytest.raises(ProjectError, match="project not found"):
        save_project_as(tmp_path / "none.affectproj", tmp_path / "b.affectproj")
    bad = tmp_path / "bad.affectproj"
    bad.write_bytes(b"not sqlite at all" * 100)
    keep = tmp_path / "keep.affectproj"
    keep.write_bytes(b"old")
    with pytest.raises(ProjectError, match="cannot read the project"):
        save_project_as(bad, keep)
    assert keep.read_bytes() == b"old"
    store.close()
