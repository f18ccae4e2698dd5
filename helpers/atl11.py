"""NASA's ATL11 repeat-track heights: ``h_corr`` per reference point and cycle, and dh/dt.

ATL11 (*slope-corrected land ice height time series*, level 3B) is made from ATL06 along each
reference ground track. Every 60 m along track, at the centre of a beam pair, is a
*reference point* (``ref_pt``: the ATL06 ``segment_id`` there). ATL11 fits one small surface
(a polynomial in along- and across-track distance) to the ATL06 segments of every cycle
around it, then gives each cycle's height *at the reference point*, ``h_corr`` (m): the
across-track slope is corrected already, so the cycles of one point can be compared as they
are. One group per beam pair (``pt1``-``pt3``), arrays of reference points x cycles, with
``delta_time`` (GPS seconds since 2018-01-01), ``h_corr_sigma`` (random error, m),
``h_corr_sigma_systematic`` (errors shared by neighbouring points, such as pointing, m) and
``quality_summary`` (0: no problem found).

The rate at one reference point is the least-squares line through its usable cycles: those
with a height, ``quality_summary == 0``, and within :data:`MAX_DEPARTURE_M` of the point's
median height (a cloud top hundreds of metres up can pass the quality flag). A rate needs
:data:`MIN_CYCLES` cycles spanning :data:`MIN_SPAN_YEARS`. Two uncertainties are given: from
the scatter of the cycles about the line (seasonal snow and melt included), and from the
errors ATL11 states for each height.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from helpers.gpstime import gps_to_decimal_year

#: Seconds in a year for rates: 365.25 days, ATL11's own ``t_scale`` (a calendar year of
#: decimal-year time is 365 or 366 days, which would make rates differ by 0.3 % year to year).
SECONDS_PER_YEAR = 365.25 * 86400.0
#: Cycle heights further than this from the reference point's median height are left out (m).
MAX_DEPARTURE_M = 10.0
#: Fewest usable cycles, and shortest time span between them (years), for a rate.
MIN_CYCLES = 3
MIN_SPAN_YEARS = 1.0


@dataclass(frozen=True)
class ATL11Pair:
    """One beam pair of an ATL11 file: reference points (rows) by cycles (columns).

    Attributes
    ----------
    pair : int
        Beam pair, 1-3 (group ``pt1``-``pt3``).
    ref_pt : numpy.ndarray of int
        Reference point numbers (ATL06 ``segment_id`` at the point; 3 per 60 m).
    latitude, longitude : numpy.ndarray
        Position of each reference point (degrees).
    cycles : numpy.ndarray of int
        The cycle of each column.
    delta_time : numpy.ndarray
        Time of each height (GPS seconds since 2018-01-01); NaN where there is none.
    t_year : numpy.ndarray
        The same as UTC decimal years, for plots and tables.
    h_corr, h_corr_sigma, h_corr_sigma_systematic : numpy.ndarray
        Height at the reference point and its random and systematic errors (m); NaN for fill.
    quality : numpy.ndarray of int8
        ``quality_summary`` (0: no problem found; 127: fill).
    """

    pair: int
    ref_pt: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    cycles: np.ndarray
    delta_time: np.ndarray
    t_year: np.ndarray
    h_corr: np.ndarray
    h_corr_sigma: np.ndarray
    h_corr_sigma_systematic: np.ndarray
    quality: np.ndarray


def read_pair(path: str | os.PathLike, pair: int) -> ATL11Pair:
    """Read one beam pair of an ATL11 file; fill values become NaN.

    Parameters
    ----------
    path : path-like
        An ATL11 file (``ATL11_ttttrr_c1c2_vvv_ee.h5``, or an NSIDC subset of one).
    pair : int
        Beam pair, 1-3.

    Returns
    -------
    ATL11Pair

    Examples
    --------
    >>> pt2 = read_pair("processed_ATL11_135803_0311_004_01.h5", 2)  # doctest: +SKIP
    >>> pt2.h_corr.shape  # reference points x cycles  # doctest: +SKIP
    (3315, 9)
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f[f"pt{pair}"]
        epoch = float(f["ancillary_data/atlas_sdp_gps_epoch"][0])
        delta_time = _floats(group["delta_time"])
        return ATL11Pair(
            pair=pair,
            ref_pt=group["ref_pt"][:],
            latitude=_floats(group["latitude"]),
            longitude=_floats(group["longitude"]),
            cycles=group["cycle_number"][:].astype(int),
            delta_time=delta_time,
            t_year=_decimal_years(delta_time + epoch),
            h_corr=_floats(group["h_corr"]),
            h_corr_sigma=_floats(group["h_corr_sigma"]),
            h_corr_sigma_systematic=_floats(group["h_corr_sigma_systematic"]),
            quality=group["quality_summary"][:],
        )


def _floats(dataset) -> np.ndarray:
    """A float dataset as float64, its ``_FillValue`` (and anything non-finite) as NaN."""
    values = dataset[:]
    fill = dataset.attrs.get("_FillValue")
    out = values.astype(np.float64)
    if fill is not None:
        out[values == np.asarray(fill).astype(values.dtype)] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out


def _decimal_years(t_gps: np.ndarray) -> np.ndarray:
    """UTC decimal years of GPS times, NaN kept."""
    out = np.full(t_gps.shape, np.nan)
    finite = np.isfinite(t_gps)
    out[finite] = gps_to_decimal_year(t_gps[finite])
    return out


