"""The real results notebook 7 reports, each against a plain h5py computation of its own.

The helpers (:mod:`helpers.repeatpair`, :mod:`helpers.atl11`) must give what a reader would
get by hand: read the datasets with h5py, drop fill values and flagged segments, match by
``segment_id`` (with a dictionary, not ``np.intersect1d``), fit each reference point with
``np.polyfit`` in a loop. The numbers the notebook prints are pinned here too, so that the
text and the data cannot drift apart.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helpers.atl11 import dhdt_per_ref_point
from helpers.config import real_data_dir
from helpers.repeatpair import repeat_pair_change

EARLY = "processed_ATL06_20191106230008_06270503_006_01.h5"  # RGT 627, cycle 5
LATE = "processed_ATL06_20211102121853_06271303_006_01.h5"  # RGT 627, cycle 13
ATL11 = "processed_ATL11_135803_0311_004_01.h5"
GROUND_TRACKS = ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r")
SECONDS_PER_YEAR = 365.25 * 86400


def _beam_by_hand(path, beam):
    """segment_id -> (h_li, y_atc, dh_fit_dy, delta_time), good segments only."""
    with h5py.File(path, "r") as f:
        g = f[f"{beam}/land_ice_segments"]
        h, fill = g["h_li"][:], g["h_li"].attrs["_FillValue"]
        dy, dy_fill = g["fit_statistics/dh_fit_dy"][:], g["fit_statistics/dh_fit_dy"].attrs[
            "_FillValue"]  # fmt: skip
        good = (g["atl06_quality_summary"][:] == 0) & (h != fill) & (dy != dy_fill)
        columns = zip(g["segment_id"][:], h, g["ground_track/y_atc"][:], dy,
                      g["delta_time"][:], good, strict=True)  # fmt: skip
        return {s: (float(a), float(b), float(c), float(d)) for s, a, b, c, d, ok in columns if ok}


@pytest.fixture(scope="module")
def by_hand_pair():
    """(ground track, dh, years) of every segment good in both passes, computed by hand."""
    rows = []
    for beam in GROUND_TRACKS:
        early = _beam_by_hand(real_data_dir() / EARLY, beam)
        late = _beam_by_hand(real_data_dir() / LATE, beam)
        for segment in sorted(set(early) & set(late)):
            (h0, y0, s0, t0), (h1, y1, s1, t1) = early[segment], late[segment]
            rows.append((beam, h1 - h0 - (s0 + s1) / 2 * (y1 - y0), (t1 - t0) / SECONDS_PER_YEAR))
    return rows


@pytest.fixture(scope="module")
def pair_change():
    return repeat_pair_change(real_data_dir() / EARLY, real_data_dir() / LATE)


def test_repeat_pair_change_matches_a_computation_by_hand(pair_change, by_hand_pair):
    dh = np.array([row[1] for row in by_hand_pair])
    assert len(pair_change) == len(by_hand_pair) == 3486
    assert np.median(pair_change["dh"]) == pytest.approx(np.median(dh), abs=1e-9)
    for pair in (1, 2, 3):
        mine = [row[1] for row in by_hand_pair if row[0][2] == str(pair)]
        theirs = pair_change.loc[pair_change["pair"] == pair, "dh"]
        assert np.median(theirs) == pytest.approx(np.median(mine), abs=1e-9), pair


def test_repeat_pair_result_as_notebook_7_reports_it(pair_change):
    """The numbers of notebook 7: -4.68 m over two years, most on the lowered glacier."""
    assert round(float(pair_change["dh"].median()), 2) == -4.68
    assert round(float(pair_change["years"].median()), 2) == 1.99
    assert pair_change.groupby("pair")["dh"].median().round(2).tolist() == [-3.92, -6.9, -11.52]
    where = pair_change[["latitude", "longitude"]].agg(["min", "max"]).round(2)
    assert where["latitude"].tolist() == [66.47, 66.65]
    assert where["longitude"].tolist() == [-34.88, -34.68]
    glacier = pair_change[(pair_change["pair"] > 1) & (pair_change["latitude"] > 66.56)]
    assert round(float(glacier["dh"].median())) == -47


def test_the_slope_correction_matters_where_passes_lie_apart(pair_change):
    # Passes lie metres apart across track; on steep rock the correction reaches metres.
    correction = (pair_change["dh_raw"] - pair_change["dh"]).abs()
    assert pair_change["dy"].abs().median() > 1.0
    assert correction.max() > 2.0
    assert np.allclose(correction, (pair_change["slope_dy"] * pair_change["dy"]).abs())


def _atl11_by_hand(pair):
    """dh/dt of every reference point of one pair with a rate, fitted one by one."""
    with h5py.File(real_data_dir() / ATL11, "r") as f:
        g = f[f"pt{pair}"]
        h, fill = g["h_corr"][:], g["h_corr"].attrs["_FillValue"]
        t, t_fill = g["delta_time"][:], g["delta_time"].attrs["_FillValue"]
        quality = g["quality_summary"][:]
    rates = []
    for row in range(h.shape[0]):
        ok = (h[row] != fill) & (t[row] != t_fill) & (quality[row] == 0)
        if not ok.any():
            continue
        ok &= np.abs(h[row] - np.median(h[row][ok])) <= 10.0
        years = t[row][ok] / SECONDS_PER_YEAR
        if ok.sum() >= 3 and years.max() - years.min() >= 1.0:
            rates.append(np.polyfit(years, h[row][ok].astype(float), 1)[0])
    return np.array(rates)


@pytest.fixture(scope="module")
def atl11_rates():
    return dhdt_per_ref_point(real_data_dir() / ATL11)


def test_atl11_rates_match_a_fit_by_hand(atl11_rates):
    by_hand = np.concatenate([_atl11_by_hand(pair) for pair in (1, 2, 3)])
    assert len(atl11_rates) == by_hand.size == 3918
    for q in (0.05, 0.5, 0.95):
        assert np.quantile(atl11_rates["dhdt"], q) == pytest.approx(np.quantile(by_hand, q),
                                                                    abs=1e-6)  # fmt: skip
    assert np.sort(atl11_rates["dhdt"]) == pytest.approx(np.sort(by_hand), abs=1e-6)


def test_atl11_result_as_notebook_7_reports_it(atl11_rates):
    """Median +0.07 m/yr over Iceland, 5-95 % from -1.62 to +0.99; -0.72 above 1,000 m."""
    rates = atl11_rates["dhdt"]
    assert round(float(rates.median()), 2) == 0.07
    assert np.quantile(rates, [0.05, 0.95]).round(2).tolist() == [-1.62, 0.99]
    high = atl11_rates[atl11_rates["h_mean"] > 1000]
    assert len(high) == 517
    assert round(float(high["dhdt"].median()), 2) == -0.72
    assert high["latitude"].agg(["min", "max"]).round(1).tolist() == [64.6, 64.9]
