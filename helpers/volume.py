"""Volume change of the ice in an area from a dh/dt grid (km³/yr), with its uncertainty.

A grid made from ground tracks (:func:`helpers.grid.grid_dhdt`) has rates only where tracks
run; between them it is empty. The volume change of an area is the sum, over every cell of
the area, of its rate times its **true** area, so:

1. **Which cells.** Cells whose centre lies inside the longitude/latitude box, and on
   grounded ice when the grid has a ``grounded`` mask (floating ice is left out: its surface
   lowering is not ice loss).
2. **Empty cells are filled** by linear interpolation between the cells with a rate
   (barycentric weights in the Delaunay triangles of their centres, what
   ``scipy.interpolate.griddata(method="linear")`` does), and by the nearest cell with a
   rate outside their hull. The volume is then a weighted sum of the measured cells'
   rates, ``V = sum(A_eff * dhdt)``, with ``A_eff`` the area each one stands for.
3. **True areas.** A cell of ``cell_m`` x ``cell_m`` map metres covers
   ``cell_m**2 / k**2`` square metres on the ground, ``k**2`` being the polar stereographic
   areal scale (:func:`helpers.projection.areal_scale`: about 0.98 at 75°S in EPSG:3031, so
   uncorrected map areas are ~2 % too small there).
4. **Uncertainty, pass by pass.** A pass's error (its height bias above all) is shared by
   every cell it crosses, so cells along one track are not independent. With the grid's
   pass weights (``pass_u``, :func:`helpers.grid.pass_weights`), each pass moves the volume
   by ``sum over its cells of A_eff * dhdt_sigma * u``, and the passes, not the cells, are
   taken as independent: ``sigma = sqrt(sum over passes of that**2)``. (Taking the cells as
   independent instead, ``sqrt(sum((A_eff * dhdt_sigma)**2))``, is also given: it is several
   times smaller, and wrong.) Neither includes the error of interpolating between tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from helpers.bbox import BBox
from helpers.projection import areal_scale, xy_to_lonlat


@dataclass(frozen=True)
class VolumeChange:
    """A volume change and what it rests on.

    Attributes
    ----------
    km3_per_year : float
        Volume change (km³/yr; negative for a loss).
    sigma_km3_per_year : float
        Its 1-sigma uncertainty, passes taken as independent (km³/yr; cells as independent
        when the grid has no pass weights).
    sigma_cells_km3_per_year : float
        The same with every cell taken as independent (km³/yr): too small, for comparison.
    area_km2 : float
        True area of the cells summed (km²).
    measured_km2 : float
        True area of those cells that have a rate of their own (km²).
    cells, measured_cells : int
        Cells summed, and those with a rate.
    area_corrected : bool
        Whether areas were divided by the areal scale ``k**2``.
    """

    km3_per_year: float
    sigma_km3_per_year: float
    sigma_cells_km3_per_year: float
    area_km2: float
    measured_km2: float
    cells: int
    measured_cells: int
    area_corrected: bool


def interpolation_weights(known_xy: np.ndarray, target_xy: np.ndarray):
    """Sparse weights ``W`` with ``values_at_targets = W @ known_values``.

    Linear (barycentric, in the Delaunay triangles of ``known_xy``) inside their convex
    hull, nearest known point outside it.

    Parameters
    ----------
    known_xy, target_xy : numpy.ndarray, shape (n, 2) and (m, 2)
        Positions (m).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (m, n)
        Each row sums to 1.
    """
    from scipy.sparse import csr_matrix
    from scipy.spatial import Delaunay, cKDTree

    m = len(target_xy)
    rows, cols, vals = [], [], []
    inside = np.zeros(m, dtype=bool)
    if len(known_xy) >= 3:
        tri = Delaunay(known_xy)
        simplex = tri.find_simplex(target_xy)
        inside = simplex >= 0
        t = tri.transform[simplex[inside]]
        b = np.einsum("nij,nj->ni", t[:, :2], target_xy[inside] - t[:, 2])
        bary = np.column_stack([b, 1 - b.sum(axis=1)])
        rows.append(np.repeat(np.flatnonzero(inside), 3))
        cols.append(tri.simplices[simplex[inside]].ravel())
        vals.append(bary.ravel())
    outside = np.flatnonzero(~inside)
    if outside.size:
        _, nearest = cKDTree(known_xy).query(target_xy[outside])
        rows.append(outside)
        cols.append(nearest)
        vals.append(np.ones(outside.size))
    data = [np.concatenate(v) if v else np.array([]) for v in (vals, rows, cols)]
    return csr_matrix((data[0], (data[1], data[2])), shape=(m, len(known_xy)))


def _target_cells(grid, bbox: BBox) -> np.ndarray:
    """Mask (y, x) of the cells to sum: centre in the box, and grounded if masked."""
    xx, yy = np.meshgrid(grid["x"].to_numpy(), grid["y"].to_numpy())
    lon, lat = xy_to_lonlat(xx, yy, int(grid.attrs.get("epsg", 3031)))
    target = bbox.contains(lon, lat)
    if "grounded" in grid:
        target &= grid["grounded"].to_numpy() == 1
    return target


def volume_change(grid, bbox: Sequence[float] | BBox,
                  correct_area: bool = True) -> VolumeChange:  # fmt: skip
    """Volume change of the (grounded) ice of a box, from a dh/dt grid (see the module).

    Parameters
    ----------
    grid : xarray.Dataset
        From :func:`helpers.grid.grid_dhdt`: ``dhdt``, ``dhdt_sigma`` (m/yr), optionally
        ``grounded``; ``attrs`` ``cell_m`` and ``epsg``.
    bbox : sequence of float or BBox
        ``[W, S, E, N]`` (degrees): cells whose centre is inside count.
    correct_area : bool
        Divide map areas by the areal scale ``k**2`` (False shows the error of not doing so).

    Returns
    -------
    VolumeChange

    Examples
    --------
    >>> change = volume_change(grid, [-102, -76, -98, -74.5])  # doctest: +SKIP
    >>> f"{change.km3_per_year:.2f} ± {change.sigma_km3_per_year:.2f} km³/yr"  # doctest: +SKIP
    """
    box = bbox if isinstance(bbox, BBox) else BBox.from_sequence(bbox)
    target = _target_cells(grid, box)
    rate, sigma = grid["dhdt"].to_numpy(), grid["dhdt_sigma"].to_numpy()
    known = np.isfinite(rate) & np.isfinite(sigma)
    if not known.any():
        raise ValueError("the grid has no cell with a rate: nothing to sum")
    xx, yy = np.meshgrid(grid["x"].to_numpy(), grid["y"].to_numpy())
    cell_area = float(grid.attrs["cell_m"]) ** 2
    area = np.full(xx.shape, cell_area)
    if correct_area:
        area = area / areal_scale(xx, yy, int(grid.attrs.get("epsg", 3031)))
    weights = interpolation_weights(np.column_stack([xx[known], yy[known]]),
                                    np.column_stack([xx[target], yy[target]]))  # fmt: skip
    effective = np.zeros(rate.shape)
    effective[known] = weights.T @ area[target]  # m² each measured cell stands for
    volume = float(np.sum(effective[known] * rate[known])) / 1e9
    by_cell = effective * np.where(known, sigma, 0.0)  # m³/yr per 1-sigma of each cell
    cells = float(np.sqrt(np.sum(by_cell**2))) / 1e9
    passes = _by_pass(grid, by_cell) if "pass_u" in grid else cells
    return VolumeChange(volume, passes, cells, float(area[target].sum()) / 1e6,
                        float(area[target & known].sum()) / 1e6, int(target.sum()),
                        int((target & known).sum()), correct_area)  # fmt: skip


def _by_pass(grid, by_cell: np.ndarray) -> float:
    """1-sigma of the volume (km³/yr), each pass's error shared by all the cells it crosses."""
    import pandas as pd

    row, col = grid["pass_row"].to_numpy(), grid["pass_col"].to_numpy()
    moved = by_cell[row, col] * grid["pass_u"].to_numpy()
    per_pass = pd.Series(moved).groupby(grid["pass_key"].to_numpy()).sum()
    return float(np.sqrt(np.sum(per_pass.to_numpy() ** 2))) / 1e9
