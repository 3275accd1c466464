"""Lane state and edits of a ReviewSession (placeholder until the store's edit commands land)."""

from __future__ import annotations

from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR


class LaneEditing:
    def __init__(self):
        self.lanes: dict = {}
        self.annotator = DEFAULT_ANNOTATOR

    def load_lanes(self) -> None:
        self.lanes = {}

    def clear_lanes(self) -> None:
        self.lanes = {}

    def finish_coding(self) -> None:
        pass
