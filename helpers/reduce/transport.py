"""Fetching byte ranges of one remote file: every answer checked, the file's version pinned.

One :class:`Transport` per remote file, whatever serves it:

- :class:`HttpTransport` (``http://``, ``https://``), with ``requests``;
- :class:`S3Transport` (``s3://``), with botocore;
- :class:`FsspecTransport`, for an fsspec file object (e.g. ``earthaccess.open()``'s).

They share one policy:

- **timeouts**: a connection, and every wait for the next bytes, gives up after
  ``timeout`` seconds (:data:`DEFAULT_TIMEOUT_S`);
- **retries**: what may be transient (no connection, a timeout, HTTP 429 and 5xx) is
  tried :data:`ATTEMPTS` times in all, waiting :data:`BACKOFF_S` then twice as long; a
  ranged GET is idempotent;
- **checked answers**: the status and ``Content-Range`` (or length) are checked before a
  body is read, and never more bytes are read than were asked for (a server that ignores
  Range and offers a 20 GB body is refused after its headers);
- **the version pinned**: :meth:`Transport.open` notes the ``ETag`` (else
  ``Last-Modified``); later requests ask for that version only (``If-Match``, or
  ``If-Unmodified-Since``) and every answer's version is compared with it, so a file that
  changes on the server during a read fails instead of giving outputs mixed from two
  versions. (fsspec file objects cannot send conditions: their version is compared at
  the start and at the end of the read, :meth:`Transport.verify`.)

**h5py's lock.** HDF5 reads a remote file through a file object, whose reads run while
h5py holds its global lock. A thread that holds that lock must never wait for another
thread that may need it: the garbage collector, run in any thread, frees h5py objects
caught in reference cycles, and freeing one takes the lock (h5py issue 2019). So HTTP and
S3 requests made under the lock run in the calling thread, one after the other; many
ranges are fetched by a pool of threads only when the lock is free. fsspec always waits
for its event-loop thread: while it does under the lock, automatic garbage collection is
paused (:func:`no_gc_under_h5py_lock`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from helpers.errors import SourceError

# The exceptions of requests, urllib3, botocore and fsspec quote the URL they failed on, query
# string (a signed URL's token) included: the errors raised here say what happened in their own
# words and are raised "from None", so that no traceback carries the original text.
from helpers.reduce.urls import censor, parse_url, scrub

#: Seconds to wait for a connection, or for the next bytes of an answer, before a retry.
DEFAULT_TIMEOUT_S = 20.0
#: Tries in all of a request that failed in a way that may be transient.
ATTEMPTS = 3
#: Seconds to wait before the first retry (doubled for each next one).
BACKOFF_S = 0.5
#: HTTP statuses worth a retry.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Threads that fetch many ranges of a file at once (when h5py's lock is free).
PARALLEL_FETCHES = 8
#: Redirects followed before giving up (a loop otherwise never ends).
MAX_REDIRECTS = 10

_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$")


class _Transient(Exception):
    """A failure worth another try (its message says what happened)."""


class _Changed(Exception):
    """The file's version on the server is not the one pinned."""


@dataclass(frozen=True)
class RemoteFacts:
    """What the first request tells about a remote file.

    Attributes
    ----------
    size : int
        Bytes.
    version : str
        The ``ETag`` (quotes removed), else ``Last-Modified``, else ``""``.
    head : bytes
        The file's first bytes (up to the block asked for): its superblock.
    """

    size: int
    version: str
    head: bytes


# --------------------------------------------------------------------------- h5py's lock


def h5py_lock_held() -> bool:
    """True when this thread holds h5py's global lock (inside an h5py call)."""
    from h5py._objects import phil

    return bool(phil._is_owned())


_gc_pause = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def no_gc_under_h5py_lock() -> Iterator[None]:
    """Pause automatic garbage collection while this thread holds h5py's lock and waits
    for another thread (which would otherwise free h5py objects and wait for the lock)."""
    global _gc_pausers, _gc_was_enabled
    if not h5py_lock_held():
        yield
        return
    with _gc_pause:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_pause:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


