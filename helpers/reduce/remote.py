"""Reading a granule over the network by byte ranges, with caching suited to HDF5.

An HDF5 file keeps its metadata (object headers, chunk B-trees) in small pieces, mostly
near its start and in one cluster per beam, and its data in compressed chunks scattered
through the file. Measured on a full-size granule (45 MB) with a box keeping 10 % of each
track: fsspec's read-ahead caches transferred 14-17 times the file's bytes (they refetch
overlapping windows as h5py jumps back and forth), earthaccess's and s3fs's defaults the
whole file, and plain block caches traded bytes for requests (0.29x the file in 200
requests with 64 KiB blocks, 0.17x in 470 with 16 KiB blocks). A :class:`RangeReader`
does three things instead:

- small reads (metadata) are served from a cache of 64 KiB blocks;
- large reads (a chunk of 10,000 values) fetch exactly their bytes;
- :func:`prefetch_chunks` fetches every chunk that reading a beam needs in one concurrent
  batch, before the read: their byte ranges come from HDF5's chunk index
  (:meth:`~helpers.reduce.reading.BeamColumns.plan`, :meth:`~helpers.reduce.reading.Column.locate`)
  and the bytes go to :meth:`~helpers.reduce.reading.Column.supply`.

Whatever this module says about a file goes through :func:`redact`: no
``user:password@``, no query string (a signed URL's token).
"""

from __future__ import annotations

import bisect
import io
import re
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import urlsplit

from helpers.reduce.reading import BeamColumns

#: Block size of the metadata cache (bytes), and how many blocks it keeps (16 MiB).
BLOCK_SIZE = 64 * 1024
MAX_BLOCKS = 256
#: Reads at least this large (HDF5 chunks) fetch exactly their bytes, uncached.
DIRECT_READ = 16 * 1024

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]]+")


class SourceError(Exception):
    """A remote granule that cannot be opened or read; the message is one line, redacted."""


def redact(url: str) -> str:
    """A URL without what may be secret: ``user:password@``, the query string, the fragment.

    Examples
    --------
    >>> redact("https://me:pw@host.org:8443/data/g.h5?X-Amz-Signature=abc#top")
    'https://host.org:8443/data/g.h5'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a malformed host or port: drop everything up to the last "@"
        parts = urlsplit(url)
        host, port = parts.netloc.rpartition("@")[2], ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def scrub(text: str) -> str:
    """``text`` with every URL in it :func:`redact`-ed (for messages that quote errors).

    Examples
    --------
    >>> scrub("cannot open s3://b/g.h5?token=XYZ, or http://u:p@h/x.h5.")
    'cannot open s3://b/g.h5, or http://h/x.h5.'
    """

    def one(match: re.Match) -> str:
        url = match.group(0)
        core = url.rstrip(".,;:")  # punctuation that ends a sentence, not the URL
        return redact(core) + url[len(core) :]

    return _URL_IN_TEXT.sub(one, text)


def describe(err: BaseException) -> str:
    """Why a remote operation failed, in one redacted line, from the innermost known cause.

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
        return f"HTTP {status} {getattr(seen, 'message', '') or ''}".strip()
    text = scrub(" ".join(str(seen).split()))
    if isinstance(seen, FileNotFoundError):
        return "not found"
    if isinstance(seen, PermissionError):
        return f"access denied ({text or 'no reason given'})"
    return f"{type(seen).__name__}: {text or '(no message)'}"


