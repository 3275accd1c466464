"""Persistent user settings (QSettings in an INI file under the data directory).

Why an INI file under the data directory rather than QSettings' native store: it honours
AFFECTSTUDIO_DATA_DIR, so tests and portable installs never touch the user's real settings, and a user can
read or delete one plain file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from affectstudio.core.labels import ACTION_UNITS
from affectstudio.core.paths import data_dir

MAX_RECENT = 10


@dataclass
class AnalysisSettings:
    """What the Settings dialog edits; mirrors `AnalysisOptions` plus display choices."""

    model: str = ""  # registry name; "" = the registry's default
    device: str = "auto"
    batch_size: int = 32
    detect_every: int = 1
    min_confidence: float = 0.5
    face_range: str = "full"
    faces: str = "largest"
    smoothing: int = 15  # frames; 1 = off
    auto_analyse: bool = True  # analyse on open when nothing is cached (off: review and annotate only)

    def analysis_key(self) -> tuple:
        """The fields that change what the analysis produces (as opposed to how it is shown)."""
        return (self.model, self.detect_every, self.min_confidence, self.face_range, self.faces)


class AppSettings:
    def __init__(self, path: Path | None = None):
        self.path = path or data_dir() / "settings.ini"
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    # recent files -------------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self._qs.value("recent_files", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [item for item in value if item]

    def add_recent(self, path: str | os.PathLike) -> None:
        path = str(Path(path).resolve())
        items = [path] + [item for item in self.recent_files() if item != path]
        self._qs.setValue("recent_files", items[:MAX_RECENT])

    def recent_projects(self) -> list[str]:
        value = self._qs.value("recent_projects", [])
        return [item for item in ([value] if isinstance(value, str) else value) if item]

    def add_recent_project(self, path: str | os.PathLike) -> None:
        path = str(Path(path).resolve())
        items = [path] + [item for item in self.recent_projects() if item != path]
        self._qs.setValue("recent_projects", items[:MAX_RECENT])

    # window layout ------------------------------------------------------------------------------------
    def layout(self, key: str) -> QByteArray | None:
        value = self._qs.value(f"layout/{key}")
        return value if isinstance(value, QByteArray) else None

    def set_layout(self, key: str, state: QByteArray) -> None:
        self._qs.setValue(f"layout/{key}", state)

    # analysis and display -----------------------------------------------------------------------------
    def analysis(self) -> AnalysisSettings:
        defaults = AnalysisSettings()
        values = {}
        for item in fields(AnalysisSettings):
            default = getattr(defaults, item.name)
            raw = self._qs.value(f"analysis/{item.name}", default)
            try:
                if isinstance(default, bool):
                    values[item.name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
                else:
                    values[item.name] = type(default)(raw)
            except (TypeError, ValueError):
                values[item.name] = default  # a hand-edited file with a bad value: fall back, don't crash
        return AnalysisSettings(**values)

    def set_analysis(self, settings: AnalysisSettings) -> None:
        for item in fields(AnalysisSettings):
            self._qs.setValue(f"analysis/{item.name}", getattr(settings, item.name))

    def au_thresholds(self, model_digest: str) -> list[float] | None:
        """The user's thresholds for one model (None: use the checkpoint's own)."""
        raw = self._qs.value(f"au_thresholds/{model_digest[:16]}")
        try:
            values = [float(x) for x in raw] if isinstance(raw, list) else None
        except (TypeError, ValueError):
            return None
        return values if values is not None and len(values) == len(ACTION_UNITS) else None

    def set_au_thresholds(self, model_digest: str, values: list[float] | None) -> None:
        if values is None:
            self._qs.remove(f"au_thresholds/{model_digest[:16]}")
        else:
            self._qs.setValue(f"au_thresholds/{model_digest[:16]}", [float(v) for v in values])

    def flag(self, key: str, default: bool) -> bool:
        value = self._qs.value(f"view/{key}", default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def set_flag(self, key: str, value: bool) -> None:
        self._qs.setValue(f"view/{key}", bool(value))

    def sync(self) -> None:
        self._qs.sync()
