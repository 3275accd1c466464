"""The per-epoch CSV summary written beside the checkpoints (rewritten whole, atomically, each epoch)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from affectstudio.core.paths import write_text_atomic


def write_epochs_csv(path: Path, rows: list[dict]) -> Path:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return write_text_atomic(path, text.getvalue())
