"""The files of an exported dataset folder: label files, crop folders, and which video wrote what.

`DatasetFiles` reads what is there, takes new rows and staged crop folders, and `commit` swaps them in:
rows of the videos being (re)exported are replaced, every other row is kept as it was. Crop folders are
swapped by rename (the old one moved aside first and deleted last); label files are written whole with
`atomic_write`. A crash between two renames leaves `.<name>.old-*` beside; the next export puts it back if
its replacement never arrived.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import uuid
from pathlib import Path

import numpy as np

from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import ACTION_UNITS, INVALID_AU, INVALID_EXPR, INVALID_VA
from affectstudio.core.paths import write_text_atomic

HEADER = ["image", "valence", "arousal", "expression", *ACTION_UNITS]
AFFWILD_FILES = {"train": "training_set_annotations.txt", "validation": "validation_set_annotations.txt"}
CSV_FILES = {"train": "train.csv", "validation": "validation.csv"}


class DatasetFiles:
    MANIFEST = "affectstudio_export.json"

    def __init__(self, folder: Path, fmt: str):
        self.folder, self.fmt = folder, fmt
        if folder.exists() and not folder.is_dir():
            raise AnnotationError(folder, "not a folder")
        found = [
            name
            for name, files in (("affwild", AFFWILD_FILES), ("csv", CSV_FILES))
            if any((folder / f).is_file() for f in files.values())
        ]
        if found and found[0] != fmt:
            raise AnnotationError(
                folder, f"holds a {found[0]} dataset; export with format {found[0]} to add videos to it"
            )
        self.files = AFFWILD_FILES if fmt == "affwild" else CSV_FILES
        self.images = folder / (
            "cropped_aligned" if fmt == "affwild" else "images"
        )  # made with the first crop
        manifest = folder / self.MANIFEST
        try:
            self.manifest = json.loads(manifest.read_text()) if manifest.is_file() else {}
        except (OSError, ValueError) as error:
            raise AnnotationError(manifest, f"unreadable export record ({error})") from None
        self.replaced: set[str] = set()
        self.new_rows: dict[str, list[list[str]]] = {"train": [], "validation": []}
        self._recover()

    def _recover(self) -> None:
        for leftover in self.images.glob(".*.partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for old in self.images.glob(".*.old-*"):
            final = self.images / old.name[1:].rsplit(".old-", 1)[0]
            if final.exists():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.rename(final)

    def claim(self, key: str, stem: str, tracks: list[int]) -> dict[int, str]:
        """Folder names for a video's faces (one per track when several); marks its old folders replaced."""
        taken = {entry["name"] for other, entry in self.manifest.items() if other != key}
        base = stem if stem not in taken else f"{stem}_{key[:8]}"
        names = {track: base if len(tracks) == 1 else f"{base}_track{track}" for track in tracks}
        self.replaced |= set(self.manifest.get(key, {}).get("folders", [])) | set(names.values())
        self.manifest[key] = {"name": base, "folders": sorted(names.values())}
        return names

    def add_rows(self, name: str, train: list, validation: list) -> None:
        for split, faces in (("train", train), ("validation", validation)):
            self.new_rows[split] += [self._cells(name, face) for face in faces]

    def _cells(self, name: str, face) -> list[str]:
        affwild = self.fmt == "affwild"
        image = f"{name}/{face.frame + 1:05d}.jpg" if affwild else f"images/{name}/{face.frame + 1:05d}.jpg"
        none_va, none_class = (f"{INVALID_VA:g}", str(INVALID_EXPR)) if affwild else ("", "")
        labelled = bool(np.isfinite(face.va).all())
        va = [f"{float(v):.6g}" for v in face.va] if labelled else [none_va, none_va]
        expression = str(face.expr) if face.expr >= 0 else none_class
        aus = [str(int(a)) if a >= 0 else (str(INVALID_AU) if affwild else "") for a in face.au]
        return [image, *va, expression, *aus]

    def _folder_of(self, image: str) -> str:
        parts = image.replace("\\", "/").split("/")
        return parts[0] if self.fmt == "affwild" else (parts[1] if len(parts) > 2 else "")

    def _old_rows(self, split: str) -> list[list[str]]:
        path = self.folder / self.files[split]
        if not path.is_file():
            return []
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = [line for line in handle if not line.startswith("#")]
        reader = csv.DictReader(lines)
        rows = [[(row.get(column) or "").strip() for column in HEADER] for row in reader]
        if self.fmt == "affwild":
            fill = [f"{INVALID_VA:g}"] * 2 + [str(INVALID_EXPR)] + [str(INVALID_AU)] * len(ACTION_UNITS)
            rows = [[row[0], *(c or f for c, f in zip(row[1:], fill, strict=True))] for row in rows]
        return [row for row in rows if self._folder_of(row[0]) not in self.replaced]

    def _text(self, rows: list[list[str]]) -> str:
        columns = list(range(len(HEADER)))
        if self.fmt == "csv":  # only the tasks that have labels: an all-blank AU column would ask for AUs
            used = [i for i in columns[1:] if any(row[i] for row in rows)]
            if 1 in used or 2 in used:
                used = sorted({*used, 1, 2})
            columns = [0, *used]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([HEADER[i] for i in columns])
        writer.writerows([[row[i] for i in columns] for row in rows])
        return out.getvalue()

    def commit(self, staged: list[tuple[str, Path]]) -> None:
        texts = {split: self._text(self._old_rows(split) + self.new_rows[split]) for split in self.files}
        aside = []
        for name in sorted(self.replaced):
            final = self.images / name
            if final.exists():
                old = self.images / f".{name}.old-{uuid.uuid4().hex[:8]}"
                final.rename(old)
                aside.append(old)
        for name, partial in staged:
            partial.rename(self.images / name)
        for split, text in texts.items():
            write_text_atomic(self.folder / self.files[split], text)
        write_text_atomic(self.folder / self.MANIFEST, json.dumps(self.manifest, indent=1) + "\n")
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)
