"""A small HTTP server for one folder that honours Range requests, counting what it sends.

Cloud object stores and NASA's HTTPS servers answer ``Range: bytes=a-b`` requests, which is
what lets a reader fetch a few chunks of a granule instead of all of it. This server does the
same for a local folder, so that remote reading can be shown (notebook 6), tested and
measured (``bench/bench_reduce.py``) without the network:

- ``GET`` and ``HEAD`` of the files below the folder (nothing above it), with one byte range
  per request (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``), ``Content-Length``,
  ``Last-Modified`` and an ``ETag``, and ``If-Match`` / ``If-Unmodified-Since`` honoured
  (412 when the file is no longer that version); a query string is ignored (as a signed
  URL's would be checked elsewhere);
- counters of requests and bytes sent (:meth:`RangeServer.stats`), optionally served as
  JSON at a path of your choice, for a server in another process;
- an emulated round trip (``latency``, seconds before each answer) and link speed
  (``mbps``, MB/s shared by all connections; ``connection_mbps``, MB/s for each connection,
  as a cloud store serves each request stream), to mimic a remote server.

Two settings matter for speed: ``TCP_NODELAY`` (without it, Nagle's algorithm and delayed
ACKs add ~40 ms to every small answer) and a listen backlog larger than Python's default
of 5 (concurrent connections would otherwise wait a second for a SYN retry).

Run one in a terminal with ``python -m helpers.rangeserver FOLDER [--port 8000]``.

Examples
--------
>>> import tempfile, urllib.request
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.bin").write_bytes(b"0123456789")
>>> with RangeServer(folder) as server:
...     request = urllib.request.Request(server.url_for("a.bin"), headers={"Range": "bytes=2-4"})
...     urllib.request.urlopen(request).read(), server.stats()["bytes"]
(b'234', 3)
"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Bytes written at a time (and paced, when the link speed is limited).
PIECE = 64 * 1024


class _Link:
    """One emulated link of ``mbps`` MB/s shared by every connection: each piece sent waits
    for the next free slot."""

    def __init__(self, mbps: float) -> None:
        self.rate = mbps * 1e6
        self.lock = threading.Lock()
        self.free_at = 0.0

    def send(self, nbytes: int) -> None:
        with self.lock:
            self.free_at = max(time.monotonic(), self.free_at) + nbytes / self.rate
            done = self.free_at
        time.sleep(max(0.0, done - time.monotonic()))


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops concurrent connections (1 s SYN retries)
    daemon_threads = True

    def __init__(self, address, root: Path, latency: float, mbps: float, stats_path: str | None,
                 connection_mbps: float = 0.0):  # fmt: skip
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.latency = latency
        self.link = _Link(mbps) if mbps else None
        self.connection_mbps = connection_mbps
        self.stats_path = stats_path
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "heads": 0, "bytes": 0, "not_found": 0}

    def handle_error(self, request, client_address) -> None:
        # A client that went away mid-answer (a killed worker, a cancelled read) is normal
        # here: count it, print nothing. Anything else keeps socketserver's traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            with self.lock:
                self.counts["dropped"] = self.counts.get("dropped", 0) + 1
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many ranges
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rate = self.server.connection_mbps
        self.own_link = _Link(rate) if rate else None  # this connection's own speed

    def log_message(self, format: str, *args) -> None:  # quiet: counters instead
        pass

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _count(self, **increments: int) -> None:
        with self.server.lock:
            for key, value in increments.items():
                self.server.counts[key] += value

    def _answer(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if self.server.stats_path and path == self.server.stats_path:
            with self.server.lock:
                self._send(200, json.dumps(self.server.counts).encode(), "application/json")
            return
        if self.server.latency:
            time.sleep(self.server.latency)
        self._count(**{"heads" if head else "requests": 1})
        target = self._resolve(path)
        if target is None:
            self._count(not_found=1)
            self._send(404, b"", "text/plain")
            return
        self._send_file(target, head)

    def _resolve(self, path: str) -> Path | None:
        target = (self.server.root / path.lstrip("/")).resolve()
        inside = target.is_relative_to(self.server.root) and target != self.server.root
        return target if inside and target.is_file() else None

    def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, target: Path, head: bool) -> None:
        info = target.stat()
        size = info.st_size
        etag = f'"{size:x}-{info.st_mtime_ns:x}"'
        if not _preconditions_hold(self.headers, etag, info.st_mtime):
            self._send(412, b"", "text/plain", {"ETag": etag})
            return
        span = _byte_range(self.headers.get("Range"), size)
        if span is None:
            self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            return
        start, stop = span
        self.send_response(206 if self.headers.get("Range") else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True))
        self.send_header("ETag", etag)
        if self.headers.get("Range"):
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.end_headers()
        if not head:
            self._copy(target, start, stop)

    def _copy(self, target: Path, start: int, stop: int) -> None:
        """Send bytes ``[start, stop)`` of a file, counting each piece before it goes (so a
        client that has the bytes finds them counted)."""
        sent = 0
        with target.open("rb") as f:
            f.seek(start)
            while sent < stop - start:
                piece = f.read(min(PIECE, stop - start - sent))
                if not piece:
                    break
                for link in (self.server.link, self.own_link):
                    if link is not None:
                        link.send(len(piece))
                self._count(bytes=len(piece))
                self.wfile.write(piece)
                sent += len(piece)


def _preconditions_hold(headers, etag: str, mtime: float) -> bool:
    """Whether ``If-Match`` and ``If-Unmodified-Since`` (if sent) accept this version.

    Examples
    --------
    >>> _preconditions_hold({"If-Match": '"a"'}, '"a"', 0.0), _preconditions_hold(
    ...     {"If-Match": '"b"'}, '"a"', 0.0)
    (True, False)
    """
    wanted = headers.get("If-Match")
    tags = [] if wanted is None else [tag.strip() for tag in wanted.split(",")]
    if tags and "*" not in tags and etag not in tags:
        return False
    since = headers.get("If-Unmodified-Since")
    if since is not None:
        try:
            limit = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return True  # an unreadable date is ignored, as RFC 9110 says
        return int(mtime) <= limit
    return True


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, stop)`` asked for by a Range header (all of the file without one); None if
    it cannot be served (malformed, several ranges, or beyond the end).

    Examples
    --------
    >>> _byte_range("bytes=2-4", 10), _byte_range("bytes=-3", 10), _byte_range(None, 10)
    ((2, 5), (7, 10), (0, 10))
    >>> _byte_range("bytes=10-", 10) is None
    True
    """
    if header is None:
        return 0, size
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first:
        start, stop = int(first), min(size, int(last) + 1) if last else size
    else:  # the last n bytes
        start, stop = max(0, size - int(last)), size
    return (start, stop) if start < stop else None


