"""Geographic bounding boxes ``[W, S, E, N]`` in degrees, as icepyx's ``spatial_extent``.

A box whose west edge is east of its east edge (W > E) crosses the antimeridian, e.g.
the Ross Ice Shelf ``[160, -86, -150, -77]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_KM_PER_DEGREE = 111.32


def wrap_longitude(lon: npt.ArrayLike) -> np.ndarray:
    """Longitudes (or any angle, degrees) wrapped into [-180, 180).

    Parameters
    ----------
    lon : array_like
        Degrees, any range.

    Returns
    -------
    numpy.ndarray of float
        Degrees in [-180, 180).

    Examples
    --------
    >>> wrap_longitude([190.0, -181.0, 180.0]).tolist()
    [-170.0, 179.0, -180.0]
    """
    return (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class BBox:
    """A longitude/latitude box.

    Attributes
    ----------
    west, south, east, north : float
        Edges in degrees; longitudes in [-180, 180], latitudes in [-90, 90].

    Raises
    ------
    ValueError
        For edges out of range, south not below north, or zero width.

    Examples
    --------
    The Ross Ice Shelf crosses the antimeridian (W > E):

    >>> ross = BBox(160.0, -86.0, -150.0, -77.0)
    >>> ross.crosses_antimeridian, ross.width_deg
    (True, 50.0)
    >>> ross.contains([170.0, -170.0, 0.0], [-80.0, -80.0, -80.0]).tolist()
    [True, True, False]
    """

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        for name in ("west", "east"):
            value = getattr(self, name)
            if not -180.0 <= value <= 180.0:
                raise ValueError(f"bbox {name} edge {value} is outside [-180, 180] degrees")
        for name in ("south", "north"):
            value = getattr(self, name)
            if not -90.0 <= value <= 90.0:
                raise ValueError(f"bbox {name} edge {value} is outside [-90, 90] degrees")
        if self.south >= self.north:
            raise ValueError(
                f"bbox is inverted: south ({self.south}) must be below north ({self.north}); "
                "give the edges as W S E N"
            )
        if self.west == self.east:
            raise ValueError(f"bbox has zero width: west and east are both {self.west}")

    @classmethod
    def from_sequence(cls, values: Sequence[float]) -> BBox:
        """Build from ``[W, S, E, N]`` (degrees); raises ValueError for anything else.

        Examples
        --------
        >>> BBox.from_sequence([-102, -76, -98, -74.5]).as_list()
        [-102.0, -76.0, -98.0, -74.5]
        """
        if len(values) != 4:
            raise ValueError(f"a bbox needs 4 numbers W S E N, got {len(values)}")
        box = cls(*(float(v) for v in values))
        if box.crosses_antimeridian and box.width_deg > 180.0:
            # Almost always west and east swapped; a box across the antimeridian that is
            # wider than half the globe can be written as two boxes.
            raise ValueError(
                f"bbox west edge {box.west:g} is east of its east edge {box.east:g}: that is a "
                f"{box.width_deg:g}° wide box across the antimeridian; give the edges as "
                "W S E N (a box across the antimeridian, W > E, must be under 180° wide)"
            )
        return box

    @property
    def crosses_antimeridian(self) -> bool:
        """True when the box spans the 180-degree meridian (W > E)."""
        return self.west > self.east

    def as_list(self) -> list[float]:
        """``[W, S, E, N]``, as icepyx's ``spatial_extent`` takes it."""
        return [self.west, self.south, self.east, self.north]

    def contains(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> np.ndarray:
        """Boolean mask of points inside the box (edges included).

        Parameters
        ----------
        lon, lat : array_like
            Degrees; longitudes in [-180, 180).

        Returns
        -------
        numpy.ndarray of bool

        Examples
        --------
        >>> BBox(-102, -76, -98, -74.5).contains([-100, -100, -97], [-75, -74, -75]).tolist()
        [True, False, False]
        """
        lon = np.asarray(lon)
        lat = np.asarray(lat)
        in_lat = (lat >= self.south) & (lat <= self.north)
        if self.crosses_antimeridian:
            in_lon = (lon >= self.west) | (lon <= self.east)
        else:
            in_lon = (lon >= self.west) & (lon <= self.east)
        return in_lat & in_lon

    def expanded(self, margin_km: float) -> BBox:
        """The box grown by ``margin_km`` (km) on every side.

        Latitudes move by ``margin_km / 111.32`` degrees; longitudes by as many kilometres
        at the box's most poleward latitude (so at least the margin everywhere), wrapped
        across the antimeridian; a box that would go all the way round spans -180 to 180.

        Examples
        --------
        At 76°S a degree of longitude is 111.32 km x cos 76° = 26.9 km:

        >>> [round(v, 3) for v in BBox(-102, -76, -98, -74.5).expanded(111.32).as_list()]
        [-106.134, -77.0, -93.866, -73.5]
        """
        if margin_km <= 0:
            return self
        dlat = margin_km / _KM_PER_DEGREE
        coslat = np.cos(np.radians(min(89.0, max(abs(self.south), abs(self.north)))))
        dlon = margin_km / (_KM_PER_DEGREE * coslat)
        west = float(wrap_longitude(self.west - dlon))
        east = float(wrap_longitude(self.east + dlon))
        if self.width_deg + 2 * dlon >= 360.0:
            west, east = -180.0, 180.0
        return BBox(west, max(-90.0, self.south - dlat), east, min(90.0, self.north + dlat))

    @property
    def width_deg(self) -> float:
        """Longitude extent (degrees)."""
        return (self.east - self.west) % 360.0 or 360.0
