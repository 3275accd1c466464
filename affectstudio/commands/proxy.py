"""`affectstudio proxy VIDEO...`: make the scrubbing copies the review app would make in the background.

For preparing a coding session ahead of time: the app then finds each copy in the cache at once instead
of making it while the user waits (core/scrub_proxy.py). Like the app, only videos that seek slowly get
one, unless `--always`.
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("proxy", help="make the small all-keyframe copies used for smooth scrubbing")
    parser.add_argument("videos", nargs="+", help="video files")
    parser.add_argument("--always", action="store_true", help="also for videos that seek fast")
    return parser


def run(args: argparse.Namespace) -> int:
    from affectstudio.commands.project_actions import _progress
    from affectstudio.core.jobs import JobState
    from affectstudio.core.project import video_fingerprint
    from affectstudio.core.scrub_proxy import make_proxy

    for video in args.videos:
        state = JobState(on_progress=_progress())
        path = make_proxy(state, video, video_fingerprint(video), if_slow=not args.always)
        print(f"{video}: {path if path else 'seeks fast enough, no copy needed (--always makes one)'}")
    return 0
