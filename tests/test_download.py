"""The verified downloader against a local HTTP server: success, corruption, truncation, retries."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from model_server import serving

from affectstudio.core.errors import RegistryError
from affectstudio.core.model import download
from affectstudio.core.model.download import download_verified, git_blob_id

CONTENT = bytes(range(256)) * 1000  # 256 kB, several chunks
FAST = {"backoff_s": 0.01, "timeout_s": 5.0}


@pytest.fixture(scope="module")
def server():
    with serving({"model file+.pth": CONTENT}) as running:
        yield running


@pytest.fixture
def blob_id(tmp_path):
    path = tmp_path / "reference"
    path.write_bytes(CONTENT)
    return git_blob_id(path)


def test_blob_id_matches_git(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    path = tmp_path / "f.bin"
    path.write_bytes(CONTENT)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
    assert git_blob_id(path) == expected.stdout.strip()


def test_good_download_reports_progress(server, blob_id, tmp_path):
    calls = []
    url = server.url("good") + "model%20file%2B.pth"
    temp = download_verified(url, tmp_path / "models", blob_id, lambda d, t: calls.append((d, t)), **FAST)
    assert temp.read_bytes() == CONTENT
    assert temp.parent == tmp_path / "models" and temp.name.endswith(".partial")
    assert calls[0] == (0, len(CONTENT)) and calls[-1] == (len(CONTENT), len(CONTENT))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize(
    ("mode", "message"),
    [("corrupt", "corrupted"), ("truncated", "truncated"), ("missing", "HTTP 404")],
)
def test_failures_leave_nothing_behind(server, blob_id, tmp_path, mode, message):
    folder = tmp_path / "models"
    with pytest.raises(RegistryError, match=message) as info:
        download_verified(server.url(mode) + "model%20file%2B.pth", folder, blob_id, **FAST)
    assert "\n" not in str(info.value)
    assert os.listdir(folder) == []


def test_truncated_download_is_retried_then_fails(server, blob_id, tmp_path):
    url = server.url("truncated") + "model%20file%2B.pth"
    before = server.requests["/truncated/model%20file%2B.pth"]
    with pytest.raises(RegistryError, match="after 3 attempts"):
        download_verified(url, tmp_path, blob_id, attempts=3, **FAST)
    assert server.requests["/truncated/model%20file%2B.pth"] - before == 3


def test_server_errors_are_retried(server, blob_id, tmp_path):
    url = server.url("flaky") + "model%20file%2B.pth"
    temp = download_verified(url, tmp_path, blob_id, attempts=3, **FAST)
    assert temp.read_bytes() == CONTENT
    assert server.requests["/flaky/model%20file%2B.pth"] == 3


def test_unreachable_server(tmp_path, blob_id):
    with pytest.raises(RegistryError, match="after 2 attempts"):
        download_verified("http://127.0.0.1:9/x.pth", tmp_path / "dl", blob_id, attempts=2, **FAST)
    assert os.listdir(tmp_path / "dl") == []


def test_base_url_override(monkeypatch):
    entry = download.CATALOG[0]
    assert download.entry_url(entry).startswith(download.DEFAULT_BASE_URL)
    monkeypatch.setenv(download.BASE_URL_ENV, "http://127.0.0.1:1/models")
    assert download.entry_url(entry) == f"http://127.0.0.1:1/models/{entry.file}"
    assert download.entry_url(entry, "http://h/x/").startswith("http://h/x/")


def test_catalog_names_the_three_released_checkpoints():
    assert [e.name for e in download.CATALOG] == ["ddamfn-affectnet8", "ddamfn-affectnet7", "ddamfn-rafdb"]
    assert all(len(e.blob_id) == 40 for e in download.CATALOG)
    assert download.entry_url(download.CATALOG[0]) == (
        "https://github.com/SainingZhang/DDAMFN/raw/main/DDAMFN%2B%2B/checkpoints_ver2.0/"
        "affecnet8_epoch25_acc0.6469.pth"
    )


def test_a_server_that_never_answers_is_reported_at_once_and_gives_up_in_bounded_time(server, tmp_path):
    """Issue 9: such a fetch used to show nothing for 131 s."""
    import time

    notices: list[tuple[float, str]] = []
    start = time.monotonic()
    with pytest.raises(RegistryError, match=r"failed after 2 attempts: no answer within 0.5 s"):
        download_verified(
            server.url("silent") + "model%20file%2B.pth",
            tmp_path,
            "0" * 40,
            attempts=2,
            backoff_s=0.01,
            timeout_s=0.5,
            notice=lambda message: notices.append((time.monotonic() - start, message)),
        )
    messages = [message for _, message in notices]
    assert messages[0].startswith("connecting to 127.0.0.1:") and notices[0][0] < 0.2
    assert messages[1] == "no answer within 0.5 s; retrying (2 of 2) in 0.01 s"
    assert len(messages) == 3 and list(tmp_path.iterdir()) == []


def cancel_after(seconds: float):
    """A `cancelled` callable that turns true `seconds` from now, and the moment it did."""
    import time

    at = time.monotonic() + seconds
    return (lambda: time.monotonic() >= at), at


def stopped_within(download, seconds: float = 0.3) -> float:
    """Run `download(cancelled)` with a cancel `seconds` in; how long after the cancel it raised Cancelled."""
    import time

    from affectstudio.core.jobs import Cancelled

    cancelled, at = cancel_after(seconds)
    with pytest.raises(Cancelled):
        download(cancelled)
    return time.monotonic() - at


def test_cancel_while_the_server_never_answers_takes_effect_at_once(server, tmp_path):
    """Issue 12: Cancel used to wait for the attempt's timeout (15 s) before it stopped anything."""
    url = server.url("silent") + "model%20file%2B.pth"
    late = stopped_within(lambda cancelled: download_verified(url, tmp_path, "0" * 40, cancelled=cancelled))
    assert late < 0.5 and list(tmp_path.iterdir()) == []


