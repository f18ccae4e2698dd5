"""Reading a granule over the network by byte ranges, with caching suited to HDF5.

An HDF5 file keeps its metadata (object headers, chunk B-trees) in small pieces, mostly
near its start and in one cluster per beam, and its data in compressed chunks scattered
through the file. Measured on a full-size granule (45 MB) with a box keeping 10 % of each
track: fsspec's read-ahead caches transferred 14-17 times the file's bytes (they refetch
overlapping windows as h5py jumps back and forth), earthaccess's and s3fs's defaults the
whole file, and plain block caches traded bytes for requests (0.29x the file in 200
requests with 64 KiB blocks, 0.17x in 470 with 16 KiB blocks). A :class:`RangeReader`
does three things instead:

- small reads (metadata) are served from a cache of 64 KiB blocks, the first of which
  comes with the request that opens the file;
- large reads (a chunk of 10,000 values) fetch exactly their bytes;
- :meth:`RangeReader.fetch` gets many ranges at once. The reducer fetches its chunks with
  it, outside h5py (:class:`~helpers.reduce.reading.Column` locates a chunk with h5py,
  which reads only metadata, and fetches its bytes itself), so that waiting for them
  holds no lock: what the box search will read is announced in batches (both ends of
  latitude; the expected band of latitude and longitude), and
  :meth:`~helpers.reduce.reading.BeamColumns.prefetch` fetches every chunk that reading a
  beam needs in one batch:
  their byte ranges come from HDF5's chunk index
  (:meth:`~helpers.reduce.reading.BeamColumns.plan`, :meth:`~helpers.reduce.reading.Column.locate`)
  and the bytes go to :meth:`~helpers.reduce.reading.Column.supply`.

Measured on a full-size granule with a box keeping 10 %: about 24 round trips one after
the other (the request that opens it, about 11 for metadata, 2 per beam), 0.14x its bytes.
Reducing a few such granules at once hides most of the rest (:mod:`helpers.reduce.overlap`).

The requests themselves (timeouts, retries, checked answers, the file's version pinned,
and never waiting for another thread while h5py's lock is held) are
:mod:`helpers.reduce.transport`'s; names shown are :mod:`helpers.reduce.urls`'s.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence

from helpers.fileio import SeekableRaw
from helpers.reduce.transport import Transport

#: Block size of the metadata cache (bytes), and how many blocks it keeps (16 MiB).
BLOCK_SIZE = 64 * 1024
MAX_BLOCKS = 256
#: Reads at least this large (HDF5 chunks) fetch exactly their bytes, uncached.
DIRECT_READ = 16 * 1024


class RangeReader(SeekableRaw):
    """A read-only file object over one remote file, for h5py.

    Reads smaller than :data:`DIRECT_READ` bytes are served from a cache of
    :data:`BLOCK_SIZE` blocks (missing neighbouring blocks come in one request); larger
    ones fetch exactly their bytes. :meth:`fetch` gets many ranges at once.

    Parameters
    ----------
    transport : helpers.reduce.transport.Transport
        What fetches the bytes (opened: its size and version are known).
    size : int
        The file's size in bytes.
    head : bytes
        The file's first bytes, if already fetched (kept as cached blocks).

    Attributes
    ----------
    requests, bytes_fetched : int
        Requests made and bytes received so far (the transport's counts).

    Examples
    --------
    A transport that serves a bytes object stands in for a server here:

    >>> class Memory(Transport):
    ...     def _get(self, start, stop):
    ...         self._count(stop - start)
    ...         return bytes(range(100))[start:stop], 100, "v1"
    >>> reader = RangeReader(Memory("memory://g.bin"), 100)
    >>> _ = reader.seek(65)
    >>> reader.read(3), reader.fetch([(0, 2), (98, 100)]), reader.requests
    (b'ABC', [b'\\x00\\x01', b'bc'], 3)
    """

    def __init__(self, transport: Transport, size: int, head: bytes = b"") -> None:
        super().__init__()
        self.transport, self.size, self.label = transport, int(size), transport.label
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        for k in range(-(-len(head) // BLOCK_SIZE)):  # whole blocks of head, kept
            block = head[k * BLOCK_SIZE : (k + 1) * BLOCK_SIZE]
            if len(block) == min(BLOCK_SIZE, self.size - k * BLOCK_SIZE):
                self._blocks[k] = block

    @property
    def requests(self) -> int:
        return self.transport.requests

    @property
    def bytes_fetched(self) -> int:
        return self.transport.bytes_fetched

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        stop = min(self._pos + len(view), self.size)
        if stop <= self._pos:
            return 0
        if stop - self._pos >= DIRECT_READ:
            data = self.transport.get(self._pos, stop)
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
            data = self.transport.get(lo, min((missing[-1] + 1) * BLOCK_SIZE, self.size))
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
            The server failed, answered with other bytes than asked for, or the file
            changed (see :mod:`helpers.reduce.transport`).
        """
        merged = merge_ranges(ranges)
        if not merged:
            return [b"" for _ in ranges]
        blobs = self.transport.get_many(merged)
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
