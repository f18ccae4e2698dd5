"""The gridded dh/dt: its fits against the one-bin fit, its uncertainty, masking, and the
planted field of the sample."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from helpers.dhdt import fit_trend, track_bins
from helpers.grid import cell_rates, grid_dhdt
from helpers.load import open_reduced
from helpers.repeat import COLUMNS, bin_codes, fit_bins, plane_residuals
from helpers.synthetic import surface


@pytest.fixture(scope="module")
def sample_points(default_reduced) -> pd.DataFrame:
    return open_reduced(default_reduced, columns=list(COLUMNS)).compute()


@pytest.fixture(scope="module")
def sample_grid(default_reduced):
    return grid_dhdt(open_reduced(default_reduced, columns=list(COLUMNS)),
                     grounded=surface.is_grounded)  # fmt: skip


def test_all_bins_at_once_fit_as_one_bin_at_a_time(sample_points):
    # Two RGTs of the sample, cycles from 3 on: every bin fitted by helpers.dhdt.fit_trend,
    # one at a time, and by helpers.repeat.fit_bins, all together.
    points = sample_points[sample_points.rgt.isin([20, 271]) & (sample_points.cycle >= 3)]
    points = points.sort_values("t_year", ignore_index=True)  # as bin_codes orders a track
    codes = bin_codes(points)
    x, y, t, h = (points[c].to_numpy(float) for c in ("x", "y", "t_year", "h_li"))
    fits = fit_bins(codes, x, y, t, h)
    compared = 0
    for part in track_bins(points):
        if part.rows.size < 20:
            continue
        one = fit_trend(x[part.rows], y[part.rows], t[part.rows], h[part.rows])
        (code,) = np.unique(codes[part.rows])  # the same bins
        if np.ptp(t[part.rows]) == 0:
            continue
        assert fits.coef[code, 3] == pytest.approx(one.dhdt, abs=1e-6)
        assert np.array_equal(fits.kept[part.rows], one.kept)
        compared += 1
    assert compared > 1000


def _planted_cell(rng, rgt, dhdt=-2.0, bias_m=0.05, noise_m=0.1, passes_per_cycle=2):
    """One 4 km cell (number ``rgt`` from x = 0 eastwards) crossed by one track, 6 cycles x 2
    beams, each pass with its own bias: the truth is ``dhdt``; errors are the biases
    (shared by a pass) and the noise."""
    rows = []
    for cycle in range(3, 9):
        t0 = 2019.0 + 0.25 * (cycle - 3)
        for beam, offset in zip(("gt2l", "gt2r")[:passes_per_cycle], (-45.0, 45.0),
                                strict=False):  # fmt: skip
            along = np.arange(0.0, 2000.0, 20.0)
            cross = offset + rng.normal(0.0, 20.0)
            x, y = 4000.0 * rgt + 2000.0 + cross + 0 * along, along
            h = 500.0 + 0.01 * x - 0.02 * y + dhdt * (t0 - 2019.0) + rng.normal(0.0, bias_m)
            rows.append(pd.DataFrame({"x": x, "y": y, "t_year": t0 + along * 1e-10,
                                      "h_li": h + rng.normal(0.0, noise_m, along.size),
                                      "beam": beam, "rgt": rgt, "cycle": cycle}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_the_uncertainty_counts_passes_not_segments():
    # Many planted cells: the 2-sigma intervals hold the truth about as often as they should
    # for ~6 degrees of freedom (Student's t: 91 %), where counting segments would give
    # intervals a few times too narrow.
    rng = np.random.default_rng(3)
    points = pd.concat([_planted_cell(rng, rgt) for rgt in range(1, 301)], ignore_index=True)
    grid = grid_dhdt(points, cell_m=4000.0, min_cycle=3)
    rated = np.isfinite(grid.dhdt.values)
    assert rated.sum() == 300 and (grid.n_passes.values[rated] == 12).all()
    z = (grid.dhdt.values[rated] + 2.0) / grid.dhdt_sigma.values[rated]
    assert 0.85 <= np.mean(np.abs(z) <= 2) <= 0.98
    assert 0.85 < np.sqrt(np.mean(np.square(z))) < 1.5
    # Counting segments (100 a pass) instead would shrink sigma about sqrt(100) times.


def test_dask_and_pandas_give_the_same_grid(sample_points, sample_grid):
    for frame in (sample_points, dd.from_pandas(sample_points, npartitions=3)):
        again = grid_dhdt(frame, grounded=surface.is_grounded)
        np.testing.assert_allclose(again.dhdt, sample_grid.dhdt, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(again.n_passes, sample_grid.n_passes)


def test_the_grid_recovers_the_planted_field(sample_grid):
    rated = np.isfinite(sample_grid.dhdt.values)
    assert rated.sum() > 1000
    assert (sample_grid.n_cycles.values[rated] >= 3).all()
    planted = surface.planted_dhdt(sample_grid.x_mean.values, sample_grid.y_mean.values)
    error = (sample_grid.dhdt.values - planted)[rated]
    sigma = sample_grid.dhdt_sigma.values[rated]
    assert np.median(np.abs(error)) <= 0.1  # m/yr
    assert 0.85 <= np.mean(np.abs(error) <= 2 * sigma) <= 0.99


def test_floating_cells_are_masked(sample_grid):
    xx, yy = np.meshgrid(sample_grid.x, sample_grid.y)
    np.testing.assert_array_equal(sample_grid.grounded, surface.is_grounded(xx, yy))
    floating = sample_grid.grounded.values == 0
    assert floating.sum() > 50 and (sample_grid.n_passes.values[floating] > 0).any()
    assert np.isnan(sample_grid.dhdt.values[floating]).all()


def test_cell_rates_of_a_straight_line():
    # Eight passes of two tracks on a line of slope -3 m/yr, +-1 cm: the rate and its scatter
    # (8 passes - 2 x 2 tracks - 2 = 2 degrees of freedom).
    anomalies = pd.DataFrame({"ix": 0, "iy": 0, "rgt": [1, 1, 1, 1, 2, 2, 2, 2],
                              "cycle": [3, 4, 5, 6, 3, 4, 5, 6], "beam": "gt1l",
                              "track": [1, 1, 1, 1, 2, 2, 2, 2], "n": 10,
                              "dt": [-1.0, -0.5, 0.5, 1.0] * 2,
                              "r": [3.01, 1.49, -1.51, -2.99, 2.99, 1.51, -1.49, -3.01],
                              "x": 0.0, "y": 0.0})  # fmt: skip
    cell = cell_rates(anomalies, min_passes=4, min_cycles=3).iloc[0]
    assert cell.dhdt == pytest.approx(-3.0, abs=1e-3)
    assert cell.n_passes == 8 and cell.n_cycles == 4
    assert 0 < cell.dhdt_sigma < 0.02


def test_residuals_are_heights_above_each_bins_plane(sample_points):
    points = sample_points[sample_points.rgt == 20]
    res = plane_residuals(points)
    # Within a bin, the residuals of the kept points follow the bin's trend in time.
    one = res[res.bin == res.bin.iloc[len(res) // 2]]
    slope = np.polyfit(one.dt, one.r, 1)[0]
    assert slope == pytest.approx(one.dhdt.iloc[0], abs=0.05)


def test_the_volume_change_of_the_sample_matches_the_planted_one(sample_grid):
    from helpers.config import PIG_BBOX
    from helpers.synthetic.truth import planted_volume_change
    from helpers.volume import volume_change

    truth = planted_volume_change(PIG_BBOX)
    corrected = volume_change(sample_grid, PIG_BBOX)
    uncorrected = volume_change(sample_grid, PIG_BBOX, correct_area=False)
    error = corrected.km3_per_year / truth - 1
    assert abs(error) <= 0.02
    # Map areas at 75 S are k^2 ~ 0.98 of the true ones: without the correction the volume
    # is ~2 % smaller in magnitude, and further from the truth here.
    shift = uncorrected.km3_per_year / corrected.km3_per_year - 1
    assert -0.03 < shift < -0.015
    assert abs(uncorrected.km3_per_year / truth - 1) > abs(error)
    # Passes, not cells, are independent: an uncertainty several times larger, about the
    # size of the error (which also holds interpolation between tracks).
    assert corrected.sigma_km3_per_year > 3 * corrected.sigma_cells_km3_per_year
    assert abs(corrected.km3_per_year - truth) < 4 * corrected.sigma_km3_per_year
    assert corrected.measured_cells > 1000 and corrected.cells > corrected.measured_cells
