"""Longitude/latitude to polar stereographic coordinates, per hemisphere.

Southern points go to EPSG:3031 (WGS 84 / Antarctic Polar Stereographic: true to scale at
71°S, centred on the South Pole, the 0° meridian pointing up, +y, and 90°E to the right,
+x); northern points to EPSG:3413 (WGS 84 / NSIDC Sea Ice Polar Stereographic North, the
Greenland standard: true to scale at 70°N, 45°W pointing down, -y). Projecting northern
points to EPSG:3031 gives finite but meaningless numbers (tens of thousands of km), so
the code is chosen from the data (:func:`epsg_for_latitudes`) unless one is forced.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

#: WGS 84 / Antarctic Polar Stereographic (true at 71°S).
EPSG_SOUTH = 3031
#: WGS 84 / NSIDC Sea Ice Polar Stereographic North (true at 70°N).
EPSG_NORTH = 3413


def transformer(epsg: int = EPSG_SOUTH):
    """A pyproj Transformer from WGS84 lon/lat to ``epsg``, built once per process and thread.

    ``always_xy=True`` keeps the (longitude, latitude) -> (x, y) order whatever the CRS
    axis order says. Building a transformer costs milliseconds, transforming 10 M points
    about a second: build once, reuse. pyproj advises against sharing one between threads
    (a Dask worker may run several reductions at once), so each thread gets its own.

    Parameters
    ----------
    epsg : int
        EPSG code of the target coordinates (3031 south, 3413 north).

    Returns
    -------
    pyproj.Transformer
        The same object on every call with the same code, in one thread.

    Examples
    --------
    >>> transformer() is transformer(EPSG_SOUTH)
    True
    """
    # One cache key per code, as an int: transformer() and transformer("3031") are the same.
    cache = _per_thread.__dict__.setdefault("transformers", {})
    code = int(epsg)
    if code not in cache:
        from pyproj import Transformer

        cache[code] = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True)
    return cache[code]


_per_thread = threading.local()


def check_epsg(epsg: int) -> int:
    """The code as an int, if pyproj knows it as a projected coordinate system.

    Parameters
    ----------
    epsg : int
        E.g. 3031, 3413, or a UTM zone such as 32610.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For a code pyproj does not know, or one that is not projected (e.g. 4326).

    Examples
    --------
    >>> check_epsg("3413")
    3413
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        code = int(epsg)
        crs = CRS.from_epsg(code)
    except (CRSError, ValueError, TypeError) as err:
        raise ValueError(f"EPSG:{epsg} is not a coordinate system pyproj knows") from err
    if not crs.is_projected:
        raise ValueError(f"EPSG:{code} ({crs.name}) is not projected: x/y must be in metres")
    return code


def epsg_for_latitudes(latitudes: npt.ArrayLike) -> tuple[int, str]:
    """The polar stereographic code for points of one granule, and a note if it straddles.

    The hemisphere is that of the point farthest from the equator: a granule wholly
    south of it gets EPSG:3031, one wholly north EPSG:3413. One that straddles the
    equator (granule regions 1, 7, 8 and 14 end there) is projected whole to the
    hemisphere of its most poleward point, and the note says so.

    Parameters
    ----------
    latitudes : array_like
        Degrees; the extremes are enough (e.g. each beam's first and last segment).

    Returns
    -------
    (int, str)
        The EPSG code, and a one-line note (empty unless the points straddle the equator).

    Examples
    --------
    >>> epsg_for_latitudes([-75.2, -79.0])
    (3031, '')
    >>> epsg_for_latitudes([58.6, 57.5])[0]
    3413
    >>> epsg, note = epsg_for_latitudes([-0.2, 26.9])
    >>> epsg, note.split(":")[0]
    (3413, 'points straddle the equator (-0.2 to 26.9 degrees)')
    """
    lat = np.asarray(latitudes, dtype=np.float64).ravel()
    lat = lat[np.isfinite(lat) & (np.abs(lat) <= 90)]
    if lat.size == 0:
        return EPSG_SOUTH, ""
    poleward = lat[np.argmax(np.abs(lat))]
    epsg = EPSG_NORTH if poleward > 0 else EPSG_SOUTH
    if lat.min() < 0 < lat.max():
        return epsg, (
            f"points straddle the equator ({lat.min():.1f} to {lat.max():.1f} degrees): all "
            f"projected to EPSG:{epsg}, the hemisphere of the most poleward point"
        )
    return epsg, ""


