"""The annotation data model: lanes of segments, events and continuous traces, per annotator and face track.

A lane is one thing coded over time by one annotator for one face track (ELAN's tier):

| kind         | lane names             | content                                                        |
| ------------ | ---------------------- | -------------------------------------------------------------- |
| `expression` | `expression`           | segments whose value is one of the 8 ABAW expression names     |
| `au`         | `AU1` ... `AU26`       | segments coding the AU as on (value 1) or off (value 0)        |
| `continuous` | `valence`, `arousal`   | a value in [-1, 1] per frame (NaN = unlabelled)                |
| `event`      | `event`                | point markers (start == stop) whose value is free text         |
| `exclusion`  | `exclusion`            | ranges to leave out of statistics, agreement and training      |

Times are frame indices (inclusive `start`..`stop`), exact for any frame rate; importers and exporters
convert from and to seconds with the video's presentation timestamps. Values are validated here, once,
so nothing malformed reaches the store, the exporters or training.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, VA_NAMES

SEGMENT_LANES = ("expression", *ACTION_UNITS)
CONTINUOUS_LANES = VA_NAMES
LANE_NAMES = (*SEGMENT_LANES, *CONTINUOUS_LANES, "event", "exclusion")
DEFAULT_ANNOTATOR = "me"
ANY_TRACK = -1  # a lane not tied to one face (e.g. events about the whole scene)


def lane_kind(name: str) -> str:
    if name == "expression":
        return "expression"
    if name in ACTION_UNITS:
        return "au"
    if name in CONTINUOUS_LANES:
        return "continuous"
    if name in ("event", "exclusion"):
        return name
    raise AnnotationError(None, f"unknown lane {name!r}; lanes are: {', '.join(LANE_NAMES)}")


@dataclass(frozen=True)
class LaneKey:
    """Which lane: its name, who coded it and for which face track."""

    name: str
    annotator: str = DEFAULT_ANNOTATOR
    track_id: int = ANY_TRACK

    def __post_init__(self):
        lane_kind(self.name)
        if not self.annotator.strip():
            raise AnnotationError(None, "an annotator needs a name")

    @property
    def kind(self) -> str:
        return lane_kind(self.name)


@dataclass(frozen=True)
class Segment:
    """Frames `start`..`stop` (inclusive) of a segment lane. `id` is None until the store assigns one."""

    start: int
    stop: int
    value: str | int | None = None
    note: str = ""
    id: int | None = None

    def __post_init__(self):
        if self.start < 0 or self.stop < self.start:
            raise AnnotationError(None, f"bad segment frames {self.start}..{self.stop}")

    def frames(self) -> range:
        return range(self.start, self.stop + 1)

    def with_(self, **changes) -> Segment:
        return replace(self, **changes)


def check_segment(kind: str, segment: Segment) -> Segment:
    """The segment as stored for a lane of `kind`, or AnnotationError saying what is wrong with it."""
    if kind == "expression":
        if segment.value not in EXPRESSIONS:
            raise AnnotationError(
                None, f"unknown expression {segment.value!r}; expected one of {', '.join(EXPRESSIONS)}"
            )
    elif kind == "au":
        if segment.value not in (0, 1, "0", "1", None):
            raise AnnotationError(None, f"an AU segment is on (1) or off (0), got {segment.value!r}")
        segment = segment.with_(value=1 if segment.value is None else int(segment.value))
    elif kind == "event":
        if segment.stop != segment.start:
            raise AnnotationError(None, "an event is one frame (start == stop)")
        segment = segment.with_(value=str(segment.value or ""))
    elif kind == "exclusion":
        segment = segment.with_(value=None)
    else:
        raise AnnotationError(None, f"a {kind} lane holds a trace, not segments")
    return segment


def check_trace(values: np.ndarray) -> np.ndarray:
    """Valence/arousal values as float32, NaN = unlabelled; outside [-1, 1] is an error, not clipped."""
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < -1.0 or finite.max() > 1.0):
        raise AnnotationError(None, "valence and arousal must lie in [-1, 1]")
    return values


@dataclass
class Lane:
    """One lane's content: segments for segment/event/exclusion lanes, a per-frame trace for VA lanes."""

    key: LaneKey
    segments: list[Segment] = field(default_factory=list)
    trace: np.ndarray | None = None  # (frames,) float32, NaN = unlabelled; continuous lanes only

    def segment_at(self, frame: int) -> Segment | None:
        for segment in self.segments:
            if segment.start <= frame <= segment.stop:
                return segment
        return None

    def per_frame(self, frame_count: int) -> np.ndarray:
        """Dense labels per frame: expression index / AU 0-1 / VA value; -1 (NaN for VA) = unlabelled.

        Frames no segment covers are unlabelled, also in AU lanes: 'not coded' is not 'coded off'.
        """
        if self.key.kind == "continuous":
            out = np.full(frame_count, np.nan, dtype=np.float32)
            if self.trace is not None:
                n = min(frame_count, len(self.trace))
                out[:n] = self.trace[:n]
            return out
        out = np.full(frame_count, -1, dtype=np.int16)
        for segment in self.segments:
            value = EXPRESSIONS.index(segment.value) if self.key.kind == "expression" else int(segment.value)
            out[segment.start : min(segment.stop, frame_count - 1) + 1] = value
        return out
