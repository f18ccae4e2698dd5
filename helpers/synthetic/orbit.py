"""A simple physical model of ICESat-2's reference ground tracks (RGTs).

The satellite flies a circular orbit inclined 92 degrees. It completes 1387 revolutions
while the Earth turns 91 times under the (slowly precessing) orbit plane, then repeats
the same 1387 ground tracks exactly: one *cycle*, 91 nodal days or ~90.82 solar days.
Each revolution, counted from the ascending equator crossing (the *node*), is one RGT.

Position along a revolution is the argument of latitude ``u`` (radians from the node).
On a sphere the sub-satellite point is the unit vector
``(cos u, sin u cos i, sin u sin i)`` in a frame whose x axis points at the node; a beam
``d`` metres left of the track is rotated by ``d / R`` about the direction of flight.
The Earth turns under this frame at ``NODE_SHIFT_DEG`` per revolution.

The two timing constants were fitted to the ``orbit_info`` of four real granules (RGT 234
and 256 of cycle 1, RGT 878 and 882 of cycle 20). A constant-period clock cannot follow
the real orbit's along-track drift between orbit-maintenance manoeuvres: against every
real granule the tests hold (releases 002-209, cycles 1-20) node times agree within 8 s
(-7.6 s in April 2019) and node longitudes within 0.002 degrees, which is what the
sample needs (8 s is 3e-7 of a year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from helpers.bbox import wrap_longitude
from helpers.granules import ASCENDING_REGIONS, REGION_LATITUDES

#: Orbit inclination (degrees).
INCLINATION_DEG = 92.0
#: Number of reference ground tracks in one repeat cycle.
N_RGT = 1387
#: Earth rotations relative to the orbit plane in one cycle.
NODAL_DAYS_PER_CYCLE = 91
#: Nodal period: time between two ascending equator crossings (s).
NODAL_PERIOD_S = 5657.3810
#: ``delta_time`` (s since 2018-01-01, GPS) of the first node of RGT 1 in cycle 1.
FIRST_NODE_DELTA_TIME = 23386799.74
#: Longitude of that node (degrees east).
FIRST_NODE_LONGITUDE_DEG = -0.1287
#: Westward shift of the node longitude from one RGT to the next (degrees).
NODE_SHIFT_DEG = 360.0 * NODAL_DAYS_PER_CYCLE / N_RGT
#: Orbit numbers, as in ``orbit_info/orbit_number``, are the pass index plus this.
ORBIT_NUMBER_OFFSET = 202
#: Radius (m) used for along-track distance ``x_atc``: the WGS84 rectifying radius, so that
#: one revolution is ~40,008 km as on the ellipsoid.
TRACK_RADIUS_M = 6367449.0
#: Length of one cycle (s).
CYCLE_S = N_RGT * NODAL_PERIOD_S
#: WGS84 first eccentricity squared, to turn geocentric into geodetic latitude.
WGS84_E2 = 0.00669437999014

_SIN_I = np.sin(np.radians(INCLINATION_DEG))
_COS_I = np.cos(np.radians(INCLINATION_DEG))


def pass_index(rgt: int, cycle: int) -> int:
    """Number of revolutions from RGT 1 of cycle 1 to ``rgt`` of ``cycle``."""
    if not 1 <= rgt <= N_RGT:
        raise ValueError(f"RGT {rgt} is outside 1-{N_RGT}")
    if cycle < 1:
        raise ValueError(f"cycle {cycle} is before the first cycle (1)")
    return (cycle - 1) * N_RGT + (rgt - 1)


def node_time(rgt: int, cycle: int) -> float:
    """``delta_time`` (s) of the ascending node that starts ``rgt`` in ``cycle``."""
    return FIRST_NODE_DELTA_TIME + pass_index(rgt, cycle) * NODAL_PERIOD_S


def node_longitude(rgt: int) -> float:
    """Longitude (degrees east, in [-180, 180)) of the ascending node of ``rgt``.

    The same in every cycle: that is what an exact repeat means.
    """
    return float(wrap_longitude(FIRST_NODE_LONGITUDE_DEG - (rgt - 1) * NODE_SHIFT_DEG))


def orbit_number(rgt: int, cycle: int) -> int:
    """Orbit number since launch, as ``orbit_info/orbit_number`` counts them."""
    return pass_index(rgt, cycle) + ORBIT_NUMBER_OFFSET


def cycle_start(cycle: int) -> float:
    """``delta_time`` (s) at which ``cycle`` starts (the node of its RGT 1)."""
    return node_time(1, cycle)


def pass_at(delta_time: float) -> tuple[int, int]:
    """The (rgt, cycle) being flown at ``delta_time`` (s since 2018-01-01, GPS)."""
    index = int(np.floor((delta_time - FIRST_NODE_DELTA_TIME) / NODAL_PERIOD_S))
    if index < 0:
        raise ValueError("time is before the first ICESat-2 cycle (2018-09-28)")
    return index % N_RGT + 1, index // N_RGT + 1


def argument_of_latitude(latitude_deg: float, ascending: bool) -> float:
    """Argument of latitude (radians, in [0, 2 pi)) where the track reaches a latitude.

    Uses geocentric latitude on the sphere; ``ascending`` picks the northward crossing.
    """
    s = np.clip(np.sin(np.radians(latitude_deg)) / _SIN_I, -1.0, 1.0)
    u = float(np.arcsin(s))
    if not ascending:
        u = np.pi - u
    return u % (2.0 * np.pi)


def _region_boundaries() -> tuple[tuple[float, bool], ...]:
    """Region boundaries in orbit order, as (latitude, crossed northward?).

    Boundary 0 is the ascending node where region 1 starts; boundary ``r`` is where
    region ``r`` ends, so region ``r`` lies between boundaries ``r - 1`` and ``r``. The
    track crosses a boundary northward when a region on either side of it is flown
    northward (the polar regions 4 and 11 are entered or left by an ascending one).
    """
    regions = sorted(REGION_LATITUDES)
    boundaries = [(REGION_LATITUDES[regions[0]][0], regions[0] in ASCENDING_REGIONS)]
    for region, following in zip(regions, regions[1:] + regions[:1], strict=True):
        north = region in ASCENDING_REGIONS or following in ASCENDING_REGIONS
        boundaries.append((REGION_LATITUDES[region][1], north))
    return tuple(boundaries)


_REGION_BOUNDARIES = _region_boundaries()


def region_span(region: int) -> tuple[float, float]:
    """Argument of latitude (radians) where granule ``region`` (1-14) starts and ends.

    The end is greater than the start; region 14 ends at 2 pi (the next node).
    """
    if region not in REGION_LATITUDES:
        raise ValueError(f"granule region {region} is outside 1-14")
    angles = [argument_of_latitude(lat, north) for lat, north in _REGION_BOUNDARIES]
    bounds = np.unwrap(angles, period=2.0 * np.pi)  # monotonic from 0 to 2 pi
    return float(bounds[region - 1]), float(bounds[region])


@dataclass(frozen=True)
class TrackPoints:
    """Points along a ground track.

    Attributes
    ----------
    latitude, longitude : numpy.ndarray
        Geodetic latitude and longitude (degrees, WGS84; longitude in [-180, 180)).
    delta_time : numpy.ndarray
        GPS seconds since 2018-01-01.
    x_atc : numpy.ndarray
        Along-track distance from the ascending node (m).
    azimuth : numpy.ndarray
        Direction of flight, degrees clockwise from north.
    """

    latitude: np.ndarray
    longitude: np.ndarray
    delta_time: np.ndarray
    x_atc: np.ndarray
    azimuth: np.ndarray


def ground_track(
    rgt: int, cycle: int, x_atc: npt.ArrayLike, cross_track_m: float = 0.0
) -> TrackPoints:
    """Ground positions of a pass at given along-track distances.

    Parameters
    ----------
    rgt, cycle : int
        The pass.
    x_atc : array_like
        Along-track distance from the ascending node (m), 0 to ~40,008 km.
    cross_track_m : float
        Offset to the left of the direction of flight (m); beams sit at about
        -3300, 0 and +3300 m, each pair 90 m wide.

    Returns
    -------
    TrackPoints
    """
    x = np.asarray(x_atc, dtype=np.float64)
    u = x / TRACK_RADIUS_M
    tau = u / (2.0 * np.pi) * NODAL_PERIOD_S
    a = cross_track_m / TRACK_RADIUS_M
    cos_u, sin_u = np.cos(u), np.sin(u)
    # Sub-satellite point r and left-hand orbit normal n in the node frame.
    px = np.cos(a) * cos_u
    py = np.cos(a) * sin_u * _COS_I - np.sin(a) * _SIN_I
    pz = np.cos(a) * sin_u * _SIN_I + np.sin(a) * _COS_I
    geocentric = np.arctan2(pz, np.hypot(px, py))
    latitude = np.degrees(np.arctan(np.tan(geocentric) / (1.0 - WGS84_E2)))
    earth_turn = NODE_SHIFT_DEG * tau / NODAL_PERIOD_S
    longitude = node_longitude(rgt) + np.degrees(np.arctan2(py, px)) - earth_turn
    longitude = wrap_longitude(longitude)
    # Heading on the sphere from the velocity direction dr/du projected on east/north.
    vx, vy, vz = -sin_u, cos_u * _COS_I, cos_u * _SIN_I
    lam = np.arctan2(py, px)
    east = -np.sin(lam) * vx + np.cos(lam) * vy
    north = -np.sin(geocentric) * (np.cos(lam) * vx + np.sin(lam) * vy) + np.cos(geocentric) * vz
    # The Earth turning eastward under the track adds a westward ground-velocity part.
    spin = (
        np.radians(NODE_SHIFT_DEG)
        / NODAL_PERIOD_S
        * np.cos(geocentric)
        * NODAL_PERIOD_S
        / (2.0 * np.pi)
    )
    azimuth = np.degrees(np.arctan2(east - spin, north)) % 360.0
    return TrackPoints(
        latitude=latitude,
        longitude=longitude,
        delta_time=node_time(rgt, cycle) + tau,
        x_atc=x,
        azimuth=azimuth,
    )
