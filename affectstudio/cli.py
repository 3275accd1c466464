"""The `affectstudio` command.

    affectstudio [VIDEO|PROJECT]    open the review app (optionally on a video or a *.affectproj project)
    affectstudio analyze VIDEO      per-frame predictions to CSV, headless
    affectstudio models ...         list / import / fetch / remove installed models
    affectstudio project ...        study projects: videos, lanes, analysis, dataset export, training
    affectstudio train CONFIG       train a model (the `training` package)
    affectstudio proxy VIDEO...     make the scrubbing copies of slow-seeking videos ahead of time

Each subcommand lives in `affectstudio/commands/<name>.py` with `add_parser(subparsers)` and `run(args)`.
Heavy modules (torch, MediaPipe, Qt) are imported inside `run`, so `--help` and the first window stay fast.
Errors the user can cause print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from affectstudio import __version__
from affectstudio.core.errors import AffectStudioError

COMMANDS = ("gui", "analyze", "models", "project", "proxy")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return _run(lambda: _train(argv[1:]))
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv = ["gui", *argv]
    args = build_parser().parse_args(argv)
    return _run(lambda: args.run(args))


def _train(argv: list[str]) -> int:
    from affectstudio.core.bundle import check_can_train

    check_can_train()
    from training.cli import main as train_main

    return train_main(argv)


def _run(command) -> int:
    from affectstudio.core.logs import setup_logging

    setup_logging("affectstudio")
    try:
        return int(command() or 0)
    except AffectStudioError as error:
        logging.getLogger("affectstudio").info("user error: %s", error)
        print(f"affectstudio: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the disk, not the program: full, read-only, a file where a folder should be
        logging.getLogger("affectstudio").exception("file system error")
        where = f"{error.filename}: " if error.filename else ""
        print(f"affectstudio: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("affectstudio: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="affectstudio",
        description="Review facial affect in video: valence/arousal, 8 expressions and 12 action units\n"
        "per frame from a DDAMFN multi-task network. With no command, or just a VIDEO, opens the app.",
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"affectstudio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"affectstudio.commands.{name}")
        module.add_parser(sub).set_defaults(run=module.run)
    sub.add_parser("train", help="train a model: affectstudio train CONFIG (see affectstudio train --help)")
    return parser
