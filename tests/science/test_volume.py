"""Volume change: true areas on the ellipsoid, the projection's areal scale, interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from helpers.config import PIG_BBOX
from helpers.projection import areal_scale, lonlat_to_xy
from helpers.synthetic import surface, truth
from helpers.volume import interpolation_weights, volume_change


def test_areal_scale_is_map_area_over_true_area():
    # A small longitude-latitude cell: its map area (shoelace formula on projected corners)
    # over its area on the ellipsoid (pyproj's Geod), against areal_scale at its centre.
    from pyproj import Geod

    for lon, lat in [(-100.0, -75.0), (30.0, -71.0), (160.0, -82.0)]:
        d = 0.01
        lons = np.array([lon, lon + d, lon + d, lon])
        lats = np.array([lat, lat, lat + d, lat + d])
        x, y = lonlat_to_xy(lons, lats)
        map_area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        true_area = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0])
        cx, cy = lonlat_to_xy([lon + d / 2], [lat + d / 2])
        assert areal_scale(cx, cy)[0] == pytest.approx(map_area / true_area, rel=1e-4)


def test_planted_volume_integrates_true_areas():
    from pyproj import Geod

    west, south, east, north = PIG_BBOX
    lons = np.r_[np.linspace(west, east, 200), np.linspace(east, west, 200)]
    lats = np.r_[np.full(200, south), np.full(200, north)]
    geod_km2 = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0]) / 1e6
    edges = np.linspace(south, north, 301)
    ours_km2 = truth._cell_areas_km2(edges, (east - west) / 400).sum() * 400
    # Geod joins corners by geodesics, not parallels: a small difference on 17,000 km².
    assert ours_km2 == pytest.approx(geod_km2, rel=2e-3)
    loss = truth.planted_volume_change(PIG_BBOX)
    assert loss == pytest.approx(truth.planted_volume_change(PIG_BBOX, step_deg=0.0025), rel=1e-3)
    assert truth.planted_volume_change(PIG_BBOX, grounded_only=False) < loss < 0  # shelf too


def test_interpolation_weights_reproduce_a_plane_and_fill_outside_by_nearest():
    rng = np.random.default_rng(0)
    known = rng.uniform(0, 10_000, (60, 2))
    targets = np.array([[5000.0, 5000.0], [2500.0, 7000.0], [-5000.0, 5000.0]])
    w = interpolation_weights(known, targets)
    np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
    plane = 3.0 + 0.002 * known[:, 0] - 0.001 * known[:, 1]
    values = w @ plane
    np.testing.assert_allclose(values[:2], 3.0 + 0.002 * targets[:2, 0] - 0.001 * targets[:2, 1])
    nearest = np.argmin(np.hypot(*(known - targets[2]).T))
    assert values[2] == pytest.approx(plane[nearest])


def _planted_grid(cell_m=2000.0, every=1):
    """The planted rate on a grid over the Pine Island box (every ``every``-th column only)."""
    x = np.arange(-1_680_000.0, -1_490_000.0, cell_m) + cell_m / 2
    y = np.arange(-210_000.0, -356_000.0, -cell_m) - cell_m / 2
    xx, yy = np.meshgrid(x, y)
    rate = np.where(np.arange(x.size) % every == 0, surface.planted_dhdt(xx, yy), np.nan)
    grounded = surface.is_grounded(xx, yy).astype(np.int8)
    ds = xr.Dataset({"dhdt": (("y", "x"), np.where(grounded == 1, rate, np.nan)),
                     "dhdt_sigma": (("y", "x"), np.full(xx.shape, 0.01)),
                     "grounded": (("y", "x"), grounded)}, coords={"x": x, "y": y})  # fmt: skip
    ds.attrs.update(cell_m=cell_m, epsg=3031)
    return ds


def test_a_perfect_grid_gives_the_planted_volume_with_k2_only():
    planted = truth.planted_volume_change(PIG_BBOX)
    corrected = volume_change(_planted_grid(), PIG_BBOX)
    uncorrected = volume_change(_planted_grid(), PIG_BBOX, correct_area=False)
    assert corrected.km3_per_year == pytest.approx(planted, rel=0.005)
    assert uncorrected.km3_per_year / planted - 1 < -0.015  # map areas are ~2 % too small
    assert corrected.sigma_km3_per_year == corrected.sigma_cells_km3_per_year  # no passes
    # Rates in one column out of five: the rest interpolated, still close.
    sparse = volume_change(_planted_grid(every=5), PIG_BBOX)
    assert sparse.km3_per_year == pytest.approx(planted, rel=0.01)
    assert sparse.measured_cells < sparse.cells / 4
