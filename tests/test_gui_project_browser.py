"""Projects in the review window: New/Open/Save As/Recent, and the project browser on a real store."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from test_gui_analysis import close, make_window

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.project import ProjectStore
from tests.videos import write_indexed_video


def _rows(browser):
    tree = browser.tree
    return [[tree.topLevelItem(i).text(c) for c in range(4)] for i in range(tree.topLevelItemCount())]


def test_new_add_annotate_save_as_reopen(qtbot, tmp_path, sample_video):
    window = make_window(qtbot, tmp_path / "default.sqlite3", auto_analyse=False)
    assert window.new_project(tmp_path / "study")
    assert window.store.path == tmp_path / "study.affectproj" and window.store.path.is_file()
    browser = window.project_browser
    assert browser.isVisible() and _rows(browser) == []
    [video_hash] = browser.add_videos([sample_video])
    [row] = _rows(browser)
    assert row[0] == sample_video.name and row[1].startswith("120 (")
    assert row[2] == "not analysed" and row[3] == "—"
    window.store.add_segment(video_hash, LaneKey("expression"), Segment(10, 20, "Happiness"))
    window.store.add_segment(video_hash, LaneKey("AU12", "rater2"), Segment(0, 29, 1))
    browser.refresh()
    assert _rows(browser)[0][3] == "expression 11 · AU12 30 (rater2)"

    assert window.save_project_as(tmp_path / "copy.affectproj")
    assert window.store.path == tmp_path / "copy.affectproj"
    assert _rows(browser)[0][3] == "expression 11 · AU12 30 (rater2)"
    window.store.add_segment(video_hash, LaneKey("expression"), Segment(40, 44, "Anger"))
    assert window.open_project(tmp_path / "study.affectproj")
    assert _rows(browser)[0][3] == "expression 11 · AU12 30 (rater2)"  # the copy's edit stayed there
    assert window.settings.recent.projects[:2] == [
        str(tmp_path / "study.affectproj"),
        str(tmp_path / "copy.affectproj"),
    ]
    window._fill_recent_projects()
    assert [a.text() for a in window.recent_projects_menu.actions()][:2] == window.settings.recent.projects[
        :2
    ]

    item = browser.item_for(video_hash)
    browser.tree.itemDoubleClicked.emit(item, 0)
    assert window.video_path == sample_video and window.video_hash == video_hash
    close(window)


def test_missing_video_relink_drop_and_bad_project(qtbot, tmp_path, sample_video):
    moved = tmp_path / "clip.mp4"
    shutil.copy(sample_video, moved)
    with ProjectStore.create(tmp_path / "p.affectproj") as store:
        store.add_video(moved)
    elsewhere = tmp_path / "moved" / "clip.mp4"
    elsewhere.parent.mkdir()
    moved.rename(elsewhere)
    window = make_window(qtbot, tmp_path / "default.sqlite3", auto_analyse=False)
    assert window.open_project(tmp_path / "p.affectproj")
    browser = window.project_browser
    assert _rows(browser)[0][0] == "clip.mp4 (missing: Relink…)"
    browser.tree.setCurrentItem(browser.tree.topLevelItem(0))
    browser.tree.itemDoubleClicked.emit(browser.tree.topLevelItem(0), 0)
    assert window.errors[-1][0] == "Video missing" and window.video_path is None
    assert not browser.relink(sample_video.parent / "does-not-exist.mp4")
    assert window.errors[-1][0] == "Cannot relink the video"
    assert browser.relink(elsewhere)
    assert _rows(browser)[0][0] == "clip.mp4"

    mime = QMimeData()
    other = tmp_path / "other.mp4"
    write_indexed_video(other, 12)
    mime.setUrls([QUrl.fromLocalFile(str(other)), QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    drop = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    browser.dropEvent(drop)
    assert [r[0] for r in _rows(browser)] == ["clip.mp4", "other.mp4"]  # the text file is ignored
    (tmp_path / "broken.affectproj").write_bytes(b"garbage" * 200)
    assert not window.open_project(tmp_path / "broken.affectproj")
    assert (
        window.errors[-1][0] == "Cannot open the project" and window.store.path == tmp_path / "p.affectproj"
    )
    close(window)
