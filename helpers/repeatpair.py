"""Height change between two passes of one reference ground track (a repeat pair).

ICESat-2 flies each reference ground track (RGT) again every 91-day cycle, so a stretch of
ground measured in one cycle is measured again, by the same ground track, in later ones.
ATL06's ``segment_id`` numbers the 20 m steps along the RGT from the equator, so the same
``segment_id`` on the same ground track (``gt1l`` ... ``gt3r``: a position, which a yaw flip
does not change, though it swaps strong and weak) is the same place along track.

Not quite the same place across track: each pass lands a few metres to tens of metres from
the last one (``ground_track/y_atc``), and on a slope that alone changes the height. ATL06
gives every segment the across-track slope of its beam pair, ``fit_statistics/dh_fit_dy``,
so the change at one segment is

    dh = h_late - h_early - dh_fit_dy * (y_atc_late - y_atc_early)

with ``dh_fit_dy`` averaged over the two passes. Segments are used only where both passes
have ``atl06_quality_summary == 0`` and every value (none a fill value).

Two passes give a *change*, not a trend: seasons, snowfall and firn compaction are in it,
and a single pass's errors (clouds the flag missed, pointing) are not averaged away.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from helpers.granules import BEAMS, beam_pair

#: What is read from each beam: name -> path below ``gtXY/land_ice_segments``.
PASS_VARIABLES: dict[str, str] = {
    "segment_id": "segment_id",
    "latitude": "latitude",
    "longitude": "longitude",
    "h_li": "h_li",
    "quality": "atl06_quality_summary",
    "delta_time": "delta_time",
    "x_atc": "ground_track/x_atc",
    "y_atc": "ground_track/y_atc",
    "dh_fit_dy": "fit_statistics/dh_fit_dy",
}


def read_pass(path: str | os.PathLike, beam: str) -> dict[str, np.ndarray] | None:
    """One beam of one granule, as needed for a repeat pair; fill values become NaN.

    Parameters
    ----------
    path : path-like
        An ATL06 granule (any release; a variable subset needs the :data:`PASS_VARIABLES`).
    beam : str
        Ground track, e.g. ``"gt2l"``.

    Returns
    -------
    dict of numpy.ndarray or None
        The :data:`PASS_VARIABLES` (floats as float64, metres and m/m; ``delta_time`` in
        seconds since 2018-01-01), plus ``t_gps`` (GPS seconds); None if the beam is absent.

    Raises
    ------
    KeyError
        If the beam lacks one of the variables (the message names it).

    Examples
    --------
    >>> one = read_pass("ATL06_20191106230008_06270503_006_01.h5", "gt1l")  # doctest: +SKIP
    >>> one["h_li"].size  # doctest: +SKIP
    933
    """
    import h5py

    with h5py.File(path, "r") as f:
        if beam not in f:
            return None
        group = f[beam]["land_ice_segments"]
        missing = [v for v in PASS_VARIABLES.values() if v not in group]
        if missing:
            raise KeyError(f"{os.fspath(path)}: {beam} lacks {', '.join(missing)}")
        out = {name: _read(group[source]) for name, source in PASS_VARIABLES.items()}
        epoch = float(f["ancillary_data/atlas_sdp_gps_epoch"][0])
    out["t_gps"] = out["delta_time"] + epoch
    return out


def _read(dataset) -> np.ndarray:
    """A dataset as numpy; a float dataset's ``_FillValue`` becomes NaN."""
    values = dataset[:]
    fill = dataset.attrs.get("_FillValue")
    if values.dtype.kind == "f":
        values = values.astype(np.float64)
        if fill is not None:
            values[values == np.asarray(fill).astype(dataset.dtype).item()] = np.nan
    return values


