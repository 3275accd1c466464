"""The project store (`*.affectproj`): see `store.py`; lanes in `lanes_store.py`, tables in `schema.py`."""

from affectstudio.core.project.codec import (
    ProjectError,
    decode_frame,
    encode_frame,
    video_fingerprint,
)
from affectstudio.core.project.legacy import Annotation
from affectstudio.core.project.schema import SCHEMA_VERSION
from affectstudio.core.project.store import (
    SUFFIX,
    ProjectStore,
    VideoRecord,
    VideoStatus,
    results_key,
)
from affectstudio.core.project.tables_store import CachedResult, Overlay

__all__ = [
    "SCHEMA_VERSION",
    "SUFFIX",
    "Annotation",
    "CachedResult",
    "Overlay",
    "ProjectError",
    "ProjectStore",
    "VideoRecord",
    "VideoStatus",
    "decode_frame",
    "encode_frame",
    "results_key",
    "video_fingerprint",
]
