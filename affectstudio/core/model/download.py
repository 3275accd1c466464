"""The catalog of downloadable models and a verified, retrying downloader (standard library only).

The released DDAMFN checkpoints are identified by their git blob ids (SHA-1 of `b"blob <size>\\0"` +
content), which is what GitHub shows for a file, so a download is checked without trusting the server.
A download goes to a temp file beside its destination; callers move it into place only once verified,
and every failure removes the temp file and raises a RegistryError that says what went wrong.

A download can be cancelled at any moment, also while it waits for a server that does not answer
(`cancel_watch.CancelWatch`: within about `POLL_S`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from affectstudio.core.errors import RegistryError
from affectstudio.core.jobs import Cancelled
from affectstudio.core.model.cancel_watch import CancelWatch, sleep_unless
from affectstudio.core.paths import scratch_file
from affectstudio.core.wording import plural

BASE_URL_ENV = "AFFECTSTUDIO_MODEL_BASE_URL"
DEFAULT_BASE_URL = "https://github.com/SainingZhang/DDAMFN/raw/main/DDAMFN%2B%2B/checkpoints_ver2.0/"
CHUNK = 1 << 16

Progress = Callable[[int, int], None]  # (bytes done, total bytes or 0 when unknown)
Notice = Callable[[str], None]  # what the download is doing now, in words (connecting, retrying, ...)


@dataclass(frozen=True)
class CatalogEntry:
    """A model that `fetch` can install: where its file lives and how to recognise it."""

    name: str
    file: str
    blob_id: str
    training_data: str
    description: str
    metrics: dict = field(default_factory=dict)
    size_bytes: int = 0  # approximate, shown before downloading (0 = unknown)
    licence: str = ""  # the terms users must know before they rely on the weights


# The released files share one layout (the conformance copy of it is 17.4 MB), so they are all about this big.
_DDAMFN_SIZE = 17_400_000
_DDAMFN_LICENCE = (
    "The DDAMFN repository has no licence file; the weights were trained on AffectNet / RAF-DB, whose "
    "terms allow non-commercial research use only. Check both before any other use."
)

CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "ddamfn-affectnet8",
        "affecnet8_epoch25_acc0.6469.pth",
        "b8dce63bfc249c270cd09f5adc34cf7948954b1f",
        "AffectNet-8",
        "stock DDAMFN++ on AffectNet (8 classes); the ABAW multi-task paper's starting point",
        {"reported_accuracy": 0.6469},
        _DDAMFN_SIZE,
        _DDAMFN_LICENCE,
    ),
    CatalogEntry(
        "ddamfn-affectnet7",
        "affecnet7_epoch19_acc0.671.pth",
        "a2399a1346f184f12725b37b3969bcc41529cdec",
        "AffectNet-7",
        "stock DDAMFN++ on AffectNet (7 classes, no Contempt)",
        {"reported_accuracy": 0.671},
        _DDAMFN_SIZE,
        _DDAMFN_LICENCE,
    ),
    CatalogEntry(
        "ddamfn-rafdb",
        "rafdb_epoch20_acc0.9204_bacc0.8617.pth",
        "3adfea01f296a4ef56ccd98578ab45a43e73f2eb",
        "RAF-DB (7 basic expressions)",
        "stock DDAMFN++ on RAF-DB (7 classes)",
        {"reported_accuracy": 0.9204, "reported_balanced_accuracy": 0.8617},
        _DDAMFN_SIZE,
        _DDAMFN_LICENCE,
    ),
)


def base_url(override: str | None = None) -> str:
    """The catalog's base URL: an explicit override, else $AFFECTSTUDIO_MODEL_BASE_URL, else GitHub."""
    url = override or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def entry_url(entry: CatalogEntry, base: str | None = None) -> str:
    return urllib.parse.urljoin(base_url(base), urllib.parse.quote(entry.file))


def git_blob_id(path: Path) -> str:
    """The id git (and GitHub) gives a file's content: SHA-1 over a `blob <size>` header and the bytes."""
    sha = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


class _Transient(Exception):
    """A failure worth retrying (network trouble, server error, short read)."""


def download_verified(
    url: str,
    directory: Path,
    blob_id: str,
    progress: Progress | None = None,
    attempts: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 15.0,
    notice: Notice | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Download `url` into a temp file in `directory` and check its git blob id.

    Retries transient failures with exponential backoff (backoff_s, 2*backoff_s, ...). `notice` hears
    what is happening before each wait (connecting, no answer, retrying), so a server that never answers
    is visible at once, not after minutes of silence. Once `cancelled()` is true the download raises
    `Cancelled` within about `POLL_S`, whatever it is waiting for. Returns the temp file's path; the caller
    moves or deletes it. On any failure nothing is left behind.
    """
    host = urllib.parse.urlsplit(url).netloc or url
    temp = scratch_file(directory, "download")
    try:
        for attempt in range(1, attempts + 1):
            if notice:
                notice(f"connecting to {host} (waiting up to {timeout_s:g} s for an answer)")
            try:
                with CancelWatch(cancelled) as watch:
                    try:
                        _fetch_once(url, temp, progress, timeout_s, watch.opener())
                    except _Transient:
                        if not watch.fired:  # else the watcher shut the socket: that is why it broke
                            raise
                    if watch.fired:  # a body without a length ends early, without an error, when shut
                        raise Cancelled
                break
            except _Transient as error:
                if attempt == attempts:
                    problem = f"{url}: download failed after {plural(attempts, 'attempt')}: {error}"
                    raise RegistryError(None, problem) from None
                wait = backoff_s * 2 ** (attempt - 1)
                if notice:
                    notice(f"{error}; retrying ({attempt + 1} of {attempts}) in {wait:g} s")
                sleep_unless(wait, cancelled)
        actual = git_blob_id(temp)
        if actual != blob_id:
            problem = f"downloaded file is corrupted (git blob id {actual}, expected {blob_id})"
            raise RegistryError(None, f"{url}: {problem}")
        return temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fetch_once(
    url: str, temp: Path, progress: Progress | None, timeout_s: float, opener: urllib.request.OpenerDirector
) -> None:
    """One attempt: stream the body into `temp` (truncating it first), checking the announced length."""
    request = urllib.request.Request(url, headers={"User-Agent": "affectstudio"})
    try:
        with opener.open(request, timeout=timeout_s) as response, open(temp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            out.flush()
            os.fsync(out.fileno())
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code in (408, 429):
            raise _Transient(f"server answered HTTP {error.code} {error.reason}") from None
        raise RegistryError(None, f"{url}: download failed: HTTP {error.code} {error.reason}") from None
    except http.client.IncompleteRead as error:
        raise _Transient(
            f"connection closed early (truncated after {plural(len(error.partial), 'byte')})"
        ) from None
    except TimeoutError:
        raise _Transient(f"no answer within {timeout_s:g} s") from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as error:
        reason = getattr(error, "reason", None) or error
        if isinstance(reason, TimeoutError):
            raise _Transient(f"no answer within {timeout_s:g} s") from None
        raise _Transient(f"{reason}") from None
    if total and done != total:
        raise _Transient(f"connection closed early (truncated: got {done} of {plural(total, 'byte')})")