# --------------------------------------------------------------------------- logs


class _CensorSecrets(logging.Filter):
    """Removes registered URL secrets (query tokens) from log records: urllib3 logs every
    request's path and query string at DEBUG level."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            censored = censor(text, list(self.secrets))
            if censored != text:
                record.msg, record.args = censored, ()
        return True


_censor_logs = _CensorSecrets()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_censor_logs)


def hide_in_logs(secrets: Sequence[str]) -> None:
    """Keep these strings (a URL's tokens, :func:`helpers.reduce.urls.secrets_of`) out of
    the log records of the HTTP libraries, in this process."""
    _censor_logs.secrets.update(secrets)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _fetch_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(PARALLEL_FETCHES, thread_name_prefix="atl06-fetch")
        return _pool


# --------------------------------------------------------------------------- the policy


class Transport:
    """Byte ranges of one remote file (the shared policy; subclasses make the requests).

    Parameters
    ----------
    label : str
        How messages name the file (a redacted URL).
    timeout : float
        Seconds, see :data:`DEFAULT_TIMEOUT_S`.

    Attributes
    ----------
    requests, bytes_fetched : int
        Requests made (retries included) and bytes received so far.
    version : str
        The version pinned by :meth:`open` (``""`` before, or if the server gives none).
    """

    def __init__(self, label: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.label, self.timeout = label, float(timeout)
        self.requests = 0
        self.bytes_fetched = 0
        self.version = ""
        self.size: int | None = None
        self._counts = threading.Lock()

    # What a subclass provides: one request, and its errors as _Transient / SourceError.
    def _get(self, start: int, stop: int | None) -> tuple[bytes, int, str]:
        """``(bytes [start, stop), file size, version)``; ``stop=None``: the first block
        of a file of unknown size (up to ``start`` bytes)."""
        raise NotImplementedError

    def open(self, first_block: int) -> RemoteFacts:
        """Size, version and first ``first_block`` bytes, in one request; pins the version."""
        head, size, version = self._retrying(lambda: self._get(first_block, None), "open")
        self.size, self.version = size, version
        return RemoteFacts(size=size, version=version, head=head)

    def get(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the pinned version (exactly that many)."""
        return self._retrying(lambda: self._get(start, stop), "read")[0]

    def get_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each range; concurrently unless this thread holds h5py's lock."""
        if len(ranges) < 2 or h5py_lock_held():
            return [self.get(a, b) for a, b in ranges]
        return list(_fetch_pool().map(lambda r: self.get(*r), ranges))

    def verify(self) -> None:
        """Raise SourceError if the file changed since :meth:`open` (where answers are not
        checked one by one)."""

    def close(self) -> None:
        """Forget connections (nothing to do for most transports)."""

    def _count(self, nbytes: int) -> None:
        with self._counts:
            self.requests += 1
            self.bytes_fetched += nbytes

    def _retrying(self, request: Callable[[], Any], action: str):
        verb = "open" if action == "open" else "read"
        delay = BACKOFF_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return request()
            except _Transient as err:
                if attempt == ATTEMPTS:
                    raise SourceError(f"cannot {verb} {self.label}: {err} "
                                      f"(tried {ATTEMPTS} times)") from None  # fmt: skip
            except _Changed as err:
                raise SourceError(
                    f"cannot read {self.label}: the file changed on the server while it was "
                    f"read ({err}), so its outputs would mix two versions: run again; if this "
                    "happens every time, the server's ETags change on every answer: download "
                    "the file and reduce it locally"
                ) from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _check_span(self, got: tuple[int, int, int], start: int, stop: int | None) -> int:
        """The file size, once an answer's span ``(first, stop, size)`` is what was asked."""
        first, end, size = got
        if self.size is not None and size != self.size:
            raise _Changed(f"{self.size} bytes when opened, {size} now")
        wanted_stop = min(start, size) if stop is None else stop
        wanted_start = 0 if stop is None else start
        if (first, end) != (wanted_start, wanted_stop):
            raise SourceError(
                f"cannot read {self.label} by byte ranges: asked for bytes {wanted_start}-"
                f"{wanted_stop - 1}, the server answered {first}-{end - 1}: download it first"
            )
        return size


def parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    """``(first, stop, size)`` of a ``Content-Range`` header (``None`` where it says ``*``
    or is absent).

    Examples
    --------
    >>> parse_content_range("bytes 0-99/1000"), parse_content_range("bytes */0")
    ((0, 100, 1000), (None, None, 0))
    """
    match = _CONTENT_RANGE.match((value or "").strip())
    if match is None:
        return None, None, None
    first, last, size = match.groups()
    span = (int(first), int(last) + 1) if first is not None else (None, None)
    return (*span, None if size in (None, "*") else int(size))


# --------------------------------------------------------------------------- HTTP


class HttpTransport(Transport):
    """Ranges of an ``http(s)://`` URL with ``requests`` (a keep-alive session per thread).

    ``headers`` (e.g. an Earthdata bearer token) go with every request to the URL's host;
    ``requests`` drops ``Authorization`` when a redirect leads to another host.
    """

    def __init__(self, url: str, label: str, timeout: float = DEFAULT_TIMEOUT_S,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(label, timeout)
        self.url, self._headers = url, dict(headers or {})
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._pinned: dict[str, str] = {}  # ETag and Last-Modified when opened

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.max_redirects = MAX_REDIRECTS
            session.headers.update(self._headers)
            self._local.session = session
            with self._counts:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._counts:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _conditions(self) -> dict[str, str]:
        """Ask for the pinned version only (a strong ETag, else the modification time)."""
        etag = self._pinned.get("ETag", "")
        if etag and not etag.startswith("W/"):
            return {"If-Match": etag}
        if self._pinned.get("Last-Modified"):
            return {"If-Unmodified-Since": self._pinned["Last-Modified"]}
        return {}

    def _get(self, start: int, stop: int | None) -> tuple[bytes, int, str]:
        first, last = (0, start - 1) if stop is None else (start, stop - 1)
        headers = {"Range": f"bytes={first}-{last}", "Accept-Encoding": "identity",
                   **self._conditions()}  # fmt: skip
        response = self._send(headers)
        try:
            return self._body(response, start, stop)
        finally:
            response.close()

    def _send(self, headers: dict[str, str]):
        import requests

        self._count(0)
        try:
            return self._session().get(self.url, headers=headers, stream=True,
                                       timeout=(self.timeout, self.timeout))  # fmt: skip
        except requests.exceptions.ConnectTimeout:
            raise _Transient(f"no connection within {self.timeout:g} s") from None
        except requests.exceptions.ReadTimeout:
            raise _Transient(f"no answer within {self.timeout:g} s") from None
        except requests.exceptions.TooManyRedirects:
            raise SourceError(f"cannot open {self.label}: more than {MAX_REDIRECTS} "
                              "redirects (a redirect loop?)") from None  # fmt: skip
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema):
            raise SourceError(f"cannot open {self.label}: not a valid URL") from None
        except requests.exceptions.ConnectionError as err:
            raise _Transient(_connection_failure(err)) from None
        except requests.exceptions.RequestException as err:  # a malformed answer...
            raise _Transient(f"a malformed answer ({type(err).__name__})") from None

    def _body(self, response, start: int, stop: int | None) -> tuple[bytes, int, str]:
        """Check an answer's status, version and span, then read exactly its bytes."""
        status, headers = response.status_code, response.headers
        if status == 412:
            raise _Changed("the server no longer has the version it had when opened")
        if status in TRANSIENT_STATUSES:
            raise _Transient(f"HTTP {status} {response.reason or ''}".strip())
        if status == 416 and stop is None and parse_content_range(
            headers.get("Content-Range")
        )[2] == 0:  # the first block of an empty file
            self._pinned = _validators(headers)
            return b"", 0, _http_version(headers)
        if status not in (200, 206):
            raise SourceError(f"cannot {'open' if stop is None else 'read'} {self.label}: "
                              f"{_http_failure(status, response.reason)}")  # fmt: skip
        for key, value in _validators(headers).items():
            if self._pinned.get(key, value) != value:
                raise _Changed(f"{key} {self._pinned[key]} when opened, {value} now")
        asked = start if stop is None else stop - start
        span = self._span(headers, status, asked)
        size = self._check_span(span, start, stop)
        data = _read_exactly(response, span[1] - span[0], self.timeout)
        with self._counts:
            self.bytes_fetched += len(data)
        if stop is None:
            self._pinned = _validators(headers)
        return data, size, _http_version(headers)

    def _span(self, headers, status: int, asked: int) -> tuple[int, int, int]:
        """``(first, stop, size)`` an answer holds, from its headers (no body read yet)."""
        length_text = headers.get("Content-Length") or ""
        length = int(length_text) if length_text.isdigit() else None
        if status == 206:
            first, stop, size = parse_content_range(headers.get("Content-Range"))
            if first is None or stop is None or size is None or (
                length is not None and length != stop - first
            ):
                raise SourceError(f"cannot read {self.label}: the server's partial answer has "
                                  "no usable Content-Range: download it first")  # fmt: skip
            return first, stop, size
        if length is None or length > asked or (self.size is not None and length != self.size):
            offered = "an unknown number of" if length is None else f"{length:,}"
            raise SourceError(
                f"cannot read {self.label} by byte ranges: the server ignores Range requests "
                f"(it answered with the whole file, {offered} bytes): download it first"
            )
        return 0, length, length  # a whole file no larger than what was asked


def _validators(headers) -> dict[str, str]:
    """The ``ETag`` and ``Last-Modified`` an answer gives (what identifies a version)."""
    return {k: headers[k].strip() for k in ("ETag", "Last-Modified") if headers.get(k)}


def _http_version(headers) -> str:
    """How a record names a version: the ETag without quotes, else Last-Modified."""
    for key in ("ETag", "Last-Modified"):
        if headers.get(key):
            return headers[key].strip().removeprefix("W/").strip('"')
    return ""


def _http_failure(status: int, reason: str | None) -> str:
    """``HTTP 404 Not Found``: the status and the server's reason phrase."""
    return f"HTTP {status} {reason or ''}".strip()


def _causes(err: BaseException) -> Iterator[BaseException]:
    """An exception and every exception it was raised from or wraps (requests, urllib3)."""
    todo, seen = [err], set()
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nxt in (item.__cause__, item.__context__, getattr(item, "reason", None),
                    *(a for a in item.args if isinstance(a, BaseException))):  # fmt: skip
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _connection_failure(err: BaseException) -> str:
    """Why a connection failed, from the innermost OS error (no URL, no query string)."""
    for cause in _causes(err):
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot connect ({cause.strerror})"
    text = str(err).lower()
    for known in ("connection refused", "name or service not known", "connection reset",
                  "remote end closed connection", "no route to host"):  # fmt: skip
        if known in text:
            return f"cannot connect ({known})"
    return "the connection failed"


def _read_exactly(response, n: int, timeout: float) -> bytes:
    """``n`` bytes of an answer's body (a short body is a transient failure)."""
    import requests
    import urllib3

    parts, got = [], 0
    try:
        while got < n:
            piece = response.raw.read(n - got, decode_content=False)
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
    except (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout):
        raise _Transient(f"no answer within {timeout:g} s (in the middle of a body)") from None
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise _Transient(f"the connection broke during an answer ({type(err).__name__})") from None
    if got != n:
        raise _Transient(f"the answer ended after {got} of {n} bytes")
    return b"".join(parts)


# --------------------------------------------------------------------------- S3


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def s3_client(timeout: float, credentials: dict[str, str] | None = None):
    """A botocore S3 client (thread-safe; one per timeout and credentials, kept).

    ``credentials`` (``key``, ``secret``, ``token``) are temporary ones such as NASA's;
    without them botocore's usual chain applies (environment, ``~/.aws``, an instance
    role, ``AWS_ENDPOINT_URL_S3`` for S3-compatible servers).
    """
    import botocore.session
    from botocore.config import Config

    creds = credentials or {}
    key = (timeout, creds.get("key"), creds.get("secret"), creds.get("token"))
    with _clients_lock:
        if key not in _clients:
            config = Config(connect_timeout=timeout, read_timeout=timeout,
                            retries={"max_attempts": 1},  # this module retries
                            max_pool_connections=PARALLEL_FETCHES * 2)  # fmt: skip
            _clients[key] = botocore.session.get_session().create_client(
                "s3", config=config, aws_access_key_id=creds.get("key"),
                aws_secret_access_key=creds.get("secret"), aws_session_token=creds.get("token"),
            )  # fmt: skip
        return _clients[key]


class S3Transport(Transport):
    """Ranges of an ``s3://bucket/key`` object with botocore, in the calling thread."""

    def __init__(self, url: str, label: str, timeout: float = DEFAULT_TIMEOUT_S,
                 credentials: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(label, timeout)
        parts = parse_url(url)
        self.bucket, self.key = parts.host, _unquote_key(parts.path)
        self._client = s3_client(self.timeout, credentials)
        self._etag = ""

    def _get(self, start: int, stop: int | None) -> tuple[bytes, int, str]:
        first, last = (0, start - 1) if stop is None else (start, stop - 1)
        extra = {"IfMatch": self._etag} if self._etag else {}
        answer = self._call(Range=f"bytes={first}-{last}", **extra)
        body = answer["Body"]
        try:
            version = str(answer.get("ETag") or "").strip('"')
            if self.version and version and version != self.version:
                raise _Changed(f"ETag {self.version} when opened, {version} now")
            got, end, total = parse_content_range(answer.get("ContentRange"))
            if got is None or end is None or total is None:
                raise SourceError(f"cannot read {self.label}: no Content-Range in the answer")
            size = self._check_span((got, end, total), start, stop)
            data = _read_s3_body(body, end - got, self.timeout)
        finally:
            body.close()
        with self._counts:
            self.bytes_fetched += len(data)
        if stop is None:
            self._etag = str(answer.get("ETag") or "")
        return data, size, version

    def _call(self, **kwargs):
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        self._count(0)
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self.key, **kwargs)
        except ConnectTimeoutError:
            raise _Transient(f"no connection within {self.timeout:g} s") from None
        except ReadTimeoutError:
            raise _Transient(f"no answer within {self.timeout:g} s") from None
        except EndpointConnectionError:
            raise _Transient("cannot connect to the S3 endpoint") from None
        except ClientError as err:
            raise _s3_failure(err, self.label) from None
        except BotoCoreError as err:  # no credentials, a malformed answer...
            raise SourceError(f"cannot open {self.label}: {scrub(str(err))}") from None


def _s3_failure(err, label: str) -> Exception:
    """The exception to raise for a ClientError (its code and HTTP status)."""
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code == "PreconditionFailed" or status == 412:
        return _Changed("its ETag is no longer the one it had when opened")
    if status in TRANSIENT_STATUSES or code in ("SlowDown", "InternalError", "RequestTimeout"):
        return _Transient(f"S3 {code or status}")
    if code in ("NoSuchKey", "NoSuchBucket", "404") or status == 404:
        return SourceError(f"cannot open {label}: not found")
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "ExpiredToken") or status == 403:
        return SourceError(f"cannot open {label}: access denied ({code or status})")
    return SourceError(f"cannot read {label}: S3 {code or status}")


