"""The typed settings model: defaults written once, round trip, bad values fall back with the key named,
a corrupt file never crashes, the old settings.ini is migrated once, the file is written 0644."""

from __future__ import annotations

import json
import stat

from affectstudio.core.options import AnalysisOptions
from affectstudio.core.paths import data_dir
from affectstudio.core.settings import SETTINGS_FILE, CodingKeys, Settings


def test_defaults_are_written_once_with_a_schema_version_and_0644():
    settings = Settings.load()
    path = data_dir() / SETTINGS_FILE
    assert settings.path == path and path.exists()
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1
    assert raw["analysis"] == {k: v for k, v in vars(AnalysisOptions()).items()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert settings.problems == []
    before = path.stat().st_mtime_ns
    Settings.load()
    assert path.stat().st_mtime_ns == before  # loading an existing file does not rewrite it


def test_round_trip_of_every_section():
    settings = Settings.load()
    settings.analysis.detect_every = 3
    settings.analysis.model = "mine"
    settings.display.smoothing = 31
    settings.display.show_boxes = False
    settings.auto_analyse = False
    settings.set_thresholds_for("d" * 64, [0.25] * 12)
    settings.coding_keys.au = list("ADFGHJKLZXNP")
    settings.add_recent_file("/videos/a.mp4")
    settings.add_recent_file("/videos/b.mp4")
    settings.add_recent_file("/videos/a.mp4")
    settings.add_recent_project("/studies/p.affectproj")
    settings.set_layout_state("geometry", b"\x00\x01\xffbytes")
    settings.save()
    again = Settings.load()
    assert again == settings and again.problems == []
    assert again.recent.files == ["/videos/a.mp4", "/videos/b.mp4"]
    assert again.layout_state("geometry") == b"\x00\x01\xffbytes"
    assert again.thresholds_for("d" * 64) == [0.25] * 12 and again.thresholds_for("e" * 64) is None
    assert again.coding_keys.au_for("d") == "AU2" and again.coding_keys.expression_for("4") == "Happiness"


def test_bad_values_fall_back_to_defaults_naming_the_key():
    path = data_dir() / SETTINGS_FILE
    raw = {
        "schema_version": 1,
        "analysis": {"batch_size": "many", "detect_every": 0, "faces": "some", "min_confidence": 0.7},
        "display": {"smoothing": True, "show_boxes": False},
        "coding_keys": {"expression": ["1", "1", "2", "3", "4", "5", "6", "7"]},
        "au_thresholds": {"abc": [0.5] * 3},
        "recent": "not a section",
        "colour": "blue",
    }
    path.write_text(json.dumps(raw))
    settings = Settings.load()
    defaults = Settings()
    assert settings.analysis.min_confidence == 0.7 and settings.display.show_boxes is False  # good ones kept
    assert settings.analysis.batch_size == defaults.analysis.batch_size
    assert settings.analysis.detect_every == 1 and settings.analysis.faces == defaults.analysis.faces
    assert settings.display.smoothing == defaults.display.smoothing  # a bool is not an int
    assert settings.coding_keys == CodingKeys() and settings.au_thresholds == {}
    text = "\n".join(settings.problems)
    for key in (
        "analysis.batch_size",
        "analysis.detect_every",
        "analysis.faces",
        "display.smoothing",
        "coding_keys.expression",
        "au_thresholds.abc",
        "recent",
        "colour",
    ):
        assert key in text, key
    assert "analysis.min_confidence" not in text


def test_a_corrupt_file_gives_defaults_and_is_not_overwritten_by_loading():
    path = data_dir() / SETTINGS_FILE
    path.write_text('{"analysis": {"batch_size": 8')
    settings = Settings.load()
    assert settings.analysis.batch_size == 32 and "unreadable" in settings.problems[0]
    assert path.read_text() == '{"analysis": {"batch_size": 8'


def test_expression_and_au_keys_may_not_clash():
    path = data_dir() / SETTINGS_FILE
    for au_keys in ("0WERTYUIOPJK", "SWERTYUIOPJK"):  # an expression key; the window's split key
        path.write_text(json.dumps({"coding_keys": {"au": list(au_keys)}}))
        settings = Settings.load()
        assert settings.coding_keys == CodingKeys() and "coding_keys" in settings.problems[0]
    path.write_text(json.dumps({"coding_keys": {"au": list("adfghjklzxnp")}}))
    assert Settings.load().coding_keys.au == list("ADFGHJKLZXNP")  # lower case accepted, stored upper


def test_the_old_settings_ini_is_migrated_once():
    ini = data_dir() / "settings.ini"
    ini.write_text(
        "[General]\n"
        'recent_files="/tmp/c,d.mp4", /tmp/a b.mp4\n\n'
        "[analysis]\nauto_analyse=false\nbatch_size=16\ndetect_every=2\ndevice=cpu\nface_range=short\n"
        "faces=all\nmin_confidence=0.6\nmodel=\nsmoothing=7\n\n"
        "[au_thresholds]\nabcdef0123456789=0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3\n\n"
        "[layout]\ngeometry=@ByteArray(\\x1\\x2xyz)\n\n"
        "[view]\nshow_boxes=false\n"
    )
    settings = Settings.load()
    assert settings.problems == []
    assert settings.recent.files == ["/tmp/c,d.mp4", "/tmp/a b.mp4"]
    a = settings.analysis
    assert (a.batch_size, a.detect_every, a.device, a.face_range, a.faces, a.min_confidence, a.model) == (
        16,
        2,
        "cpu",
        "short",
        "all",
        0.6,
        None,
    )
    assert settings.auto_analyse is False and settings.display.smoothing == 7
    assert settings.display.show_boxes is False
    assert settings.thresholds_for("abcdef0123456789" + "0" * 48) == [0.3] * 12
    settings.display.smoothing = 9
    settings.save()
    assert Settings.load().display.smoothing == 9  # the JSON file wins from now on