def difference_passes(early: dict[str, np.ndarray], late: dict[str, np.ndarray]):
    """Height change, segment by segment, between two passes of one ground track.

    Parameters
    ----------
    early, late : dict of numpy.ndarray
        Two passes of the same RGT and ground track, as :func:`read_pass` returns them.

    Returns
    -------
    dict of numpy.ndarray
        One element per segment usable in both passes, in ``segment_id`` order:
        ``segment_id``; ``latitude``, ``longitude`` (degrees) and ``x_atc`` (m) of the
        early pass; ``h_early`` (m); ``dy`` (m, late minus early across-track position);
        ``dh_raw`` (m, late minus early ``h_li``); ``slope_dy`` (m/m, mean ``dh_fit_dy``);
        ``dh`` (m, ``dh_raw - slope_dy * dy``); ``years`` (time between the two).

    Examples
    --------
    >>> early = dict(segment_id=np.array([1, 2]), h_li=np.array([100.0, 101.0]),
    ...              quality=np.array([0, 0]), y_atc=np.array([0.0, 0.0]),
    ...              dh_fit_dy=np.array([0.1, 0.1]), latitude=np.zeros(2),
    ...              longitude=np.zeros(2), x_atc=np.array([20.0, 40.0]),
    ...              t_gps=np.zeros(2))
    >>> late = dict(early, h_li=np.array([99.0, 100.5]), y_atc=np.array([10.0, 0.0]),
    ...             t_gps=np.full(2, 365.25 * 86400))
    >>> difference_passes(early, late)["dh"].round(2).tolist()  # 99 - 100 - 0.1 * 10 m
    [-2.0, -0.5]
    """
    usable_early, usable_late = _usable(early), _usable(late)
    ids, i, j = np.intersect1d(early["segment_id"][usable_early], late["segment_id"][usable_late],
                               return_indices=True)
    i, j = np.flatnonzero(usable_early)[i], np.flatnonzero(usable_late)[j]
    dy = late["y_atc"][j] - early["y_atc"][i]
    slope = 0.5 * (early["dh_fit_dy"][i] + late["dh_fit_dy"][j])
    dh_raw = late["h_li"][j] - early["h_li"][i]
    seconds = late["t_gps"][j] - early["t_gps"][i]
    return {
        "segment_id": ids, "latitude": early["latitude"][i],
        "longitude": early["longitude"][i], "x_atc": early["x_atc"][i],
        "h_early": early["h_li"][i], "dy": dy, "dh_raw": dh_raw, "slope_dy": slope,
        "dh": dh_raw - slope * dy, "years": seconds / (365.25 * 86400.0),
    }  # fmt: skip


def _usable(one: dict[str, np.ndarray]) -> np.ndarray:
    """Segments flagged best quality, with a height, a position across track and a slope."""
    return (
        (one["quality"] == 0)
        & np.isfinite(one["h_li"])
        & np.isfinite(one["y_atc"])
        & np.isfinite(one["dh_fit_dy"])
    )


def repeat_pair_change(
    early_path: str | os.PathLike,
    late_path: str | os.PathLike,
    beams: Sequence[str] = BEAMS,
):
    """Height change between two granules of the same RGT, for every ground track of both.

    Parameters
    ----------
    early_path, late_path : path-like
        ATL06 granules of the same RGT (and granule region), in two cycles.
    beams : sequence of str
        Ground tracks to use; those absent from either granule are left out.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`difference_passes`, plus ``beam`` and ``pair`` (1-3).

    Examples
    --------
    >>> change = repeat_pair_change(cycle_5, cycle_13)  # doctest: +SKIP
    >>> change.groupby("pair")["dh"].median()  # m  # doctest: +SKIP
    """
    import pandas as pd

    parts = []
    for beam in beams:
        early, late = read_pass(early_path, beam), read_pass(late_path, beam)
        if early is None or late is None:
            continue
        part = pd.DataFrame(difference_passes(early, late))
        part.insert(0, "beam", beam)
        part.insert(1, "pair", beam_pair(beam))
        parts.append(part)
    if not parts:
        raise ValueError(f"{os.fspath(early_path)} and {os.fspath(late_path)} share no beam")
    return pd.concat(parts, ignore_index=True)
