"""Aligned face crops as the DDAMFN++ checkpoints were trained: 5 landmarks -> similarity -> 112x112.

The released checkpoints saw RetinaFace's 5 landmarks (eye, eye, nose tip, mouth corner, mouth corner, in
image order) mapped by a least-squares similarity transform onto the best of 5 pose templates
(../shared/conformance/alignment/README.md). Here the landmarks come from MediaPipe's face-mesh model
(`face_landmark.tflite`, 468 points, shipped in the mediapipe wheel, so nothing is downloaded), run by
OpenVINO, which reads TFLite directly: ~2.8 ms per face on one core, where MediaPipe's own FaceMesh
solution would run its short-range detector again on every call.

Measured against reference.json (17 images; mean |A.p - M.p| in crop pixels, as the README defines):
the BlazeFace detector's own keypoints (eyes, nose, mouth centre, with the mouth corners guessed from the
eye line) 4.7 px; the mesh on the detector's region 2.1 px; the mesh run again on the region of its own
points (what `five_points` does, and what video does from frame to frame) 1.9 px. The mesh point choices
(eye = mean of the upper lid and corners, nose = between tip 1 and 4) and the 1.7 region scale were picked
on that same set, so the figure is optimistic by the amount such a choice can be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from affectstudio.core.transforms import CROP_SIZE

# (x, y) in the 112x112 crop; eye, eye, nose, mouth corner, mouth corner in image order (left first).
TEMPLATES = np.array(
    [
        [[55.550, 49.477], [62.116, 49.339], [38.075, 70.237], [55.017, 92.262], [61.466, 92.979]],
        [[47.241, 48.598], [72.887, 49.540], [40.555, 71.067], [47.423, 93.643], [71.236, 94.353]],
        [[33.566, 40.559], [78.321, 40.559], [55.338, 64.967], [38.479, 90.276], [73.591, 90.276]],
        [[39.516, 49.540], [65.162, 48.598], [71.849, 71.067], [41.167, 94.353], [64.980, 93.643]],
        [[50.225, 49.339], [56.791, 49.477], [74.266, 70.237], [50.875, 92.979], [65.317, 92.262]],
    ]
)
# Face-mesh indices: the subject's right eye (image left) upper lid with its corners, the left one, the
# nose tip (1) and the point just above it (4), the mouth corners.
_EYE_IMAGE_LEFT = [33, 246, 161, 160, 159, 158, 157, 173, 133]
_EYE_IMAGE_RIGHT = [263, 466, 388, 387, 386, 385, 384, 398, 362]
_NOSE = [1, 4]
_MOUTH = [61, 291]
MESH_SIZE = 192
DETECTION_SCALE = 1.5  # region around a detector box, as MediaPipe's face-mesh graph takes it
MESH_SCALE = 1.7  # region around the previous mesh's points


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation taking src (N, 2) to dst (N, 2): 2x3 matrix.

    Umeyama (1991), as scikit-image's SimilarityTransform.estimate computes it.
    """
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[1, 1] = -1
    rotation = u @ flip @ vt
    scale = float((sigma * np.diag(flip)).sum() / (s**2).sum() * len(src))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def align_matrix(points: np.ndarray) -> tuple[np.ndarray, int]:
    """5 landmarks (image order) -> (image -> crop 2x3 matrix, template index): the closest template wins."""
    points = np.asarray(points, dtype=np.float64)
    best = None
    for index, template in enumerate(TEMPLATES):
        matrix = similarity_transform(points, template)
        distance = float(np.linalg.norm(apply(matrix, points) - template, axis=1).sum())
        if best is None or distance < best[0]:
            best = (distance, matrix, index)
    return best[1], best[2]


