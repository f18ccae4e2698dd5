"""The sample's geometry is physical: spacing, pairs, speed, area, names, beams."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
from pyproj import Geod

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, format_ccsds, utc_to_gps
from helpers.granules import BEAMS, parse_granule_name, spot_number, strong_beams

GEOD = Geod(ellps="WGS84")


def _beam(f, beam):
    g = f[f"{beam}/land_ice_segments"]
    return {k: g[k][:] for k in ("latitude", "longitude", "delta_time", "segment_id")}


def _granules(folder):
    return sorted(folder.glob("ATL06_*.h5"))


def test_along_track_spacing_is_20_m_and_ground_speed_7_km_s(small_sample):
    for path in _granules(small_sample):
        with h5py.File(path) as f:
            for beam in (b for b in BEAMS if b in f):
                d = _beam(f, beam)
                step = np.diff(d["segment_id"]) == 1
                _, _, dist = GEOD.inv(
                    d["longitude"][:-1], d["latitude"][:-1], d["longitude"][1:], d["latitude"][1:]
                )
                dist = dist[step]
                assert np.all(np.abs(dist - 20.0) < 0.5), (path.name, beam, dist.min(), dist.max())
                speed = dist / np.diff(d["delta_time"])[step]
                assert np.all((speed > 6800) & (speed < 7300)), (path.name, beam)


def test_pairs_are_90_m_wide_and_3_3_km_apart(small_sample):
    for path in _granules(small_sample):
        with h5py.File(path) as f:
            beams = {b: _beam(f, b) for b in BEAMS if b in f}

        def distance(a, b, beams=beams, path=path):
            common, ia, ib = np.intersect1d(
                beams[a]["segment_id"], beams[b]["segment_id"], return_indices=True
            )
            assert common.size > 100, (path.name, a, b)
            _, _, dist = GEOD.inv(
                beams[a]["longitude"][ia],
                beams[a]["latitude"][ia],
                beams[b]["longitude"][ib],
                beams[b]["latitude"][ib],
            )
            return np.median(dist)

        for pair in "123":
            if f"gt{pair}l" in beams and f"gt{pair}r" in beams:
                assert 80 < distance(f"gt{pair}l", f"gt{pair}r") < 100, path.name
        if "gt1l" in beams and "gt2l" in beams:
            assert 3200 < distance("gt1l", "gt2l") < 3400, path.name


def test_points_stay_inside_the_area_plus_margin(small_sample, small_config):
    area = BBox(*PIG_BBOX)
    allowed = area.expanded(small_config.margin_km)
    inside_area = total = 0
    for path in _granules(small_sample):
        with h5py.File(path) as f:
            for beam in (b for b in BEAMS if b in f):
                d = _beam(f, beam)
                assert allowed.contains(d["longitude"], d["latitude"]).all(), (path.name, beam)
                inside_area += area.contains(d["longitude"], d["latitude"]).sum()
                total += d["latitude"].size
    assert inside_area / total > 0.9


def test_names_match_what_is_written_inside(small_sample):
    for path in _granules(small_sample):
        name = parse_granule_name(path)
        with h5py.File(path) as f:
            anc, info = f["ancillary_data"], f["orbit_info"]
            start = anc["granule_start_utc"][0].decode()
            assert start == f"{name.start:%Y-%m-%dT%H:%M:%S}.000000Z"
            assert f.attrs["time_coverage_start"].decode() == start
            assert info["rgt"][0] == name.rgt == anc["start_rgt"][0]
            assert info["cycle_number"][0] == name.cycle == anc["start_cycle"][0]
            assert anc["start_region"][0] == name.region
            assert name.release == "006" and f.attrs["short_name"] == b"ATL06"
            # The data start at or after the granule start, and are stamped consistently.
            times = np.concatenate(
                [f[f"{b}/land_ice_segments/delta_time"][:] for b in BEAMS if b in f]
            )
            assert anc["data_start_utc"][0].decode() == format_ccsds(
                times.min() + ATLAS_SDP_GPS_EPOCH
            )
            assert anc["start_delta_time"][0] == times.min()
            assert times.min() + ATLAS_SDP_GPS_EPOCH >= utc_to_gps(start.rstrip("Z"))[()]


def test_ascending_regions_go_north_and_descending_south(small_sample):
    for path in _granules(small_sample):
        name = parse_granule_name(path)
        with h5py.File(path) as f:
            d = _beam(f, next(b for b in BEAMS if b in f))
        order = np.argsort(d["delta_time"])
        dlat = np.diff(d["latitude"][order])
        going_north = np.mean(dlat > 0) > 0.99
        going_south = np.mean(dlat < 0) > 0.99
        assert going_north if name.is_ascending_region else going_south, path.name


def test_strong_weak_and_spots_follow_sc_orient(default_sample):
    orientations = set()
    for path in _granules(default_sample):
        with h5py.File(path) as f:
            orient = int(f["orbit_info/sc_orient"][0])
            orientations.add(orient)
            for beam in (b for b in BEAMS if b in f):
                attrs = f[beam].attrs
                kind = b"strong" if beam in strong_beams(orient) else b"weak"
                assert attrs["atlas_beam_type"] == kind
                assert int(attrs["atlas_spot_number"]) == spot_number(beam, orient)
                assert attrs["sc_orientation"] == (b"Forward" if orient else b"Backward")
    assert orientations == {0, 1}


def test_repeat_passes_lie_within_tens_of_metres(default_sample):
    # Same RGT and beam in different cycles: the same segment lies within ~100 m.
    tracks: dict[tuple[int, str], list] = {}
    for path in _granules(default_sample):
        name = parse_granule_name(path)
        with h5py.File(path) as f:
            if "gt2l" in f:
                tracks.setdefault((name.rgt, "gt2l"), []).append(_beam(f, "gt2l"))
    checked = 0
    for passes in tracks.values():
        for a, b in itertools.pairwise(passes):
            _, ia, ib = np.intersect1d(a["segment_id"], b["segment_id"], return_indices=True)
            if ia.size < 100:
                continue
            _, _, dist = GEOD.inv(
                a["longitude"][ia], a["latitude"][ia], b["longitude"][ib], b["latitude"][ib]
            )
            assert np.median(dist) < 130, np.median(dist)
            checked += 1
    assert checked >= 10
