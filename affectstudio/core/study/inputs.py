"""What a study analyses and where each result goes.

Inputs are files, folders (searched recursively for video and image extensions, in natural order: `img2`
before `img10`) and glob patterns; an image is analysed as a one-frame video, as when it is named. Each
video's outputs mirror its folder relative to the common root of all inputs (`a/clip.mp4` -> `OUT/a/clip.csv`,
`b/clip.mov` -> `OUT/b/clip.csv`), so videos with the same name in different folders never collide. Two
videos that would still map to one name (`a/clip.mp4` and `a/clip.mov`) both keep their extension in the
output name (`clip.mp4.csv`, `clip.mov.csv`): unique, predictable, and never interleaved.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from affectstudio.core.errors import AffectStudioError

VIDEO_EXTENSIONS = frozenset(
    [".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".mts"]
)
IMAGE_EXTENSIONS = frozenset([".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"])
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class StudyItem:
    """One video of a study: its file, its name relative to the inputs' root, and its output file."""

    video: Path
    name: str  # e.g. "a/clip.mp4": the video's path under the common root (the summary's key)
    output: Path  # relative to OUT: e.g. "a/clip.csv"


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given, folders searched recursively for videos and images, globs expanded; duplicates
    removed."""
    found: list[Path] = []
    for text in inputs:
        if _GLOB_CHARS & set(text) and not Path(text).exists():
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matches:
                raise AffectStudioError(text, "no file matches this pattern")
            for match in matches:
                found.extend(_videos_under(match) if match.is_dir() else [match])
        elif Path(text).is_dir():
            videos = _videos_under(Path(text))
            if not videos:
                raise AffectStudioError(text, "no video or image files in this folder")
            found.extend(videos)
        elif Path(text).exists():
            found.append(Path(text))
        else:
            raise AffectStudioError(text, "file not found")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _videos_under(folder: Path) -> list[Path]:
    """The videos and images below `folder`, in natural order (`img2.jpg` before `img10.jpg`)."""
    media = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
    found = [path for path in folder.rglob("*") if path.suffix.lower() in media and path.is_file()]
    return sorted(found, key=natural_key)


def natural_key(path: Path) -> list:
    """Sort key that orders runs of digits by their value: strings and numbers alternate, so keys compare."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.as_posix())]


def plan_outputs(videos: list[Path], suffix: str = ".csv") -> list[StudyItem]:
    """One output per video, mirroring the folders below the inputs' common root; never two the same."""
    if not videos:
        return []
    resolved = [v.resolve() for v in videos]
    root = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    names = [p.relative_to(root) for p in resolved]
    stems: dict[str, int] = {}  # lower case: case-insensitive file systems (macOS, Windows) merge names
    for name in names:
        key = str(name.with_suffix("")).lower()
        stems[key] = stems.get(key, 0) + 1
    items = []
    taken: set[str] = set()
    for video, name in zip(videos, names, strict=True):
        clash = stems[str(name.with_suffix("")).lower()] > 1
        output = Path(str(name) + suffix) if clash else name.with_suffix(suffix)
        key = str(output).lower()
        if key in taken:
            raise AffectStudioError(video, f"its output name {output} is taken by another input")
        taken.add(key)
        items.append(StudyItem(video, name.as_posix(), output))
    return items


def check_not_overwriting(inputs: list[Path], outputs: list[Path]) -> None:
    """Refuse to start when an output would replace one of the inputs (issue 9: `analyze photo.png`
    wrote its plot over photo.png)."""
    sources = {p.resolve() for p in inputs}
    for output in outputs:
        if output.resolve() in sources:
            raise AffectStudioError(
                output, "an output would overwrite this input; choose another output (-o) for the results"
            )
