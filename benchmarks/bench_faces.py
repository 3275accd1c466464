"""Face detection recall and false positives, and landmark speed: what the face settings cost and buy.

    python -m benchmarks.bench_faces

- the shared conformance images (../shared/conformance/alignment; one real face each, RetinaFace's box in
  reference.json): recall (a detection whose centre lies in the reference box) and false positives;
- the sample clip (one face in every one of its 120 frames): recall and extra detections;
- a title card (white text on black, as videos open with): detections there are all false;
for the detector as it was (full range only) and as it is (short range where full range finds nothing),
with and without a minimum face size. Then the face-mesh landmarker's time per face.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from affectstudio.core.alignment import Landmarker
from affectstudio.core.faces import FaceDetector
from affectstudio.core.sample import sample_video_path
from affectstudio.core.video import VideoReader

SHARED = Path(os.environ.get("AFFECTSTUDIO_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")


def shared_images() -> list[tuple[np.ndarray, list[float]]]:
    folder = SHARED / "conformance" / "alignment"
    if not (folder / "reference.json").is_file():
        return []
    reference = json.loads((folder / "reference.json").read_text())
    return [
        (cv2.cvtColor(cv2.imread(str(folder / "images" / name)), cv2.COLOR_BGR2RGB), entry["box"])
        for name, entry in reference.items()
    ]


def title_cards() -> list[np.ndarray]:
    cards = []
    for text in ("A FILM BY", "Chapter 1: O O", "THE END", "Interview 3"):
        card = np.zeros((360, 640, 3), dtype=np.uint8)
        cv2.putText(card, text, (60, 200), cv2.FONT_HERSHEY_DUPLEX, 2.2, (255, 255, 255), 4, cv2.LINE_AA)
        cards.append(card)
    return cards


def score(detector: FaceDetector, images, boxes) -> tuple[int, int]:
    """(images whose face was found, detections that are not that face)."""
    found = false = 0
    for image, (x0, y0, x1, y1) in zip(images, boxes, strict=True):
        hits = 0
        for detection in detector.detect(image):
            cx, cy = (detection.box.x0 + detection.box.x1) / 2, (detection.box.y0 + detection.box.y1) / 2
            if x0 <= cx <= x1 and y0 <= cy <= y1 and not hits:
                hits = 1
            else:
                false += 1
        found += hits
    return found, false


def main() -> None:
    shared = shared_images()
    with VideoReader(sample_video_path()) as reader:
        sample = [frame.image for frame in reader]
    with FaceDetector("full") as detector:  # the sample's face box, from the detector, widened a little
        sample_boxes = []
        for image in sample:
            box = detector.detect(image)[0].box
            sample_boxes.append((box.x0 - 10, box.y0 - 10, box.x1 + 10, box.y1 + 10))
    cards = title_cards()
    for label, face_range, fallback, min_size in (
        ("full range only (before)", "full", False, 0),
        ("full, short-range fallback", "full", True, 0),
        ("full, fallback, min size 24 px", "full", True, 24),
    ):
        with FaceDetector(face_range, min_size=min_size) as detector:
            if not fallback:
                detector._models = detector._models[:1]
            parts = []
            if shared:
                found, false = score(detector, [i for i, _ in shared], [b for _, b in shared])
                parts.append(f"shared images recall {found}/{len(shared)}, false {false}")
            found, false = score(detector, sample, sample_boxes)
            parts.append(f"sample recall {found}/{len(sample)}, false {false}")
            false_cards = sum(len(detector.detect(card)) for card in cards)
            parts.append(f"title cards: {false_cards} false in {len(cards)}")
            print(f"{label}: " + "; ".join(parts))
    landmarker = Landmarker()
    with FaceDetector("full") as detector:
        detection = detector.detect(sample[0])[0]
        started = time.perf_counter()
        for _ in range(100):
            landmarker.fit(sample[0], detection.box, detection.keypoints)
    fit_ms = (time.perf_counter() - started) * 10
    print(f"face mesh: {fit_ms / 2:.2f} ms per run, {fit_ms:.2f} ms per new face (2 runs)")
    print(f"load average {Path('/proc/loadavg').read_text().split()[0]}")


if __name__ == "__main__":
    main()
