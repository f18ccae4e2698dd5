"""Reading one beam's 1-D datasets: whole, or only the index ranges that a box needs.

It works on any open :class:`h5py.File`, whatever holds its bytes (a local path, a file
object), and reads by HDF5 chunk (10,000 segments in ATL06), counting what it fetches:

- :class:`Column` reads one 1-D dataset chunk by chunk. Chunks stored as ATL06 stores
  them (deflate, with shuffle for integers) are fetched raw with ``read_direct_chunk``
  and decoded here, with ISA-L's inflate when the ``isal`` package is installed (the same
  bytes as zlib, about twice as fast); any other layout or filter is read by h5py slicing.
- :func:`rows_in_box` finds the index ranges whose segments may lie in a box: along a
  granule, latitude is monotonic except in the polar-turn regions (4 and 11), so the
  latitude band is located by interpolation search over chunks, reading a few of them;
  longitude is read only inside the band; a pass that enters and leaves the box more
  than once gives several ranges.
- :class:`BeamColumns` checks a beam's layout before anything is read (core variables
  present, 1-D numbers, all of one length) and reads the copied variables over ranges of
  rows, filling the optional variables that the granule lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import h5py
import numpy as np

from helpers.bbox import BBox
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
#: Chunk length assumed for datasets stored without chunks (read by slicing).
DEFAULT_CHUNK = 10_000

Range = tuple[int, int]


class LayoutError(ValueError):
    """A granule whose datasets cannot be read as ATL06; the message says what is wrong."""


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

    def __init__(self, dataset: h5py.Dataset, keep: bool = False) -> None:
        self.dataset = dataset
        self.size = int(dataset.shape[0])
        self.dtype = dataset.dtype
        self.chunk_len = int(dataset.chunks[0]) if dataset.chunks else DEFAULT_CHUNK
        self.n_chunks = -(-self.size // self.chunk_len)
        self._filters = _direct_filters(dataset)
        self._keep = keep
        self._cache: dict[int, np.ndarray] = {}
        self.chunks_read = 0
        self.bytes_read = 0

    def chunk(self, k: int) -> np.ndarray:
        """The values of chunk ``k`` (read-only; the last chunk is trimmed to the data)."""
        values = self._cache.get(k)
        if values is None:
            values = self._fetch(k)
            if self._keep:
                self._cache[k] = values
        return values

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
            try:
                mask, raw = self.dataset.id.read_direct_chunk((start,))
            except RuntimeError:  # chunk never written: h5py gives the fill value
                pass
            else:
                self.bytes_read += len(raw)
                try:
                    return _decode(raw, mask, self._filters, self.dtype, self.chunk_len)[:n]
                except Exception as err:  # zlib/isal errors, a short buffer
                    raise LayoutError(
                        f"{self.dataset.name}: chunk {k} cannot be decoded (corrupt data?): {err}"
                    ) from None
        values = self.dataset[start : start + n]
        self.bytes_read += values.nbytes
        return values


def _direct_filters(dataset: h5py.Dataset) -> tuple[int, ...] | None:
    """The filter pipeline if this module can decode the dataset's chunks, else None."""
    if dataset.chunks is None or len(dataset.shape) != 1 or dataset.dtype.kind not in "fiub":
        return None
    plist = dataset.id.get_create_plist()
    filters = tuple(plist.get_filter(i)[0] for i in range(plist.get_nfilters()))
    return filters if set(filters) <= {DEFLATE, SHUFFLE} else None


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


def _search(column: Column, value: float, side: str, sign: int) -> int:
    """``numpy.searchsorted(sign * column, value, side)``, reading as few chunks as it can.

    Interpolation search over chunks (latitude grows nearly linearly with the index),
    with a bisection step whenever a probe did not halve the chunks left. Raises
    NotMonotonic if a chunk read contradicts the order.
    """
    lo_k, hi_k = 0, column.n_chunks - 1  # the answer lies in chunks lo_k..hi_k, or after
    before = (-1, -np.inf)  # (index, value) of the last known element before the answer
    after = (column.size, np.inf)  # ... and of the first known element at or after it
    probes, bisect = [lo_k, hi_k], False
    while lo_k <= hi_k:
        if probes:
            k = probes.pop(0)
        elif bisect:
            k = (lo_k + hi_k) // 2
        else:
            k = _interpolate(before, after, value, column.chunk_len)
            k = (lo_k + hi_k) // 2 if k is None else k
        k, width = min(max(k, lo_k), hi_k), hi_k - lo_k
        values = sign * column.chunk(k)
        if np.any(values[1:] < values[:-1]) or values[0] < before[1] or values[-1] > after[1]:
            raise NotMonotonic(f"{column.dataset.name}: chunk {k} is out of order")
        inside = int(np.searchsorted(values, value, side))
        base = k * column.chunk_len
        if inside == values.size:  # the whole chunk comes before the answer
            lo_k, before = k + 1, (base + values.size - 1, values[-1])
        elif inside == 0:  # the whole chunk comes at or after it
            hi_k, after = k - 1, (base, values[0])
        else:
            return base + inside
        bisect = (hi_k - lo_k) > width // 2
    return min(lo_k * column.chunk_len, column.size)


