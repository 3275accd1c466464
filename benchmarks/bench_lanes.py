"""Lanes editor redraw speed: 5 coded lanes over an hour of video (108,000 frames at 30 fps).

    python3 benchmarks/bench_lanes.py            # 200 redraws per view
    python3 benchmarks/bench_lanes.py --quick    # 50

Target (issue 7): a redraw under 16 ms (one frame at 60 Hz) with 5 lanes over 108k frames. The lanes are
an expression lane of 1-second segments (3,600), two AU lanes (on/off runs), and the valence and arousal
traces fully labelled, written to a real project store through the session's undoable commands. Measured:
a playhead move + synchronous repaint of the lanes view, and a full redraw after an edit (the edited lane
re-read from the store and redrawn), with the whole hour and 60 s in view.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")

FRAMES, FPS = 108_000, 30.0


def percentiles(values: list[float]) -> str:
    ms = np.asarray(values) * 1000
    p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
    return f"p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   max {ms.max():6.2f} ms"


def coded_session(folder: Path):
    """A session on a made-up hour-long video whose lanes are filled through the store."""
    from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
    from affectstudio.core.labels import EXPRESSIONS
    from affectstudio.core.project import ProjectStore
    from affectstudio.core.review_data import ReviewData
    from affectstudio.core.session import OpenVideo, ReviewSession

    store = ProjectStore(folder / "bench.affectproj")
    stamps = np.arange(FRAMES) / FPS
    session = ReviewSession(store)
    video = OpenVideo(folder / "hour.mp4", "f" * 64, stamps, FPS)
    store.remember_video(video.hash, video.path, FRAMES, FPS)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    segments = 0
    with store.transaction():  # the store's primitives: the undoable commands would replan each one
        expression = LaneKey("expression", "me", ANY_TRACK)
        for s in range(0, FRAMES, 30):
            store.add_segment(video.hash, expression, Segment(s, s + 29, EXPRESSIONS[rng.integers(8)]))
            segments += 1
        for au in ("AU6", "AU12"):
            edges = np.sort(rng.choice(FRAMES, 400, replace=False))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                store.add_segment(video.hash, LaneKey(au, "me", ANY_TRACK), Segment(int(a), int(b), 1))
                segments += 1
        t = np.arange(FRAMES) / FPS
        va = np.stack([np.sin(t / 7), np.cos(t / 11)], axis=1).astype(np.float32) * 0.8
        store.write_va(video.hash, "me", ANY_TRACK, 0, va)
    print(f"  stored {segments} segments and 2 traces in {time.perf_counter() - started:.1f} s")
    session.video, session.data = video, ReviewData(stamps)
    session.load_lanes()
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 50 if args.quick else 200
    from affectstudio.gui.app import make_app

    app = make_app()
    from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey
    from affectstudio.gui.views.lanes import LanesView

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AFFECTSTUDIO_DATA_DIR"] = str(Path(tmp) / "data")
        session = coded_session(Path(tmp))
        coded = [key.name for key in session.lanes]
        print(f"Qt platform: {os.environ['QT_QPA_PLATFORM']}; lanes coded: {', '.join(coded)}")
        view = LanesView(session)
        view.resize(1600, 320)
        view.show()
        started = time.perf_counter()
        view.rebuild()
        view.viewport().repaint()
        print(f"  build all rows and paint once: {(time.perf_counter() - started) * 1000:.1f} ms")
        rng = np.random.default_rng(1)
        expression = LaneKey("expression", "me", ANY_TRACK)
        for label, span in (("whole hour in view", None), ("60 s in view", 60.0)):
            if span:
                view.plot.setXRange(1800, 1800 + span, padding=0)
            app.processEvents()
            low, high = view.plot.vb.viewRange()[0]
            moves, edits = [], []
            for _ in range(repeats):
                frame = int(rng.uniform(low, high) * FPS)
                start = time.perf_counter()
                session.seek(frame)
                view.viewport().repaint()
                moves.append(time.perf_counter() - start)
            for _ in range(max(10, repeats // 10)):
                start = time.perf_counter()
                view._lane_changed(expression)  # as after an edit of the expression lane
                view.viewport().repaint()
                edits.append(time.perf_counter() - start)
            print(f"  playhead move + repaint ({label}): {percentiles(moves)}")
            print(f"  lane redraw after an edit ({label}): {percentiles(edits)}")
        view.close()
        session.store.close()
    sys.stdout.flush()
    os._exit(0)  # skip Qt teardown at exit (see bench_gui.py)


if __name__ == "__main__":
    main()