class RangeServer:
    """Serve a folder over HTTP on this machine, in a background thread.

    Parameters
    ----------
    root : path-like
        The folder whose files are served.
    port : int
        TCP port on 127.0.0.1 (0: any free port).
    latency : float
        Seconds to wait before answering each request (an emulated round trip).
    mbps : float
        Link speed in MB/s shared by all connections (0: as fast as it goes).
    connection_mbps : float
        Speed in MB/s of each connection on its own (0: no limit), as a cloud object store
        serves each stream; both limits apply when both are set.
    stats_path : str, optional
        URL path (e.g. ``"/_stats"``) at which the counters are served as JSON.

    Attributes
    ----------
    url : str
        The server's address, e.g. ``http://127.0.0.1:41234``.
    """

    def __init__(self, root: str | os.PathLike, port: int = 0, latency: float = 0.0,
                 mbps: float = 0.0, stats_path: str | None = None,
                 connection_mbps: float = 0.0) -> None:  # fmt: skip
        self._server = _Server(("127.0.0.1", port), Path(root), latency, mbps, stats_path,
                               connection_mbps)  # fmt: skip
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="range-server", daemon=True
        )

    def start(self) -> RangeServer:
        """Start serving (in a daemon thread); returns the server."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RangeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url_for(self, name: str | os.PathLike) -> str:
        """The URL of a file, given by its path relative to the folder (or its name)."""
        return f"{self.url}/{quote(Path(name).as_posix())}"

    def stats(self) -> dict[str, int]:
        """Counters so far: ``requests`` (GET), ``heads``, ``bytes`` sent, ``not_found``, and
        ``dropped`` once a client went away mid-answer."""
        with self._server.lock:
            return dict(self._server.counts)

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._server.lock:
            self._server.counts.update(dict.fromkeys(self._server.counts, 0))


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a folder until interrupted (Ctrl-C); print its address first."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.rangeserver",
        description="Serve a folder over HTTP on 127.0.0.1, honouring Range requests.",
    )
    parser.add_argument("folder", type=Path, help="the folder to serve")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="wait this long before each answer (an emulated round trip)")
    parser.add_argument("--mbps", type=float, default=0.0,
                        help="emulated link speed in MB/s, shared (default: unlimited)")
    parser.add_argument("--connection-mbps", type=float, default=0.0,
                        help="emulated speed of each connection in MB/s (default: unlimited)")
    parser.add_argument("--stats-path", help="serve the counters as JSON at this URL path")
    args = parser.parse_args(argv)  # fmt: skip
    if not args.folder.is_dir():
        parser.exit(2, f"{parser.prog}: error: {args.folder} is not a folder\n")
    server = RangeServer(args.folder, args.port, args.latency_ms / 1000, args.mbps,
                         args.stats_path, args.connection_mbps)  # fmt: skip
    print(f"serving {args.folder} at {server.url}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
