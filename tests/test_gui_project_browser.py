"""Projects in the review window: New/Open/Save As/Recent, and the project browser on a real store."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from test_gui_analysis import close, make_window

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.project import ProjectStore
from affectstudio.gui.windows.project_browser import COLUMNS, STATUS
from tests.videos import write_indexed_video


def _rows(browser, status: bool = False):
    """Each row's texts: video, frames, models, annotations (and with `status`, the analysis job's)."""
    tree = browser.tree
    columns = [c for c in range(len(COLUMNS)) if c != STATUS] + ([STATUS] if status else [])
    return [[tree.topLevelItem(i).text(c) for c in columns] for i in range(tree.topLevelItemCount())]


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


def test_analyse_all_shows_each_videos_state_live(qtbot, tmp_path, sample_video):
    """Analyse all runs the project's analysis job in the background: the status column goes from pending
    through running (with its progress) to done, or failed with the reason, as the job reports."""
    from affectstudio.core.options import AnalysisOptions
    from affectstudio.core.study.project import analyses_folder
    from affectstudio.core.video import VideoReader
    from tests.videos import write_frames

    window = make_window(qtbot, tmp_path / "default.sqlite3", auto_analyse=False)
    assert window.new_project(tmp_path / "study")
    browser = window.project_browser
    with VideoReader(sample_video) as reader:
        good = write_frames(tmp_path / "good.mp4", [f.image[:, :176] for f in reader][:12])  # a face
    broken = tmp_path / "broken.mp4"
    write_indexed_video(broken, 7)
    good_hash, broken_hash = browser.add_videos([good, broken])
    broken.write_bytes(b"\0" * 64)  # damaged after it was added
    assert [row[4] for row in _rows(browser, status=True)] == ["", ""]
    seen: dict[str, list[str]] = {good_hash: [], broken_hash: []}
    browser.tree.itemChanged.connect(
        lambda item, column: (
            column == STATUS and seen[item.data(0, Qt.ItemDataRole.UserRole)].append(item.text(STATUS))
        )
    )
    assert window.analyse_project_videos(AnalysisOptions(device="cpu", fast=False, batch_size=4))
    assert browser.analyse_button.text() == "Stop analysis"
    qtbot.waitUntil(lambda: not browser.running, timeout=300_000)
    assert seen[good_hash][0] == "pending" and seen[good_hash][-1] == "done"
    assert any(text.startswith("running ") and "/12 frames)" in text for text in seen[good_hash])
    [failed] = {text for text in seen[broken_hash] if text.startswith("failed: ")}
    assert "content changed" in failed and str(broken) not in failed  # the row names the video
    assert str(broken) in browser.item_for(broken_hash).toolTip(STATUS)
    rows = {row[0]: row for row in _rows(browser, status=True)}  # after the job: read back from the manifest
    assert rows["good.mp4"][4] == "done" and rows["good.mp4"][2] != "not analysed"
    assert rows["broken.mp4"][4] == failed and rows["broken.mp4"][2] == "not analysed"
    assert browser.analyse_button.text() == "Analyse all"
    assert "1 analysed, 0 already done, 1 failed" in window.status_label.text()
    assert (analyses_folder(window.store.path) / ".affectstudio-study.sqlite").is_file()
    close(window)


def test_the_launcher_opens_a_project_file_as_file_open_project_does(qtbot, tmp_path, sample_video):
    """`affectstudio study.affectproj`: the window works in that project and shows its browser."""
    from affectstudio.gui.app import show_window

    path = tmp_path / "study.affectproj"
    with ProjectStore.create(path) as store:
        store.add_video(sample_video)
    window = show_window(str(path))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.store.path == path)
    assert window.errors == [] and window.video_path is None
    assert window.windowTitle() == "study — AffectStudio"
    assert window.project_browser.isVisible() and [row[0] for row in _rows(window.project_browser)] == [
        sample_video.name
    ]
    close(window)