def warp(image: np.ndarray, matrix: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The aligned crop; outside the frame is black (borderValue 0), as the original pipeline leaves it."""
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)


@dataclass(frozen=True)
class Region:
    """A square in the image, turned by `angle` (radians, the eye line's), that the mesh model sees."""

    cx: float
    cy: float
    side: float
    angle: float

    def matrix(self) -> np.ndarray:
        """Image -> MESH_SIZE x MESH_SIZE region pixels."""
        k = MESH_SIZE / max(self.side, 1e-6)
        c, s = np.cos(self.angle) * k, np.sin(self.angle) * k
        m = np.array([[c, s, 0.0], [-s, c, 0.0]])
        m[:, 2] = MESH_SIZE / 2 - m[:, :2] @ (self.cx, self.cy)
        return m

    @staticmethod
    def around(x0: float, y0: float, x1: float, y1: float, angle: float, scale: float) -> Region:
        return Region((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * scale, angle)


def region_from_detection(box, keypoints: np.ndarray | None) -> Region:
    """The detector's box, turned by its eye keypoints (the first two) when it has them."""
    angle = 0.0
    if keypoints is not None:
        (ax, ay), (bx, by) = keypoints[0], keypoints[1]
        angle = float(np.arctan2(by - ay, bx - ax))
    return Region.around(box.x0, box.y0, box.x1, box.y1, angle, DETECTION_SCALE)


def region_from_mesh(mesh: np.ndarray) -> Region:
    (x0, y0), (x1, y1) = mesh.min(axis=0), mesh.max(axis=0)
    (ax, ay), (bx, by) = mesh[33], mesh[263]
    return Region.around(x0, y0, x1, y1, float(np.arctan2(by - ay, bx - ax)), MESH_SCALE)


def five_from_mesh(mesh: np.ndarray) -> np.ndarray:
    """The 5 alignment landmarks (image order) from the 468 mesh points."""
    return np.array(
        [
            mesh[_EYE_IMAGE_LEFT].mean(axis=0),
            mesh[_EYE_IMAGE_RIGHT].mean(axis=0),
            mesh[_NOSE].mean(axis=0),
            mesh[_MOUTH[0]],
            mesh[_MOUTH[1]],
        ]
    )


class Landmarker:
    """MediaPipe's face-mesh model run by OpenVINO on one core; one instance per thread."""

    def __init__(self):
        from affectstudio.core.compiled import openvino_or_none
        from affectstudio.core.startup import import_mediapipe

        mediapipe = import_mediapipe()
        ov = openvino_or_none()
        if ov is None:
            raise RuntimeError("aligned crops need OpenVINO (pip install openvino)")
        path = os.path.join(os.path.dirname(mediapipe.__file__), "modules/face_landmark/face_landmark.tflite")
        core = ov.Core()
        self._model = core.compile_model(core.read_model(path), "CPU", {"INFERENCE_NUM_THREADS": "1"})

    def mesh(self, image: np.ndarray, region: Region) -> tuple[np.ndarray, float]:
        """(468 (x, y) points in image pixels, face presence in [0, 1]) within the region."""
        to_region = region.matrix()
        patch = cv2.warpAffine(image, to_region, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR)
        out = self._model(patch[None].astype(np.float32) * np.float32(1 / 255.0))
        points = out[0].reshape(468, 3)[:, :2]
        presence = float(1.0 / (1.0 + np.exp(-float(np.ravel(out[1])[0]))))
        return apply(cv2.invertAffineTransform(to_region), points), presence

    def fit(self, image: np.ndarray, box, keypoints: np.ndarray | None = None) -> np.ndarray:
        """468 mesh points of the face in `box`: once on the detector's region, again on the mesh's own."""
        mesh, _ = self.mesh(image, region_from_detection(box, keypoints))
        return self.mesh(image, region_from_mesh(mesh))[0]

    def five_points(self, image: np.ndarray, box, keypoints: np.ndarray | None = None) -> np.ndarray:
        return five_from_mesh(self.fit(image, box, keypoints))


class MeshTracks:
    """Landmarks of each face track from frame to frame, MediaPipe style: a track seen in the previous
    frame is looked for in the region of its previous mesh (one model run, and as accurate as a second
    pass); a new track, or one back from a gap, is fitted from its detection (two runs)."""

    def __init__(self, landmarker: Landmarker | None = None):
        self.landmarker = landmarker or Landmarker()
        self._last: dict[int, tuple[int, np.ndarray]] = {}  # track id -> (frame, mesh)

    def mesh(self, image: np.ndarray, frame: int, face) -> tuple[np.ndarray, float]:
        """(mesh points, face presence in [0, 1]; 1 for a fresh fit on a detection)."""
        previous = self._last.get(face.track_id)
        if previous is not None and previous[0] == frame - 1:
            mesh, presence = self.landmarker.mesh(image, region_from_mesh(previous[1]))
        else:
            mesh, presence = self.landmarker.fit(image, face.box, face.keypoints), 1.0
        self._last[face.track_id] = (frame, mesh)
        if len(self._last) > 64:  # forget tracks not seen for a while
            self._last = {k: v for k, v in self._last.items() if v[0] >= frame - 1}
        return mesh, presence

    def previous(self, track_id: int, frame: int) -> np.ndarray | None:
        found = self._last.get(track_id)
        return found[1] if found is not None and found[0] == frame else None