def lonlat_to_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, epsg: int = EPSG_SOUTH
) -> tuple[np.ndarray, np.ndarray]:
    """Project longitude/latitude (degrees) to ``epsg`` coordinates (m).

    Parameters
    ----------
    lon, lat : array_like
        Degrees (WGS 84).
    epsg : int
        Target coordinates; default EPSG:3031 (never use it for northern points: see
        :func:`epsg_for_latitudes`).

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

    In Greenland, 45°W points straight down in EPSG:3413 (x = 0, y < 0):

    >>> x, y = lonlat_to_xy([-45.0], [70.0], epsg=EPSG_NORTH)
    >>> abs(x.round(1)).tolist(), bool(y[0] < 0)
    ([0.0], True)
    """
    x, y = transformer(epsg).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def xy_to_lonlat(
    x: npt.ArrayLike, y: npt.ArrayLike, epsg: int = EPSG_SOUTH
) -> tuple[np.ndarray, np.ndarray]:
    """Project ``epsg`` coordinates (m) back to longitude/latitude (degrees).

    Examples
    --------
    >>> lon, lat = xy_to_lonlat([-1613886.4], [-284571.7])
    >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
    (-100.0, -75.0)
    """
    lon, lat = transformer(epsg).transform(
        np.asarray(x, float), np.asarray(y, float), direction="INVERSE"
    )
    return np.asarray(lon), np.asarray(lat)


def areal_scale(x: npt.ArrayLike, y: npt.ArrayLike, epsg: int = EPSG_SOUTH) -> np.ndarray:
    """How much the projection enlarges areas at each point: map area / true area.

    Polar stereographic projections are conformal, so this is ``k**2``, the square of the
    point scale factor: 1 on the latitude of true scale (71°S for EPSG:3031, 70°N for
    EPSG:3413), below 1 poleward of it, above 1 equatorward. A true area is a map area
    divided by it (from pyproj's ``Proj.get_factors``).

    Parameters
    ----------
    x, y : array_like
        ``epsg`` coordinates (m).
    epsg : int
        Their projection.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> x, y = lonlat_to_xy([0.0, -100.0], [-71.0, -75.0])
    >>> areal_scale(x, y).round(4).tolist()
    [1.0, 0.9794]
    """
    from pyproj import Proj

    lon, lat = xy_to_lonlat(x, y, epsg)
    factors = Proj(f"EPSG:{int(epsg)}").get_factors(lon, lat)
    return np.asarray(factors.areal_scale)


def bbox_extent(
    bbox, epsg: int = EPSG_SOUTH, n: int = 100
) -> tuple[float, float, float, float]:
    """``(xmin, xmax, ymin, ymax)`` (m) of a longitude/latitude box in ``epsg``.

    The box's edges are sampled densely: in a polar projection a parallel is a curve, so
    its corners alone do not bound it.

    Parameters
    ----------
    bbox : sequence of float
        ``[W, S, E, N]`` in degrees (W > E crosses the antimeridian).
    epsg : int
        Target coordinates.
    n : int
        Points along each edge.

    Examples
    --------
    >>> [round(v / 1e3) for v in bbox_extent([-102.0, -76.0, -98.0, -74.5])]
    [-1678, -1495, -352, -213]
    """
    west, south, east, north = (float(v) for v in bbox)
    width = (east - west) % 360.0 or 360.0
    lon = west + np.linspace(0.0, width, n)
    lat = np.linspace(south, north, n)
    edges_lon = np.concatenate([lon, lon, np.full(n, west), np.full(n, west + width)])
    edges_lat = np.concatenate([np.full(n, south), np.full(n, north), lat, lat])
    x, y = lonlat_to_xy(edges_lon, edges_lat, epsg)
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())
