"""Speed of the annotation importers/exporters and agreement on long videos.

    python -m benchmarks.bench_annotation_io [--openface-minutes 2] [--hours 1]

1. read_overlay on an OpenFace 2 CSV of --openface-minutes at 30 fps with its full 714-column header.
2. write_spans_csv / read_spans_csv / write_elan_tab on --hours of 30 fps lanes: an expression lane of
   2-second segments, two AU lanes and an arousal trace that changes every frame (the worst case: one row
   per frame).
3. agreement between two such annotators.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from affectstudio.core.annotations.agreement import agreement
from affectstudio.core.annotations.exchange import read_spans_csv, write_elan_tab, write_spans_csv
from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment
from affectstudio.core.annotations.overlays import read_overlay
from affectstudio.core.labels import EXPRESSIONS
from tests.test_annotation_overlays import OPENFACE_HEADER


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def lanes_of(annotator: str, frames: int, seed: int) -> list[Lane]:
    rng = np.random.default_rng(seed)
    starts = range(0, frames - 60, 60)
    expression = [Segment(s, s + 59, EXPRESSIONS[int(rng.integers(0, 8))]) for s in starts]
    aus = [
        Lane(LaneKey(au, annotator), [Segment(s, s + 59, int(rng.integers(0, 2))) for s in starts])
        for au in ("AU1", "AU12")
    ]
    arousal = np.clip(np.cumsum(rng.normal(0, 0.01, frames)), -1, 1).astype(np.float32)
    return [
        Lane(LaneKey("expression", annotator), expression),
        *aus,
        Lane(LaneKey("arousal", annotator), trace=arousal),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openface-minutes", type=float, default=2.0)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        rows = int(args.openface_minutes * 60 * 30)
        times = np.arange(rows) / 30
        data = np.random.default_rng(0).random((rows, len(OPENFACE_HEADER))).round(3)
        data[:, 0], data[:, 1], data[:, 2], data[:, 4] = np.arange(rows) + 1, 0, times.round(3), 1
        path = folder / "openface.csv"
        np.savetxt(path, data, delimiter=", ", header=", ".join(OPENFACE_HEADER), comments="", fmt="%g")
        size = path.stat().st_size / 1e6
        overlay = timed(
            f"read_overlay, OpenFace {rows} rows x {len(OPENFACE_HEADER)} columns ({size:.0f} MB)",
            lambda: read_overlay(path, times),
        )
        assert len(overlay.frame) == rows

        frames = int(args.hours * 3600 * 30)
        times = np.arange(frames) / 30
        alice, bob = lanes_of("alice", frames, 1), lanes_of("bob", frames, 2)
        spans = folder / "spans.csv"
        timed(f"write_spans_csv, {frames} frames", lambda: write_spans_csv(spans, alice, times))
        lines = spans.read_text().count("\n") - 1
        back = timed(f"read_spans_csv, {lines} rows", lambda: read_spans_csv(spans, times))
        assert len(back) == len(alice)
        timed("write_elan_tab", lambda: write_elan_tab(folder / "lanes.txt", alice, times))
        table = timed(f"agreement, 2 annotators x {frames} frames", lambda: agreement(alice, bob, frames))
        assert len(table) > 0


if __name__ == "__main__":
    main()