def _interpolate(before: tuple, after: tuple, value: float, chunk_len: int) -> int | None:
    """The chunk where ``value`` would be if values grew linearly between two known points
    (None when the two do not say)."""
    (i0, v0), (i1, v1) = before, after
    if not (np.isfinite(v0) and np.isfinite(v1)) or v1 <= v0:
        return None
    return int((i0 + (value - v0) / (v1 - v0) * (i1 - i0)) // chunk_len)


def latitude_band(lat: Column, south: float, north: float) -> Range:
    """Index range ``[lo, hi)`` of the segments with ``south <= lat <= north``.

    Assumes latitude is monotonic (either way) along the dataset, and reads only the
    chunks the search needs (the first, the last and a few between).

    Raises
    ------
    NotMonotonic
        If a chunk read shows that latitude is not monotonic.
    """
    if lat.size == 0:
        return 0, 0
    first, last = lat.chunk(0)[0], lat.chunk(lat.n_chunks - 1)[-1]
    if last >= first:  # increasing: ascending pass
        return _search(lat, south, "left", 1), _search(lat, north, "right", 1)
    return _search(lat, -north, "left", -1), _search(lat, -south, "right", -1)


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


def rows_in_box(lat: Column, lon: Column, bbox: BBox, monotonic: bool) -> list[Range]:
    """Index ranges holding every segment inside ``bbox`` (and no segment outside it).

    Parameters
    ----------
    lat, lon : Column
        The beam's latitude and longitude (best made with ``keep=True``, so that the final
        read reuses the chunks decoded here).
    bbox : BBox
        The area.
    monotonic : bool
        Whether latitude may be assumed monotonic (not in the polar-turn regions). If a chunk
        read contradicts it, the whole latitude is read instead.

    Returns
    -------
    list of (int, int)
        Increasing ``[start, stop)`` ranges of the segments :meth:`BBox.contains` accepts.
    """
    lo, hi = 0, lat.size
    if monotonic:
        try:
            lo, hi = latitude_band(lat, bbox.south, bbox.north)
        except NotMonotonic:
            lo, hi = 0, lat.size
    band = lat.read(lo, hi)
    in_band = runs((band >= bbox.south) & (band <= bbox.north), offset=lo)
    ranges: list[Range] = []
    for start, stop in in_band:  # longitude only where latitude is in the band
        inside = bbox.contains(lon.read(start, stop), band[start - lo : stop - lo])
        ranges += runs(inside, offset=start)
    return ranges


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
    def open(cls, group: h5py.Group, beam: str) -> BeamColumns:
        """Check one beam group that has every core variable (see :func:`missing_core`).

        Raises
        ------
        LayoutError
            A variable that is not a 1-D array of numbers as long as ``latitude``: one
            line naming the beam, the variable and the problem.
        """
        lis = group["land_ice_segments"]
        size = _check_shape(lis.get("latitude"), beam, "latitude", None)
        columns = {}
        for name, path in COPIED_VARIABLES.items():
            dataset = lis.get(path)
            if dataset is not None:
                _check_shape(dataset, beam, path, size)
                columns[name] = Column(dataset, keep=name in ("lat", "lon"))
        absent = [name for name in COPIED_VARIABLES if name not in columns]
        return cls(beam=beam, size=size, columns=columns, absent=absent)

    def end_latitudes(self) -> list[float]:
        """Latitude of the first and last segment (reads one or two chunks, kept)."""
        if self.size == 0:
            return []
        lat = self.columns["lat"]
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

    @property
    def bytes_read(self) -> int:
        """Stored bytes fetched so far, all variables."""
        return sum(c.bytes_read for c in self.columns.values())


def _check_shape(dataset, beam: str, path: str, size: int | None) -> int:
    """The dataset's length, or LayoutError if it is not a 1-D array of numbers of ``size``."""
    where = f"{beam}/land_ice_segments/{path}"
    if not isinstance(dataset, h5py.Dataset):
        raise LayoutError(f"{where} is a group, not a dataset")
    if dataset.dtype.kind not in "fiub":
        raise LayoutError(f"{where} holds {_kind(dataset.dtype)}, not numbers")
    if len(dataset.shape) != 1:
        raise LayoutError(f"{where} has shape {dataset.shape}, not one value per segment")
    if size is not None and dataset.shape[0] != size:
        raise LayoutError(
            f"{where} has {dataset.shape[0]} values but latitude has {size} (truncated?)"
        )
    return int(dataset.shape[0])


def _kind(dtype: np.dtype) -> str:
    if dtype.kind in "SUO" or h5py.check_string_dtype(dtype) is not None:
        return "text"
    return f"{dtype} values"
