"""Real face crops for calibrating and checking the int8 fast path: the bundled sample video's faces.

Quantization needs inputs like the ones the network will see (a random image has other activation ranges
than a face), and the int8 network is checked against PyTorch on them too. The sample clip is the one
real video every install has; its 120 frames give 120 crops of one face, made exactly as `analyze` makes
them (`FaceStream`, with the model's crop method), and kept in the cache (4.5 MB) so later starts reuse them.
"""

from __future__ import annotations

import numpy as np

from affectstudio.core.paths import atomic_path, cache_dir


def sample_crops(crop_method: str) -> np.ndarray:
    """(N, 112, 112, 3) uint8 RGB crops of every face in the bundled sample video, made by `crop_method`."""
    path = cache_dir() / "openvino" / f"calibration-{crop_method}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    from affectstudio.core.face_stream import FaceStream
    from affectstudio.core.sample import sample_video_path
    from affectstudio.core.video import VideoReader

    crops: list[np.ndarray] = []
    with VideoReader(sample_video_path()) as reader, FaceStream(reader, crop_method=crop_method) as stream:
        for item in stream:
            crops.extend(item.crops)
    stacked = np.stack(crops)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        np.save(temp, stacked)
    return stacked
