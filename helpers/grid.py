"""A map of elevation change: dh/dt on a regular grid, with an uncertainty that counts passes.

From reduced points to cells of ``cell_m`` (e.g. 2 km in EPSG:3031), in three steps:

1. **Along-track planes** (:func:`helpers.repeat.plane_residuals`): every along-track bin of
   every repeat track gets a plane plus a trend; each kept point's height residual from its
   bin's plane ``r`` is the surface's change since the bin's mean time plus that point's
   error.
2. **One anomaly per pass and cell**: the mean ``r`` (and mean time offset) of each pass's
   points in a cell. A pass is one beam of one RGT in one cycle: its points share errors
   (a pass's height bias, its tide and atmosphere), so it counts as *one* independent
   measurement, however many segments it has in the cell.
3. **A rate per cell**: a straight line through the cell's pass anomalies against time
   (unweighted least squares); its slope is dh/dt, its 1-sigma uncertainty
   ``s / sqrt(sum((t - mean t)^2))`` with ``s`` the scatter of the passes about the line.
   That scatter is smaller than the passes' errors, because each bin's plane was fitted to
   the same passes: the degrees of freedom are ``n_passes - 2 n_tracks - 2`` (a track is
   one RGT and beam pair; per track, its bins' plane and trend used four, the line two).
   Cells with fewer than :data:`MIN_PASSES` passes, :data:`helpers.dhdt.MIN_CYCLES` cycles
   or one degree of freedom get no rate. With so few degrees of freedom, a 2-sigma
   interval holds the truth somewhat less often than 95 % (Student's t).

Grounded and floating ice: given a mask function (e.g. a grounding-line product; the
sample's is ``helpers.synthetic.surface.is_grounded``), each cell is grounded or not by its
centre, only its points on the same side count, and floating cells get no rate by default
(surface lowering on a shelf is not ice loss; see notebook 7).

On a Dask DataFrame the points are shuffled by RGT (all cycles of a track meet in one
partition), partitions are processed in parallel, and only the per-pass anomalies, a small
table, are gathered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from helpers.dhdt import DEFAULT_BIN_M, FIRST_REPEAT_CYCLE, MIN_CYCLES, beam_pairs
from helpers.repeat import COLUMNS, plane_residuals

#: Default cell size (m).
DEFAULT_CELL_M = 2000.0
#: Fewest passes for a cell's rate (its uncertainty has ``n - 2`` degrees of freedom).
MIN_PASSES = 6

_ANOMALY_DTYPES = {"ix": "i8", "iy": "i8", "rgt": "i8", "cycle": "i8", "beam": "object",
                   "track": "i8", "n": "i8", "r": "f8", "dt": "f8", "x": "f8",
                   "y": "f8"}  # fmt: skip
_ANOMALY_META = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in _ANOMALY_DTYPES.items()})

GroundedMask = Callable[[np.ndarray, np.ndarray], np.ndarray]


def pass_anomalies(points: pd.DataFrame, cell_m: float = DEFAULT_CELL_M,
                   bin_m: float = DEFAULT_BIN_M, min_cycle: int = FIRST_REPEAT_CYCLE,
                   grounded: GroundedMask | None = None) -> pd.DataFrame:  # fmt: skip
    """Each pass's mean height anomaly in each cell it crosses (step 2 of the module).

    Parameters
    ----------
    points : pandas.DataFrame
        Reduced points (:data:`helpers.repeat.COLUMNS`), every cycle of each RGT present.
    cell_m : float
        Cell size (m); cell ``(ix, iy)`` spans ``[ix, ix + 1) * cell_m`` in x, same in y.
    bin_m, min_cycle
        As for :func:`helpers.dhdt.estimate_dhdt`.
    grounded : callable, optional
        ``grounded(x, y) -> bool array``; points on the other side than their cell's
        centre are left out.

    Returns
    -------
    pandas.DataFrame
        ``ix``, ``iy``, ``rgt``, ``cycle``, ``beam``, ``track`` (RGT and pair), ``n``
        (points), ``r`` (mean residual, m), ``dt`` (mean time offset, years), ``x``, ``y``
        (mean position, m).
    """
    res = plane_residuals(points, bin_m=bin_m, min_cycle=min_cycle)
    if res.empty:
        return _ANOMALY_META.copy()
    ix = np.floor(res["x"].to_numpy() / cell_m).astype(np.int64)
    iy = np.floor(res["y"].to_numpy() / cell_m).astype(np.int64)
    track = res["rgt"].to_numpy(dtype=np.int64) * 4 + beam_pairs(res["beam"])
    res = res.assign(ix=ix, iy=iy, beam=res["beam"].astype(str), track=track)
    if grounded is not None:
        centre = grounded((ix + 0.5) * cell_m, (iy + 0.5) * cell_m)
        res = res[np.asarray(grounded(res["x"], res["y"])) == np.asarray(centre)]
    groups = res.groupby(["ix", "iy", "rgt", "cycle", "beam", "track"], sort=False)
    out = groups.agg(n=("r", "size"), r=("r", "mean"), dt=("dt", "mean"), x=("x", "mean"),
                     y=("y", "mean")).reset_index()  # fmt: skip
    return out.astype(_ANOMALY_DTYPES)


def cell_rates(anomalies: pd.DataFrame, min_passes: int = MIN_PASSES,
               min_cycles: int = MIN_CYCLES) -> pd.DataFrame:  # fmt: skip
    """The rate of every cell from its passes' anomalies (step 3 of the module).

    Parameters
    ----------
    anomalies : pandas.DataFrame
        :func:`pass_anomalies` (of all partitions, concatenated).
    min_passes, min_cycles : int
        Fewer passes or cycles: no rate (NaN), the counts are still given.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``ix``, ``iy``, ``dhdt``, ``dhdt_sigma`` (m/yr), ``n_passes``,
        ``n_cycles``, ``n_points``, ``x_mean``, ``y_mean`` (mean position of the points, m).
    """
    a = anomalies.assign(w=anomalies["n"] * 1.0, xx=anomalies["dt"] ** 2,
                         xa=anomalies["dt"] * anomalies["r"], aa=anomalies["r"] ** 2,
                         px=anomalies["x"] * anomalies["n"], py=anomalies["y"] * anomalies["n"])
    g = a.groupby(["ix", "iy"])
    s = g.agg(n_passes=("r", "size"), n_points=("n", "sum"), sx=("dt", "sum"), sa=("r", "sum"),
              sxx=("xx", "sum"), sxa=("xa", "sum"), saa=("aa", "sum"), px=("px", "sum"),
              py=("py", "sum"))  # fmt: skip
    s["n_cycles"] = g["cycle"].nunique()
    n = s["n_passes"].to_numpy(dtype=float)
    dof = n - 2 * g["track"].nunique().to_numpy() - 2
    sxx = s["sxx"] - s["sx"] ** 2 / n
    sxa = s["sxa"] - s["sx"] * s["sa"] / n
    saa = s["saa"] - s["sa"] ** 2 / n
    ok = (n >= min_passes) & (s["n_cycles"] >= min_cycles) & (sxx > 0) & (dof >= 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(ok, sxa / sxx, np.nan)
        scatter = np.clip(saa - slope * sxa, 0, None) / dof
        sigma = np.where(ok, np.sqrt(scatter / sxx), np.nan)
    out = pd.DataFrame({"dhdt": slope, "dhdt_sigma": sigma, "n_passes": s["n_passes"],
                        "n_cycles": s["n_cycles"], "n_points": s["n_points"],
                        "x_mean": s["px"] / s["n_points"], "y_mean": s["py"] / s["n_points"],
                        "dt_mean": s["sx"] / n, "dt_spread": np.sqrt(sxx)},
                       index=s.index)  # fmt: skip
    return out.reset_index()


def pass_weights(anomalies: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """How much each pass's error moves its cell's rate, in units of the cell's sigma.

    A cell's rate is ``sum(u_p * r_p) / sqrt(Sxx)`` with ``u_p = (dt_p - mean dt) /
    sqrt(Sxx)`` (least squares), so an error ``e`` common to all of pass ``p``'s anomaly
    moves the rate by ``u_p e / sqrt(Sxx)``; with ``e`` of the size of the cell's pass
    scatter, by ``u_p * dhdt_sigma``. :mod:`helpers.volume` adds these up pass by pass, so
    that a pass crossing many cells counts as one measurement there too.

    Returns
    -------
    pandas.DataFrame
        ``ix``, ``iy``, ``pass_key`` (one integer per RGT, cycle and beam) and ``u`` for
        every anomaly of a cell with a rate; the ``u`` of a cell have squares summing to 1.
    """
    rated = cells.loc[np.isfinite(cells["dhdt"]), ["ix", "iy", "dt_mean", "dt_spread"]]
    table = anomalies.merge(rated, on=["ix", "iy"])
    key = pd.MultiIndex.from_frame(table[["rgt", "cycle", "beam"]]).factorize()[0]
    u = (table["dt"] - table["dt_mean"]) / table["dt_spread"]
    return pd.DataFrame({"ix": table["ix"], "iy": table["iy"], "pass_key": key, "u": u})


def _axis(lo: int, hi: int, cell_m: float, descending: bool = False) -> np.ndarray:
    """Cell-centre coordinates of cells ``lo..hi`` (m)."""
    idx = np.arange(lo, hi + 1)
    return ((idx[::-1] if descending else idx) + 0.5) * cell_m


def to_dataset(cells: pd.DataFrame, cell_m: float, extent=None,
               grounded: GroundedMask | None = None, keep_floating: bool = False,
               epsg: int = 3031, weights: pd.DataFrame | None = None):  # fmt: skip
    """The cells as an xarray Dataset on a regular grid (rows from north to south).

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cell_rates`.
    cell_m : float
        Cell size (m).
    extent : tuple of float, optional
        ``(xmin, xmax, ymin, ymax)`` (m) the grid must cover; default: the cells'.
    grounded : callable, optional
        ``grounded(x, y)``: adds the variable ``grounded`` (1/0 at cell centres).
    keep_floating : bool
        False: no rate on floating cells (``grounded`` given).
    epsg : int
        The x/y's EPSG code, kept in the attributes.
    weights : pandas.DataFrame, optional
        :func:`pass_weights`: kept along a dimension ``anomaly`` (``pass_row``,
        ``pass_col``, ``pass_key``, ``pass_u``) for :func:`helpers.volume.volume_change`.

    Returns
    -------
    xarray.Dataset
        ``dhdt``, ``dhdt_sigma`` (m/yr), ``n_passes``, ``n_cycles``, ``n_points``,
        ``x_mean``, ``y_mean`` (m) and, with a mask, ``grounded``; coordinates ``x``, ``y``.
    """
    import xarray as xr

    if extent is None:
        lo_x, hi_x = int(cells["ix"].min()), int(cells["ix"].max())
        lo_y, hi_y = int(cells["iy"].min()), int(cells["iy"].max())
    else:
        lo_x, hi_x = int(np.floor(extent[0] / cell_m)), int(np.ceil(extent[1] / cell_m)) - 1
        lo_y, hi_y = int(np.floor(extent[2] / cell_m)), int(np.ceil(extent[3] / cell_m)) - 1
    x, y = _axis(lo_x, hi_x, cell_m), _axis(lo_y, hi_y, cell_m, descending=True)
    inside = cells[cells["ix"].between(lo_x, hi_x) & cells["iy"].between(lo_y, hi_y)]
    col, row = inside["ix"].to_numpy() - lo_x, hi_y - inside["iy"].to_numpy()
    data = {}
    for name, fill, dtype in _VARIABLES:
        values = np.full((y.size, x.size), fill, dtype=dtype)
        values[row, col] = inside[name].to_numpy()
        data[name] = (("y", "x"), values, _ATTRS[name])
    ds = xr.Dataset(data, coords={"x": ("x", x, _ATTRS["x"]), "y": ("y", y, _ATTRS["y"])})
    if grounded is not None:
        xx, yy = np.meshgrid(x, y)
        mask = np.asarray(grounded(xx, yy)).astype(np.int8)
        ds["grounded"] = (("y", "x"), mask, _ATTRS["grounded"])
        if not keep_floating:
            for name in ("dhdt", "dhdt_sigma"):
                ds[name] = ds[name].where(mask == 1)
    if weights is not None:
        _add_weights(ds, weights, lo_x, hi_y)
    ds.attrs.update(epsg=int(epsg), cell_m=float(cell_m))
    return ds


def _add_weights(ds, weights: pd.DataFrame, lo_x: int, hi_y: int) -> None:
    """The pass weights of the cells inside the grid, along the dimension ``anomaly``."""
    col, row = weights["ix"].to_numpy() - lo_x, hi_y - weights["iy"].to_numpy()
    keep = (col >= 0) & (col < ds.sizes["x"]) & (row >= 0) & (row < ds.sizes["y"])
    for name, values in (("pass_row", row), ("pass_col", col),
                         ("pass_key", weights["pass_key"].to_numpy()),
                         ("pass_u", weights["u"].to_numpy())):  # fmt: skip
        ds[name] = ("anomaly", values[keep], _ATTRS[name])


_VARIABLES = [("dhdt", np.nan, "f4"), ("dhdt_sigma", np.nan, "f4"), ("n_passes", 0, "i4"),
              ("n_cycles", 0, "i2"), ("n_points", 0, "i4"), ("x_mean", np.nan, "f8"),
              ("y_mean", np.nan, "f8")]  # fmt: skip
_ATTRS = {
    "x": {"units": "m", "standard_name": "projection_x_coordinate",
          "long_name": "x of the cell centre"},
    "y": {"units": "m", "standard_name": "projection_y_coordinate",
          "long_name": "y of the cell centre"},
    "dhdt": {"units": "m year-1", "long_name": "surface elevation change rate"},
    "dhdt_sigma": {"units": "m year-1",
                   "long_name": "1-sigma uncertainty of dhdt, each pass one measurement"},
    "n_passes": {"units": "1", "long_name": "passes (beam, RGT, cycle) in the cell"},
    "n_cycles": {"units": "1", "long_name": "distinct cycles in the cell"},
    "n_points": {"units": "1", "long_name": "points (20 m segments) used"},
    "x_mean": {"units": "m", "long_name": "mean x of the points used"},
    "y_mean": {"units": "m", "long_name": "mean y of the points used"},
    "grounded": {"units": "1", "long_name": "1 where the cell centre is on grounded ice"},
    "pass_row": {"long_name": "row (y index) of the cell of each pass anomaly"},
    "pass_col": {"long_name": "column (x index) of the cell of each pass anomaly"},
    "pass_key": {"long_name": "which pass (RGT, cycle, beam), one integer per pass"},
    "pass_u": {"units": "1",
               "long_name": "weight of the pass in its cell's rate, in units of dhdt_sigma"},
}  # fmt: skip


def grid_dhdt(df, cell_m: float = DEFAULT_CELL_M, bin_m: float = DEFAULT_BIN_M,
              min_cycle: int = FIRST_REPEAT_CYCLE, grounded: GroundedMask | None = None,
              extent=None, keep_floating: bool = False, min_passes: int = MIN_PASSES,
              epsg: int | None = None):  # fmt: skip
    """dh/dt on a grid of ``cell_m`` cells, with its uncertainty and counts (see the module).

    Parameters
    ----------
    df : dask.dataframe.DataFrame or pandas.DataFrame
        Reduced points with ``x``, ``y``, ``t_year``, ``h_li``, ``beam``, ``rgt``, ``cycle``
        (``open_reduced(folder, columns=helpers.repeat.COLUMNS)``).
    cell_m : float
        Cell size (m).
    bin_m, min_cycle
        As for :func:`helpers.dhdt.estimate_dhdt`.
    grounded : callable, optional
        ``grounded(x, y) -> bool``: grounded/floating mask (see the module docstring).
    extent : tuple of float, optional
        ``(xmin, xmax, ymin, ymax)`` the grid covers (m); default: the cells with data.
    keep_floating : bool
        Keep rates on floating cells.
    min_passes : int
        Fewest passes for a rate.
    epsg : int, optional
        The x/y's EPSG code; default: what the loader recorded, else 3031.

    Returns
    -------
    xarray.Dataset
        See :func:`to_dataset` (with the pass weights).

    Examples
    --------
    >>> points = open_reduced("build/reduced", columns=COLUMNS)  # doctest: +SKIP
    >>> grid = grid_dhdt(points, cell_m=2000.0, grounded=surface.is_grounded)  # doctest: +SKIP
    >>> grid.dhdt.plot()  # doctest: +SKIP
    """
    import dask.dataframe as dd

    from helpers.load import epsg_of

    epsg = epsg or epsg_of(df) or 3031
    options: dict[str, Any] = {"cell_m": cell_m, "bin_m": bin_m, "min_cycle": min_cycle,
                               "grounded": grounded}  # fmt: skip
    if isinstance(df, dd.DataFrame):
        frame = df[list(COLUMNS)]
        frame = frame[frame["cycle"] >= min_cycle].shuffle(on="rgt")
        anomalies = frame.map_partitions(pass_anomalies, **options, meta=_ANOMALY_META)
        anomalies = anomalies.compute()
    else:
        anomalies = pass_anomalies(df[list(COLUMNS)], **options)
    cells = cell_rates(anomalies, min_passes=min_passes)
    weights = pass_weights(anomalies, cells)
    return to_dataset(cells, cell_m, extent, grounded, keep_floating, epsg, weights)
