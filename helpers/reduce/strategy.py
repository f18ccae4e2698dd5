"""How a granule's beams are read: whole or by box, remote chunks prefetched, the next beam
read ahead.

- With a box, only the rows that may lie in it are read
  (:class:`~helpers.reduce.reading.BoxSearch`): by bisecting latitude for remote granules,
  where bytes count, and from every latitude for local ones (cheap, and right for any
  file: see :mod:`helpers.reduce.reading`); bisection only outside the polar turns, where
  latitude is monotonic.
- For a remote granule, every read of many chunks is announced first, so that they are
  fetched in one concurrent batch (:meth:`~helpers.reduce.reading.BeamColumns.prefetch`).
- With ``ahead``, one thread reads the next beam while the caller reduces this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

from helpers.bbox import BBox
from helpers.errors import GranuleError
from helpers.granules import POLAR_TURN_REGIONS
from helpers.reduce.reading import BeamColumns, BoxSearch, missing_core, pad_and_merge

#: Regions whose latitude may turn back within a beam: the polar turns, and 0 (unknown).
MAY_TURN = (0, *POLAR_TURN_REGIONS)

def box_search(bbox: BBox | None, region: int, remote: bool) -> BoxSearch | None:
    """The search for a granule's rows in ``bbox`` (None: read whole beams).

    Latitude is bisected only where bytes count (``remote``) and where it is monotonic
    (not in a polar turn, nor in an unknown region).
    """
    if bbox is None:
        return None
    return BoxSearch(bbox, monotonic=remote and region not in MAY_TURN)


def read_beam(
    group: h5py.Group, bbox: BBox | None = None, monotonic: bool = True
) -> dict[str, np.ndarray]:
    """Read the copied variables of one beam's ``land_ice_segments`` group.

    Parameters
    ----------
    group : h5py.Group
        A beam group (``f["gt1l"]``) of an open granule.
    bbox : BBox, optional
        Read only the index ranges that can hold points in this box (plus each range's
        neighbours); default: every segment.
    monotonic : bool
        Whether latitude may be assumed monotonic along the beam (any granule region but
        the polar turns, 4 and 11); a contradiction found while reading is handled.

    Returns
    -------
    dict of numpy.ndarray
        Output name -> values, for every copied variable; optional variables the beam
        lacks are filled (:data:`helpers.reduce.variables.ABSENT_VALUES`).

    Raises
    ------
    GranuleError
        A core variable missing, or a malformed dataset (the message says which).
    """
    beam = group.name.rsplit("/", 1)[-1]
    missing = missing_core(group)
    if missing:
        raise GranuleError(f"missing core variable(s) {', '.join(missing)} in {beam}")
    search = BoxSearch(bbox, monotonic) if bbox is not None else None
    return read_rows(BeamColumns.open(group, beam), search)


def read_rows(columns: BeamColumns, search: BoxSearch | None) -> dict[str, np.ndarray]:
    """A beam's variables: all rows, or the rows that may be in the search's box and their
    neighbours.

    The ascending flag of a row depends on its neighbours in time; they are read with it,
    and if the rows read are not in time order (or hold one latitude only), the whole beam
    is read instead, so the flag is the one a whole read gives. Every read of many chunks is
    announced first (:meth:`BeamColumns.prefetch`: remote sources fetch them in one batch).
    """

    def read(rows=None) -> dict[str, np.ndarray]:
        columns.prefetch(rows)
        return columns.read(rows)

    if search is None:
        return read()
    lat = columns.columns["lat"]
    rows = pad_and_merge(search.rows(lat, columns.columns["lon"]), columns.size, lat.chunk_len)
    if rows == [(0, columns.size)]:
        return read()
    raw = read(rows)
    t, y = raw["t_dt"], raw["lat"]
    if t.size and (np.any(t[1:] < t[:-1]) or (y.size > 1 and np.all(y == y[0]))):
        return read()
    return raw


def read_each(
    beams: list[BeamColumns], read: Callable[[BeamColumns], dict], ahead: bool
) -> Iterator[tuple[BeamColumns, dict]]:
    """``(beam, read(beam))`` in order; with ``ahead``, the next beam is read in one thread
    while the caller works on this one (at most two beams in memory)."""
    if not ahead or len(beams) < 2:
        yield from ((beam, read(beam)) for beam in beams)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="atl06-read") as reader:
        pending = reader.submit(read, beams[0])
        for i, beam in enumerate(beams):
            raw = pending.result()
            if i + 1 < len(beams):
                pending = reader.submit(read, beams[i + 1])
            yield beam, raw
