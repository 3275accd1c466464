"""`python -m training` / `affectstudio train`: a thin shell over the library.

    python -m training CONFIG [--resume] [--set KEY=VALUE ...] [--progress text|json] [--max-steps N]
    python -m training init-config PATH [--tasks va expr au] [--stage1 authors|classifier] [--data DIR]
                                        [--from-scratch]
    python -m training curate DATASET [--curation strict|masked] [--tasks ...]
    python -m training evaluate MODEL --data DATASET [--split validation] [--curation strict|masked]
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
from training.events import Error, Step
from training.threads import prefer_passive_waiting

SUBCOMMANDS = ("init-config", "curate", "evaluate", "predict")


class TextProgress:
    """Human-readable progress from the events: a step line at most once a second, everything else."""

    def __init__(self):
        self.last = 0.0

    def __call__(self, progress) -> None:
        event = progress.detail
        if isinstance(event, Step):
            now = time.monotonic()
            if now - self.last < 1.0 and event.step != event.steps:
                return
            self.last = now
        print(event.to_text(), flush=True)


def _json_progress(progress) -> None:
    print(progress.detail.to_json(), flush=True)


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
    from affectstudio.core.jobs import JobState
    from training import run
    from training.config import load_config

    config = load_config(args.config, args.set)
    state = JobState(on_progress=_json_progress if args.progress == "json" else TextProgress())

    def request_stop(signum, frame):
        if state.cancelled() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        state.cancel()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        result = run(config, state, resume=args.resume, max_steps=args.max_steps)
    except AffectStudioError as error:
        if args.progress == "json":
            print(Error(str(error)).to_json(), flush=True)
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
    parser.add_argument(
        "--from-scratch",
        action="store_true",
        help="random initialisation: one all-trainable stage, BatchNorm recalibrated before evaluations",
    )
    args = parser.parse_args(argv)
    from training.config import TrainConfig, paper_stages, write_toml

    if args.from_scratch:
        config = TrainConfig.from_scratch(args.data, args.tasks)
    else:
        config = TrainConfig(tasks=list(args.tasks), stages=paper_stages(args.stage1))
        config.data.root = args.data
    if args.data and config.data.curation == "strict":
        from training.propose import propose

        proposal = propose(args.data)  # as `affectstudio project train` does: the data decides
        if proposal.strict_frames == 0:
            config.data.curation = "masked"
            print(
                f"note: curation masked: strict would keep none of the {proposal.counts['train']['frames']} "
                "training frames (no frame has a label for every task)"
            )
    suffix = "-scratch" if args.from_scratch else ""
    config.output = f"runs/ddamfn-{'-'.join(args.tasks) if len(args.tasks) < 3 else 'mtl'}{suffix}"
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
    parser.add_argument(
        "--curation",
        choices=("strict", "masked"),
        default=None,
        help="which frames to score (default: the curation the model was trained with)",
    )
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    from training.evaluate import evaluate_checkpoint

    report = evaluate_checkpoint(args.model, args.data, args.split, args.device, curation=args.curation)
    print(json.dumps(report, indent=2))
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
    prefer_passive_waiting()  # before torch is imported (training/threads.py)
    commands = {"init-config": _init_config, "curate": _curate, "evaluate": _evaluate, "predict": _predict}
    command = commands.get(argv[0]) if argv else None
    try:
        return command(argv[1:]) if command else _train(argv)
    except AffectStudioError as error:
        print(f"training: error: {error}", file=sys.stderr)
        return 2
