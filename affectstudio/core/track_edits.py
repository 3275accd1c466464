"""Corrections of the face tracker's output: merge two tracks, split one at a frame, reject one as not a face.

Why edits and not rewritten results: the cached result rows are what the engine produced for a model and
stay untouched (a new analysis, another model, or undo must find them as they were). The edits of a video
are a short ordered list kept in the project store per analysis (the results key: model and face options,
since another analysis numbers other faces with the same track ids) and replayed over that analysis's rows,
per row, whenever they are read (`apply_edits`), rows still streaming in included. Each edit is a function
of (track id, frame) only, which is what lets a batch be edited on its own.

The undoable commands that add and remove edits (and carry the annotation lanes along) are in
`annotations/track_commands.py`; this module is the data and its arithmetic, no store, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from affectstudio.core.results import AU_ACTIVE_COLUMNS, NO_FACE
from affectstudio.core.wording import plural

KINDS = ("merge", "split", "reject")
_REJECTED = -2  # a row of a rejected track, while edits are replayed (dropped at the end)


@dataclass(frozen=True)
class TrackEdit:
    """One correction. merge: `other`'s rows become `track`'s. split: `track`'s rows from `frame` on
    become `new_track`. reject: `track`'s rows are dropped (frames left without a face keep a no-face row)."""

    kind: str
    track: int
    other: int | None = None
    frame: int | None = None
    new_track: int | None = None
    id: int | None = None  # the store's order of the edit

    def describe(self) -> str:
        if self.kind == "merge":
            return f"merged track {self.other} into track {self.track}"
        if self.kind == "split":
            return f"split track {self.track} at frame {self.frame} (from there on: track {self.new_track})"
        return f"rejected track {self.track} (not a face)"


def apply_edits(rows: pd.DataFrame, edits: Sequence[TrackEdit]) -> pd.DataFrame:
    """The rows as the edits make them (a new frame; `rows` is not changed)."""
    if not edits or rows.empty:
        return rows
    ids = rows["track_id"].to_numpy(dtype=np.int64).copy()
    frames = rows["frame"].to_numpy(dtype=np.int64)
    for edit in edits:
        if edit.kind == "merge":
            ids[ids == edit.other] = edit.track
        elif edit.kind == "split":
            ids[(ids == edit.track) & (frames >= edit.frame)] = edit.new_track
        elif edit.kind == "reject":
            ids[ids == edit.track] = _REJECTED
    out = rows.copy()
    out["track_id"] = ids
    rejected = ids == _REJECTED
    if not rejected.any():
        return out
    kept = out[~rejected]
    emptied = out[rejected & ~np.isin(frames, kept["frame"].to_numpy())].drop_duplicates("frame")
    return pd.concat([kept, _no_face(emptied)]).sort_values(["frame", "track_id"], kind="stable")


def _no_face(rows: pd.DataFrame) -> pd.DataFrame:
    """No-face rows for these frames: every frame keeps a row, as the engine writes them."""
    out = rows.copy()
    out["track_id"] = NO_FACE
    for name in out.columns:
        if name in ("frame", "time", "track_id"):
            continue
        if name == "expression":
            out[name] = ""
        elif name in AU_ACTIVE_COLUMNS:
            out[name] = pd.array([pd.NA] * len(out), dtype="Int8")
        elif pd.api.types.is_float_dtype(out[name]):
            out[name] = np.nan
    return out


def rejected_tracks(edits: Iterable[TrackEdit]) -> list[int]:
    return [edit.track for edit in edits if edit.kind == "reject"]


def next_track_id(raw_ids: Iterable[int], edits: Iterable[TrackEdit]) -> int:
    """An id no track of the video has had, for the part a split makes."""
    used = [int(t) for t in raw_ids] + [e.new_track for e in edits if e.new_track is not None]
    return max(used, default=-1) + 1


@dataclass(frozen=True)
class TrackSummary:
    """Faces over all tracks of a video, for the status bar, the CLI and the PDF summary."""

    tracks: int  # tracks after merges and splits, rejected ones included
    rejected: int
    face_frames: int  # frames where a kept track has a face
    frames: int  # frames analysed

    @property
    def people(self) -> int:
        return self.tracks - self.rejected

    @property
    def face_fraction(self) -> float:
        return self.face_frames / self.frames if self.frames else 0.0

    def text(self) -> str:
        people = plural(self.people, "person", "people") + (" after rejects" if self.rejected else "")
        return f"{plural(self.tracks, 'track')}, {people}, faces in {self.face_fraction:.0%} of frames"


def summarise(rows: pd.DataFrame, edits: Sequence[TrackEdit], frames: int | None = None) -> TrackSummary:
    """Count tracks and face frames in raw result rows with the edits applied."""
    if rows.empty:
        return TrackSummary(0, 0, 0, frames or 0)
    edited = apply_edits(rows, edits)
    ids = edited["track_id"].to_numpy()
    face = edited["frame"].to_numpy()[ids != NO_FACE]
    rejected = len(set(rejected_tracks(edits)))
    analysed = int(rows["frame"].max()) + 1 if frames is None else frames
    return TrackSummary(
        len(set(ids[ids != NO_FACE].tolist())) + rejected, rejected, len(set(face.tolist())), analysed
    )
