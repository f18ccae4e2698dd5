"""Reading one beam's 1-D datasets: whole, or only the index ranges that a box needs.

It works on any open :class:`h5py.File`, whatever holds its bytes (a local path, a file
object), and reads by HDF5 chunk (10,000 segments in ATL06), counting what it fetches:

- :class:`Column` reads one 1-D dataset chunk by chunk. Chunks stored as ATL06 stores
  them (deflate, with shuffle for integers) are fetched raw with ``read_direct_chunk``
  and decoded here, with ISA-L's inflate when the ``isal`` package is installed (the same
  bytes as zlib, about twice as fast); any other layout or filter is read by h5py slicing.
- :class:`BoxSearch` finds the index ranges whose segments may lie in a box: along a
  granule, latitude is monotonic except in the polar-turn regions (4 and 11), so the
  latitude band is located by a search over chunks that extrapolates from each chunk it
  reads, starting where the previous beam's band was (often only the band's two edge
  chunks are read); longitude is read only inside the band; a pass that enters and leaves
  the box more than once gives several ranges. If latitude turns out not to be monotonic,
  all of it is read instead.

  **What the search assumes, and where it is checked.** Monotonic latitude is a rule of
  the product, not something a file proves: every chunk the search reads is checked (in
  order, no NaN, consistent with the chunks found before and after it) and a contradiction
  makes it read all of latitude, but a chunk it never reads is not checked, so a file that
  breaks the rule there loses the points it holds in the box. The reducer therefore
  searches only where bytes count (granules read over the network); for local files it
  reads all of latitude (one variable of sixteen: cheap) and finds the box's rows from
  every value (``BoxSearch(..., monotonic=False)``), so their outputs equal a whole read
  whatever the file holds.
- :meth:`BeamColumns.plan`, :meth:`Column.locate` and :meth:`Column.supply` let a remote
  reader fetch every chunk a read needs at once (their byte ranges are known) instead of
  one request per chunk; a column given a ``fetch`` fetches its chunks that way itself,
  outside h5py, and :meth:`Column.prefetch` (:func:`prefetch_together` for several
  columns) announces what the box search will read next, so that it comes in one batch.
- :class:`BeamColumns` checks a beam's layout before anything is read (core variables
  present, 1-D numbers, all of one length) and reads the copied variables over ranges of
  rows, filling the optional variables that the granule lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import h5py
import numpy as np

from helpers.bbox import BBox
from helpers.errors import LayoutError
from helpers.reduce.variables import (
    ABSENT_VALUES,
    COPIED_VARIABLES,
    CORE_VARIABLES,
    OUTPUT_DTYPES,
)

try:  # ISA-L decodes deflate streams about twice as fast as zlib, to the same bytes.
    from isal.isal_zlib import decompress as _inflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    from zlib import decompress as _inflate

#: HDF5 filter identifiers this module decodes itself.
DEFLATE, SHUFFLE = 1, 2
#: Filter pipelines (in the order they were applied) whose chunks are decoded here; any
#: other (deflate before shuffle, other filters) is left to h5py.
DECODED_PIPELINES = ((), (DEFLATE,), (SHUFFLE,), (SHUFFLE, DEFLATE))
#: Chunk length assumed for datasets stored without chunks (read by slicing).
DEFAULT_CHUNK = 10_000
#: Datasets in chunks shorter than this are read whole by h5py in one call: one request
#: (or decode) per chunk of a few values costs far more than reading everything.
MIN_CHUNK_LEN = 1024

Range = tuple[int, int]
#: Fetches the stored bytes of many ``[start, stop)`` byte ranges of the file at once,
#: without h5py (so that waiting for them holds no lock): a remote reader's
#: :meth:`~helpers.reduce.remote.RangeReader.fetch`.
Fetch = Callable[[Sequence[Range]], list[bytes]]


class NotMonotonic(Exception):
    """Latitude turned out not to be monotonic where the search assumed it was."""


class Column:
    """One 1-D dataset, read by chunks; chunks kept for reuse when asked to.

    Parameters
    ----------
    dataset : h5py.Dataset
        A 1-D dataset of numbers.
    keep : bool
        Keep every decoded chunk for later reads (for latitude and longitude, which the
        box search reads first and the final read reads again).
    fetch : Fetch, optional
        Fetches stored chunks without h5py (remote files): chunks decoded here are then
        located with h5py (metadata only) and their bytes fetched by ``fetch``, several at
        once when announced with :meth:`prefetch`.

    Attributes
    ----------
    chunks_read, bytes_read : int
        Chunks fetched so far and their stored (compressed) size in bytes; what a remote
        reader pays for.

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> with h5py.File(buffer, "w") as f:
    ...     _ = f.create_dataset("h", data=np.arange(25.0), chunks=(10,), compression="gzip")
    >>> with h5py.File(buffer, "r") as f:
    ...     column = Column(f["h"])
    ...     column.read_ranges([(2, 4), (21, 23)]).tolist(), column.chunks_read
    ([2.0, 3.0, 21.0, 22.0], 2)
    """

    def __init__(self, dataset: h5py.Dataset | h5py.h5d.DatasetID, keep: bool = False,
                 fetch: Fetch | None = None) -> None:  # fmt: skip
        # The low-level id: a third of the cost of h5py's Dataset properties, per dataset.
        self.id = dataset.id if isinstance(dataset, h5py.Dataset) else dataset
        self.shape = self.id.shape
        self.size = int(self.shape[0]) if self.shape else 1
        self.dtype = self.id.dtype
        plist = self.id.get_create_plist()
        chunked = plist.get_layout() == h5py.h5d.CHUNKED
        self.chunk_len = int(plist.get_chunk()[0]) if chunked else DEFAULT_CHUNK
        self._filters = _direct_filters(plist, self.dtype) if chunked else None
        if chunked and self.chunk_len < MIN_CHUNK_LEN < self.size:  # tiny chunks: read whole
            self.chunk_len, self._filters = self.size, None
        self.n_chunks = -(-self.size // self.chunk_len)
        self._keep, self.fetch = keep, fetch
        self._cache: dict[int, np.ndarray] = {}
        self._supplied: dict[int, tuple[int, bytes]] = {}
        self.chunks_read = 0
        self.bytes_read = 0

    @property
    def name(self) -> str:
        """The dataset's path in its file."""
        return h5py.h5i.get_name(self.id).decode("utf-8", "replace")

    def chunk(self, k: int) -> np.ndarray:
        """The values of chunk ``k`` (read-only; the last chunk is trimmed to the data)."""
        values = self._cache.get(k)
        if values is None:
            values = self._fetch(k)
            if self._keep:
                self._cache[k] = values
        return values

    def chunks_for(self, ranges: Sequence[Range]) -> list[int]:
        """Indices of the chunks that reading ``ranges`` needs and that are not at hand."""
        return self.missing(k for a, b in ranges
                            for k in range(a // self.chunk_len, -(-b // self.chunk_len)))

    def locate(self, k: int) -> tuple[int, int, int] | None:
        """Where chunk ``k``'s stored bytes are: ``(byte offset, size, filter mask)``; None if
        it is not stored or not decoded here (read through h5py instead)."""
        if self._filters is None:
            return None
        info = self.id.get_chunk_info_by_coord((k * self.chunk_len,))
        return None if info.byte_offset is None else (info.byte_offset, info.size, info.filter_mask)

    def prefetch(self, chunks: Iterable[int]) -> None:
        """Fetch these chunks (those not at hand) in one batch, if the column has a
        ``fetch``; otherwise do nothing (they are read when needed)."""
        prefetch_together([self], chunks)

    def missing(self, chunks: Iterable[int]) -> list[int]:
        """The chunks among ``chunks`` that exist and are not at hand (decoded or supplied)."""
        wanted = {k for k in chunks if 0 <= k < self.n_chunks}
        return sorted(wanted - self._cache.keys() - self._supplied.keys())

    def supply(self, k: int, raw: bytes, mask: int = 0) -> None:
        """Hand over chunk ``k``'s stored bytes, fetched some other way (e.g. many ranges of a
        remote file at once, from :meth:`locate`); they are decoded when the chunk is read."""
        self._supplied[k] = (mask, raw)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Values ``[start, stop)`` as a new array (default: all)."""
        return self.read_ranges([(start, self.size if stop is None else stop)])

    def read_ranges(self, ranges: Sequence[Range]) -> np.ndarray:
        """The values of increasing, non-overlapping ``[start, stop)`` ranges, concatenated."""
        total = sum(stop - start for start, stop in ranges)
        out = np.empty(total, dtype=self.dtype)
        memo: dict[int, np.ndarray] = {}  # a chunk shared by two ranges is decoded once
        pos = 0
        for start, stop in ranges:
            for k in range(start // self.chunk_len, -(-stop // self.chunk_len)):
                if k not in memo:
                    memo = {k: self.chunk(k)}
                base = k * self.chunk_len
                lo, hi = max(start, base) - base, min(stop, base + self.chunk_len) - base
                out[pos : pos + hi - lo] = memo[k][lo:hi]
                pos += hi - lo
        return out

    def _fetch(self, k: int) -> np.ndarray:
        start = k * self.chunk_len
        n = min(self.chunk_len, self.size - start)
        self.chunks_read += 1
        if self._filters is not None:
            if self.fetch is not None and k not in self._supplied:
                self.prefetch([k])  # its bytes fetched outside h5py, holding no lock
            try:
                mask, raw = self._supplied.pop(k, None) or self.id.read_direct_chunk((start,))
            except RuntimeError:  # chunk never written: h5py gives the fill value
                pass
            else:
                self.bytes_read += len(raw)
                try:
                    return _decode(raw, mask, self._filters, self.dtype, self.chunk_len)[:n]
                except Exception as err:  # zlib/isal errors, a short buffer
                    raise LayoutError(
                        f"{self.name}: chunk {k} cannot be decoded (corrupt data?): {err}"
                    ) from err
        values = h5py.Dataset(self.id)[start : start + n]
        self.bytes_read += values.nbytes
        return values


def fetch_chunks(fetch: Fetch, wanted: Sequence[tuple[Column, int]]) -> None:
    """Fetch the stored bytes of chunks ``(column, chunk index)`` with one call of ``fetch``
    and hand them to their columns (:meth:`Column.supply`). Chunks not decoded here, and
    chunks never written, are left to h5py."""
    located = []
    for column, k in wanted:
        where = column.locate(k)
        if where is not None and where[1] > 0:
            located.append((column, k, where))
    blobs = fetch([(offset, offset + size) for _, _, (offset, size, _) in located])
    for (column, k, (_, _, mask)), blob in zip(located, blobs, strict=True):
        column.supply(k, blob, mask)


def _direct_filters(plist, dtype: np.dtype) -> tuple[int, ...] | None:
    """The filter pipeline of a chunked dataset if this module can decode its chunks."""
    if dtype.kind not in "fiub":
        return None
    filters = tuple(plist.get_filter(i)[0] for i in range(plist.get_nfilters()))
    return filters if filters in DECODED_PIPELINES else None


def _decode(raw: bytes, mask: int, filters: tuple[int, ...], dtype, chunk_len: int):
    """Undo the filters of one raw chunk, last applied first (bit i of mask: filter i skipped)."""
    data = raw
    for position in reversed(range(len(filters))):
        if mask & (1 << position):
            continue
        if filters[position] == DEFLATE:
            data = _inflate(data)
        elif dtype.itemsize > 1:  # shuffle stored byte 0 of every value, then byte 1, ...
            planes = np.frombuffer(data, np.uint8, count=chunk_len * dtype.itemsize)
            data = planes.reshape(dtype.itemsize, chunk_len).T.tobytes()
    return np.frombuffer(data, dtype=dtype, count=chunk_len)


# --------------------------------------------------------------------------- searching


def _search(column: Column, value: float, side: str, sign: int, first: int) -> int:
    """``numpy.searchsorted(sign * column, value, side)``, reading as few chunks as it can.

    Starts at chunk ``first``; each chunk read tells the local slope of the values, from
    which the next chunk is extrapolated (latitude changes smoothly along a track), and
    after a few probes it bisects, so it never reads more than about ``2 log2(n_chunks)``
    chunks. Raises NotMonotonic if a chunk read contradicts the order.
    """
    lo_k, hi_k = 0, column.n_chunks - 1  # the answer lies in chunks lo_k..hi_k, or after
    before, after = -np.inf, np.inf  # the last value known before it, the first after
    k, probes = first, 0
    while lo_k <= hi_k:
        k, probes = min(max(k, lo_k), hi_k), probes + 1
        values = sign * column.chunk(k)
        if not np.all(values[1:] >= values[:-1]) or not values[0] >= before or not (
            values[-1] <= after
        ):  # out of order, or NaN (which no comparison holds for)
            raise NotMonotonic(f"{column.name}: chunk {k} is out of order or holds NaN")
        inside = int(np.searchsorted(values, value, side="left" if side == "left" else "right"))
        base = k * column.chunk_len
        if 0 < inside < values.size:
            return base + inside
        if inside == values.size:  # the whole chunk comes before the answer
            lo_k, before = k + 1, values[-1]
        else:  # the whole chunk comes at or after it
            hi_k, after = k - 1, values[0]
        guess = _extrapolate(values, base, value, column.chunk_len)
        k = (lo_k + hi_k) // 2 if guess is None or probes > 3 else guess
    return min(lo_k * column.chunk_len, column.size)


def _extrapolate(values: np.ndarray, base: int, value: float, chunk_len: int) -> int | None:
    """The chunk where ``value`` would be if values went on at this chunk's mean slope."""
    if values.size < 2 or not values[-1] > values[0]:
        return None
    step = (values[-1] - values[0]) / (values.size - 1)
    guess = (base + (value - values[0]) / step) // chunk_len
    return int(guess) if np.isfinite(guess) else None


def latitude_band(
    lat: Column, south: float, north: float, near: tuple[float, float, bool] | None = None,
    also: Sequence[Column] = (),
) -> Range:  # fmt: skip
    """Index range ``[lo, hi)`` of the segments with ``south <= lat <= north``.

    Assumes latitude is monotonic (either way) along the dataset, and reads only the
    chunks the search needs: with ``near`` (where the band lies as fractions of the
    dataset, and whether latitude increases, e.g. from another beam of the granule), often
    just the chunks holding the band; without it, also the first and last. Remote columns
    fetch the chunks where the band is expected in one batch, with the same chunks of the
    columns ``also`` (longitude, which the box search reads there next).

    Raises
    ------
    NotMonotonic
        If a chunk read shows that latitude is not monotonic.
    """
    if lat.size == 0:
        return 0, 0
    if near is not None:  # check the hinted direction on the chunk the search starts with
        starts = _start_chunks(lat, near[0], near[1])
        prefetch_together([lat, *also], range(starts[0], starts[1] + 1))
        start = lat.chunk(starts[0])
        if not np.isfinite(start[[0, -1]]).all():
            raise NotMonotonic(f"{lat.name}: latitude holds NaN")
        if start[-1] == start[0]:
            near = None  # a flat chunk says nothing: use the ends
        elif (start[-1] > start[0]) != near[2]:
            raise NotMonotonic(f"{lat.name}: latitude runs the other way than the hint")
    if near is None:
        lat.prefetch([0, lat.n_chunks - 1])
        first, last = lat.chunk(0)[0], lat.chunk(lat.n_chunks - 1)[-1]
        if not (np.isfinite(first) and np.isfinite(last)):
            raise NotMonotonic(f"{lat.name}: the first or last latitude is not a number")
        increasing = bool(last >= first)
        span = (last - first) or 1.0
        low, high = sorted(((south - first) / span, (north - first) / span))
        starts = _start_chunks(lat, low, high)
        prefetch_together([lat, *also], range(starts[0], starts[1] + 1))
    else:
        increasing = near[2]
    if increasing:
        lo, hi = (_search(lat, south, "left", 1, starts[0]),
                  _search(lat, north, "right", 1, starts[1]))  # fmt: skip
    else:
        lo, hi = (_search(lat, -north, "left", -1, starts[0]),
                  _search(lat, -south, "right", -1, starts[1]))  # fmt: skip
    if hi < lo:  # the two searches saw contradicting orders
        raise NotMonotonic(f"{lat.name}: the band's edges are out of order")
    return lo, hi


def prefetch_together(columns: Sequence[Column], chunks: Iterable[int]) -> None:
    """Fetch the same chunks of several columns of one beam (those not at hand) in one
    batch, with the ``fetch`` they share (remote columns); otherwise do nothing."""
    fetch = columns[0].fetch if columns else None
    if fetch is not None:
        chunks = list(chunks)
        fetch_chunks(fetch, [(c, k) for c in columns for k in c.missing(chunks)])


def _start_chunks(lat: Column, low: float, high: float) -> list[int]:
    """The chunks where the band's edges are expected, from fractions of the dataset."""
    return [int(np.clip(f, 0, 1) * (lat.size - 1)) // lat.chunk_len for f in (low, high)]


def runs(mask: np.ndarray, offset: int = 0) -> list[Range]:
    """``[start, stop)`` ranges of the True runs of a boolean array (plus ``offset``).

    Examples
    --------
    >>> runs(np.array([0, 1, 1, 0, 1], bool), offset=10)
    [(11, 13), (14, 15)]
    """
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0])))) + offset
    return [(int(a), int(b)) for a, b in edges.reshape(-1, 2)]