class RangeReader(io.RawIOBase):
    """A read-only file object over one file of an fsspec filesystem, for h5py.

    Reads smaller than :data:`DIRECT_READ` bytes are served from a cache of
    :data:`BLOCK_SIZE` blocks (missing neighbouring blocks come in one request); larger
    ones fetch exactly their bytes. :meth:`fetch` gets many ranges at once, concurrently
    when the filesystem is asynchronous (HTTP, S3).

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
        The filesystem.
    path : str
        The file's path on it (for HTTP, the URL itself).
    size : int
        The file's size in bytes.
    label : str
        How error messages name the file (see :func:`redact`).

    Attributes
    ----------
    requests, bytes_fetched : int
        Requests made and bytes received so far.

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> fs.pipe("/g.bin", bytes(range(100)))
    >>> reader = RangeReader(fs, "/g.bin", 100, "memory://g.bin")
    >>> _ = reader.seek(65)
    >>> reader.read(3), reader.fetch([(0, 2), (98, 100)]), reader.requests
    (b'ABC', [b'\\x00\\x01', b'bc'], 3)
    """

    def __init__(self, fs, path: str, size: int, label: str) -> None:
        super().__init__()
        self.fs, self.path, self.size, self.label = fs, path, int(size), label
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self.requests = 0
        self.bytes_fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        stop = min(self._pos + len(view), self.size)
        if stop <= self._pos:
            return 0
        if stop - self._pos >= DIRECT_READ:
            data = self.fetch([(self._pos, stop)])[0]
        else:
            data = self._from_blocks(self._pos, stop)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._blocks.clear()
        super().close()

    def _from_blocks(self, start: int, stop: int) -> bytes:
        first, last = start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE
        missing = [k for k in range(first, last + 1) if k not in self._blocks]
        if missing:  # the read is small: the blocks it misses are next to each other
            lo = missing[0] * BLOCK_SIZE
            data = self.fetch([(lo, min((missing[-1] + 1) * BLOCK_SIZE, self.size))])[0]
            for k in missing:
                self._blocks[k] = data[(k - missing[0]) * BLOCK_SIZE :][:BLOCK_SIZE]
        parts = []
        for k in range(first, last + 1):
            self._blocks.move_to_end(k)
            parts.append(self._blocks[k])
        while len(self._blocks) > MAX_BLOCKS:
            self._blocks.popitem(last=False)
        offset = first * BLOCK_SIZE
        return b"".join(parts)[start - offset : stop - offset]

    def fetch(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``[start, stop)`` range, fetched together (ranges that touch or
        overlap in one request).

        Raises
        ------
        SourceError
            The server failed, or answered a range with other bytes than asked for (a
            server that ignores Range requests).
        """
        merged = merge_ranges(ranges)
        if not merged:
            return [b"" for _ in ranges]
        try:
            blobs = self.fs.cat_ranges([self.path] * len(merged), [a for a, _ in merged],
                                       [b for _, b in merged], on_error="return")  # fmt: skip
        except Exception as err:  # aiohttp, botocore, OSError...: one line each
            raise SourceError(f"cannot read {self.label}: {describe(err)}") from None
        self.requests += len(merged)
        for (a, b), blob in zip(merged, blobs, strict=True):
            if isinstance(blob, BaseException):
                raise SourceError(f"cannot read {self.label}: {describe(blob)}")
            self.bytes_fetched += len(blob)
            if len(blob) != b - a:
                raise SourceError(
                    f"cannot read {self.label} by byte ranges: asked for {b - a} bytes at "
                    f"{a}, got {len(blob)} (the server ignores Range requests?): download it"
                )
        starts = [a for a, _ in merged]
        out = []
        for a, b in ranges:
            i = bisect.bisect_right(starts, a) - 1
            out.append(blobs[i][a - starts[i] : b - starts[i]] if b > a else b"")
        return out


def merge_ranges(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``[start, stop)`` ranges, those that touch or overlap joined, empty ones dropped.

    Examples
    --------
    >>> merge_ranges([(10, 20), (0, 5), (5, 8), (15, 30), (40, 40)])
    [(0, 8), (10, 30)]
    """
    merged: list[list[int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def prefetch_chunks(reader: RangeReader, columns: BeamColumns,
                    plan: Sequence[tuple[str, int]]) -> None:  # fmt: skip
    """Fetch the chunks in ``plan`` (``(output name, chunk index)`` pairs, as
    :meth:`BeamColumns.plan` lists them) in one batch and hand their stored bytes to their
    columns, so that reading them then makes no request.

    Chunks that the reducer does not decode itself (:meth:`Column.locate` gives None) are
    left to h5py, which reads them through ``reader``.
    """
    wanted = []
    for name, k in plan:
        column = columns.columns[name]
        where = column.locate(k)
        if where is not None and where[1] > 0:
            wanted.append((column, k, where))
    blobs = reader.fetch([(offset, offset + size) for _, _, (offset, size, _) in wanted])
    for (column, k, (_, _, mask)), blob in zip(wanted, blobs, strict=True):
        column.supply(k, blob, mask)
