"""Surface-elevation change rates (dh/dt) from repeat tracks.

ICESat-2 flies the same reference ground tracks every 91 days, so each short stretch of
track is measured again and again. For every stretch (an along-track *bin* of one RGT
and one beam pair) we fit heights from all cycles and both beams of the pair with

    h = h0 + a * (x - x0) + b * (y - y0) + dhdt * (t - t0)

a small plane (which absorbs the surface slope, since repeat passes and the two beams
of a pair lie tens of metres apart) plus a linear trend in time. Outliers — clouds,
the odd blunder the quality flag missed — are rejected iteratively: points further than
``n_sigma`` robust standard deviations (1.4826 x median absolute deviation) from the
fit are dropped and the fit is repeated until nothing changes.

The formal uncertainty of that fit treats every point as an independent measurement. They
are not: ATL06 segments are 40 m long and posted every 20 m, so neighbours share half their
photons, and all points of one pass share that pass's errors (pointing, orbit, atmosphere,
tide). :func:`pass_trend` gives the honest alternative, as ATL11 does: one height per pass
(the slope removed), then a line through those, with ``passes - 2`` degrees of freedom.

Only cycles from :data:`FIRST_REPEAT_CYCLE` on are used by default: in cycles 1 and 2
(October 2018 to March 2019) ICESat-2 was not pointed at its reference ground tracks, so
their passes do not repeat the later ones and would bias the fitted slopes and rates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from helpers.granules import beam_pair

#: Along-track length of a bin (m).
DEFAULT_BIN_M = 250.0
#: Fewest points, distinct cycles and time span (years) for a trustworthy fit.
MIN_POINTS = 20
MIN_CYCLES = 3
MIN_SPAN_YEARS = 0.5
#: Residuals are never judged against a spread below this (m): keeps precise data intact.
MIN_SIGMA_M = 0.05
#: First cycle flown on the reference ground tracks (from 29 March 2019): repeat tracks start here.
FIRST_REPEAT_CYCLE = 3


@dataclass(frozen=True)
class TrendFit:
    """Result of one robust plane-plus-trend fit.

    Attributes
    ----------
    dhdt : float
        Elevation-change rate (m/yr); NaN if the fit was not possible.
    dhdt_sigma : float
        Its formal 1-sigma uncertainty (m/yr), from the residual scatter.
    h0 : float
        Height at the centre of the bin and of the time span (m).
    slope_x, slope_y : float
        Surface slope along x and y (m/m).
    residual_sigma : float
        Robust spread of the kept residuals (m).
    n_used, n_rejected : int
        Points kept and rejected as outliers.
    kept : numpy.ndarray of bool or None
        Which input points the final fit used.
    """

    dhdt: float
    dhdt_sigma: float
    h0: float
    slope_x: float
    slope_y: float
    residual_sigma: float
    n_used: int
    n_rejected: int
    kept: np.ndarray | None = None


_FAILED = TrendFit(np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0, 0)


def _robust_sigma(residuals: np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the standard deviation of normal residuals."""
    return float(1.4826 * np.median(np.abs(residuals - np.median(residuals))))


def fit_trend(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    t: npt.ArrayLike,
    h: npt.ArrayLike,
    n_sigma: float = 3.0,
    max_iter: int = 10,
) -> TrendFit:
    """Fit ``h = h0 + a dx + b dy + dhdt dt`` robustly (see the module docstring).

    Parameters
    ----------
    x, y : array_like
        Point positions (m, e.g. EPSG:3031).
    t : array_like
        Times (decimal years).
    h : array_like
        Heights (m).
    n_sigma : float
        Rejection threshold in robust standard deviations.
    max_iter : int
        Most fit/reject rounds.

    Returns
    -------
    TrendFit
        NaN rate when fewer than 5 points remain or time does not vary.
    """
    x, y, t, h = (np.asarray(v, dtype=np.float64) for v in (x, y, t, h))
    if h.size < 5 or np.ptp(t) == 0:
        return _FAILED
    design = np.column_stack([np.ones(h.size), x - x.mean(), y - y.mean(), t - t.mean()])
    fitted = _fit_rejecting_outliers(design, h, n_sigma, max_iter)
    if fitted is None:
        return _FAILED
    coef, keep = fitted
    residuals = h[keep] - design[keep] @ coef
    return TrendFit(
        dhdt=float(coef[3]),
        dhdt_sigma=_formal_sigma(design[keep], residuals, column=3),
        h0=float(coef[0]),
        slope_x=float(coef[1]),
        slope_y=float(coef[2]),
        residual_sigma=_robust_sigma(residuals),
        n_used=int(keep.sum()),
        n_rejected=int(h.size - keep.sum()),
        kept=keep,
    )