def pad_and_merge(ranges: Sequence[Range], size: int, chunk_len: int, pad: int = 1) -> list[Range]:
    """Grow ranges by ``pad`` rows each side and merge those that share or touch a chunk.

    The extra rows give the ascending flag the neighbours it would have in a whole read;
    merging two ranges whose chunks are adjacent reads no extra chunk, only a few rows
    that the box filter drops again.

    Examples
    --------
    >>> pad_and_merge([(5, 8), (12, 15), (95, 99)], size=100, chunk_len=10)
    [(4, 16), (94, 100)]
    """
    merged: list[list[int]] = []
    for start, stop in ranges:
        start, stop = max(start - pad, 0), min(stop + pad, size)
        if merged and start // chunk_len <= (merged[-1][1] - 1) // chunk_len + 1:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b) for a, b in merged]


class BoxSearch:
    """Finds, beam after beam of one granule, the rows that may lie in a box.

    Each beam's latitude search starts where the previous beam's band was (the beams of
    a granule run side by side, a few km apart), so that it often reads only the chunks
    at the band's edges, which the final read needs anyway.

    Parameters
    ----------
    bbox : BBox
        The area.
    monotonic : bool
        Whether latitude may be assumed monotonic along each beam (any granule region but
        the polar turns, 4 and 11). If a chunk read contradicts it, the whole latitude of
        that beam is read instead.

    Examples
    --------
    A descending pass of 1,000 segments in chunks of 100, and a box holding 40 of them:

    >>> import io
    >>> buffer = io.BytesIO()
    >>> with h5py.File(buffer, "w") as f:
    ...     _ = f.create_dataset("lat", data=np.linspace(-60, -80, 1000), chunks=(100,))
    ...     _ = f.create_dataset("lon", data=np.full(1000, -100.0), chunks=(100,))
    >>> with h5py.File(buffer, "r") as f:
    ...     lat, lon = Column(f["lat"], keep=True), Column(f["lon"], keep=True)
    ...     BoxSearch(BBox(-101, -75.8, -99, -75.0), monotonic=True).rows(lat, lon)
    ...     lat.chunks_read, lon.chunks_read  # of 10 each: the first, the last, the band
    [(750, 790)]
    (3, 1)
    """

    def __init__(self, bbox: BBox, monotonic: bool) -> None:
        self.bbox, self.monotonic = bbox, monotonic
        self._near: tuple[float, float, bool] | None = None

    def rows(self, lat: Column, lon: Column) -> list[Range]:
        """Increasing ``[start, stop)`` ranges holding every segment :meth:`BBox.contains`
        accepts, and no other (``lat``/``lon`` best made with ``keep=True``, so that the
        final read reuses the chunks decoded here)."""
        box = self.bbox
        lo, hi = 0, lat.size
        if self.monotonic and lat.size > 1:
            try:
                lo, hi = latitude_band(lat, box.south, box.north, self._near, also=[lon])
            except NotMonotonic:
                lo, hi = 0, lat.size
            else:
                self._remember(lat, lo, hi)
        lat.prefetch(lat.chunks_for([(lo, hi)]))  # the band's inside, in one batch
        band = lat.read(lo, hi)
        spans = runs((band >= box.south) & (band <= box.north), offset=lo)
        lon.prefetch(lon.chunks_for(spans))  # longitude only where latitude is in the band
        ranges: list[Range] = []
        for start, stop in spans:
            inside = box.contains(lon.read(start, stop), band[start - lo : stop - lo])
            ranges += runs(inside, offset=start)
        return ranges

    def _remember(self, lat: Column, lo: int, hi: int) -> None:
        """Where this beam's band was, for the next beam's first guess."""
        if hi > lo + 1:
            values = lat.read(lo, lo + 1)[0], lat.read(hi - 1, hi)[0]
            self._near = (lo / lat.size, hi / lat.size, bool(values[1] >= values[0]))


