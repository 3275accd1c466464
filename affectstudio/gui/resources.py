"""Paths of the files under `resources/` (icons), found beside the package in a checkout or a bundle."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def icon_path() -> Path:
    return RESOURCES / "affectstudio.svg"
