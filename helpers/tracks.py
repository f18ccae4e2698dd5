"""Ascending and descending parts of a pass.

A pass is *ascending* where the satellite moves north (latitude increases with time)
and *descending* where it moves south. Over the poles one pass does both, so the split
has to be made point by point, not once per granule at the extreme latitude (the
original tutorial's split left the last point of an ascending pass marked descending).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def is_ascending(
    latitude: npt.ArrayLike, delta_time: npt.ArrayLike, fallback: bool | None = None
) -> np.ndarray:
    """True where latitude increases with time, for every point of one beam.

    Uses the latitude change between each point's neighbours in time (one-sided at the
    ends), so the first and last points are classified like their neighbours and the
    polar turn splits exactly at the extreme latitude.

    Parameters
    ----------
    latitude : array_like
        Degrees, one beam of one pass.
    delta_time : array_like
        Seconds; need not be sorted.
    fallback : bool, optional
        Answer for a lone point (or points all at one latitude), e.g. from the granule
        region; False if not given.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    A pass over its southernmost point: south-bound, then north-bound from the turn on.

    >>> is_ascending([-80.0, -85.0, -87.0, -85.0, -80.0], [0, 1, 2, 3, 4]).tolist()
    [False, False, True, True, True]
    >>> is_ascending([-70.0], [0.0], fallback=True).tolist()  # one point: no direction
    [True]
    """
    lat = np.asarray(latitude, dtype=np.float64)
    t = np.asarray(delta_time, dtype=np.float64)
    result = np.full(lat.shape, bool(fallback), dtype=bool)
    if lat.size < 2:
        return result
    # Times are usually in order already: then the stable sort is the identity (ties keep
    # their order; NaN is never in order, and sorts last as before).
    order = None if bool(np.all(t[1:] >= t[:-1])) else np.argsort(t, kind="stable")
    lat_sorted = lat if order is None else lat[order]
    ahead = np.empty_like(lat_sorted)
    # Central difference inside, one-sided at the ends.
    ahead[1:-1] = lat_sorted[2:] - lat_sorted[:-2]
    ahead[0] = lat_sorted[1] - lat_sorted[0]
    ahead[-1] = lat_sorted[-1] - lat_sorted[-2]
    # At an exact turning point the central difference can be ~0: take the step after it.
    flat = ahead == 0
    if flat.any():
        forward = np.append(np.diff(lat_sorted), ahead[-1])
        ahead[flat] = forward[flat]
    if np.all(ahead == 0):
        return result
    if order is None:
        np.greater(ahead, 0, out=result)
    else:
        result[order] = ahead > 0
    return result
