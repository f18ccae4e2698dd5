"""The science of one beam: the filters, and the variables derived from what they keep.

A segment is kept if and only if ``atl06_quality_summary == 0``, ``|h_li| < 10 km`` (this
drops fill values) and it lies inside the box; the kept segments get GPS time, UTC decimal
year, polar stereographic x/y and an ascending flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers.bbox import BBox
from helpers.gpstime import gps_to_decimal_year
from helpers.granules import ASCENDING_REGIONS
from helpers.projection import EPSG_SOUTH, lonlat_to_xy
from helpers.reduce.strategy import MAY_TURN
from helpers.reduce.variables import MAX_ABS_HEIGHT_M, OUTPUT_DTYPES
from helpers.tracks import is_ascending


def reduce_beam(
    raw: dict[str, np.ndarray],
    epoch: float,
    bbox: BBox | None,
    ascending_hint: bool | None,
    epsg: int = EPSG_SOUTH,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Filter one beam and add the derived variables.

    Parameters
    ----------
    raw : dict of numpy.ndarray
        As :func:`~helpers.reduce.strategy.read_beam` gives it.
    epoch : float
        ``atlas_sdp_gps_epoch`` (GPS s).
    bbox : BBox or None
        Area filter.
    ascending_hint : bool or None
        Direction for a lone point (from the granule region).
    epsg : int
        Output coordinates (EPSG:3031 by default; 3413 for northern granules).

    Returns
    -------
    (dict of numpy.ndarray, dict of int)
        The output arrays, and how many of the rows given each filter left (``read``,
        ``quality``, ``height``, ``bbox``).

    Examples
    --------
    >>> from helpers.reduce.variables import COPIED_VARIABLES
    >>> raw = {name: np.zeros(3) for name in COPIED_VARIABLES}
    >>> raw.update(lat=np.array([-75.0, -75.1, -75.2]), lon=np.full(3, -100.0),
    ...            t_dt=np.arange(3.0), h_li=np.array([100.0, 3.4e38, 120.0]))
    >>> out, counts = reduce_beam(raw, 1198800018.0, None, None)
    >>> out["h_li"].tolist(), counts
    ([100.0, 120.0], {'read': 3, 'quality': 3, 'height': 2, 'bbox': 2})
    """
    counts = {"read": raw["h_li"].size}
    # Ascending/descending is a property of the pass: decide it on every read point
    # before filtering, so gaps left by the filters cannot flip a point's direction.
    ascending = is_ascending(raw["lat"], raw["t_dt"], fallback=ascending_hint)
    keep = raw["q_flag"] == 0
    counts["quality"] = int(keep.sum())
    keep &= np.abs(raw["h_li"]) < MAX_ABS_HEIGHT_M
    counts["height"] = int(keep.sum())
    if bbox is not None:
        keep &= bbox.contains(raw["lon"], raw["lat"])
    counts["bbox"] = int(keep.sum())
    index = np.flatnonzero(keep)
    out = {name: values[index] for name, values in raw.items()}
    out["x"], out["y"] = lonlat_to_xy(out["lon"], out["lat"], epsg)
    out["t_gps"] = out["t_dt"] + epoch
    out["t_year"] = gps_to_decimal_year(out["t_gps"])
    out["is_asc"] = ascending[index]
    return {k: v.astype(OUTPUT_DTYPES[k], copy=False) for k, v in out.items()}, counts


@dataclass(frozen=True)
class BeamOutcome:
    """One beam reduced: its output arrays (None when it keeps nothing, with a note)."""

    arrays: dict[str, np.ndarray] | None
    kept: int
    note: str = ""


def reduce_one_beam(beam: str, size: int, raw: dict[str, np.ndarray], region: int,
                    epoch: float, bbox: BBox | None, epsg: int) -> BeamOutcome:  # fmt: skip
    """A beam of ``size`` segments (``raw``: the rows read) reduced, or why it keeps nothing."""
    hint = None if region in MAY_TURN else region in ASCENDING_REGIONS
    arrays, counts = reduce_beam(raw, epoch, bbox, hint, epsg)
    if counts["bbox"] > 0:
        return BeamOutcome(arrays, counts["bbox"])
    if size == 0:
        note = f"{beam}: no segments"
    elif counts["read"] == size and counts["height"] == 0:  # a whole read: all invalid
        note = f"{beam}: no valid point (quality flag or fill values)"
    else:
        note = f"{beam}: no valid point inside the bbox"
    return BeamOutcome(None, 0, note)
