"""The orbit model against the orbit_info of real granules, and its internal geometry."""

import itertools

import h5py
import numpy as np
import pytest

from helpers.granules import REGION_LATITUDES, parse_granule_name
from helpers.synthetic import orbit

#: What the model promises for a real pass's ascending node. The model is a constant-period
#: clock; the real orbit's along-track timing drifts between orbit-maintenance manoeuvres (drag
#: shortens the period, burns restore it), so node times wander by seconds while the ground
#: track stays put. Measured on the real granules of releases 002-209, cycles 1-20: -7.6 s
#: (RGT 277-407 of cycle 3, April 2019) to +0.7 s, longitudes within 0.002 degrees. Ten
#: seconds is 3e-7 of a year (nothing for decimal years or dh/dt) and a sixth of the minute
#: the region boundaries are checked to below.
NODE_TIME_TOLERANCE_S = 10.0
NODE_LONGITUDE_TOLERANCE_DEG = 0.01


def _orbit_info(path):
    """(rgt, cycle, crossing_time, lan, orbit_number) of a granule, or None when its
    orbit_info lacks the node (variable-subsetted orders may drop it)."""
    name = parse_granule_name(path)
    with h5py.File(path) as f:
        info = f.get("orbit_info")
        if info is None or not {"crossing_time", "lan", "orbit_number"} <= set(info):
            return None
        return (name.rgt, name.cycle, info["crossing_time"][0], info["lan"][0],
                info["orbit_number"][0])  # fmt: skip


def test_model_matches_real_node_times_and_longitudes(real_data):
    checked = []
    for path in sorted(real_data.glob("*.h5")):
        found = _orbit_info(path)
        if found is None:
            continue
        rgt, cycle, crossing_time, lan, number = found
        time_err = orbit.node_time(rgt, cycle) - crossing_time
        assert abs(time_err) < NODE_TIME_TOLERANCE_S, (path.name, time_err)
        lon_err = (orbit.node_longitude(rgt) - lan + 180) % 360 - 180
        assert abs(lon_err) < NODE_LONGITUDE_TOLERANCE_DEG, (path.name, lon_err)
        assert orbit.orbit_number(rgt, cycle) == number, path.name
        checked.append(path.name)
    assert len(checked) >= 3, f"too few real granules with orbit_info nodes: {checked}"


def test_model_regions_contain_real_granule_start_times(real_data):
    for path in sorted(real_data.glob("*.h5")):
        name = parse_granule_name(path)
        with h5py.File(path) as f:
            start = f["ancillary_data/granule_start_utc"][0].decode()
        u0, _ = orbit.region_span(name.region)
        t_model = orbit.node_time(name.rgt, name.cycle) + u0 / (2 * np.pi) * orbit.NODAL_PERIOD_S
        from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, utc_to_gps

        t_real = utc_to_gps(start.rstrip("Z"))[()] - ATLAS_SDP_GPS_EPOCH
        assert abs(t_model - t_real) < 60.0, path.name  # region boundaries within a minute


def test_regions_tile_the_orbit():
    spans = [orbit.region_span(r) for r in range(1, 15)]
    assert spans[0][0] == 0.0
    assert spans[-1][1] == pytest.approx(2 * np.pi)
    for (a0, a1), (b0, _) in itertools.pairwise(spans):
        assert a1 > a0
        assert b0 == pytest.approx(a1)


def test_each_region_spans_its_latitudes_on_the_track():
    # The model's region boundaries come from helpers.granules; flying the track through
    # each region checks both their latitudes and the direction each is crossed in (a
    # boundary taken on the wrong side of the pole would swallow the polar turn).
    tolerance = 0.25  # degrees: boundaries are placed on the sphere, the track is geodetic
    for region, (lat_start, lat_end) in REGION_LATITUDES.items():
        u0, u1 = orbit.region_span(region)
        track = orbit.ground_track(7, 2, np.linspace(u0, u1, 2001) * orbit.TRACK_RADIUS_M)
        lat = track.latitude
        assert lat[0] == pytest.approx(lat_start, abs=tolerance), region
        assert lat[-1] == pytest.approx(lat_end, abs=tolerance), region
        if lat_start == lat_end:  # a polar region: the whole turn lies poleward of its bound
            assert (np.sign(lat_start) * (lat - lat_start) > -tolerance).all(), region
        else:
            assert lat.min() > min(lat_start, lat_end) - tolerance, region
            assert lat.max() < max(lat_start, lat_end) + tolerance, region


def test_track_reaches_88_south_and_the_cycle_is_91_nodal_days():
    x = np.linspace(0, 2 * np.pi * orbit.TRACK_RADIUS_M, 200001)
    track = orbit.ground_track(100, 3, x)
    assert -88.3 < track.latitude.min() < -87.9
    assert pytest.approx(90.82, abs=0.01) == orbit.CYCLE_S / 86400
    # Exact repeat: the same RGT one cycle later is at the same place.
    later = orbit.ground_track(100, 4, x[::1000])
    np.testing.assert_allclose(later.longitude, track.longitude[::1000], atol=1e-9)
    assert later.delta_time[0] - track.delta_time[0] == pytest.approx(orbit.CYCLE_S)


def test_pass_at_inverts_node_time():
    for rgt, cycle in [(1, 1), (234, 1), (1387, 5), (878, 20)]:
        assert orbit.pass_at(orbit.node_time(rgt, cycle) + 10.0) == (rgt, cycle)
