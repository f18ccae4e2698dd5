"""A Pine-Island-like ice surface, with a planted elevation-change field.

The synthetic sample's heights come from here, and so does the "truth" that later
notebooks and tests compare their elevation-change estimates with.

Geometry, in polar stereographic metres (EPSG:3031): a flow axis runs from the interior
(south-east) through the grounding zone to the ice-shelf front (north-west). Along it,
``s`` is the distance inland of the grounding line and ``c`` the distance across the
axis (km). The grounded surface rises inland and away from the trunk; downstream lies a
floating shelf ~60 m above the ellipsoid, then open water beyond the front. Metre-scale
undulations give realistic along-track slopes (up to ~1 %).

The planted thinning is strongest at the grounding zone along the fast-flowing trunk
(``-PEAK_THINNING`` m/yr), fades inland over ~70 km and is weaker on the shelf; heights
change linearly in time about ``REFERENCE_EPOCH``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Grounding-zone centre (EPSG:3031, m), near 75.15 S, 100.4 W.
GROUNDING_ZONE_XY = (-1595.6e3, -292.8e3)
#: Unit vector pointing downstream (toward the ice-shelf front), in EPSG:3031.
_DOWNSTREAM = np.array([-53.5, -111.7]) / np.hypot(53.5, 111.7)
_ACROSS = np.array([_DOWNSTREAM[1], -_DOWNSTREAM[0]])
#: Distance from the grounding zone to the shelf front along the axis (km).
SHELF_LENGTH_KM = 40.0
#: Decimal year at which heights equal the static surface.
REFERENCE_EPOCH = 2019.0
#: Thinning rate at the grounding zone on the trunk (m/yr).
PEAK_THINNING = 6.0


def flow_coordinates(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Distance inland of the grounding line ``s`` and across the flow axis ``c`` (km)."""
    dx = (np.asarray(x, dtype=np.float64) - GROUNDING_ZONE_XY[0]) / 1e3
    dy = (np.asarray(y, dtype=np.float64) - GROUNDING_ZONE_XY[1]) / 1e3
    s = -(dx * _DOWNSTREAM[0] + dy * _DOWNSTREAM[1])
    c = dx * _ACROSS[0] + dy * _ACROSS[1]
    return s, c


def _inland_distance(s: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from the (trough-shaped) grounding line: negative on the shelf (km)."""
    return s + 0.5 * np.sqrt(c**2 + 10.0**2) - 5.0


def _geometry(x: npt.ArrayLike, y: npt.ArrayLike):
    """Flow coordinates ``s``, ``c``, inland distance ``q`` (km) and the open-water mask."""
    s, c = flow_coordinates(x, y)
    q = _inland_distance(s, c)
    return s, c, q, (q < 0.0) & (s < -SHELF_LENGTH_KM)


def is_grounded(x: npt.ArrayLike, y: npt.ArrayLike) -> np.ndarray:
    """True where the ice rests on bedrock, False on the floating shelf and open water."""
    return _geometry(x, y)[2] >= 0.0


def static_surface(x: npt.ArrayLike, y: npt.ArrayLike) -> np.ndarray:
    """Surface height at ``REFERENCE_EPOCH`` (m above the WGS84 ellipsoid).

    Parameters
    ----------
    x, y : array_like
        EPSG:3031 coordinates (m).
    """
    s, c, q, water = _geometry(x, y)
    grounded = 70.0 + 1400.0 * (1.0 - np.exp(-np.maximum(q, 0.0) / 260.0))
    bumps = 6.0 * np.sin(2 * np.pi * s / 8.0) * np.cos(2 * np.pi * c / 13.0) + 3.0 * np.sin(
        2 * np.pi * (s + 0.6 * c) / 3.1
    )
    grounded = grounded + bumps * (1.0 - np.exp(-np.maximum(q, 0.0) / 3.0))
    shelf = 55.0 + 15.0 * np.exp(np.minimum(q, 0.0) / 8.0)
    height = np.where(q >= 0.0, grounded, shelf)
    return np.where(water, 1.5, height)


def planted_dhdt(x: npt.ArrayLike, y: npt.ArrayLike) -> np.ndarray:
    """The elevation-change rate planted in the synthetic sample (m/yr; negative = thinning).

    Parameters
    ----------
    x, y : array_like
        EPSG:3031 coordinates (m).
    """
    _, c, q, water = _geometry(x, y)
    trunk = 0.3 + 0.7 * np.exp(-((c / 25.0) ** 2))
    grounded = -PEAK_THINNING * np.exp(-np.maximum(q, 0.0) / 70.0) * trunk
    shelf = -0.5 * PEAK_THINNING * trunk
    rate = np.where(q >= 0.0, grounded, shelf)
    return np.where(water, 0.0, rate)


def surface_height(x: npt.ArrayLike, y: npt.ArrayLike, t_year: npt.ArrayLike) -> np.ndarray:
    """True surface height at a time (m): the static surface plus the planted change.

    Parameters
    ----------
    x, y : array_like
        EPSG:3031 coordinates (m).
    t_year : array_like
        UTC decimal year.
    """
    dt = np.asarray(t_year, dtype=np.float64) - REFERENCE_EPOCH
    return static_surface(x, y) + planted_dhdt(x, y) * dt
