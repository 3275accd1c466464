"""Network waits that a cancel ends at once: urllib connections made so that `cancelled()` is heard within
about `POLL_S`, whatever the download is waiting for (standard library only).

A blocked `connect` or `recv` does not look at anything until its timeout (15 s for a download attempt), so
a Cancel pressed while a server keeps the download waiting used to take effect only then. Here:
- the TCP connection is made without blocking, polling `cancelled()` between waits of `POLL_S`;
- the TLS handshake runs with a `POLL_S` socket timeout, retried until it completes, polling likewise;
- once connected, a watcher thread polls `cancelled()` and shuts the connection's socket down, which ends
  a read blocked on it at once (the reader then sees the end of the stream or an error);
- the wait between attempts is a polling sleep (`sleep_unless`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import threading
import time
import urllib.request
from collections.abc import Callable

from affectstudio.core.jobs import Cancelled

POLL_S = 0.1  # how often a wait on the network or between attempts looks at `cancelled()`


def sleep_unless(seconds: float, cancelled: Callable[[], bool] | None) -> None:
    """Wait `seconds`, or raise `Cancelled` as soon as `cancelled()` is true."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if cancelled is not None and cancelled():
            raise Cancelled
        time.sleep(min(POLL_S, left))


class CancelWatch:
    """Cancellation of one download attempt: use `opener()` inside `with CancelWatch(cancelled):`; after
    a failure, `fired` tells whether the cancel caused it (the watcher shut the socket down)."""

    def __init__(self, cancelled: Callable[[], bool] | None):
        self.cancelled = cancelled or (lambda: False)
        self._connections: list = []  # http.client connections: their `sock` is shut down on a cancel
        self._lock = threading.Lock()
        self._fired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="download cancel", daemon=True)

    def __enter__(self) -> CancelWatch:
        if self.cancelled():
            raise Cancelled
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()

    @property
    def fired(self) -> bool:
        return self._fired or self.cancelled()

    def opener(self) -> urllib.request.OpenerDirector:
        """urllib's opener, its HTTP(S) connections connected by `connect` and watched."""
        watch = self

        class Watched:
            def do_open(self, http_class, request, **kwargs):
                def connection(host, **options):
                    made = http_class(host, **options)
                    made._create_connection = watch.connect
                    if getattr(made, "_context", None) is not None:  # HTTPS: a handshake that polls too
                        made._context = _PollingTLS(made._context, watch)
                    watch._add(made)
                    return made

                return super().do_open(connection, request, **kwargs)

        handlers = [type("HTTP", (Watched, urllib.request.HTTPHandler), {})]
        if hasattr(urllib.request, "HTTPSHandler"):
            handlers.append(type("HTTPS", (Watched, urllib.request.HTTPSHandler), {}))
        return urllib.request.build_opener(*(handler() for handler in handlers))

    def connect(self, address, timeout=None, source_address=None) -> socket.socket:
        """`socket.create_connection`, but raising `Cancelled` within POLL_S of a cancel."""
        timeout = timeout if isinstance(timeout, (int, float)) else None
        host, port = address[:2]
        error: OSError | None = None
        for family, kind, proto, _, target in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                if source_address:
                    sock.bind(source_address)
                self._connect(sock, target, timeout)
            except OSError as failure:
                sock.close()
                error = failure
                continue
            except BaseException:
                sock.close()
                raise
            sock.settimeout(timeout)
            return sock
        raise error or OSError(f"{host}: no address to connect to")

    def _connect(self, sock: socket.socket, target, timeout: float | None) -> None:
        sock.setblocking(False)
        code = sock.connect_ex(target)
        deadline = None if timeout is None else time.monotonic() + timeout
        while code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            if self.cancelled():
                raise Cancelled
            left = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError("timed out")
            _, writable, _ = select.select([], [sock], [], left)
            if writable:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))

    def _add(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)

    def _watch(self) -> None:
        while not self._done.wait(POLL_S):
            if self.cancelled():
                with self._lock:
                    self._fired = True
                    connections = list(self._connections)
                for connection in connections:
                    _shut(getattr(connection, "sock", None))
                return


class _PollingTLS:
    """An SSLContext whose `wrap_socket` does the handshake in POLL_S slices, raising `Cancelled` between
    them; everything else is the wrapped context's."""

    def __init__(self, context, watch: CancelWatch):
        self._context, self._watch = context, watch

    def __getattr__(self, name):
        return getattr(self._context, name)

    def wrap_socket(self, sock, server_hostname=None, **options):
        timeout = sock.gettimeout()
        options["do_handshake_on_connect"] = False
        tls = self._context.wrap_socket(sock, server_hostname=server_hostname, **options)
        deadline = None if timeout is None else time.monotonic() + timeout
        tls.settimeout(POLL_S)
        try:
            while True:
                if self._watch.cancelled():
                    raise Cancelled
                try:
                    tls.do_handshake()
                    break
                except TimeoutError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise
        except BaseException:
            tls.close()
            raise
        tls.settimeout(timeout)
        return tls


def _shut(sock: socket.socket | None) -> None:
    """End every blocked or future read of this socket (the plain socket's shutdown, also under TLS)."""
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
