"""What an analysis run is asked to do, apart from the code that does it.

Kept in its own light module (no video, detector or pandas imports) so the settings model and the window
can hold options without paying for the pipeline's imports at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AnalysisOptions:
    model: str | None = None  # registry name or checkpoint path; None = the default model
    device: str = "auto"
    batch_size: int = 32
    detect_every: int = 1
    face_range: str = "full"
    min_confidence: float = 0.5
    faces: str = "main"  # the longest-seen track in each frame; "largest" face; or "all"
    fast: bool = True
    detect_workers: int = 0  # face-detection threads; 0 = half the CPU cores
    crop_method: str | None = None  # None = what the model's config names (see core/transforms.py)
    min_face_size: float = 0.0  # pixels: smaller detections are ignored
    max_gap_s: float = 1.0  # a face track survives detection gaps up to this long
    save_crops: str | None = None  # folder: every crop the network saw, as track_<id>/<frame:06d>.png


def analysis_key(options: AnalysisOptions) -> tuple:
    """The options that change what the analysis produces (as opposed to how fast it runs)."""
    return (
        options.model,
        options.detect_every,
        options.min_confidence,
        options.face_range,
        options.faces,
        options.crop_method,
        options.min_face_size,
        options.max_gap_s,
    )
