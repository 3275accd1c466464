"""The study manifest (real SQLite): what counts as done, what is redone, and what survives a reopen."""

import math

from affectstudio.core.study.manifest import MANIFEST_NAME, Manifest


def test_done_only_for_the_same_video_model_and_options_with_the_output_intact(tmp_path):
    out = tmp_path / "out"
    with Manifest(out) as manifest:
        manifest.set_pending("a/clip.csv", "/v/a/clip.mp4", "a/clip.mp4", "fp1", "model1", '{"x": 1}')
        assert not manifest.is_done("a/clip.csv", "fp1", "model1", '{"x": 1}'), "pending is not done"
        manifest.set_state("a/clip.csv", "running")
        assert not manifest.is_done("a/clip.csv", "fp1", "model1", '{"x": 1}'), "running (killed) is redone"
        (out / "a").mkdir()
        (out / "a" / "clip.csv").write_text("rows")
        rows = [{"video": "a/clip.mp4", "valence_sd": math.nan, "frames": 4}]
        manifest.set_state("a/clip.csv", "done", output_digest="d", output_size=4, summary=rows)
    with Manifest(out) as manifest:  # a new run reads what the last one recorded
        assert manifest.is_done("a/clip.csv", "fp1", "model1", '{"x": 1}')
        assert not manifest.is_done("a/clip.csv", "fp2", "model1", '{"x": 1}'), "changed video"
        assert not manifest.is_done("a/clip.csv", "fp1", "model2", '{"x": 1}'), "changed model"
        assert not manifest.is_done("a/clip.csv", "fp1", "model1", '{"x": 2}'), "changed options"
        entry = manifest.get("a/clip.csv")
        assert entry.state == "done" and entry.output_digest == "d"
        assert entry.summary[0]["frames"] == 4 and math.isnan(entry.summary[0]["valence_sd"])
        (out / "a" / "clip.csv").write_text("truncated")
        assert not manifest.is_done("a/clip.csv", "fp1", "model1", '{"x": 1}'), "output changed on disk"
        manifest.set_state("a/clip.csv", "failed", "line one\nline two")
        assert manifest.get("a/clip.csv").reason == "line one"
    assert (out / MANIFEST_NAME).is_file()
    with Manifest(out) as manifest:
        assert [(e.output, e.state) for e in manifest.entries()] == [("a/clip.csv", "failed")]
