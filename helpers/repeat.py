"""Every along-track bin's plane-plus-trend fit at once, and each point's height from its plane.

:mod:`helpers.dhdt` fits one bin at a time (clear, and what notebook 7 teaches); this module
fits the same model to *all* bins of a frame together, with numpy and pandas group
operations instead of a Python loop, so that millions of points take seconds. For each
along-track bin of each RGT and beam pair (``helpers.dhdt.along_track_bins``)::

    h = h0 + a (x - x0) + b (y - y0) + dhdt (t - t0)

with ``x0``, ``y0``, ``t0`` the bin's mean position and time, and the same outlier rejection
as :func:`helpers.dhdt.fit_trend` (points further than ``n_sigma`` robust standard deviations
from the fit, never judged against less than :data:`helpers.dhdt.MIN_SIGMA_M`, refitted until
nothing changes). Bins are kept under :func:`helpers.dhdt.estimate_dhdt`'s rules (enough
points, cycles and time span).

What it returns is what a grid of change needs: for every kept point, its **residual from
the bin's plane** ``r = h - h0 - a (x - x0) - b (y - y0)`` — the surface's change since
``t0`` plus that point's error — and ``t - t0``. Averaged over one pass, ``r`` is that pass's
height anomaly at its time (:mod:`helpers.grid`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.dhdt import (
    DEFAULT_BIN_M,
    FIRST_REPEAT_CYCLE,
    MIN_CYCLES,
    MIN_POINTS,
    MIN_SIGMA_M,
    MIN_SPAN_YEARS,
    along_track_bins,
    beam_pairs,
)

#: Columns :func:`plane_residuals` reads.
COLUMNS: tuple[str, ...] = ("x", "y", "t_year", "h_li", "beam", "rgt", "cycle")
#: Scale of x/y in the normal equations (m): keeps them about as large as time's (years).
_XY_SCALE_M = 100.0


def bin_codes(df: pd.DataFrame, bin_m: float = DEFAULT_BIN_M) -> np.ndarray:
    """One integer per (RGT, beam pair, along-track bin) for every row, from 0 up.

    The bins are those of :func:`helpers.dhdt.track_bins`: both beams of a pair and all
    cycles of an RGT share them.

    Parameters
    ----------
    df : pandas.DataFrame
        With ``x``, ``y`` (m), ``t_year``, ``rgt`` and ``beam``.
    bin_m : float
        Bin length along track (m).

    Returns
    -------
    numpy.ndarray of int64
    """
    codes = np.zeros(len(df), dtype=np.int64)
    if len(df) == 0:
        return codes
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    keys = df["rgt"].to_numpy(dtype=np.int64) * 4 + beam_pairs(df["beam"])
    tracks, which = np.unique(keys, return_inverse=True)
    # By track, then time: the bins do not depend on the order of the rows (a shuffled
    # dask frame gives the same bins as the files read in order).
    order = np.lexsort((df["t_year"].to_numpy(), which))
    bounds = np.r_[0, np.cumsum(np.bincount(which, minlength=tracks.size))]
    offset = 0
    for k in range(tracks.size):
        rows = order[bounds[k]:bounds[k + 1]]
        bins = along_track_bins(x[rows], y[rows], bin_m)
        codes[rows] = offset + bins
        offset += int(bins.max()) + 1
    return np.unique(codes, return_inverse=True)[1].reshape(-1)


@dataclass(frozen=True)
class BinFits:
    """The fits of every bin (arrays by bin code) and which points they kept.

    Attributes
    ----------
    coef : numpy.ndarray, shape (n_bins, 4)
        ``h0 - mean(h)`` (m), ``a``, ``b`` (m per 100 m) and ``dhdt`` (m/yr).
    center : numpy.ndarray, shape (n_bins, 4)
        Mean ``x``, ``y`` (m), ``t`` (decimal year) and ``h`` (m) of the bin's points.
    kept : numpy.ndarray of bool
        Per point: used by its bin's final fit.
    """

    coef: np.ndarray
    center: np.ndarray
    kept: np.ndarray


def _group_mean(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n)
    return np.bincount(codes, weights=values, minlength=n) / np.maximum(counts, 1)


def _solve(codes, design, h, keep, n_bins) -> np.ndarray:
    """Least-squares coefficients of every bin from its kept points (minimum-norm where the
    points do not span the plane, as ``lstsq`` gives)."""
    w = keep.astype(np.float64)
    m = design.shape[1]
    normal = np.empty((n_bins, m, m))
    rhs = np.empty((n_bins, m))
    for i in range(m):
        rhs[:, i] = np.bincount(codes, weights=w * design[:, i] * h, minlength=n_bins)
        for j in range(i, m):
            s = np.bincount(codes, weights=w * design[:, i] * design[:, j], minlength=n_bins)
            normal[:, i, j] = normal[:, j, i] = s
    return np.einsum("bij,bj->bi", np.linalg.pinv(normal, rcond=1e-12), rhs)


def _robust_spread(codes, residuals, keep, n_bins) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust standard deviation (1.4826 MAD, at least MIN_SIGMA_M) of every
    bin's kept residuals."""
    kept = pd.Series(residuals[keep]).groupby(codes[keep])
    median = kept.median().reindex(range(n_bins)).to_numpy()
    spread = pd.Series(np.abs(residuals - median[codes])[keep]).groupby(codes[keep]).median()
    sigma = 1.4826 * spread.reindex(range(n_bins)).to_numpy()
    return median, np.maximum(np.nan_to_num(sigma, nan=MIN_SIGMA_M), MIN_SIGMA_M)


