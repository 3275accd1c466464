"""A local HTTP server on 127.0.0.1 for download tests: good, corrupted, truncated and flaky answers.

URL layout: `/<mode>/<file name>` where mode is
    good       the file as it is
    corrupt    the file with some bytes flipped (same length)
    truncated  announces the full length, sends half, closes the connection
    flaky      HTTP 503 for the first two requests of each file, then the file
    missing    HTTP 404
    silent     accepts the request and never answers (until the server shuts down)
    slow       the file in 64 kB pieces 20 ms apart (a download that can be cancelled half-way)
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ModelServer:
    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: Counter[str] = Counter()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests[self.path] += 1
                mode, _, name = urllib.parse.unquote(self.path.lstrip("/")).partition("/")
                body = server.files.get(name)
                if mode == "silent":
                    server.stopping.wait()
                    return
                if body is None or mode == "missing":
                    self.send_error(404)
                elif mode == "flaky" and server.requests[self.path] <= 2:
                    self.send_error(503)
                else:
                    if mode == "corrupt":
                        body = body[:10] + bytes(b ^ 0xFF for b in body[10:20]) + body[20:]
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if mode == "slow":
                        for start in range(0, len(body), 1 << 16):
                            if server.stopping.is_set():
                                return
                            self.wfile.write(body[start : start + (1 << 16)])
                            time.sleep(0.02)
                    else:
                        self.wfile.write(body[: len(body) // 2] if mode == "truncated" else body)
                    self.close_connection = True

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mode}/"


@contextlib.contextmanager
def serving(files: dict[str, bytes]) -> Iterator[ModelServer]:
    server = ModelServer(files)
    server.thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.httpd.shutdown()
        server.httpd.server_close()