def test_cancel_between_attempts_does_not_sit_out_the_backoff(server, blob_id, tmp_path):
    url = server.url("truncated") + "model%20file%2B.pth"  # retried after backoff_s, then 2 x backoff_s
    folder = tmp_path / "models"
    late = stopped_within(
        lambda cancelled: download_verified(url, folder, blob_id, backoff_s=30, cancelled=cancelled)
    )
    assert late < 0.5 and list(folder.iterdir()) == []


def test_cancel_while_connecting_takes_effect_at_once(tmp_path):
    """A listener whose backlog is full leaves a new connection waiting (Linux drops the SYN), as a host
    that does not answer does."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = [socket.create_connection(("127.0.0.1", port), timeout=1)]
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        probe.connect(("127.0.0.1", port))
        filler.append(probe)
        pytest.skip("this system accepts connections beyond a full backlog")
    except TimeoutError:
        probe.close()
    try:
        url = f"http://127.0.0.1:{port}/x.pth"
        late = stopped_within(lambda stop: download_verified(url, tmp_path, "0" * 40, cancelled=stop))
        assert late < 0.5 and list(tmp_path.iterdir()) == []
    finally:
        for sock in (*filler, listener):
            sock.close()


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """The test server behind TLS with a self-signed certificate that this process trusts."""
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key,
         "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    from model_server import ModelServer

    server = ModelServer({"model file+.pth": CONTENT})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.thread.start()
    yield f"https://127.0.0.1:{server.httpd.server_address[1]}/"
    server.stopping.set()
    server.httpd.shutdown()
    server.httpd.server_close()


def test_over_https_a_download_works_and_cancel_takes_effect_at_once(tls_server, blob_id, tmp_path):
    folder = tmp_path / "models"
    temp = download_verified(tls_server + "good/model%20file%2B.pth", folder, blob_id, attempts=1)
    assert temp.read_bytes() == CONTENT
    temp.unlink()
    silent = tls_server + "silent/model%20file%2B.pth"
    late = stopped_within(lambda stop: download_verified(silent, folder, "0" * 40, cancelled=stop))
    assert late < 0.5 and list(folder.iterdir()) == []


def test_cancel_during_a_tls_handshake_that_never_ends_takes_effect_at_once(tmp_path):
    import socket

    with socket.socket() as listener:  # accepts the connection, never speaks TLS
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/x.pth"
        late = stopped_within(lambda stop: download_verified(url, tmp_path, "0" * 40, cancelled=stop))
    assert late < 0.5 and list(tmp_path.iterdir()) == []
