"""Training progress events: one JSON serializer both ways, the field names the Training page reads,
and a rate/ETA that does not follow one slow step."""

from __future__ import annotations

import json

import pytest

from training.events import Done, EpochEnd, Error, RateMeter, Started, Step, Stopped, from_json

EVENTS = [
    Started("/runs/a", "cpu", False, 100, 10, 40, 12, 0, {"curation": "strict"}, ["a warning"]),
    Step("finetune", 2, 3, 4, 7, 12, 31.5, 42.0, {"total": 1.5, "va": 0.5, "expr": 1.0}),
    EpochEnd("finetune", 2, {"total": 1.2, "va": 0.4}, {"ccc_va": 0.3, "P": 0.8}, 3.5, True, 2, ["au"]),
    Stopped(7, "/runs/a"),
    Done("/runs/a/model.pt", "m", {"threshold_0.5": {"P": 1.0}, "threshold_tuned": {"P": 1.1}}, "/runs/a"),
    Error("bad"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_json_round_trip(event):
    line = event.to_json()
    assert "\n" not in line
    assert from_json(line) == event and type(event).from_json(json.loads(line)) == event


def test_json_keeps_the_field_names_the_training_page_reads():
    start, step, epoch, _, done, error = (json.loads(e.to_json()) for e in EVENTS)
    assert start["event"] == "start" and start["total_steps"] == 12 and start["resumed_at_step"] == 0
    assert {start["device"], start["train_frames"], start["validation_frames"]} == {"cpu", 100, 40}
    assert (step["event"], step["global_step"], step["loss"], step["loss_va"]) == ("step", 7, 1.5, 0.5)
    assert (step["stage"], step["epoch"], step["step"], step["steps"], step["eta_s"]) == (
        "finetune",
        2,
        3,
        4,
        42.0,
    )
    assert step["images_per_s"] == 31.5
    assert (epoch["event"], epoch["epoch"], epoch["val_P"], epoch["train_loss"]) == ("epoch", 2, 0.8, 1.2)
    assert epoch["best"] is True and epoch["train_loss_va"] == 0.4
    assert done["metrics"]["threshold_tuned"]["P"] == 1.1 and done["model_name"] == "m"
    assert error == {"event": "error", "message": "bad"}


def test_text_lines_come_from_the_same_events():
    assert "ETA 0:00:42" in EVENTS[1].to_text() and "(31.5 img/s)" in EVENTS[1].to_text()
    assert "warning: a warning" in EVENTS[0].to_text()
    assert "(best)" in EVENTS[2].to_text() and "near-constant outputs for au" in EVENTS[2].to_text()


def test_not_an_event_is_a_value_error():
    for line in ('{"event": "nope"}', "[1]", '{"event": "step", "stage": "x"}'):
        with pytest.raises(ValueError):
            from_json(line)


def test_rate_is_smoothed_over_the_window_and_eta_counts_validations(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 3.0, 13.0])  # start, three 1 s steps, one 10 s step
    monkeypatch.setattr("training.events.time.perf_counter", lambda: next(clock))
    meter = RateMeter(remaining_steps=10, remaining_epochs=2, window=4)
    for _ in range(4):
        meter.step_done(8)
    assert meter.images_per_s == pytest.approx(32 / 13)  # not the last step's 0.8
    meter.validation_done(5.0)
    assert meter.eta_s == pytest.approx(6 * 13 / 4 + 1 * 5.0)
