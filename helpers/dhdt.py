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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Along-track length of a bin (m).
DEFAULT_BIN_M = 250.0
#: Fewest points, distinct cycles and time span (years) for a trustworthy fit.
MIN_POINTS = 20
MIN_CYCLES = 3
MIN_SPAN_YEARS = 0.5
#: Residuals are never judged against a spread below this (m): keeps precise data intact.
MIN_SIGMA_M = 0.05


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
    n = h.size
    if n < 5 or np.ptp(t) == 0:
        return _FAILED
    dx, dy, dt = x - x.mean(), y - y.mean(), t - t.mean()
    design = np.column_stack([np.ones(n), dx, dy, dt])
    # The cross-track spread of one beam pair is small: if x/y do not span a plane,
    # fit along the direction they do span only (lstsq's minimum-norm solution).
    keep = np.ones(n, dtype=bool)
    coef = np.zeros(4)
    for _ in range(max_iter):
        if keep.sum() < 5:
            return _FAILED
        coef, *_ = np.linalg.lstsq(design[keep], h[keep], rcond=1e-9)
        residuals = h - design @ coef
        sigma = max(_robust_sigma(residuals[keep]), MIN_SIGMA_M)
        new_keep = np.abs(residuals - np.median(residuals[keep])) <= n_sigma * sigma
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    used = design[keep]
    residuals = h[keep] - used @ coef
    dof = max(keep.sum() - 4, 1)
    scatter = float(np.sqrt(np.sum(residuals**2) / dof))
    try:
        cov = np.linalg.pinv(used.T @ used) * scatter**2
        dhdt_sigma = float(np.sqrt(max(cov[3, 3], 0.0)))
    except np.linalg.LinAlgError:
        dhdt_sigma = np.nan
    return TrendFit(
        dhdt=float(coef[3]),
        dhdt_sigma=dhdt_sigma,
        h0=float(coef[0]),
        slope_x=float(coef[1]),
        slope_y=float(coef[2]),
        residual_sigma=_robust_sigma(residuals),
        n_used=int(keep.sum()),
        n_rejected=int(n - keep.sum()),
        kept=keep,
    )


def along_track_bins(x: np.ndarray, y: np.ndarray, bin_m: float) -> np.ndarray:
    """Bin number of each point along the main direction of a set of (nearly straight) tracks."""
    points = np.column_stack([x - x.mean(), y - y.mean()])
    # The first principal axis of the points is the track direction.
    _, _, vt = np.linalg.svd(points[:: max(1, len(points) // 5000)], full_matrices=False)
    along = points @ vt[0]
    return np.floor((along - along.min()) / bin_m).astype(np.int64)


def estimate_dhdt(
    df,
    bin_m: float = DEFAULT_BIN_M,
    min_points: int = MIN_POINTS,
    min_cycles: int = MIN_CYCLES,
    min_span_years: float = MIN_SPAN_YEARS,
):
    """dh/dt for every along-track bin of every RGT and beam pair.

    Parameters
    ----------
    df : pandas.DataFrame (or dask, computed here)
        Reduced points with columns ``x``, ``y``, ``t_year``, ``h_li``, ``beam``, ``rgt``
        and ``cycle``.
    bin_m : float
        Bin length along track (m).
    min_points, min_cycles, min_span_years :
        Bins with fewer kept points, distinct cycles or a shorter time span get no rate.

    Returns
    -------
    pandas.DataFrame
        One row per bin with a rate: ``rgt``, ``pair``, ``bin``, ``x``, ``y`` (bin centre,
        m), ``t_mean``, ``dhdt``, ``dhdt_sigma``, ``n_used``, ``n_rejected``, ``n_cycles``.
    """
    import pandas as pd

    if hasattr(df, "compute"):
        df = df.compute()
    pair = df["beam"].astype(str).str[2].astype(int)
    rows = []
    for (rgt, pair_no), track in df.groupby([df["rgt"], pair], sort=True, observed=True):
        x, y = track["x"].to_numpy(), track["y"].to_numpy()
        bins = along_track_bins(x, y, bin_m)
        t, h = track["t_year"].to_numpy(), track["h_li"].to_numpy(dtype=np.float64)
        cycles = track["cycle"].to_numpy()
        order = np.argsort(bins, kind="stable")
        edges = np.flatnonzero(np.diff(bins[order])) + 1
        for idx in np.split(order, edges):
            if idx.size < min_points:
                continue
            n_cycles = np.unique(cycles[idx]).size
            if n_cycles < min_cycles or np.ptp(t[idx]) < min_span_years:
                continue
            fit = fit_trend(x[idx], y[idx], t[idx], h[idx])
            if not np.isfinite(fit.dhdt) or fit.n_used < min_points:
                continue
            rows.append({
                "rgt": int(rgt), "pair": int(pair_no), "bin": int(bins[idx[0]]),
                "x": float(x[idx].mean()), "y": float(y[idx].mean()),
                "t_mean": float(t[idx].mean()), "dhdt": fit.dhdt,
                "dhdt_sigma": fit.dhdt_sigma, "n_used": fit.n_used,
                "n_rejected": fit.n_rejected, "n_cycles": int(n_cycles),
            })  # fmt: skip
    return pd.DataFrame(rows)


def steepest_bin(df, center_xy: tuple[float, float], radius_m: float, bin_m: float = DEFAULT_BIN_M):
    """An illustrative bin: of all bins within ``radius_m`` of a point, the one on the
    steepest surface (largest fitted slope) with at least ``MIN_POINTS`` kept points.

    Returns
    -------
    (pandas.DataFrame, TrendFit) or None
        The bin's points and its fit; None when no bin qualifies.
    """
    near = np.hypot(df["x"] - center_xy[0], df["y"] - center_xy[1]) < radius_m
    subset = df[near]
    best = None
    pair = subset["beam"].astype(str).str[2]
    for _, track in subset.groupby([subset["rgt"], pair], observed=True):
        bins = along_track_bins(track["x"].to_numpy(), track["y"].to_numpy(), bin_m)
        for b in np.unique(bins):
            part = track[bins == b]
            if len(part) < MIN_POINTS or part["cycle"].nunique() < MIN_CYCLES:
                continue
            fit = fit_trend(part["x"], part["y"], part["t_year"], part["h_li"])
            steepness = np.hypot(fit.slope_x, fit.slope_y)
            if np.isfinite(steepness) and (best is None or steepness > best[0]):
                best = (steepness, part, fit)
    return None if best is None else (best[1], best[2])
