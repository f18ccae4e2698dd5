"""Longitude/latitude to polar stereographic coordinates (EPSG:3031 for Antarctica).

EPSG:3031 is true to scale at 71°S, centred on the South Pole, with the 0° meridian
pointing up (+y) and 90°E to the right (+x).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

#: EPSG code of the output coordinates: WGS 84 / Antarctic Polar Stereographic (true at 71 S).
EPSG_SOUTH = 3031


def transformer(epsg: int = EPSG_SOUTH):
    """A pyproj Transformer from WGS84 lon/lat to ``epsg``, built once per process.

    ``always_xy=True`` keeps the (longitude, latitude) -> (x, y) order whatever the CRS
    axis order says. Building a transformer costs milliseconds, transforming 10 M points
    about a second: build once, reuse.

    Parameters
    ----------
    epsg : int
        EPSG code of the target coordinates (3031 south, 3413 north).

    Returns
    -------
    pyproj.Transformer
        The same object on every call with the same code.

    Examples
    --------
    >>> transformer() is transformer(EPSG_SOUTH)
    True
    """
    # One cache key per code: lru_cache alone would build again for transformer() after
    # transformer(3031), as it keys on how the arguments were passed.
    return _cached_transformer(int(epsg))


@lru_cache(maxsize=8)
def _cached_transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def lonlat_to_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, epsg: int = EPSG_SOUTH
) -> tuple[np.ndarray, np.ndarray]:
    """Project longitude/latitude (degrees) to ``epsg`` coordinates (m).

    Parameters
    ----------
    lon, lat : array_like
        Degrees (WGS 84).
    epsg : int
        Target coordinates; default EPSG:3031 (never use it for northern points).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        x and y in metres.

    Examples
    --------
    Pine Island Glacier (100°W, 75°S), and a point on the true-scale latitude, 71°S, on
    the 0° meridian (so at x = 0):

    >>> x, y = lonlat_to_xy([-100.0, 0.0], [-75.0, -71.0])
    >>> x.round(1).tolist(), y.round(1).tolist()
    ([-1613886.4, 0.0], [-284571.7, 2082760.1])
    """
    x, y = transformer(epsg).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)
