"""GPS time to UTC and decimal years, checked against astropy (an independent computation)."""

import numpy as np
import pytest
from astropy.time import Time

from helpers import gpstime


def _astropy_decimal_year(t_gps):
    return Time(t_gps, format="gps").utc.decimalyear


def test_decimal_year_matches_astropy_over_the_mission():
    rng = np.random.default_rng(0)
    t = rng.uniform(gpstime.ATLAS_SDP_GPS_EPOCH - 3e8, gpstime.ATLAS_SDP_GPS_EPOCH + 3e8, 20000)
    assert np.max(np.abs(gpstime.gps_to_decimal_year(t) - _astropy_decimal_year(t))) < 1e-9


@pytest.mark.parametrize("leap_day", ["2016-12-31", "2015-06-30", "2012-06-30", "1998-12-31"])
def test_decimal_year_across_a_leap_second(leap_day):
    # Sweep from two seconds before the leap second to two after, in 0.1 s steps.
    t0 = gpstime.utc_to_gps(f"{leap_day}T23:59:58")[()]
    t = t0 + np.arange(0.0, 5.0, 0.1)
    assert np.max(np.abs(gpstime.gps_to_decimal_year(t) - _astropy_decimal_year(t))) < 1e-9


def test_gps_minus_utc_is_18_s_since_2017():
    assert gpstime.gps_minus_utc(gpstime.utc_to_gps("2017-01-01T00:00:01"))[()] == 18
    assert gpstime.gps_minus_utc(gpstime.utc_to_gps("2016-12-31T23:59:59"))[()] == 17


def test_sdp_epoch_is_2018_new_year():
    assert gpstime.utc_to_gps("2018-01-01")[()] == gpstime.ATLAS_SDP_GPS_EPOCH
    assert gpstime.format_ccsds(gpstime.ATLAS_SDP_GPS_EPOCH) == "2018-01-01T00:00:00.000000Z"
    astropy_iso = Time(gpstime.ATLAS_SDP_GPS_EPOCH, format="gps").utc.isot
    assert astropy_iso.startswith("2018-01-01T00:00:00")


def test_calendar_round_trip():
    stamps = np.array(
        ["2018-10-14T01:02:03.250", "2019-12-31T23:59:59.5", "2020-02-29T12:00"],
        dtype="datetime64[us]",
    )
    back = gpstime.gps_to_datetime64(gpstime.utc_to_gps(stamps))
    np.testing.assert_array_equal(back, stamps)


@pytest.mark.parametrize("span_s", [600.0, 3 * 86400.0])
def test_fast_path_across_midnight_matches_astropy(span_s):
    # A granule crossing UTC midnight, and a few days of data: the piecewise-linear path.
    t = gpstime.utc_to_gps("2019-03-04T23:55:00")[()] + np.linspace(0.0, span_s, 100_001)
    assert np.max(np.abs(gpstime.gps_to_decimal_year(t) - _astropy_decimal_year(t))) < 1e-9
