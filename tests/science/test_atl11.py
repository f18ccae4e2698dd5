"""ATL11 reading and per-reference-point rates (helpers.atl11) on small hand-made inputs."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helpers.atl11 import (
    SECONDS_PER_YEAR,
    dhdt_per_ref_point,
    fit_rates,
    read_pair,
    usable_cycles,
)

H_FILL = np.float32(3.4028235e38)
T_FILL = np.finfo(np.float64).max


def test_fit_rates_recovers_lines_and_their_uncertainties():
    t = np.tile([2019.0, 2019.5, 2020.0, 2020.5], (3, 1))
    h = np.array([[10.0, 9.5, 9.0, 8.5], [0.0, 0.1, -0.1, 0.0], [5.0, 5.0, 5.0, 6.0]])
    use = np.ones(h.shape, bool)
    fit = fit_rates(t, h, use, sigma=np.full(h.shape, 0.2))
    assert fit["dhdt"][:2] == pytest.approx([-1.0, -0.04])
    assert fit["dhdt_sigma"][0] == pytest.approx(0.0, abs=1e-12)  # a perfect line
    s_tt = np.sum((t[0] - t[0].mean()) ** 2)
    assert fit["dhdt_sigma_stated"] == pytest.approx(np.full(3, 0.2 / np.sqrt(s_tt)))
    residual = h[2] - np.polyval(np.polyfit(t[2], h[2], 1), t[2])
    assert fit["dhdt_sigma"][2] == pytest.approx(np.sqrt(np.sum(residual**2) / 2 / s_tt))
    assert fit["n_cycles"].tolist() == [4, 4, 4]


def test_fit_rates_needs_enough_cycles_over_enough_time():
    t = np.array([[2019.0, 2019.2, 2019.4, 2020.0], [2019.0, 2019.2, 2019.4, 2019.6]])
    h = np.ones_like(t)
    use = np.array([[True, False, True, False], [True, True, True, True]])
    fit = fit_rates(t, h, use)
    assert np.isnan(fit["dhdt"]).all()  # 2 cycles; then 4 cycles over 0.6 years only
    assert fit["n_cycles"].tolist() == [2, 4]
    assert np.isnan(fit["dhdt_sigma_stated"]).all()  # no stated errors given


def _write_atl11(path):
    h = np.array([[100.0, 99.0, 98.0, H_FILL], [50.0, 400.0, 49.0, 48.0]], np.float32)
    t = np.array([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 0.0]]) * SECONDS_PER_YEAR + 5e7
    t[1, 3] = T_FILL
    with h5py.File(path, "w") as f:
        f["ancillary_data/atlas_sdp_gps_epoch"] = np.array([1198800018.0])
        g = f.create_group("pt1")
        g["ref_pt"], g["cycle_number"] = np.array([300, 303]), np.arange(3, 7, dtype=np.int8)
        g["latitude"], g["longitude"] = np.array([64.0, 64.001]), np.array([-20.0, -20.0])
        g["quality_summary"] = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], np.int8)
        for name, values, fill in [("h_corr", h, H_FILL), ("delta_time", t, T_FILL),
                                   ("h_corr_sigma", np.full(h.shape, 0.1, np.float32), H_FILL),
                                   ("h_corr_sigma_systematic", np.full(h.shape, 0.2, np.float32),
                                    H_FILL)]:  # fmt: skip
            g[name] = values
            g[name].attrs["_FillValue"] = fill


def test_read_pair_and_usable_cycles(tmp_path):
    _write_atl11(tmp_path / "ATL11.h5")
    data = read_pair(tmp_path / "ATL11.h5", 1)
    assert np.isnan(data.h_corr[0, 3]) and np.isnan(data.delta_time[1, 3])
    assert data.cycles.tolist() == [3, 4, 5, 6]
    assert 2019 < data.t_year[0, 0] < 2020
    use = usable_cycles(data)
    # row 0: the fill is out; row 1: 400 m is a cloud (far from the median), cycle 6 flagged
    assert use.tolist() == [[True, True, True, False], [True, False, True, False]]


def test_dhdt_per_ref_point_keeps_points_with_a_rate(tmp_path):
    _write_atl11(tmp_path / "ATL11.h5")
    rates = dhdt_per_ref_point(tmp_path / "ATL11.h5", pairs=(1,))
    assert rates["ref_pt"].tolist() == [300]  # row 1 has two usable cycles left
    assert rates["dhdt"].tolist() == pytest.approx([-1.0])
    assert rates["h_mean"].tolist() == pytest.approx([99.0])
    assert rates["dhdt_sigma_stated"].iloc[0] == pytest.approx(np.hypot(0.1, 0.2) / np.sqrt(2))
