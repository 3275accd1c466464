"""The user's settings: one typed model, one JSON file in the data directory, defaults written once.

Why one model: the analysis options, the display choices, per-model AU thresholds, the coding keys and the
window layout used to live in a QSettings INI file mirrored field by field from `AnalysisOptions`, with
defaults repeated wherever a value was read. Here the analysis section *is* an `AnalysisOptions`, every
default is a dataclass default, and the file is plain JSON anyone can read, back up or delete.

Loading never fails: a missing file gives the defaults, a value of the wrong type or out of range falls
back to its default with a warning that names the key (`Settings.problems` keeps them for the GUI). The file
is written only through `write_text_atomic`. A settings.ini from older versions is migrated once.
"""

from __future__ import annotations

import base64
import configparser
import json
import logging
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.options import AnalysisOptions, analysis_key  # noqa: F401  (analysis_key: one import for the GUI)
from affectstudio.core.paths import data_dir, write_text_atomic

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SETTINGS_FILE = "settings.json"
LEGACY_FILE = "settings.ini"
MAX_RECENT = 10
# Coding keys: number keys label expressions (index = ABAW class), letters toggle AUs (ACTION_UNITS order).
DEFAULT_EXPRESSION_KEYS = [str(i) for i in range(len(EXPRESSIONS))]
DEFAULT_AU_KEYS = list("QWERTYUIOPJK")
# Single keys the window already uses (face boxes, close coding, split, merge, record VA).
RESERVED_KEYS = frozenset("BCSMV")


@dataclass
class DisplaySettings:
    smoothing: int = 15  # frames of the centred moving average on the VA traces; 1 = off
    show_boxes: bool = True
    scrub_proxy: bool = True  # make a small all-keyframe copy of slow-seeking videos for scrubbing


@dataclass
class CodingKeys:
    """One key per expression class and per AU, pressed during playback to code at the playhead."""

    expression: list[str] = field(default_factory=lambda: list(DEFAULT_EXPRESSION_KEYS))
    au: list[str] = field(default_factory=lambda: list(DEFAULT_AU_KEYS))

    def expression_for(self, key: str) -> str | None:
        key = key.upper()
        return EXPRESSIONS[self.expression.index(key)] if key in self.expression else None

    def au_for(self, key: str) -> str | None:
        key = key.upper()
        return ACTION_UNITS[self.au.index(key)] if key in self.au else None


@dataclass
class RecentItems:
    files: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)