def usable_cycles(data: ATL11Pair, max_departure_m: float = MAX_DEPARTURE_M) -> np.ndarray:
    """Which heights a rate may use: a height and a time, ``quality_summary == 0``, and
    within ``max_departure_m`` of the median of the point's other such heights.

    Returns
    -------
    numpy.ndarray of bool
        Reference points x cycles.
    """
    ok = np.isfinite(data.h_corr) & np.isfinite(data.delta_time) & (data.quality == 0)
    heights = np.where(ok, data.h_corr, np.nan)
    rows = ok.any(axis=1)
    median = np.full(ok.shape[0], np.nan)
    median[rows] = np.nanmedian(heights[rows], axis=1)
    with np.errstate(invalid="ignore"):
        return ok & (np.abs(heights - median[:, None]) <= max_departure_m)


def fit_rates(
    t_year: np.ndarray,
    h: np.ndarray,
    use: np.ndarray,
    sigma: np.ndarray | None = None,
    min_cycles: int = MIN_CYCLES,
    min_span_years: float = MIN_SPAN_YEARS,
) -> dict[str, np.ndarray]:
    """A least-squares line through each row's used heights, all rows at once.

    Parameters
    ----------
    t_year, h : numpy.ndarray
        Times (years, e.g. seconds / :data:`SECONDS_PER_YEAR`) and heights (m), rows x
        cycles.
    use : numpy.ndarray of bool
        Which heights to fit.
    sigma : numpy.ndarray, optional
        Each height's stated 1-sigma error (m), for ``dhdt_sigma_stated``.
    min_cycles, min_span_years : int, float
        Rows with fewer used heights, or a shorter time span, get NaN.

    Returns
    -------
    dict of numpy.ndarray
        ``dhdt`` (m/yr); ``dhdt_sigma`` (m/yr, from the scatter about the line, n - 2
        degrees of freedom); ``dhdt_sigma_stated`` (m/yr, the stated errors propagated;
        NaN without ``sigma``, or where a used height has no stated error); ``n_cycles``;
        ``span_years``.

    Examples
    --------
    >>> t = np.array([[2019.0, 2020.0, 2021.0]])
    >>> fit = fit_rates(t, np.array([[10.0, 9.0, 8.2]]), np.ones((1, 3), bool))
    >>> round(float(fit["dhdt"][0]), 2)
    -0.9
    """
    n = use.sum(axis=1)
    t = np.where(use, t_year, 0.0)
    t_mean = t.sum(axis=1) / np.maximum(n, 1)
    dt = np.where(use, t_year - t_mean[:, None], 0.0)
    h_mean = np.where(use, h, 0.0).sum(axis=1) / np.maximum(n, 1)
    dh = np.where(use, h - h_mean[:, None], 0.0)
    s_tt = (dt**2).sum(axis=1)
    span = np.where(n > 0, np.where(use, t_year, -np.inf).max(axis=1)
                    - np.where(use, t_year, np.inf).min(axis=1), 0.0)  # fmt: skip
    ok = (n >= min_cycles) & (span >= min_span_years) & (s_tt > 0)
    rate = np.full(n.shape, np.nan)
    rate[ok] = (dt * dh).sum(axis=1)[ok] / s_tt[ok]
    residual = np.where(use, dh - rate[:, None] * dt, 0.0)
    dof = np.maximum(n - 2, 1)
    scatter = np.where(ok, np.sqrt((residual**2).sum(axis=1) / dof / np.where(ok, s_tt, 1)), np.nan)
    stated = np.full(n.shape, np.nan)
    if sigma is not None:
        weights = dt / np.where(ok, s_tt, 1.0)[:, None]
        stated[ok] = np.sqrt(np.where(use, (weights * sigma) ** 2, 0.0).sum(axis=1))[ok]
    return {"dhdt": rate, "dhdt_sigma": scatter, "dhdt_sigma_stated": stated,
            "n_cycles": n, "span_years": np.where(n > 0, span, 0.0)}  # fmt: skip


def dhdt_per_ref_point(
    path: str | os.PathLike,
    pairs: Sequence[int] = (1, 2, 3),
    max_departure_m: float = MAX_DEPARTURE_M,
):
    """dh/dt at every reference point of an ATL11 file that has enough usable cycles.

    Parameters
    ----------
    path : path-like
        An ATL11 file.
    pairs : sequence of int
        Beam pairs to use (1-3).
    max_departure_m : float
        See :func:`usable_cycles`.

    Returns
    -------
    pandas.DataFrame
        One row per reference point with a rate: ``pair``, ``ref_pt``, ``latitude``,
        ``longitude`` (degrees), ``h_mean`` (m), and the :func:`fit_rates` columns (rates
        in m per year of 365.25 days).
        The stated errors combine ``h_corr_sigma`` and ``h_corr_sigma_systematic``.

    Examples
    --------
    >>> rates = dhdt_per_ref_point("processed_ATL11_135803_0311_004_01.h5")  # doctest: +SKIP
    >>> rates["dhdt"].median()  # m/yr  # doctest: +SKIP
    """
    import pandas as pd

    parts = []
    for pair in pairs:
        data = read_pair(path, pair)
        use = usable_cycles(data, max_departure_m)
        sigma = np.hypot(data.h_corr_sigma, data.h_corr_sigma_systematic)
        fit = fit_rates(data.delta_time / SECONDS_PER_YEAR, data.h_corr, use, sigma)
        keep = np.isfinite(fit["dhdt"])
        with np.errstate(invalid="ignore"):
            h_mean = np.nanmean(np.where(use, data.h_corr, np.nan)[keep], axis=1)
        parts.append(pd.DataFrame({
            "pair": pair, "ref_pt": data.ref_pt[keep], "latitude": data.latitude[keep],
            "longitude": data.longitude[keep], "h_mean": h_mean,
            **{name: values[keep] for name, values in fit.items()},
        }))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
