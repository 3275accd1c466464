"""Design rule 1: the core and the training package never import Qt (checked on the source, so it also
covers imports inside functions)."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_and_training_do_not_import_qt():
    offenders = []
    for package in ("affectstudio/core", "training"):
        for path in sorted((REPO / package).rglob("*.py")):
            qt = imported_modules(path) & set(QT_MODULES)
            if qt:
                offenders.append(f"{path.relative_to(REPO)}: {sorted(qt)}")
    assert offenders == []


def test_checkpoints_are_never_unpickled_without_weights_only():
    offenders = []
    for package in ("affectstudio", "training"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                    keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                    if keywords.get("weights_only") != "True":
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