def _read_s3_body(body, n: int, timeout: float) -> bytes:
    from botocore.exceptions import ReadTimeoutError, ResponseStreamingError

    try:
        data = body.read(n)
    except ReadTimeoutError:
        raise _Transient(f"no answer within {timeout:g} s (in the middle of a body)") from None
    except (ResponseStreamingError, OSError) as err:
        raise _Transient(f"the connection broke during an answer ({type(err).__name__})") from None
    if len(data) != n:
        raise _Transient(f"the answer ended after {len(data)} of {n} bytes")
    return data


def _unquote_key(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path.lstrip("/"))


# --------------------------------------------------------------------------- fsspec


class FsspecTransport(Transport):
    """Ranges of a file on an fsspec filesystem (its own timeouts; version checked at the
    start and the end of a read)."""

    def __init__(self, fs, path: str, label: str, facts: dict | None = None) -> None:
        super().__init__(label)
        self.fs, self.path, self._facts = fs, path, facts

    def _info(self) -> dict:
        with no_gc_under_h5py_lock():
            try:
                info = self.fs.info(self.path)
            except Exception as err:
                raise SourceError(f"cannot open {self.label}: {describe(err)}") from None
        self._count(0)
        return info

    def open(self, first_block: int) -> RemoteFacts:
        info = self._facts if self._facts and self._facts.get("size") is not None \
            else self._info()  # fmt: skip
        if info.get("size") is None:
            raise SourceError(f"cannot read {self.label} by byte ranges: its size is unknown")
        self.size, self.version = int(info["size"]), fsspec_version(info)
        head = self.get(0, min(first_block, self.size)) if self.size else b""
        return RemoteFacts(size=self.size, version=self.version, head=head)

    def get(self, start: int, stop: int) -> bytes:
        return self.get_many([(start, stop)])[0]

    def get_many(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        if not ranges:
            return []
        with no_gc_under_h5py_lock():
            try:
                blobs = self.fs.cat_ranges([self.path] * len(ranges), [a for a, _ in ranges],
                                           [b for _, b in ranges], on_error="return")  # fmt: skip
            except Exception as err:
                raise SourceError(f"cannot read {self.label}: {describe(err)}") from None
        for (a, b), blob in zip(ranges, blobs, strict=True):
            if isinstance(blob, BaseException):
                raise SourceError(f"cannot read {self.label}: {describe(blob)}")
            self._count(len(blob))
            if len(blob) != b - a:
                raise SourceError(
                    f"cannot read {self.label} by byte ranges: asked for {b - a} bytes at "
                    f"{a}, got {len(blob)} (the server ignores Range requests?): download it"
                )
        return list(blobs)

    def verify(self) -> None:
        version = fsspec_version(self._info())
        if self.version and version != self.version:
            raise SourceError(
                f"cannot read {self.label}: the file changed on the server while it was read "
                f"(version {self.version!r} when opened, {version!r} now): run again"
            )


def fsspec_version(info: dict) -> str:
    """What an fsspec ``info`` says identifies this version of a file: ETag, else the
    modification time."""
    for key in ("ETag", "etag", "Last-Modified", "LastModified", "last_modified", "mtime"):
        if info.get(key) is not None:
            return str(info[key]).strip('"')
    return ""


def describe(err: BaseException) -> str:
    """Why an fsspec operation failed, in one redacted line, from the innermost known cause.

    fsspec turns every failure to open an HTTP file (404, refused connection, ...) into
    ``FileNotFoundError(url)`` raised from the real error; that error is what is described.

    Examples
    --------
    >>> describe(PermissionError("Forbidden"))
    'access denied (Forbidden)'
    """
    seen = err
    while isinstance(seen, FileNotFoundError) and seen.__cause__ is not None:
        seen = seen.__cause__
    status = getattr(seen, "status", None)
    if isinstance(status, int):  # aiohttp's ClientResponseError
        return _http_failure(status, getattr(seen, "message", "") or "")
    text = scrub(" ".join(str(seen).split()))
    if isinstance(seen, FileNotFoundError):
        return "not found"
    if isinstance(seen, PermissionError):
        return f"access denied ({text or 'no reason given'})"
    return f"{type(seen).__name__}: {text or '(no message)'}"