def rows_in_box(lat: Column, lon: Column, bbox: BBox, monotonic: bool) -> list[Range]:
    """The rows of one beam that may lie in ``bbox``: :meth:`BoxSearch.rows` of a new search."""
    return BoxSearch(bbox, monotonic).rows(lat, lon)


# --------------------------------------------------------------------------- one beam


def missing_core(group: h5py.Group) -> list[str]:
    """Paths (below ``land_ice_segments``) of the core variables a beam group lacks."""
    lis = group.get("land_ice_segments")
    return [COPIED_VARIABLES[n] for n in CORE_VARIABLES
            if not isinstance(lis, h5py.Group) or COPIED_VARIABLES[n] not in lis]  # fmt: skip


@dataclass
class BeamColumns:
    """The copied variables of one beam, checked and ready to read.

    Attributes
    ----------
    beam : str
        ``gt1l`` .. ``gt3r``.
    size : int
        Segments in the beam.
    columns : dict of str to Column
        Output name -> the variable's column, for the variables present.
    absent : list of str
        Output names of the optional variables the beam lacks.
    """

    beam: str
    size: int
    columns: dict[str, Column]
    absent: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, group: h5py.Group, beam: str, fetch: Fetch | None = None) -> BeamColumns:
        """Check one beam group that has every core variable (see :func:`missing_core`);
        ``fetch`` is given to every column (see :class:`Column`).

        Raises
        ------
        LayoutError
            A variable that is not a 1-D array of numbers as long as ``latitude``: one
            line naming the beam, the variable and the problem.
        """
        lis = group["land_ice_segments"]
        columns = {}
        for name, path in COPIED_VARIABLES.items():
            dsid = _open_dataset(lis, path, beam)
            if dsid is not None:
                columns[name] = Column(dsid, keep=name in ("lat", "lon"), fetch=fetch)
        size = _check_shape(columns["lat"], beam, "latitude", None)
        for name, column in columns.items():
            _check_shape(column, beam, COPIED_VARIABLES[name], size)
        absent = [name for name in COPIED_VARIABLES if name not in columns]
        return cls(beam=beam, size=size, columns=columns, absent=absent)

    def end_latitudes(self) -> list[float]:
        """Latitude of the first and last segment (reads one or two chunks, kept)."""
        if self.size == 0:
            return []
        lat = self.columns["lat"]
        lat.prefetch([0, lat.n_chunks - 1])  # remote: both in one batch
        return [float(lat.chunk(0)[0]), float(lat.chunk(lat.n_chunks - 1)[-1])]

    def read(self, ranges: Sequence[Range] | None = None) -> dict[str, np.ndarray]:
        """Every copied variable over ``ranges`` (default: all rows); absent ones filled."""
        ranges = [(0, self.size)] if ranges is None else list(ranges)
        n = sum(stop - start for start, stop in ranges)
        raw = {}
        for name in COPIED_VARIABLES:
            if name in self.columns:
                raw[name] = self.columns[name].read_ranges(ranges)
            else:
                raw[name] = np.full(n, ABSENT_VALUES[name], dtype=OUTPUT_DTYPES[name])
        return raw

    def plan(self, ranges: Sequence[Range] | None = None) -> list[tuple[str, int]]:
        """``(output name, chunk index)`` of every chunk :meth:`read` of ``ranges`` would
        fetch: what a remote reader can request at once (:meth:`Column.locate`,
        :meth:`Column.supply`) instead of one chunk after the other."""
        ranges = [(0, self.size)] if ranges is None else list(ranges)
        return [(name, k) for name, c in self.columns.items() for k in c.chunks_for(ranges)]

    def prefetch(self, ranges: Sequence[Range] | None = None) -> None:
        """Fetch every chunk :meth:`read` of ``ranges`` needs in one batch, when the columns
        have a ``fetch`` (remote sources; they share it); otherwise do nothing."""
        fetch = next(iter(self.columns.values())).fetch if self.columns else None
        if fetch is not None:
            fetch_chunks(fetch, [(self.columns[name], k) for name, k in self.plan(ranges)])

    @property
    def bytes_read(self) -> int:
        """Stored bytes fetched so far, all variables."""
        return sum(c.bytes_read for c in self.columns.values())


