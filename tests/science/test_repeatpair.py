"""Repeat-pair differencing (helpers.repeatpair) on small hand-made passes and files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helpers.repeatpair import PASS_VARIABLES, difference_passes, read_pass, repeat_pair_change

FILL = np.float32(3.4028235e38)
EPOCH = 1198800018.0


def _pass(ids, h, y=None, slope=None, quality=None, t=0.0):
    n = len(ids)
    return {
        "segment_id": np.asarray(ids), "h_li": np.asarray(h, float),
        "y_atc": np.zeros(n) if y is None else np.asarray(y, float),
        "dh_fit_dy": np.zeros(n) if slope is None else np.asarray(slope, float),
        "quality": np.zeros(n, np.int8) if quality is None else np.asarray(quality),
        "latitude": np.linspace(70, 70.1, n), "longitude": np.full(n, -45.0),
        "x_atc": 20.0 * np.asarray(ids, float), "t_gps": np.full(n, t),
    }  # fmt: skip


def test_the_across_track_slope_times_the_offset_is_taken_out():
    early = _pass([10, 11], [100.0, 200.0], y=[0.0, 5.0], slope=[0.1, -0.2])
    late = _pass([10, 11], [101.0, 199.0], y=[10.0, 0.0], slope=[0.3, -0.2],
                 t=2 * 365.25 * 86400)  # fmt: skip
    out = difference_passes(early, late)
    # segment 10: 1 m up, moved 10 m up a 0.2 slope -> 2 m of it is slope: -1 m of change
    # segment 11: 1 m down, moved 5 m down a -0.2 slope (i.e. uphill by 1 m) -> -2 m
    assert out["dh_raw"].tolist() == [1.0, -1.0]
    assert out["dh"] == pytest.approx([-1.0, -2.0])
    assert out["dy"].tolist() == [10.0, -5.0]
    assert out["years"] == pytest.approx([2.0, 2.0])


def test_only_segments_good_in_both_passes_are_matched_in_segment_order():
    early = _pass([5, 3, 4, 6], [1.0, 2.0, 3.0, np.nan], quality=[0, 0, 1, 0])
    late = _pass([6, 5, 3, 7], [1.5, 2.5, 3.5, 4.5], slope=[0.0, np.nan, 0.0, 0.0])
    out = difference_passes(early, late)
    # 4 is flagged early, 6 has no early height, 5 no late slope, 7 no early pass
    assert out["segment_id"].tolist() == [3]
    assert out["dh"].tolist() == [1.5]


def _write_granule(path, beams, h_shift=0.0, y_shift=0.0, drop=()):
    ids = np.arange(1000, 1010, dtype=np.int32)
    with h5py.File(path, "w") as f:
        f["ancillary_data/atlas_sdp_gps_epoch"] = np.array([EPOCH])
        for beam in beams:
            g = f.create_group(f"{beam}/land_ice_segments")
            h = (500.0 + ids - 1000 + h_shift).astype(np.float32)
            h[0] = FILL
            values = {"segment_id": ids, "latitude": np.linspace(66.5, 66.51, 10),
                      "longitude": np.full(10, -34.8), "h_li": h,
                      "atl06_quality_summary": np.zeros(10, np.int8),
                      "delta_time": np.full(10, 1e7), "ground_track/x_atc": ids * 20.0,
                      "ground_track/y_atc": np.full(10, 3300.0 + y_shift, np.float32),
                      "fit_statistics/dh_fit_dy": np.full(10, 0.05, np.float32)}  # fmt: skip
            for name, value in values.items():
                if name not in drop:
                    g[name] = value
                    if value.dtype == np.float32:
                        g[name].attrs["_FillValue"] = FILL


def test_read_pass_turns_fill_values_into_nan_and_adds_gps_time(tmp_path):
    _write_granule(tmp_path / "a.h5", ["gt1l"])
    one = read_pass(tmp_path / "a.h5", "gt1l")
    assert set(one) == {*PASS_VARIABLES, "t_gps"}
    assert np.isnan(one["h_li"][0]) and np.isfinite(one["h_li"][1:]).all()
    assert one["t_gps"][0] == EPOCH + 1e7
    assert read_pass(tmp_path / "a.h5", "gt2l") is None


def test_read_pass_names_a_missing_variable(tmp_path):
    _write_granule(tmp_path / "a.h5", ["gt1l"], drop=("fit_statistics/dh_fit_dy",))
    with pytest.raises(KeyError, match="gt1l lacks fit_statistics/dh_fit_dy"):
        read_pass(tmp_path / "a.h5", "gt1l")


def test_repeat_pair_change_uses_the_ground_tracks_both_granules_have(tmp_path):
    _write_granule(tmp_path / "early.h5", ["gt1l", "gt2r", "gt3l"])
    _write_granule(tmp_path / "late.h5", ["gt1l", "gt2r"], h_shift=-2.0, y_shift=20.0)
    change = repeat_pair_change(tmp_path / "early.h5", tmp_path / "late.h5")
    assert change["beam"].unique().tolist() == ["gt1l", "gt2r"]
    assert change["pair"].unique().tolist() == [1, 2]
    assert len(change) == 2 * 9  # the first segment is a fill value in both
    assert change["dh"].to_numpy() == pytest.approx(np.full(18, -2.0 - 0.05 * 20.0))
    _write_granule(tmp_path / "other.h5", ["gt3r"])
    with pytest.raises(ValueError, match="share no beam"):
        repeat_pair_change(tmp_path / "early.h5", tmp_path / "other.h5")
