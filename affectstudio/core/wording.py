"""Counts in messages: `plural(1, "frame")` is "1 frame", `plural(2, "frame")` "2 frames"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and `noun`, the noun in its plural (`many`, default noun + "s") unless count is 1."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
