"""A later run opens the model's compiled network from the fast-path cache without PyTorch (core/compiled.py),
and never for a model other than the one the card describes."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from affectstudio.core import compiled
from affectstudio.core.analysis import AnalysisOptions, analyze
from affectstudio.core.engine import InferenceEngine
from affectstudio.core.model.checkpoint import save_checkpoint, untrained_model
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.video import VideoReader
from tests.videos import write_frames

COLUMNS = ["valence", "arousal"]


@pytest.fixture(scope="module")
def clip(sample_video, tmp_path_factory):
    """The first 12 frames of the sample: a face in each."""
    with VideoReader(sample_video) as reader:
        frames = [
            np.ascontiguousarray(frame.image[:, :176]) for frame, _ in zip(reader, range(12), strict=False)
        ]
    return write_frames(tmp_path_factory.mktemp("clip") / "clip.mp4", frames)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("AFFECTSTUDIO_CACHE_DIR", str(folder))
    return folder


def _in_a_new_process(clip, out, env_dir) -> tuple[str, str, bool]:
    """analyze() in a fresh interpreter: (backend, fast path state, whether torch was imported)."""
    code = (
        "import sys\n"
        "from affectstudio.core.analysis import analyze\n"
        f"result = analyze({str(clip)!r}, {str(out)!r})\n"
        "print(result.backend, '|', result.fast_path, '|', 'torch' in sys.modules)\n"
    )
    env = os.environ | {"AFFECTSTUDIO_CACHE_DIR": str(env_dir[0]), "AFFECTSTUDIO_DATA_DIR": str(env_dir[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    backend, state, torch = (part.strip() for part in done.stdout.strip().splitlines()[-1].split("|"))
    return backend, state, torch == "True"


def test_a_later_run_opens_the_cached_network_without_torch_and_gives_the_same_outputs(clip, cache, tmp_path):
    first = analyze(clip, tmp_path / "first.csv")  # converts and caches the network, with its card
    assert first.frames == 12
    (card_file,) = cache.glob("openvino/*.json")
    card = json.loads(card_file.read_text())
    assert card["sources"] == [ModelRegistry().identity()]

    backend, state, torch_imported = _in_a_new_process(
        clip, tmp_path / "second.csv", (cache, os.environ["AFFECTSTUDIO_DATA_DIR"])
    )
    assert (backend, torch_imported) == ("openvino-f32", False)
    assert state.endswith("from the cache")
    a = pd.read_csv(tmp_path / "first.csv", comment="#")
    b = pd.read_csv(tmp_path / "second.csv", comment="#")
    assert len(a) == len(b) == 12
    probabilities = [c for c in a.columns if c in COLUMNS or c.startswith(("p_", "AU"))]
    assert len(probabilities) > 2
    assert np.abs(a[probabilities].to_numpy() - b[probabilities].to_numpy()).max() < 1e-4


def test_a_card_whose_outputs_the_network_does_not_reproduce_is_not_used_and_is_rewritten(cache):
    loaded = untrained_model()
    InferenceEngine(loaded, "cpu", batch_size=8, background=False)
    (card_file,) = cache.glob("openvino/*.json")
    good = json.loads(card_file.read_text())
    assert compiled.CachedEngine.open(good, 8) is not None

    bad = good | {"check": [np.add(good["check"][0], 0.01).tolist(), *good["check"][1:]]}
    card_file.write_text(json.dumps(bad))
    assert compiled.CachedEngine.open(compiled.find_card(loaded.source), 8) is None
    assert InferenceEngine(loaded, "cpu", batch_size=8, background=False).backend == "openvino-f32"
    assert json.loads(card_file.read_text())["check"] == good["check"]  # the build wrote it again


def test_a_model_file_replaced_in_place_is_not_taken_for_the_cached_one(clip, cache, tmp_path):
    registry = ModelRegistry()
    first = untrained_model(seed=2)
    registry.import_file(save_checkpoint(tmp_path / "mine.pt", first.model, first.config), name="mine")
    InferenceEngine(registry.load("mine"), "cpu", batch_size=8, background=False)  # caches it, with a card
    assert compiled.find_card(registry.identity("mine"))["digest"] == first.digest

    second = untrained_model(seed=5)
    registry.import_file(
        save_checkpoint(tmp_path / "other.pt", second.model, second.config),
        name="mine",
        replace_existing=True,
    )
    assert compiled.find_card(registry.identity("mine")) is None
    result = analyze(clip, tmp_path / "out.csv", AnalysisOptions(model="mine"))
    sidecar = json.loads((tmp_path / "out.json").read_text())
    assert sidecar["model_digest"] == registry.load("mine").digest != first.digest
    assert not result.fast_path.endswith("from the cache")


def test_only_a_cpu_device_is_known_without_torch():
    assert compiled.cpu_only("cpu")
    assert not compiled.cpu_only("cuda") and not compiled.cpu_only("cuda:1") and not compiled.cpu_only("mps")


def test_mediapipe_is_imported_without_pyplot_which_still_works_when_used():
    code = (
        "import sys\n"
        "from affectstudio.core.startup import import_mediapipe\n"
        "mediapipe = import_mediapipe()\n"
        "assert mediapipe.solutions.face_detection.FaceDetection\n"
        "print(type(sys.modules['matplotlib.pyplot']).__name__)\n"
        "import matplotlib.pyplot as plt\n"
        "plt.figure(); print(type(sys.modules['matplotlib.pyplot']).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["_LazyModule", "module"]


def test_the_face_side_is_made_ahead_for_the_next_stream(sample_video):
    """`analyze` and the app make the face detector and the face-mesh model while torch is imported; the
    next stream with those options takes them instead of making its own."""
    from affectstudio.core.face_stream import DETECTORS, LANDMARKERS, FaceStream, prepare_in_background

    options = AnalysisOptions(min_confidence=0.37)  # a detector key no other test uses
    key = (options.face_range, 0.37, 0.0)
    prepare_in_background(options).join()
    (detector,) = DETECTORS._idle[key]
    assert LANDMARKERS._idle[()]

    with VideoReader(sample_video) as reader:
        stream = FaceStream(reader, min_confidence=0.37, crop_method="aligned-5pt")
        with stream:
            next(iter(stream))
            assert detector in stream._detectors


def test_the_check_runs_on_the_sample_faces_and_a_card_needs_those_same_crops(cache):
    """The compiled network is checked on real faces (on uniform noise a trained network's outputs
    diverge between OpenVINO and PyTorch: see test_training_learning); the warm start checks on the very
    crops the card's outputs came from, and refuses when they are not in the cache."""
    loaded = untrained_model()
    InferenceEngine(loaded, "cpu", batch_size=8, background=False)
    card = compiled.find_card(loaded.source)
    crops = compiled.check_crops(loaded.config.crop_method, make=False)
    assert crops.shape == (5, 112, 112, 3) and card["check_crops"] == compiled.fingerprint(crops)
    noise = np.random.default_rng(0).integers(0, 256, crops.shape, dtype=np.uint8)
    assert not np.array_equal(crops, noise)
    assert compiled.CachedEngine.open(card, 8) is not None
    for made in cache.glob("openvino/check-*.npy"):
        made.unlink()
    assert compiled.CachedEngine.open(card, 8) is None
