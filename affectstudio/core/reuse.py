"""Objects that are slow to make and can serve one user at a time, kept for reuse within this process.

A MediaPipe face-detection graph takes ~0.1 s to make and the face-mesh model ~0.2 s to compile, which a
study's worker paid again for every video (0.15 s of a 2-frame video's 0.32 s). A `FaceStream` takes what
it needs from here and gives it back when it closes; at most `keep` idle objects per kind are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable


class Reusable:
    def __init__(self, make: Callable, keep: int = 4):
        self._make, self._keep = make, keep
        self._idle: dict[Hashable, list] = {}
        self._lock = threading.Lock()

    def take(self, *key):
        """An idle object made with these arguments, or a new one."""
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        return self._make(*key)

    def give(self, item, *key) -> bool:
        """Keep `item` (made with these arguments, no longer in use) for the next `take`; False when enough
        are kept already (the caller then closes it)."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) >= self._keep:
                return False
            idle.append(item)
            return True
