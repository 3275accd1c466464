"""Task definitions shared by the app, the engine and training.

Everything that names a class, an action unit or a range lives here, so the network, the CSV columns,
the plots and the training data reader cannot disagree about order.
"""

from __future__ import annotations

# ABAW expression classes, in the challenge's index order (annotation value = index).
EXPRESSIONS: tuple[str, ...] = (
    "Neutral",
    "Anger",
    "Disgust",
    "Fear",
    "Happiness",
    "Sadness",
    "Surprise",
    "Other",
)

# The 12 action units annotated in Aff-Wild2, in the order of the annotation files' columns.
ACTION_UNITS: tuple[str, ...] = (
    "AU1",
    "AU2",
    "AU4",
    "AU6",
    "AU7",
    "AU10",
    "AU12",
    "AU15",
    "AU23",
    "AU24",
    "AU25",
    "AU26",
)

VA_NAMES: tuple[str, ...] = ("valence", "arousal")
VA_RANGE: tuple[float, float] = (-1.0, 1.0)

# The three task heads of the multi-task network.
TASKS: tuple[str, ...] = ("va", "expr", "au")

# Sentinels used by the s-Aff-Wild2 annotation files for "no valid label".
INVALID_VA = -5.0
INVALID_EXPR = -1
INVALID_AU = -1

DEFAULT_AU_THRESHOLD = 0.5

# Class order of the stock DDAMFN heads (AffectNet-7 is the same without Contempt; RAF-DB uses it too).
AFFECTNET8_CLASSES: tuple[str, ...] = (
    "Neutral",
    "Happy",
    "Sad",
    "Surprise",
    "Fear",
    "Disgust",
    "Angry",
    "Contempt",
)

# AffectNet index -> ABAW index. Contempt is not one of ABAW's basic classes, so it maps to "Other".
AFFECTNET_TO_ABAW: dict[int, int] = {0: 0, 1: 4, 2: 5, 3: 6, 4: 3, 5: 2, 6: 1, 7: 7}
