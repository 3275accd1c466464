"""Real face crops for checking the fast path and calibrating its int8 network: the bundled sample's faces.

Quantization needs inputs like the ones the network will see (a random image has other activation ranges
than a face), and the int8 network is checked against PyTorch on them too. The sample clip is the one
real video every install has; its 120 frames give 120 crops of one face, made exactly as `analyze` makes
them (`FaceStream`, with the model's crop method), and kept in the cache (4.5 MB) so later starts reuse them.
"""

from __future__ import annotations

import numpy as np

from affectstudio.core.paths import atomic_path, cache_dir


def sample_crops(crop_method: str, count: int | None = None, make: bool = True) -> np.ndarray | None:
    """(N, 112, 112, 3) uint8 RGB crops of the faces in the bundled sample video, made by `crop_method`:
    every one, or the first `count`. Kept in the cache; `make=False` only reads the cache (None if empty).
    A VideoError when the sample cannot be read."""
    name = f"calibration-{crop_method}.npy" if count is None else f"check-{crop_method}-{count}.npy"
    path = cache_dir() / "openvino" / name
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    if not make:
        return None
    from affectstudio.core.face_stream import FaceStream
    from affectstudio.core.sample import sample_video_path
    from affectstudio.core.video import VideoReader

    crops: list[np.ndarray] = []
    with VideoReader(sample_video_path()) as reader, FaceStream(reader, crop_method=crop_method) as stream:
        for item in stream:
            crops.extend(item.crops)
            if count is not None and len(crops) >= count:
                break
    stacked = np.stack(crops[:count])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        np.save(temp, stacked)
    return stacked
