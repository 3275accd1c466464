"""Bring another tool's file into a project video: a spans CSV becomes lanes, anything else an overlay.

A file whose header names a `lane` column is a spans CSV (`exchange.read_spans_csv`): its lanes are
applied as one undoable `ImportLanes` command, the file's spans winning over what the lanes held there
(neighbours trimmed as for any added segment; valence/arousal values written over the trace where the file
gives them). Any other file is read by `overlays.read_overlay` (OpenFace, py-feat, generic frame/time
table) and stored as a read-only overlay. Errors name the imported file (and line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affectstudio.core.annotations.edits import Command, SegmentChange, SetTrace
from affectstudio.core.annotations.lanes import ANY_TRACK, DEFAULT_ANNOTATOR, Lane, LaneKey
from affectstudio.core.errors import AnnotationError
from affectstudio.core.wording import plural


def is_spans_csv(path: Path) -> bool:
    """A header naming a `lane` column, whatever its separator (read_spans_csv then says what else is
    wrong, a separator other than ',' included)."""
    from affectstudio.core.annotations.exchange import header_separator

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    return header_separator(line.rstrip("\r\n")) is not None
    except (OSError, UnicodeDecodeError):
        return False
    return False


class ImportLanes(Command):
    """Apply lanes read from a file (segments and VA traces) as one undo step."""

    label = "import lanes"

    def __init__(self, video_hash: str, lanes: dict[LaneKey, Lane]):
        super().__init__(video_hash)
        self.lanes = lanes

    def _plan(self, store) -> None:
        pairs: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        for key, lane in self.lanes.items():
            if key.kind == "continuous":
                pairs.setdefault((key.annotator, key.track_id), {})[key.name] = lane.trace
                continue
            for segment in lane.segments:
                self._carve(store, key, segment.start, segment.stop)
                self._record(store, SegmentChange(key, None, segment.with_(id=None)))
        for (annotator, track), traces in pairs.items():
            given = np.zeros(max(len(t) for t in traces.values()), bool)
            for trace in traces.values():
                given |= np.isfinite(trace)
            frames = np.flatnonzero(given)
            first, last = int(frames[0]), int(frames[-1])
            current = np.stack(
                [
                    store.trace(self.video_hash, LaneKey(n, annotator, track))[first : last + 1]
                    for n in ("valence", "arousal")
                ],
                axis=1,
            )
            for column, name in enumerate(("valence", "arousal")):
                if name in traces:
                    part = traces[name][first : last + 1]
                    current[np.isfinite(part), column] = part[np.isfinite(part)]
            SetTrace(self.video_hash, LaneKey("valence", annotator, track), first, current)._plan_into(
                self, store
            )


@dataclass
class ImportResult:
    kind: str  # "lanes" or "overlay"
    lanes: list[LaneKey]
    overlay: str | None = None
    command: Command | None = None
    notes: tuple[str, ...] = ()


def import_file(
    store,
    video_hash: str,
    path: str | Path,
    timestamps,
    annotator: str = DEFAULT_ANNOTATOR,
    track: int | None = None,
    name: str | None = None,
    stack=None,
) -> ImportResult:
    """Import `path` into the project video; lanes go through `stack` (an UndoStack) when given."""
    from affectstudio.core.annotations.exchange import read_spans_csv
    from affectstudio.core.annotations.overlays import read_overlay

    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "file not found")
    if is_spans_csv(path):
        lanes = read_spans_csv(path, timestamps, annotator)
        if track is not None:  # rows without a track of their own belong to the given one
            lanes = {lane.key: lane for lane in (_on_track(lane, track) for lane in lanes.values())}
        command = ImportLanes(video_hash, lanes)
        try:
            stack.push(command) if stack is not None else command.apply(store)
        except AnnotationError as error:
            raise AnnotationError(path, error.problem) from None
        return ImportResult(
            "lanes", sorted(lanes, key=lambda k: (k.annotator, k.track_id, k.name)), command=command
        )
    overlay = read_overlay(path, timestamps, name)
    store.save_overlay(video_hash, overlay.name, overlay.fmt, path, overlay.frame)
    notes = tuple(overlay.notes) + tuple(
        f"{plural(count, 'row')} dropped: {why}" for why, count in overlay.dropped.items()
    )
    return ImportResult("overlay", [], overlay.name, notes=notes)


def _on_track(lane: Lane, track: int) -> Lane:
    if lane.key.track_id != ANY_TRACK:
        return lane
    return Lane(LaneKey(lane.key.name, lane.key.annotator, track), lane.segments, lane.trace)
