"""`affectstudio [gui] [VIDEO | PROJECT]`: open the review app, on a video or a project (*.affectproj)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("gui", help="open the review app (the default command)")
    parser.add_argument(
        "video", nargs="?", metavar="VIDEO|PROJECT", help="video, or project file (*.affectproj), to open"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from affectstudio.gui.app import run_app

    return run_app(args.video)
