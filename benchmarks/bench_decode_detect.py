"""Decode and face-detection speed, and frame-exact seek latency, on talking-head videos made from the sample.

    python -m benchmarks.bench_decode_detect [--seconds 30] [--seeks 60] [--gop 60] [--seek-only]
    (from the repo root)

Makes a 640x360 30 fps H.264 video (the 176x144 sample clip upscaled 2.5x onto a grey canvas, played
forwards and backwards until it lasts --seconds) and a 1280x720 one, in a temporary folder, then prints:
  - decode only: frames/s of VideoReader iteration (decode + RGB conversion) at 640x360
  - decode + detect: frames/s with full-range (and short-range) MediaPipe detection, one thread
  - crop_face: microseconds per 112x112 crop
  - seek latency p50/p95 of random `read(i)` at 640x360 and 1280x720 (GOP of --gop frames)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from affectstudio.core.faces import FaceDetector, crop_face
from affectstudio.core.sample import sample_video_path
from affectstudio.core.video import VideoReader


def make_talking_head(path: Path, size: tuple[int, int], seconds: float, gop: int) -> None:
    with VideoReader(sample_video_path()) as reader:
        clip = [frame.image for frame in reader]
    clip = clip + clip[-2:0:-1]  # ping-pong, so the loop has no jump
    width, height = size
    scale = height / clip[0].shape[0]
    face_w = round(clip[0].shape[1] * scale)
    left = (width - face_w) // 2
    canvas = np.full((height, width, 3), 96, dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=30, options={"preset": "veryfast", "crf": "23", "g": str(gop)}
        )
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(round(seconds * 30)):
            canvas[:, left : left + face_w] = cv2.resize(
                clip[i % len(clip)], (face_w, height), cv2.INTER_LINEAR
            )
            container.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
        container.mux(stream.encode(None))


def decode_fps(path: Path) -> float:
    with VideoReader(path) as reader:
        started = time.perf_counter()
        count = sum(1 for _ in reader)
        return count / (time.perf_counter() - started)


def detect_fps(path: Path, face_range: str) -> tuple[float, float]:
    """Frames/s of decode + detection, and the share of frames with a face."""
    with VideoReader(path) as reader, FaceDetector(face_range) as detector:
        started = time.perf_counter()
        count = hits = 0
        for frame in reader:
            hits += bool(detector.detect(frame.image))
            count += 1
        return count / (time.perf_counter() - started), hits / count


def crop_microseconds(path: Path) -> float:
    with VideoReader(path) as reader, FaceDetector("full") as detector:
        image = reader.read(0).image
        box = detector.detect(image)[0].box
    started = time.perf_counter()
    for _ in range(500):
        crop_face(image, box)
    return (time.perf_counter() - started) / 500 * 1e6


def seek_latency_ms(path: Path, n_seeks: int) -> tuple[float, float, float]:
    """p50 and p95 of random reads, and the time to open (index) the file, in milliseconds."""
    started = time.perf_counter()
    with VideoReader(path) as reader:
        opened = (time.perf_counter() - started) * 1000
        rng = np.random.default_rng(0)
        latencies = []
        for index in rng.integers(0, reader.info.frame_count, size=n_seeks):
            started = time.perf_counter()
            reader.read(int(index))
            latencies.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(latencies, 50)), float(np.percentile(latencies, 95)), opened


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the 640x360 video")
    parser.add_argument("--seeks", type=int, default=60, help="random reads per resolution")
    parser.add_argument("--gop", type=int, default=60, help="keyframe interval of the made videos (frames)")
    parser.add_argument("--seek-only", action="store_true", help="measure only the seek latency")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "talk_640x360.mp4", Path(folder) / "talk_1280x720.mp4"
        started = time.perf_counter()
        make_talking_head(small, (640, 360), args.seconds, args.gop)
        make_talking_head(large, (1280, 720), min(args.seconds, 10.0), args.gop)
        print(f"made test videos in {time.perf_counter() - started:.1f} s (H.264, GOP {args.gop}, 30 fps)")

        if not args.seek_only:
            print(f"640x360 decode only:             {decode_fps(small):7.1f} frames/s")
            for face_range in ("full", "short"):
                fps, share = detect_fps(small, face_range)
                print(f"640x360 decode + {face_range:5s} detection: {fps:7.1f} frames/s ", end="")
                print(f"(face in {share:.0%})")
            print(f"crop_face (640x360 frame -> 112x112): {crop_microseconds(small):.0f} us per crop")
        for label, path in (("640x360", small), ("1280x720", large)):
            p50, p95, opened = seek_latency_ms(path, args.seeks)
            print(f"{label:8s} random read(i): p50 {p50:6.1f} ms, p95 {p95:6.1f} ms (open {opened:.0f} ms)")


if __name__ == "__main__":
    main()
