"""`python -m training` / `affectstudio train`: a thin shell over the library.

    python -m training CONFIG [--resume] [--set KEY=VALUE ...] [--progress text|json] [--max-steps N]
    python -m training init-config PATH [--tasks va expr au] [--stage1 authors|classifier] [--data DIR]
    python -m training curate DATASET [--curation strict|masked] [--tasks ...]
    python -m training evaluate MODEL --data DATASET [--split validation]
    python -m training predict MODEL --data DATASET --output FILE [--test-list MTL.txt]

With `--progress json` every event is one JSON object on its own stdout line (the app's Training page
reads them). SIGTERM or a first Ctrl-C stops at the next step with the state saved; `--resume` continues.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import TASKS

SUBCOMMANDS = ("init-config", "curate", "evaluate", "predict")


def _format_eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TextProgress:
    """Human-readable progress: a step line at most once a second, every epoch, start and end."""

    def __init__(self):
        self.last = 0.0

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "step":
            now = time.monotonic()
            if now - self.last < 1.0 and event["step"] != event["steps"]:
                return
            self.last = now
            print(
                f"[{event['stage']}] epoch {event['epoch']} step {event['step']}/{event['steps']} "
                f"loss {event['loss']:.4f} ({event['images_per_s']:.1f} img/s) "
                f"ETA {_format_eta(event['eta_s'])}",
                flush=True,
            )
        elif kind == "epoch":
            metrics = ", ".join(f"{k[4:]} {v:.4f}" for k, v in event.items() if k.startswith("val_"))
            mark = " (best)" if event["best"] else ""
            print(
                f"epoch {event['epoch']} [{event['stage']}]: "
                f"train loss {event['train_loss']:.4f}; {metrics}{mark}"
            )
        elif kind == "start":
            print(
                f"training on {event['device']}: {event['train_frames']} frames "
                f"({event['threshold_frames']} held out for AU thresholds), {event['validation_frames']} "
                f"validation frames, {event['total_steps']} steps; run folder {event['run_dir']}",
                flush=True,
            )
        elif kind == "stopped":
            print(f"stopped at step {event['global_step']}; continue with --resume ({event['run_dir']})")
        elif kind == "done":
            half, tuned = event["metrics"]["threshold_0.5"], event["metrics"]["threshold_tuned"]
            print(f"done: validation P {half['P']:.4f} (AU thresholds 0.5), {tuned['P']:.4f} (tuned)")
            print(
                f"checkpoint {event['checkpoint']}"
                + (f", installed as {event['model_name']!r}" if event["model_name"] else "")
            )


def _json_progress(event: dict) -> None:
    print(json.dumps(event), flush=True)


def _train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="TOML or JSON config (python -m training init-config PATH writes one)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in the config's output folder"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. stages.0.epochs=2"
    )
    parser.add_argument("--progress", choices=("text", "json"), default="text")
    parser.add_argument("--max-steps", type=int, default=None, help="stop (resumably) after this many steps")
    args = parser.parse_args(argv)
    from training.config import load_config
    from training.trainer import train

    config = load_config(args.config, args.set)
    stop = {"requested": False}

    def request_stop(signum, frame):
        if stop["requested"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    progress = _json_progress if args.progress == "json" else TextProgress()
    try:
        result = train(
            config,
            resume=args.resume,
            progress=progress,
            cancelled=lambda: stop["requested"],
            max_steps=args.max_steps,
        )
    except AffectStudioError as error:
        if args.progress == "json":
            _json_progress({"event": "error", "message": str(error)})
        raise
    return 3 if result.cancelled else 0


def _init_config(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training init-config")
    parser.add_argument("path", type=Path)
    parser.add_argument(
        "--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="one task: single-task variant"
    )
    parser.add_argument(
        "--stage1",
        choices=("authors", "classifier"),
        default="authors",
        help="stage 1 trains heads + GDConv + classifier (authors) or the classifier only",
    )
    parser.add_argument("--data", default="", help="dataset folder")
    args = parser.parse_args(argv)
    from training.config import TrainConfig, paper_stages, write_toml

    config = TrainConfig(tasks=list(args.tasks), stages=paper_stages(args.stage1))
    config.data.root = args.data
    config.output = f"runs/ddamfn-{'-'.join(args.tasks) if len(args.tasks) < 3 else 'mtl'}"
    write_toml(config.validate(args.path), args.path)
    print(f"wrote {args.path}")
    return 0


def _curate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training curate")
    parser.add_argument("dataset")
    parser.add_argument("--curation", choices=("strict", "masked"), default="strict")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    args = parser.parse_args(argv)
    from training.curation import CurationReport
    from training.data import load_split

    report = CurationReport(args.curation, list(args.tasks))
    for split in ("train", "validation"):
        report.add(split, load_split(args.dataset, split, check_images=False))
    print(report.to_markdown(), end="")
    return 0


def _evaluate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training evaluate")
    parser.add_argument("model", help="registry name or checkpoint path")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", choices=("train", "validation"), default="validation")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    from training.evaluate import evaluate_checkpoint

    print(json.dumps(evaluate_checkpoint(args.model, args.data, args.split, args.device), indent=2))
    return 0


def _predict(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m training predict")
    parser.add_argument("model", help="registry name or checkpoint path")
    parser.add_argument("--data", required=True, help="s-Aff-Wild2 folder (cropped_aligned/ and MTL.txt)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--test-list", default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    from training.evaluate import write_submission

    print(f"wrote {write_submission(args.model, args.data, args.output, args.test_list, args.device)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"init-config": _init_config, "curate": _curate, "evaluate": _evaluate, "predict": _predict}
    command = commands.get(argv[0]) if argv else None
    try:
        return command(argv[1:]) if command else _train(argv)
    except AffectStudioError as error:
        print(f"training: error: {error}", file=sys.stderr)
        return 2