def fit_bins(codes: np.ndarray, x, y, t, h, n_sigma: float = 3.0,
             max_iter: int = 10) -> BinFits:  # fmt: skip
    """Fit a plane plus a trend to every bin at once, rejecting outliers as
    :func:`helpers.dhdt.fit_trend` does.

    Parameters
    ----------
    codes : numpy.ndarray of int64
        Bin of every point (:func:`bin_codes`).
    x, y, t, h : numpy.ndarray
        Positions (m), decimal years and heights (m).
    n_sigma : float
        Rejection threshold in robust standard deviations.
    max_iter : int
        Most fit/reject rounds.

    Returns
    -------
    BinFits
        Which bins give a rate is decided later, by :func:`plane_residuals`.
    """
    n_bins = int(codes.max()) + 1 if codes.size else 0
    x, y, t, h = (np.asarray(v, dtype=np.float64) for v in (x, y, t, h))
    center = np.column_stack([_group_mean(codes, v, n_bins) for v in (x, y, t, h)])
    design = np.column_stack([np.ones_like(x), (x - center[codes, 0]) / _XY_SCALE_M,
                              (y - center[codes, 1]) / _XY_SCALE_M, t - center[codes, 2]])
    hc = h - center[codes, 3]
    keep = np.ones(h.size, dtype=bool)
    coef = np.zeros((n_bins, 4))
    active = np.ones(n_bins, dtype=bool)  # bins whose kept points changed: fit again
    for _ in range(max_iter):
        rows = np.flatnonzero(active[codes])
        sub = codes[rows]
        coef[active] = _solve(sub, design[rows], hc[rows], keep[rows], n_bins)[active]
        residuals = hc[rows] - np.einsum("ij,ij->i", design[rows], coef[sub])
        median, sigma = _robust_spread(sub, residuals, keep[rows], n_bins)
        new_keep = np.abs(residuals - median[sub]) <= n_sigma * sigma[sub]
        changed = new_keep != keep[rows]
        keep[rows] = new_keep
        active = np.bincount(sub[changed], minlength=n_bins) > 0
        if not active.any():
            break
    return BinFits(coef, center, keep)


def _usable_bins(codes, cycles, t, fits: BinFits, min_points, min_cycles,
                 min_span_years) -> np.ndarray:  # fmt: skip
    """Bins that pass :func:`helpers.dhdt.estimate_dhdt`'s rules (per bin code)."""
    n_bins = fits.coef.shape[0]
    kept = np.bincount(codes, weights=fits.kept, minlength=n_bins)
    distinct = pd.DataFrame({"b": codes, "c": cycles}).drop_duplicates()
    n_cycles = np.bincount(distinct["b"].to_numpy(), minlength=n_bins)
    frame = pd.Series(t).groupby(codes)
    span = (frame.max() - frame.min()).reindex(range(n_bins)).to_numpy()
    return (kept >= min_points) & (n_cycles >= min_cycles) & (span >= min_span_years)


def plane_residuals(df: pd.DataFrame, bin_m: float = DEFAULT_BIN_M,
                    min_cycle: int = FIRST_REPEAT_CYCLE, min_points: int = MIN_POINTS,
                    min_cycles: int = MIN_CYCLES,
                    min_span_years: float = MIN_SPAN_YEARS) -> pd.DataFrame:  # fmt: skip
    """Each kept point's height residual from its bin's fitted plane, for usable bins.

    Parameters
    ----------
    df : pandas.DataFrame
        Reduced points with :data:`COLUMNS`.
    bin_m, min_cycle, min_points, min_cycles, min_span_years
        As for :func:`helpers.dhdt.estimate_dhdt`.

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` (m), ``rgt``, ``cycle``, ``beam``, ``bin``, ``r`` (height minus the
        bin's plane at the point, m), ``dt`` (years since the bin's mean time) and
        ``dhdt`` (the bin's rate, m/yr), one row per point kept.

    Examples
    --------
    >>> res = plane_residuals(points)  # doctest: +SKIP
    >>> res.groupby(["rgt", "cycle", "beam"]).r.mean()  # doctest: +SKIP
    """
    df = df[df["cycle"] >= min_cycle]
    codes = bin_codes(df, bin_m)
    x, y, t = (df[c].to_numpy(dtype=np.float64) for c in ("x", "y", "t_year"))
    fits = fit_bins(codes, x, y, t, df["h_li"].to_numpy(dtype=np.float64))
    usable = _usable_bins(codes, df["cycle"].to_numpy(), t, fits, min_points, min_cycles,
                          min_span_years)  # fmt: skip
    rows = fits.kept & usable[codes]
    c = codes[rows]
    dt = t[rows] - fits.center[c, 2]
    h = df["h_li"].to_numpy(dtype=np.float64)[rows] - fits.center[c, 3]
    plane = (fits.coef[c, 0] + fits.coef[c, 1] * (x[rows] - fits.center[c, 0]) / _XY_SCALE_M
             + fits.coef[c, 2] * (y[rows] - fits.center[c, 1]) / _XY_SCALE_M)  # fmt: skip
    return pd.DataFrame({
        "x": x[rows], "y": y[rows], "rgt": df["rgt"].to_numpy()[rows],
        "cycle": df["cycle"].to_numpy()[rows], "beam": np.asarray(df["beam"])[rows],
        "bin": c, "r": h - plane, "dt": dt, "dhdt": fits.coef[c, 3],
    })  # fmt: skip