@dataclass
class Settings:
    schema_version: int = SCHEMA_VERSION
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    auto_analyse: bool = True  # analyse on open when nothing is cached (off: review and annotate only)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    au_thresholds: dict[str, list[float]] = field(default_factory=dict)  # model digest[:16] -> 12 values
    coding_keys: CodingKeys = field(default_factory=CodingKeys)
    recent: RecentItems = field(default_factory=RecentItems)
    layout: dict[str, str] = field(default_factory=dict)  # Qt saveState()/saveGeometry() bytes, base64
    problems: list[str] = field(default_factory=list, repr=False, compare=False)  # what loading fixed
    path: Path | None = field(default=None, repr=False, compare=False)

    # file ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> Settings:
        """The settings in `path` (default: settings.json in the data directory), never an exception."""
        path = Path(path) if path is not None else data_dir() / SETTINGS_FILE
        problems: list[str] = []
        raw: dict = {}
        if path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(raw, dict):
                    raise ValueError("not a JSON object")
            except (OSError, UnicodeDecodeError, ValueError) as error:
                problems.append(f"{path}: unreadable ({error}); using the defaults")
                raw = {}
        elif (path.parent / LEGACY_FILE).exists():
            raw = migrate_ini(path.parent / LEGACY_FILE)
        settings = _build(cls, raw, "", problems)
        settings.schema_version = SCHEMA_VERSION
        _check(settings, problems)
        for problem in problems:
            log.warning("settings: %s", problem)
        settings.problems, settings.path = problems, path
        if not path.exists():
            settings.save()
        return settings

    def save(self) -> Path:
        path = self.path or data_dir() / SETTINGS_FILE
        skip = ("problems", "path")
        data = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name not in skip}
        return write_text_atomic(path, json.dumps(data, indent=2) + "\n")  # 0666 less the umask: 0644

    # helpers ------------------------------------------------------------------------------------------
    def add_recent_file(self, path: str | Path) -> None:
        self.recent.files = _push_recent(self.recent.files, path)

    def add_recent_project(self, path: str | Path) -> None:
        self.recent.projects = _push_recent(self.recent.projects, path)

    def thresholds_for(self, model_digest: str) -> list[float] | None:
        """The user's AU thresholds for one model (None: use the checkpoint's own)."""
        return self.au_thresholds.get(model_digest[:16])

    def set_thresholds_for(self, model_digest: str, values: list[float] | None) -> None:
        if values is None:
            self.au_thresholds.pop(model_digest[:16], None)
        else:
            self.au_thresholds[model_digest[:16]] = [float(v) for v in values]

    def layout_state(self, key: str) -> bytes | None:
        try:
            return base64.b64decode(self.layout[key], validate=True) if key in self.layout else None
        except ValueError:
            return None

    def set_layout_state(self, key: str, state: bytes) -> None:
        self.layout[key] = base64.b64encode(bytes(state)).decode("ascii")


def _push_recent(items: list[str], path: str | Path) -> list[str]:
    path = str(Path(path).resolve())
    return ([path] + [item for item in items if item != path])[:MAX_RECENT]


# typed loading --------------------------------------------------------------------------------------------
def _build(cls, raw: dict, prefix: str, problems: list[str]):
    """An instance of dataclass `cls` from `raw`, each bad or unknown value replaced by its default."""
    hints = typing.get_type_hints(cls)
    default = cls()
    values = {}
    for item in fields(cls):
        if item.name in ("problems", "path") or item.name not in raw:
            continue
        key = f"{prefix}{item.name}"
        hint = hints[item.name]
        if is_dataclass(hint):
            if isinstance(raw[item.name], dict):
                values[item.name] = _build(hint, raw[item.name], f"{key}.", problems)
            else:
                problems.append(f"{key}: expected a section, got {raw[item.name]!r}; using the defaults")
            continue
        try:
            values[item.name] = _coerce(raw[item.name], hint)
        except (TypeError, ValueError) as error:
            problems.append(f"{key}: {error}; using the default {getattr(default, item.name)!r}")
    for name in set(raw) - {item.name for item in fields(cls)}:
        problems.append(f"{prefix}{name}: unknown setting, ignored")
    return cls(**values)


def _coerce(value, hint):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _coerce(value, next(a for a in args if a is not type(None)))
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {value!r}")
        return [_coerce(v, args[0]) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1]) for k, v in value.items()}
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    raise ValueError(f"expected {getattr(hint, '__name__', hint)}, got {value!r}")


_RULES = {
    "analysis.device": (lambda v: v == "auto" or v.split(":")[0] in ("cpu", "cuda", "mps"), "a device"),
    "analysis.batch_size": (lambda v: 1 <= v <= 4096, "1 to 4096"),
    "analysis.detect_every": (lambda v: 1 <= v <= 1000, "1 to 1000"),
    "analysis.face_range": (lambda v: v in ("full", "short"), "full or short"),
    "analysis.min_confidence": (lambda v: 0.0 < v < 1.0, "between 0 and 1"),
    "analysis.faces": (lambda v: v in ("main", "largest", "all"), "main, largest or all"),
    "analysis.detect_workers": (lambda v: 0 <= v <= 256, "0 to 256"),
    "display.smoothing": (lambda v: 1 <= v <= 301, "1 to 301 frames"),
    "coding_keys.expression": (lambda v: _keys_ok(v, len(EXPRESSIONS)), f"{len(EXPRESSIONS)} distinct keys"),
    "coding_keys.au": (lambda v: _keys_ok(v, len(ACTION_UNITS)), f"{len(ACTION_UNITS)} distinct keys"),
}