def _fit_rejecting_outliers(
    design: np.ndarray, h: np.ndarray, n_sigma: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Least-squares coefficients and the kept points, refitting until no point changes side.

    None when fewer than 5 points would remain. Residuals are judged against the robust
    spread of the kept ones (never below :data:`MIN_SIGMA_M`), around their median.
    """
    keep = np.ones(h.size, dtype=bool)
    coef = np.zeros(design.shape[1])
    for _ in range(max_iter):
        if keep.sum() < 5:
            return None
        # The cross-track spread of one beam pair is small: if x/y do not span a plane,
        # fit along the direction they do span only (lstsq's minimum-norm solution).
        coef, *_ = np.linalg.lstsq(design[keep], h[keep], rcond=1e-9)
        residuals = h - design @ coef
        sigma = max(_robust_sigma(residuals[keep]), MIN_SIGMA_M)
        new_keep = np.abs(residuals - np.median(residuals[keep])) <= n_sigma * sigma
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return coef, keep


def _formal_sigma(design: np.ndarray, residuals: np.ndarray, column: int) -> float:
    """1-sigma uncertainty of one coefficient, from the residual scatter (same units)."""
    dof = max(residuals.size - design.shape[1], 1)
    scatter = float(np.sqrt(np.sum(residuals**2) / dof))
    try:
        cov = np.linalg.pinv(design.T @ design) * scatter**2
    except np.linalg.LinAlgError:
        return np.nan
    return float(np.sqrt(max(cov[column, column], 0.0)))


def flattened(fit: TrendFit, x: npt.ArrayLike, y: npt.ArrayLike, h: npt.ArrayLike) -> np.ndarray:
    """Heights with a fit's plane (surface slope) removed, as :func:`fit_trend` centred it.

    Parameters
    ----------
    fit : TrendFit
        The fit of these points.
    x, y, h : array_like
        The points it was fitted to (m).

    Returns
    -------
    numpy.ndarray
        ``h - slope_x (x - mean x) - slope_y (y - mean y)`` (m).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.asarray(h, dtype=np.float64) - fit.slope_x * (x - x.mean()) - fit.slope_y * (
        y - y.mean()
    )


class PassTrend(NamedTuple):
    """A rate fitted to one height per pass (fields documented one by one below)."""

    #: Elevation-change rate (m/yr); NaN with fewer than 3 passes.
    dhdt: float
    #: Its 1-sigma uncertainty (m/yr), from the scatter of the pass heights about the line.
    dhdt_sigma: float
    #: Passes (distinct cycles) used.
    n_passes: int


def pass_trend(t: npt.ArrayLike, h: npt.ArrayLike, passes: npt.ArrayLike) -> PassTrend:
    """The rate from one mean height per pass: each pass counts once, however many points.

    Parameters
    ----------
    t : array_like
        Times (decimal years).
    h : array_like
        Heights with the surface slope already removed (m), e.g. ``h - a dx - b dy`` of a
        :class:`TrendFit`.
    passes : array_like
        A label per point saying which pass it is from (the cycle, for one RGT).

    Returns
    -------
    PassTrend
        Line through the passes' mean times and heights; its uncertainty has
        ``n_passes - 2`` degrees of freedom (NaN with fewer than 3 passes).

    Examples
    --------
    >>> t = np.repeat([2019.25, 2019.5, 2019.75, 2020.0], 50)
    >>> h = -2.0 * (t - 2019.25) + np.tile([0.1, -0.1], 100)
    >>> fit = pass_trend(t, h, np.repeat([3, 4, 5, 6], 50))
    >>> round(fit.dhdt, 3), fit.n_passes
    (-2.0, 4)
    """
    t, h, passes = (np.asarray(v) for v in (t, h, passes))
    if passes.dtype.kind in "iu" and passes.size and passes.min() >= 0:
        which = passes  # small whole numbers (cycles): count them directly, no sorting
    else:
        which = np.unique(passes, return_inverse=True)[1].reshape(-1)
    count = np.bincount(which)
    present = count > 0
    n = int(present.sum())
    t_pass = np.bincount(which, weights=t)[present] / count[present]
    h_pass = np.bincount(which, weights=h)[present] / count[present]
    if n < 3 or np.ptp(t_pass) == 0:
        return PassTrend(np.nan, np.nan, n)
    dt = t_pass - t_pass.mean()
    rate = float(np.sum(dt * (h_pass - h_pass.mean())) / np.sum(dt**2))
    residuals = h_pass - h_pass.mean() - rate * dt
    sigma = float(np.sqrt(np.sum(residuals**2) / (n - 2) / np.sum(dt**2)))
    return PassTrend(rate, sigma, n)


def along_track_bins(x: np.ndarray, y: np.ndarray, bin_m: float) -> np.ndarray:
    """Bin number of each point along the main direction of a set of (nearly straight) tracks.

    Parameters
    ----------
    x, y : numpy.ndarray
        Point positions (m, e.g. EPSG:3031).
    bin_m : float
        Bin length along track (m).

    Returns
    -------
    numpy.ndarray of int64
        0 for the bin at one end of the tracks, counting along them.
    """
    points = np.column_stack([x - x.mean(), y - y.mean()])
    # The first principal axis of the points is the track direction.
    _, _, vt = np.linalg.svd(points[:: max(1, len(points) // 5000)], full_matrices=False)
    along = points @ vt[0]
    return np.floor((along - along.min()) / bin_m).astype(np.int64)


class TrackBin(NamedTuple):
    """One along-track bin of one RGT and beam pair (fields documented one by one below)."""

    #: Reference ground track.
    rgt: int
    #: Beam pair (1-3).
    pair: int
    #: Bin number along the track, from 0 at one end.
    bin: int
    #: Positions of the bin's points in the frame (for ``.iloc`` or numpy), in its order.
    rows: np.ndarray


def beam_pairs(beams) -> np.ndarray:
    """Pair number (1-3) of every beam name in a column, by :func:`helpers.granules.beam_pair`.

    Parameters
    ----------
    beams : array_like of str, or a pandas Series (categorical is fine)
        Ground track names such as ``"gt2l"``.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        For a name that is not a ground track, or a missing one.
    """
    import pandas as pd

    if not isinstance(beams, pd.Series):
        beams = pd.Series(np.asarray(beams, dtype=object))
    codes, names = pd.factorize(beams)  # each distinct name is looked up once
    if (codes < 0).any():
        raise ValueError("the beam column has missing values")
    return np.array([beam_pair(str(b)) for b in names], dtype=np.int64)[codes]


def track_bins(df, bin_m: float = DEFAULT_BIN_M) -> Iterator[TrackBin]:
    """Every along-track bin of every RGT and beam pair of a frame of reduced points.

    The two beams of a pair and all cycles of an RGT share the bins, so repeat passes are
    binned together. Bins come by RGT, then pair, then along the track.

    Parameters
    ----------
    df : pandas.DataFrame
        With columns ``x``, ``y`` (m, EPSG:3031), ``beam`` and ``rgt``.
    bin_m : float
        Bin length along track (m).

    Yields
    ------
    TrackBin
    """
    if len(df) == 0:
        return
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    keys = np.column_stack([df["rgt"].to_numpy(dtype=np.int64), beam_pairs(df["beam"])])
    tracks, which = np.unique(keys, axis=0, return_inverse=True)
    which = which.reshape(-1)
    by_track = np.split(np.argsort(which, kind="stable"), np.cumsum(np.bincount(which))[:-1])
    for (rgt, pair), rows in zip(tracks, by_track, strict=True):
        bins = along_track_bins(x[rows], y[rows], bin_m)
        order = np.argsort(bins, kind="stable")
        for idx in np.split(order, np.flatnonzero(np.diff(bins[order])) + 1):
            yield TrackBin(int(rgt), int(pair), int(bins[idx[0]]), rows[idx])


def estimate_dhdt(
    df,
    bin_m: float = DEFAULT_BIN_M,
    min_points: int = MIN_POINTS,
    min_cycles: int = MIN_CYCLES,
    min_span_years: float = MIN_SPAN_YEARS,
    min_cycle: int = FIRST_REPEAT_CYCLE,
):
    """dh/dt for every along-track bin of every RGT and beam pair.

    Parameters
    ----------
    df : pandas.DataFrame (or dask, computed here)
        Reduced points with columns ``x``, ``y`` (m), ``t_year`` (decimal years),
        ``h_li`` (m), ``beam``, ``rgt`` and ``cycle``.
    bin_m : float
        Bin length along track (m).
    min_points, min_cycles, min_span_years : int, int, float
        Bins with fewer kept points, distinct cycles or a shorter time span (years) get
        no rate.
    min_cycle : int
        Earlier cycles are left out: by default those not on the reference tracks; 1 keeps all.

    Returns
    -------
    pandas.DataFrame
        One row per bin with a rate: ``rgt``, ``pair``, ``bin``, ``x``, ``y`` (bin centre,
        m), ``t_mean`` (decimal year), ``dhdt``, ``dhdt_sigma`` (m/yr, formal: every point
        independent), ``dhdt_sigma_pass`` (m/yr, from one height per pass, see
        :func:`pass_trend`), ``n_used``, ``n_rejected``, ``n_cycles``.

    Examples
    --------
    >>> rates = estimate_dhdt(points, bin_m=500.0, min_cycle=1)  # doctest: +SKIP
    """
    import pandas as pd

    if hasattr(df, "compute"):
        df = df.compute()
    df = df[df["cycle"] >= min_cycle]
    x, y, t = df["x"].to_numpy(), df["y"].to_numpy(), df["t_year"].to_numpy()
    h, cycles = df["h_li"].to_numpy(dtype=np.float64), df["cycle"].to_numpy()
    limits = (min_points, min_cycles, min_span_years)
    rows = [_bin_rate(part, x, y, t, h, cycles, *limits) for part in track_bins(df, bin_m)]
    return pd.DataFrame([row for row in rows if row is not None])


def _distinct(values: np.ndarray) -> int:
    """How many distinct values; small non-negative whole numbers (cycles) without sorting."""
    if values.dtype.kind in "iu" and values.size and values.min() >= 0:
        return int(np.count_nonzero(np.bincount(values)))
    return int(np.unique(values).size)


def _bin_rate(part: TrackBin, x, y, t, h, cycles, min_points: int, min_cycles: int,
              min_span_years: float) -> dict | None:  # fmt: skip
    """One row of :func:`estimate_dhdt` for one bin, or None when it gets no rate."""
    idx = part.rows
    if idx.size < min_points:
        return None
    n_cycles = _distinct(cycles[idx])
    if n_cycles < min_cycles or np.ptp(t[idx]) < min_span_years:
        return None
    fit = fit_trend(x[idx], y[idx], t[idx], h[idx])
    if not np.isfinite(fit.dhdt) or fit.n_used < min_points:
        return None
    kept = fit.kept
    per_pass = pass_trend(t[idx][kept], flattened(fit, x[idx], y[idx], h[idx])[kept],
                          cycles[idx][kept])  # fmt: skip
    return {
        "rgt": part.rgt, "pair": part.pair, "bin": part.bin,
        "x": float(x[idx].mean()), "y": float(y[idx].mean()),
        "t_mean": float(t[idx].mean()), "dhdt": fit.dhdt,
        "dhdt_sigma": fit.dhdt_sigma, "dhdt_sigma_pass": per_pass.dhdt_sigma,
        "n_used": fit.n_used, "n_rejected": fit.n_rejected, "n_cycles": int(n_cycles),
    }  # fmt: skip


def steepest_bin(
    df,
    center_xy: tuple[float, float],
    radius_m: float,
    bin_m: float = DEFAULT_BIN_M,
    min_cycle: int = FIRST_REPEAT_CYCLE,
):
    """An illustrative bin: of all bins within ``radius_m`` of a point, the one on the
    steepest surface (largest fitted slope) with at least :data:`MIN_POINTS` points from
    :data:`MIN_CYCLES` cycles, counting cycles from ``min_cycle`` on only.

    Parameters
    ----------
    df : pandas.DataFrame
        Reduced points, as for :func:`estimate_dhdt`.
    center_xy : tuple of float
        The point (x, y in m, EPSG:3031).
    radius_m : float
        Points further than this from it (m) are left out before binning.
    bin_m : float
        Bin length along track (m).
    min_cycle : int
        Points of earlier cycles are left out (as in :func:`estimate_dhdt`).

    Returns
    -------
    (pandas.DataFrame, TrendFit) or None
        The bin's points and its fit; None when no bin qualifies.
    """
    near = np.hypot(df["x"] - center_xy[0], df["y"] - center_xy[1]) < radius_m
    subset = df[near & (df["cycle"] >= min_cycle)]
    best = None
    for part in track_bins(subset, bin_m):
        points = subset.iloc[part.rows]
        if len(points) < MIN_POINTS or points["cycle"].nunique() < MIN_CYCLES:
            continue
        fit = fit_trend(points["x"], points["y"], points["t_year"], points["h_li"])
        steepness = np.hypot(fit.slope_x, fit.slope_y)
        if np.isfinite(steepness) and (best is None or steepness > best[0]):
            best = (steepness, points, fit)
    return None if best is None else (best[1], best[2])
