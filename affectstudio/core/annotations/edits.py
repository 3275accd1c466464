"""Undoable edits of annotation lanes: small commands over the project store and an undo stack.

    stack = UndoStack(store, listener=lambda command: ...)     # listener: after every push/undo/redo
    stack.push(AddSegment(video_hash, LaneKey("expression", "me", 0), Segment(10, 40, "Happiness")))
    stack.undo(); stack.redo(); stack.can_undo; stack.can_redo; stack.clear()

Commands (each `apply(store)` / `revert(store)`, one store transaction each, so a crash never leaves half
an edit): `AddSegment`, `RemoveSegment`, `ChangeSegment` (move/resize/value/note), `SplitSegment` (at a
frame), `MergeSegments` (adjacent, same value), `ClearRange`, `SetTrace` (valence/arousal over a frame
range: VA recording and point edits), `Composite` (several as one step; `FillFromPredictions` in
`predictions.py` is one).

Overlaps. Segments of one lane never overlap (ELAN's rule for a tier); the segment being added or changed
wins: a neighbour it covers completely is removed, one it overlaps is trimmed, one that contains it is split
in two around it (the right part gets a new id). Nothing is merged implicitly. The store refuses an overlap
that reaches it any other way.

Undo is exact: the first `apply` works out the changes from the store's state and records them (with the
ids the store gave new segments); `revert` undoes them in reverse order and a redo replays the recording,
so the commands after it in the stack still find the same segment ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from affectstudio.core.annotations.lanes import LaneKey, Segment, check_segment
from affectstudio.core.errors import AnnotationError


@dataclass(frozen=True)
class SegmentChange:
    key: LaneKey
    before: Segment | None  # None: the change adds `after`
    after: Segment | None  # None: the change removes `before`


@dataclass(frozen=True)
class TraceChange:
    annotator: str
    track_id: int
    start: int
    before: np.ndarray  # (n, 2) valence, arousal
    after: np.ndarray


def _do(store, video_hash: str, change) -> SegmentChange | TraceChange:
    """Apply one change; returns it as applied (an added segment carries the id the store gave it)."""
    if isinstance(change, TraceChange):
        store.write_va(video_hash, change.annotator, change.track_id, change.start, change.after)
        return change
    if change.before is None:
        return SegmentChange(change.key, None, store.add_segment(video_hash, change.key, change.after))
    if change.after is None:
        store.remove_segment(change.before.id)
    else:
        store.update_segment(video_hash, change.key, change.after)
    return change


def _inverse(change):
    if isinstance(change, TraceChange):
        return TraceChange(change.annotator, change.track_id, change.start, change.after, change.before)
    return SegmentChange(change.key, change.after, change.before)


class Command:
    """One undoable edit. Subclasses implement `_plan(store)`, calling `_record` for each change."""

    label = "edit"

    def __init__(self, video_hash: str):
        self.video_hash = video_hash
        self.changes: list[SegmentChange | TraceChange] | None = None

    def apply(self, store) -> None:
        with store.transaction():
            if self.changes is None:
                self.changes = []
                try:
                    self._plan(store)
                except BaseException:
                    self.changes = None
                    raise
            else:
                for change in self.changes:
                    _do(store, self.video_hash, change)

    def revert(self, store) -> None:
        with store.transaction():
            for change in reversed(self.changes or []):
                _do(store, self.video_hash, _inverse(change))

    def touched(self) -> set[LaneKey]:
        """The lanes this command touched (for views to redraw)."""
        out = set()
        for change in self.changes or []:
            if isinstance(change, TraceChange):
                out |= {LaneKey(n, change.annotator, change.track_id) for n in ("valence", "arousal")}
            else:
                out.add(change.key)
        return out

    def _plan(self, store) -> None:
        raise NotImplementedError

    def _record(self, store, change) -> Segment | None:
        applied = _do(store, self.video_hash, change)
        self.changes.append(applied)
        return getattr(applied, "after", None)

    def _carve(self, store, key: LaneKey, start: int, stop: int, keep: int | None = None) -> None:
        """Make room for frames start..stop in the lane: remove, trim or split what overlaps them."""
        for old in store.segments(self.video_hash, key):
            if old.id == keep or old.stop < start or old.start > stop:
                continue
            if old.start >= start and old.stop <= stop:
                self._record(store, SegmentChange(key, old, None))
            elif old.start < start and old.stop > stop:
                self._record(store, SegmentChange(key, old, old.with_(stop=start - 1)))
                self._record(store, SegmentChange(key, None, old.with_(start=stop + 1, id=None)))
            elif old.start < start:
                self._record(store, SegmentChange(key, old, old.with_(stop=start - 1)))
            else:
                self._record(store, SegmentChange(key, old, old.with_(start=stop + 1)))

    def _find(self, store, key: LaneKey, segment_id: int) -> Segment:
        for segment in store.segments(self.video_hash, key):
            if segment.id == segment_id:
                return segment
        raise AnnotationError(None, f"no segment {segment_id} in the {key.name} lane of {key.annotator}")


def _checked(key: LaneKey, segment: Segment) -> Segment:
    """Validate before anything is carved, so a bad value never trims a neighbour."""
    return check_segment(key.kind, segment)


class AddSegment(Command):
    label = "add segment"

    def __init__(self, video_hash: str, key: LaneKey, segment: Segment):
        super().__init__(video_hash)
        self.key, self.segment = key, _checked(key, segment.with_(id=None))

    def _plan(self, store) -> None:
        self._carve(store, self.key, self.segment.start, self.segment.stop)
        self.added = self._record(store, SegmentChange(self.key, None, self.segment))


class RemoveSegment(Command):
    label = "delete segment"

    def __init__(self, video_hash: str, key: LaneKey, segment_id: int):
        super().__init__(video_hash)
        self.key, self.segment_id = key, segment_id

    def _plan(self, store) -> None:
        self._record(store, SegmentChange(self.key, self._find(store, self.key, self.segment_id), None))


class ChangeSegment(Command):
    """Move, resize, relabel or re-note a segment: give the fields that change (start, stop, value, note)."""

    label = "change segment"

    def __init__(self, video_hash: str, key: LaneKey, segment_id: int, **changes):
        super().__init__(video_hash)
        unknown = set(changes) - {"start", "stop", "value", "note"}
        if unknown:
            raise TypeError(f"unknown segment field(s): {', '.join(sorted(unknown))}")
        self.key, self.segment_id, self.fields = key, segment_id, changes

    def _plan(self, store) -> None:
        old = self._find(store, self.key, self.segment_id)
        new = _checked(self.key, old.with_(**self.fields))
        self._carve(store, self.key, new.start, new.stop, keep=old.id)
        self._record(store, SegmentChange(self.key, old, new))


class SplitSegment(Command):
    """Split a segment before frame `at`: start..at-1 keeps the id, at..stop is a new segment."""

    label = "split segment"

    def __init__(self, video_hash: str, key: LaneKey, segment_id: int, at: int):
        super().__init__(video_hash)
        self.key, self.segment_id, self.at = key, segment_id, int(at)

    def _plan(self, store) -> None:
        old = self._find(store, self.key, self.segment_id)
        if not old.start < self.at <= old.stop:
            raise AnnotationError(None, f"cannot split {old.start}..{old.stop} at frame {self.at}")
        self._record(store, SegmentChange(self.key, old, old.with_(stop=self.at - 1)))
        self._record(store, SegmentChange(self.key, None, old.with_(start=self.at, id=None)))


class MergeSegments(Command):
    """Join two adjacent segments with the same value; the earlier keeps its id, the notes are joined."""

    label = "merge segments"

    def __init__(self, video_hash: str, key: LaneKey, first_id: int, second_id: int):
        super().__init__(video_hash)
        self.key, self.ids = key, (first_id, second_id)

    def _plan(self, store) -> None:
        a, b = sorted((self._find(store, self.key, i) for i in self.ids), key=lambda s: s.start)
        if a.stop + 1 != b.start:
            raise AnnotationError(
                None, f"segments {a.start}..{a.stop} and {b.start}..{b.stop} are not adjacent"
            )
        if a.value != b.value:
            raise AnnotationError(None, f"cannot merge {a.value!r} with {b.value!r}: the values differ")
        note = "; ".join(n for n in (a.note, b.note) if n)
        self._record(store, SegmentChange(self.key, b, None))
        self._record(store, SegmentChange(self.key, a, a.with_(stop=b.stop, note=note)))


class ClearRange(Command):
    """Unlabel frames start..stop of a lane (segments trimmed/split/removed; a VA trace set to NaN)."""

    label = "clear range"

    def __init__(self, video_hash: str, key: LaneKey, start: int, stop: int):
        super().__init__(video_hash)
        self.key, self.start, self.stop = key, int(start), int(stop)

    def _plan(self, store) -> None:
        if self.key.kind == "continuous":
            nan = np.full((self.stop - self.start + 1, 2), np.nan, dtype=np.float32)
            SetTrace(self.video_hash, self.key, self.start, nan)._plan_into(self, store)
        else:
            self._carve(store, self.key, self.start, self.stop)


class SetTrace(Command):
    """Set valence/arousal on frames start..start+n-1 (NaN = unlabel).

    `values` is (n, 2) [valence, arousal], or (n,) for the lane `key` names, the other half kept from the
    current trace (a point edit where the partner is labelled). Valence without arousal is refused by the
    store, so a 1-D edit on frames whose partner is unlabelled fails rather than half-labelling them.
    """

    label = "set trace"

    def __init__(self, video_hash: str, key: LaneKey, start: int, values: Sequence | np.ndarray):
        super().__init__(video_hash)
        if key.kind != "continuous":
            raise AnnotationError(None, f"{key.name} is not a valence/arousal lane")
        self.key, self.start = key, int(start)
        self.values = np.asarray(values, dtype=np.float32)

    def _plan(self, store) -> None:
        self._plan_into(self, store)

    def _plan_into(self, command: Command, store) -> None:
        n = len(self.values)
        before = np.stack(
            [
                store.trace(self.video_hash, LaneKey(name, self.key.annotator, self.key.track_id))[
                    self.start : self.start + n
                ]
                for name in ("valence", "arousal")
            ],
            axis=1,
        )
        if len(before) < n:
            before = np.vstack([before, np.full((n - len(before), 2), np.nan, np.float32)])
        after = before.copy()
        if self.values.ndim == 2:
            after[:] = self.values
        else:
            after[:, ("valence", "arousal").index(self.key.name)] = self.values
        command._record(store, TraceChange(self.key.annotator, self.key.track_id, self.start, before, after))


class Composite(Command):
    """Several commands as one undo step."""

    def __init__(self, video_hash: str, commands: Sequence[Command], label: str = "edits"):
        super().__init__(video_hash)
        self.commands, self.label = list(commands), label

    def apply(self, store) -> None:
        with store.transaction():
            for command in self.commands:
                command.apply(store)
        self.changes = [c for command in self.commands for c in command.changes]

    def revert(self, store) -> None:
        with store.transaction():
            for command in reversed(self.commands):
                command.revert(store)


class UndoStack:
    """Applied commands in order; undo/redo walk them. `listener(command)` runs after every change."""

    def __init__(self, store, listener: Callable[[Command], None] | None = None):
        self.store, self.listener = store, listener
        self._done: list[Command] = []
        self._undone: list[Command] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo_label(self) -> str | None:
        return self._done[-1].label if self._done else None

    def redo_label(self) -> str | None:
        return self._undone[-1].label if self._undone else None

    def push(self, command: Command) -> Command:
        """Apply and remember; a command that fails changes nothing and is not kept."""
        command.apply(self.store)
        self._done.append(command)
        self._undone.clear()
        self._changed(command)
        return command

    def undo(self) -> Command | None:
        if not self._done:
            return None
        command = self._done[-1]
        command.revert(self.store)
        self._undone.append(self._done.pop())
        self._changed(command)
        return command

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        command = self._undone[-1]
        command.apply(self.store)
        self._done.append(self._undone.pop())
        self._changed(command)
        return command

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()

    def _changed(self, command: Command) -> None:
        if self.listener is not None:
            self.listener(command)
