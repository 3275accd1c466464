"""What every exported figure says about itself: the title line and the shared colours (no Qt, no matplotlib).

A figure cut out of the app (PNG/SVG of the timelines, the PDF's trace page, the CLI's PNG) travels alone
into papers and e-mails, so it names what it shows: the video, the face track, the model and the time range,
and warns when a head of the model is untrained (its plot is not meaningful).
"""

from __future__ import annotations

from pathlib import Path

# One colour per ABAW expression (labels.EXPRESSIONS order): the "most likely" band, lanes, the PDF.
EXPRESSION_COLOURS = ["#9e9e9e", "#e53935", "#8e24aa", "#5e35b1", "#fdd835", "#1e88e5", "#00acc1", "#6d4c41"]
VALENCE_COLOUR = "#42a5f5"
AROUSAL_COLOUR = "#ef5350"
TASK_NAMES = {"va": "valence/arousal", "expr": "expression", "au": "action-unit"}


def clock(seconds: float) -> str:
    """1:05.3 style time (minutes:seconds with tenths); hours when the video is that long."""
    tenths = int(max(0.0, float(seconds)) * 10 + 0.5)  # half up, not to even
    minutes, tenth_seconds = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:d}:{tenth_seconds / 10:04.1f}"
    return f"{hours:d}:{minutes:02d}:{tenth_seconds / 10:04.1f}" if hours else text


def figure_title(
    video: str | Path | None,
    track: str | None,
    model: str | None,
    start: float,
    stop: float,
    untrained: list[str] | tuple[str, ...] = (),
) -> str:
    """One line: video · track · model · time range (· which heads are untrained)."""
    parts = [
        Path(video).name if video else "no video",
        track or "all tracks",
        f"model {model or 'unknown'}",
        f"{clock(start)}–{clock(stop)}",
    ]
    if untrained:
        heads = ", ".join(TASK_NAMES.get(task, task) for task in untrained)
        parts.append(f"untrained heads (not meaningful): {heads}")
    return " · ".join(parts)