def coding_keys_problem(keys: CodingKeys) -> str | None:
    """What is wrong with a set of coding keys (None: usable)."""
    every = [k.upper() for k in (*keys.expression, *keys.au)]
    if not _keys_ok(keys.expression, len(EXPRESSIONS)) or not _keys_ok(keys.au, len(ACTION_UNITS)):
        return f"need {len(EXPRESSIONS)} expression and {len(ACTION_UNITS)} AU keys, one character each"
    if len(set(every)) != len(every):
        return "a key is used twice"
    if set(every) & RESERVED_KEYS:
        return f"{', '.join(sorted(set(every) & RESERVED_KEYS))} is the window's own key"
    return None


def _keys_ok(keys: list[str], count: int) -> bool:
    return len(keys) == count and len(set(keys)) == count and all(len(k) == 1 for k in keys)


def _check(settings: Settings, problems: list[str]) -> None:
    """Values of the right type but outside what they mean: back to the default, with the key named."""
    defaults = Settings()
    for key, (rule, expected) in _RULES.items():
        section, name = key.split(".")
        value = getattr(getattr(settings, section), name)
        if not rule(value):
            problems.append(f"{key}: expected {expected}, got {value!r}; using the default")
            setattr(getattr(settings, section), name, getattr(getattr(defaults, section), name))
    settings.coding_keys.expression = [k.upper() for k in settings.coding_keys.expression]
    settings.coding_keys.au = [k.upper() for k in settings.coding_keys.au]
    problem = coding_keys_problem(settings.coding_keys)
    if problem is not None:
        problems.append(f"coding_keys: {problem}; using the default keys")
        settings.coding_keys = CodingKeys()
    for digest, values in list(settings.au_thresholds.items()):
        if len(values) != len(ACTION_UNITS) or not all(0.0 <= v <= 1.0 for v in values):
            problems.append(f"au_thresholds.{digest}: expected {len(ACTION_UNITS)} values in [0, 1]; dropped")
            del settings.au_thresholds[digest]


def _plain(value):
    return asdict(value) if is_dataclass(value) else value


# migration from settings.ini (QSettings, versions before the typed model) --------------------------------
def migrate_ini(path: Path) -> dict:
    """The values of an old settings.ini as a raw settings dict (window layout is not migrated)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as error:
        log.warning("settings: cannot migrate %s (%s)", path, error)
        return {}
    analysis = dict(parser["analysis"]) if parser.has_section("analysis") else {}
    raw: dict = {"analysis": {}, "display": {}, "recent": {}, "au_thresholds": {}}
    for name, text in analysis.items():
        if name in ("smoothing",):
            raw["display"][name] = _ini_value(text)
        elif name == "auto_analyse":
            raw[name] = _ini_value(text)
        elif name == "model":
            raw["analysis"][name] = text or None
        else:
            raw["analysis"][name] = _ini_value(text)
    if parser.has_option("view", "show_boxes"):
        raw["display"]["show_boxes"] = _ini_value(parser["view"]["show_boxes"])
    if parser.has_option("General", "recent_files"):
        raw["recent"]["files"] = _ini_list(parser["General"]["recent_files"])
    if parser.has_section("au_thresholds"):
        for digest, text in parser["au_thresholds"].items():
            raw["au_thresholds"][digest] = [_ini_value(v) for v in _ini_list(text)]
    return raw


def _ini_value(text: str):
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _ini_list(text: str) -> list[str]:
    """QSettings' INI list: comma-separated, items with commas or spaces at their ends quoted."""
    items, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return [item for item in items if item]