def _open_dataset(lis: h5py.Group, path: str, beam: str) -> h5py.h5d.DatasetID | None:
    """The low-level dataset at ``path`` below ``lis``; None if absent, LayoutError if a group."""
    try:
        return h5py.h5d.open(lis.id, path.encode())
    except KeyError as err:  # absent, or not a dataset
        if path in lis:
            raise LayoutError(
                f"{beam}/land_ice_segments/{path} is a group, not a dataset"
            ) from err
        return None


def _check_shape(column: Column, beam: str, path: str, size: int | None) -> int:
    """The dataset's length, or LayoutError if it is not a 1-D array of numbers of ``size``."""
    where = f"{beam}/land_ice_segments/{path}"
    if column.dtype.kind not in "fiub":
        raise LayoutError(f"{where} holds {_kind(column.dtype)}, not numbers")
    if len(column.shape) != 1:
        raise LayoutError(f"{where} has shape {column.shape}, not one value per segment")
    if size is not None and column.size != size:
        raise LayoutError(f"{where} has {column.size} values but latitude has {size} (truncated?)")
    return column.size


def _kind(dtype: np.dtype) -> str:
    if dtype.kind in "SUO" or h5py.check_string_dtype(dtype) is not None:
        return "text"
    return f"{dtype} values"
