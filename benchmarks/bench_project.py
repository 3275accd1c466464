"""Project store figures: opening a study, reading its lanes, caching an hour of results.

    python -m benchmarks.bench_project [--videos 50] [--lanes 20] [--frames 9000] [--rows 108000]

Builds a project of `--videos` videos with `--lanes` lanes each (expression and AU segment lanes with a
segment every ~2 s, plus valence/arousal traces labelled over half the video), then times: opening the file,
the browser's per-video status, reading every lane of one video, `save_results`/`load_results` of a
`--rows`-row result table (an hour at 30 fps) in the app's column layout (best of 3 rounds each), and
filling lanes from that table's predictions (one undoable command) and undoing it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.annotations.predictions import FillFromPredictions
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.project import ProjectStore, encode_frame
from affectstudio.core.results import FrameBatch, batch_to_frame


def best(function, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def build(path: Path, videos: int, lanes: int, frames: int) -> None:
    rng = np.random.default_rng(0)
    keys = [LaneKey(name, "a", 0) for name in ("expression", *ACTION_UNITS, "event", "exclusion")]
    keys = [*keys, *(LaneKey(name, "b", 0) for name in ("expression", *ACTION_UNITS))][: max(lanes - 4, 0)]
    with ProjectStore(path) as store, store.transaction():
        for v in range(videos):
            video = f"video{v:03d}"
            store.remember_video(video, f"/data/{video}.mp4", frames, 30.0)
            for track, annotator in ((0, "a"), (0, "b")):
                va = np.full((frames, 2), np.nan, np.float32)
                va[: frames // 2] = rng.uniform(-1, 1, (frames // 2, 2))
                store.write_va(video, annotator, track, 0, va)
            for key in keys:
                for start in range(0, frames - 60, 60):
                    value = {
                        "expression": EXPRESSIONS[int(rng.integers(8))],
                        "event": "note",
                        "exclusion": None,
                    }
                    value = value.get(key.name, int(rng.integers(2)))
                    stop = start if key.kind == "event" else start + 50
                    store.add_segment(video, key, Segment(start, stop, value))


def result_rows(rows: int):
    """Predictions that change about once a second, as a talking head's do (not every frame)."""
    rng = np.random.default_rng(1)
    blocks = -(-rows // 30)

    def slow(*shape):
        return np.repeat(rng.uniform(0, 1, (blocks, *shape)), 30, axis=0)[:rows]

    expr = slow(8)
    expr /= expr.sum(axis=1, keepdims=True)
    batch = FrameBatch(
        np.arange(rows),
        np.arange(rows) / 30.0,
        np.zeros(rows, np.int64),
        rng.uniform(0.5, 1, rows),
        slow(4) * 500,
        slow(2) * 2 - 1,
        expr,
        slow(12),
    )
    return batch_to_frame(batch, [0.5] * 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--lanes", type=int, default=20)
    parser.add_argument("--frames", type=int, default=9000)
    parser.add_argument("--rows", type=int, default=108_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.affectproj"
        started = time.perf_counter()
        build(path, args.videos, args.lanes, args.frames)
        built = time.perf_counter() - started
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(folder).glob("*-wal"))
        with ProjectStore(path) as store:
            keys = len(store.lane_keys("video000"))
        print(
            f"project: {args.videos} videos x {keys} lanes, {args.frames} frames each: "
            f"built in {built:.1f} s, {size / 1e6:.1f} MB"
        )
        print(f"open:                       {best(lambda: ProjectStore(path).close()) * 1e3:8.1f} ms")
        with ProjectStore(path) as store:
            status = best(lambda: ProjectStore(path).video_status())
            print(f"open + status of all videos: {status * 1e3:7.1f} ms")
            print(f"all lanes of one video:     {best(lambda: store.lanes('video007')) * 1e3:8.1f} ms")
            every = best(lambda: [store.lanes(v.hash) for v in store.videos()])
            print(f"all lanes of all videos:    {every:8.2f} s")
            rows = result_rows(args.rows)
            save = best(lambda: store.save_results("video000", "model", "bench", rows))
            encode = best(lambda: encode_frame(rows))
            load = best(lambda: store.load_results("video000", "model"))
            blob = store._db.execute("SELECT length(data) FROM results").fetchone()[0]
            print(
                f"save_results {args.rows} rows: {save * 1e3:8.1f} ms ({blob / 1e6:.1f} MB blob), "
                f"of which encoding {encode * 1e3:.1f} ms"
            )
            print(f"load_results {args.rows} rows: {load * 1e3:8.1f} ms")
            store.remember_video("long", "/data/long.mp4", args.rows, 30.0)
            fill = FillFromPredictions("long", rows, 0, 0, args.rows - 1, "model")
            started = time.perf_counter()
            fill.apply(store)
            filled = time.perf_counter() - started
            segments = sum(1 for c in fill.changes if getattr(c, "after", None) is not None)
            print(f"fill 13 lanes + VA from {args.rows} rows: {filled:.2f} s ({segments} segments)")
            started = time.perf_counter()
            fill.revert(store)
            print(f"undo that fill:              {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
