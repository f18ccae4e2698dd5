"""dh/dt estimation on planted signals, with noise and outliers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.dhdt import (
    FIRST_REPEAT_CYCLE,
    along_track_bins,
    beam_pairs,
    estimate_dhdt,
    fit_trend,
    flattened,
    pass_trend,
    steepest_bin,
    track_bins,
)


def planted_patch(rng, n=150, dhdt=-2.5, slope=(0.01, -0.004), noise=0.08, outliers=0):
    """Points of 6 cycles on a sloping plane that changes at ``dhdt`` m/yr."""
    x = rng.uniform(-100, 100, n)
    y = rng.uniform(-60, 60, n)
    t = 2019.0 + 0.25 * rng.integers(0, 6, n) + rng.uniform(0, 0.01, n)
    h = 500.0 + slope[0] * x + slope[1] * y + dhdt * (t - 2019.5) + rng.normal(0, noise, n)
    if outliers:
        idx = rng.choice(n, outliers, replace=False)
        h[idx] += rng.choice([-1, 1], outliers) * rng.uniform(20, 300, outliers)
    return x, y, t, h


@pytest.mark.parametrize("dhdt", [-6.0, -0.3, 0.0, 1.2])
def test_recovers_a_planted_rate_within_its_uncertainty(dhdt):
    rng = np.random.default_rng(1)
    fit = fit_trend(*planted_patch(rng, dhdt=dhdt))
    assert abs(fit.dhdt - dhdt) < 4 * fit.dhdt_sigma
    assert fit.dhdt_sigma < 0.1
    assert fit.slope_x == pytest.approx(0.01, abs=2e-3)
    assert fit.n_rejected <= 3


def test_outliers_are_rejected():
    rng = np.random.default_rng(2)
    x, y, t, h = planted_patch(rng, dhdt=-3.0, outliers=15)  # 10 % blunders of 20-300 m
    fit = fit_trend(x, y, t, h)
    assert fit.n_rejected >= 15
    assert abs(fit.dhdt + 3.0) < 0.1
    naive = np.polyfit(t, h, 1)[0]  # without rejection the blunders ruin the rate
    assert abs(naive + 3.0) > abs(fit.dhdt + 3.0)


def test_degenerate_inputs_give_nan():
    assert np.isnan(fit_trend([0, 1], [0, 1], [2019, 2020], [1, 2]).dhdt)
    rng = np.random.default_rng(3)
    x, y, _, h = planted_patch(rng)
    assert np.isnan(fit_trend(x, y, np.full(x.size, 2019.0), h).dhdt)  # no time span


def test_bins_follow_the_track_direction():
    s = np.arange(0, 2000, 20.0)
    x, y = -1.6e6 + 0.6 * s, -3e5 + 0.8 * s  # a straight track at an angle
    bins = along_track_bins(x, y, 250.0)
    assert bins.min() == 0 and bins.max() == 7
    assert np.all(np.diff(bins) >= 0)


def planted_tracks(rng, cycles=range(1, 7), early_bias_m=0.0):
    """Pair 2 along two straight RGTs with a rate that varies along track (-4 to -3 m/yr);
    cycles 1-2 are raised by ``early_bias_m`` (as passes off the reference track would be)."""
    rows = []
    for rgt, direction in ((10, (0.6, 0.8)), (20, (1.0, 0.0))):
        s = np.arange(0, 5000, 20.0)
        for cycle in cycles:
            for beam, offset in (("gt2l", 45.0), ("gt2r", -45.0)):
                jitter = rng.normal(0, 15)
                x = -1.6e6 + direction[0] * s - direction[1] * (offset + jitter)
                y = -3e5 + direction[1] * s + direction[0] * (offset + jitter)
                t = np.full(s.size, 2018.9 + 0.25 * cycle)
                rate = -4.0 + 2e-4 * (x + 1.6e6)  # varies along track: -4 to -3 m/yr
                h = 300 + 0.004 * (x + 1.6e6) + rate * (t - 2019.5) + rng.normal(0, 0.1, s.size)
                h += early_bias_m if cycle < 3 else 0.0
                bad = rng.random(s.size) < 0.01
                h[bad] += 150.0
                rows.append(pd.DataFrame({"x": x, "y": y, "t_year": t, "h_li": h.astype("f4"),
                                          "beam": beam, "rgt": rgt, "cycle": cycle}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def median_error(result):
    """Median absolute difference (m/yr) between estimated and planted rates."""
    return float(np.median(np.abs(result.dhdt - (-4.0 + 2e-4 * (result.x + 1.6e6)))))


def test_estimate_over_tracks_matches_the_planted_field():
    result = estimate_dhdt(planted_tracks(np.random.default_rng(4)), min_cycle=1)
    assert set(result.rgt) == {10, 20} and set(result.pair) == {2}
    assert median_error(result) < 0.05
    assert (result.n_cycles == 6).all()


def test_cycles_before_the_first_repeat_cycle_are_left_out_by_default():
    df = planted_tracks(np.random.default_rng(5), early_bias_m=3.0)
    assert FIRST_REPEAT_CYCLE == 3
    default = estimate_dhdt(df)
    assert (default.n_cycles == 4).all()  # cycles 3-6
    assert median_error(default) < 0.05
    everything = estimate_dhdt(df, min_cycle=1)
    assert median_error(everything) > 1.0  # the biased early cycles ruin the rates


def test_sparse_bins_get_no_rate():
    t = np.linspace(2019, 2020, 10)
    df = pd.DataFrame({"x": np.arange(10.0), "y": np.zeros(10), "t_year": t,
                       "h_li": np.ones(10), "beam": "gt1l", "rgt": 1, "cycle": 3})  # fmt: skip
    assert estimate_dhdt(df).empty


def repeat_tracks(rng, slopes: dict[int, float], cycles=range(3, 9)):
    """Points of pair 2 (both beams) along straight tracks, one per RGT, each on a plane
    rising at its own slope (m/m) along x; heights fall at 1 m/yr."""
    rows = []
    for rgt, slope in slopes.items():
        s = np.arange(0, 2000, 20.0)
        for cycle in cycles:
            for beam, offset in (("gt2l", 45.0), ("gt2r", -45.0)):
                x = -1.6e6 + s
                y = -3e5 + 1000.0 * rgt + offset + rng.normal(0, 10, s.size)
                t = np.full(s.size, 2019.0 + 0.25 * cycle)
                h = 100 + slope * (x + 1.6e6) - (t - 2020) + rng.normal(0, 0.05, s.size)
                rows.append(pd.DataFrame({"x": x, "y": y, "t_year": t, "h_li": h,
                                          "beam": beam, "rgt": rgt, "cycle": cycle}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def test_track_bins_share_bins_between_the_beams_and_cycles_of_a_pair():
    df = repeat_tracks(np.random.default_rng(5), {7: 0.01, 9: 0.02})
    df["beam"] = df["beam"].astype("category")
    parts = list(track_bins(df, bin_m=500.0))
    assert [(p.rgt, p.pair) for p in parts] == [(7, 2)] * 4 + [(9, 2)] * 4
    assert [p.bin for p in parts] == [0, 1, 2, 3] * 2
    rows = np.concatenate([p.rows for p in parts])
    assert np.array_equal(np.sort(rows), np.arange(len(df)))  # every point in one bin
    for p in parts:
        assert set(df["beam"].iloc[p.rows]) == {"gt2l", "gt2r"}
        assert df["cycle"].iloc[p.rows].nunique() == 6
        assert np.all(np.diff(p.rows) > 0)  # in the frame's order


def test_beam_pairs_follow_the_ground_track_names():
    names = pd.Series(["gt3r", "gt1l", "gt2r", "gt1r"], dtype="category")
    assert beam_pairs(names).tolist() == [3, 1, 2, 1]
    with pytest.raises(ValueError, match="not an ATL06 ground track"):
        beam_pairs(["gt2l", "gt4l"])
    with pytest.raises(ValueError, match="missing"):
        beam_pairs(pd.Series(["gt2l", None]))


def test_steepest_bin_is_on_the_steeper_track():
    df = repeat_tracks(np.random.default_rng(6), {7: 0.01, 9: 0.03})
    points, fit = steepest_bin(df, (-1.6e6 + 1000.0, -3e5 + 8000.0), radius_m=5e3, bin_m=500.0)
    assert set(points["rgt"]) == {9}
    assert fit.slope_x == pytest.approx(0.03, abs=1e-3)
    assert fit.dhdt == pytest.approx(-1.0, abs=0.02)
    assert steepest_bin(df, (0.0, 0.0), radius_m=1e3) is None  # nothing near


def test_steepest_bin_uses_only_repeat_cycles_by_default():
    df = repeat_tracks(np.random.default_rng(7), {7: 0.01}, cycles=range(1, 7))
    points, _ = steepest_bin(df, (-1.6e6 + 1000.0, -3e5 + 7000.0), radius_m=5e3, bin_m=500.0)
    assert sorted(points["cycle"].unique()) == [3, 4, 5, 6]
    points, _ = steepest_bin(df, (-1.6e6 + 1000.0, -3e5 + 7000.0), radius_m=5e3, bin_m=500.0,
                             min_cycle=1)  # fmt: skip
    assert sorted(points["cycle"].unique()) == [1, 2, 3, 4, 5, 6]


def test_one_height_per_pass_gives_the_honest_uncertainty():
    """Points of one pass share an error (pointing, tide): the formal sigma of a fit to all
    points is far too small, the per-pass one is about the right size."""
    rng = np.random.default_rng(7)
    passes = np.repeat(np.arange(3, 9), 120)  # six passes of 120 points
    t = 2019.25 + 0.25 * (passes - 3) + rng.uniform(0, 0.001, passes.size)
    x, y = rng.uniform(-100, 100, passes.size), rng.uniform(-40, 40, passes.size)
    offsets = rng.normal(0, 0.3, 6)[passes - 3]  # 30 cm per pass, shared by its points
    h = 500 + 0.02 * x - 1.0 * (t - 2020) + offsets + rng.normal(0, 0.03, passes.size)
    fit = fit_trend(x, y, t, h)
    per_pass = pass_trend(t[fit.kept], flattened(fit, x, y, h)[fit.kept], passes[fit.kept])
    assert per_pass.n_passes == 6
    assert per_pass.dhdt == pytest.approx(fit.dhdt, abs=0.05)
    s_tt = np.sum((np.arange(6) * 0.25 - 0.625) ** 2)
    honest = 0.3 / np.sqrt(s_tt)  # the rate's spread from the pass offsets alone
    assert fit.dhdt_sigma < honest / 4 < per_pass.dhdt_sigma < 4 * honest


def test_pass_trend_needs_three_passes():
    fit = pass_trend([2019.0, 2019.0, 2020.0], [1.0, 1.2, 0.0], [3, 3, 7])
    assert np.isnan(fit.dhdt) and np.isnan(fit.dhdt_sigma) and fit.n_passes == 2


def test_estimate_dhdt_reports_the_per_pass_uncertainty_too():
    rng = np.random.default_rng(3)
    rows = []
    for cycle in range(3, 9):
        x = rng.uniform(-400, 400, 200)
        rows.append(pd.DataFrame({"x": x, "y": 0.01 * x + rng.uniform(-45, 45, 200),
                                  "t_year": 2019.25 + 0.25 * (cycle - 3), "beam": "gt1l",
                                  "rgt": 1, "cycle": cycle}))  # fmt: skip
    df = pd.concat(rows, ignore_index=True)
    df["h_li"] = 100 - 0.5 * (df.t_year - 2020) + rng.normal(0, 0.05, len(df))
    rates = estimate_dhdt(df, bin_m=250.0)
    assert len(rates) > 0 and (rates.dhdt_sigma_pass > 0).all()
    assert rates.dhdt.to_numpy() == pytest.approx(np.full(len(rates), -0.5), abs=0.05)


def test_pass_trend_takes_any_pass_labels():
    t = np.repeat([2019.0, 2019.5, 2020.0], 4)
    h = 10.0 - 2.0 * (t - 2019.0)
    by_cycle = pass_trend(t, h, np.repeat([3, 5, 7], 4))
    by_name = pass_trend(t, h, np.repeat(["c03", "c05", "c07"], 4))
    assert by_cycle.dhdt == pytest.approx(-2.0) and by_name.dhdt == pytest.approx(-2.0)
    assert by_cycle.n_passes == by_name.n_passes == 3
