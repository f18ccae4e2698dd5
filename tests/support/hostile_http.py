"""A small HTTP server for tests that lies, stalls or fails in chosen ways.

Behaviours (``HostileServer(folder, behaviour, **params)``):

- ``"honest"``: serves byte ranges with an ``ETag``, honours nothing else (no conditions);
- ``"stall"``: accepts connections and never answers;
- ``"no_range_huge"``: ignores Range, claims a body of ``claim`` bytes (20 GB by default)
  and streams zeros until the client hangs up (counted in ``sent``);
- ``"swap"``: after ``after`` GET requests, serves ``other`` (a file of the same size, other
  contents) instead, with a new ``ETag`` unless ``same_etag``; ignores ``If-Match`` unless
  ``honour_if_match``;
- ``"etag_per_response"``: a new ``ETag`` on every answer, the contents unchanged;
- ``"redirect_loop"``: every request is redirected to itself;
- ``"fail_once"``: GET number ``at`` (2 by default: the first after the one that opens the
  file) gets ``status`` (503 by default), every other one is served.

Counters: ``gets``, ``sent`` (body bytes written), ``failed`` (deliberate failures).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.gets += 1
            number = owner.gets
        getattr(self, f"_{owner.behaviour}")(number)

    # ----------------------------------------------------------------- behaviours

    def _honest(self, number: int) -> None:
        self._serve(self._file(), etag='"v1"')

    def _stall(self, number: int) -> None:
        self.server.owner.stop_event.wait(120)

    def _no_range_huge(self, number: int) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Length", str(owner.params.get("claim", 20 * 10**9)))
        self.send_header("ETag", '"big"')
        self.end_headers()
        zeros = b"\0" * 65536
        try:
            while not owner.stop_event.is_set():
                self.wfile.write(zeros)
                with owner.lock:
                    owner.sent += len(zeros)
                time.sleep(0.001)
        except OSError:  # the client hung up: what this test wants to see
            pass

    def _swap(self, number: int) -> None:
        params = self.server.owner.params
        swapped = number > params["after"]
        etag = '"v2"' if swapped and not params.get("same_etag") else '"v1"'
        wanted = self.headers.get("If-Match")
        if params.get("honour_if_match") and wanted and wanted != etag:
            self._status(412)
            return
        path = Path(params["other"]) if swapped else self._file()
        if path is None:
            self._status(404)
            return
        self._serve(path, etag=etag)

    def _etag_per_response(self, number: int) -> None:
        self._serve(self._file(), etag=f'"n{number}"')

    def _redirect_loop(self, number: int) -> None:
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _fail_once(self, number: int) -> None:
        owner, params = self.server.owner, self.server.owner.params
        fail = number == params.get("at", 2)
        with owner.lock:
            owner.failed += fail
        if fail:
            self._status(params.get("status", 503))
            return
        self._serve(self._file(), etag='"v1"')

    # ----------------------------------------------------------------- plumbing

    def _file(self) -> Path | None:
        target = (self.server.owner.root / unquote(urlsplit(self.path).path).lstrip("/"))
        return target if target.is_file() else None

    def _status(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, path: Path | None, etag: str) -> None:
        if path is None:
            self._status(404)
            return
        data = path.read_bytes()
        first, last = _range(self.headers.get("Range"))
        if first is None:
            start, stop, status = 0, len(data), 200
        else:
            start, stop, status = first, min(len(data), (last or len(data)) + 1), 206
        self.send_response(status)
        self.send_header("Content-Length", str(stop - start))
        self.send_header("ETag", etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[start:stop])
        with self.server.owner.lock:
            self.server.owner.sent += stop - start


def _range(header: str | None) -> tuple[int | None, int | None]:
    if not header or not header.startswith("bytes="):
        return None, None
    first, _, last = header[6:].partition("-")
    return int(first), (int(last) if last else None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    owner: HostileServer


class HostileServer:
    """Serve ``root`` on 127.0.0.1 with one ``behaviour`` (see the module docstring)."""

    def __init__(self, root: Path, behaviour: str, **params) -> None:
        self.root, self.behaviour, self.params = Path(root), behaviour, params
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.gets = self.sent = self.failed = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url_for(self, name: str) -> str:
        return f"{self.url}/{quote(name)}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
