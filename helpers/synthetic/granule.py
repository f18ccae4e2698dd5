"""One synthetic ATL06 granule: geometry from the orbit model, heights from the surface model.

Everything a real granule has that the tutorial reads is here, including its flaws:
segments flagged by ``atl06_quality_summary`` with worse heights, fill values, rare
height blunders that the flag misses, cloud gaps, ``tide_ocean`` filled over grounded
ice, and beams that are missing altogether.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np

from helpers import __version__
from helpers.bbox import BBox
from helpers.fileio import atomic_path
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, format_ccsds, gps_to_decimal_year
from helpers.granules import BEAMS, GranuleName, spot_number, strong_beams
from helpers.synthetic import orbit, surface
from helpers.synthetic.layout import (
    FLOAT32_FILL,
    create_compact,
    create_orbit_dataset,
    set_attrs,
    write_segments,
)

#: Along-track posting of ATL06 segments (m).
SEGMENT_SPACING_M = 20.0
#: Nominal cross-track position of each ground track, left of the flight direction (m).
BEAM_OFFSETS_M = {
    "gt1l": 3345.0, "gt1r": 3255.0, "gt2l": 45.0, "gt2r": -45.0, "gt3l": -3255.0,
    "gt3r": -3345.0,
}  # fmt: skip
#: Time stagger between beams at the same segment (s): the spots are staggered along track.
BEAM_TIME_OFFSETS_S = {
    "gt1l": 0.0, "gt1r": 0.35, "gt2l": -0.17, "gt2r": 0.18, "gt3l": -0.06, "gt3r": 0.29,
}  # fmt: skip
#: Standard deviation of repeat-pass pointing about the reference track (m).
REPEAT_POINTING_SIGMA_M = 20.0
#: Words every synthetic file carries in its root ``comment``, ``title`` and ``history``.
SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA made by the atl06-tutorial project (python -m helpers.sample) for "
    "teaching and testing; not NASA data. The layout follows ATL06 release 006."
)


@dataclass(frozen=True)
class GranulePlan:
    """What to generate: one pass (RGT and cycle) over one granule region.

    Attributes
    ----------
    rgt, cycle, region : int
        The pass and its granule region.
    x_start, x_end : float
        Along-track span to generate (m from the ascending node).
    clip : BBox or None
        Keep only points inside this box (an NSIDC-style spatial subset); None keeps all.
    missing_beams : tuple of str
        Beams left out of the file, as happens in real granules.
    release : str
        Three-digit release written in the name and metadata.
    """

    rgt: int
    cycle: int
    region: int
    x_start: float
    x_end: float
    clip: BBox | None = None
    missing_beams: tuple[str, ...] = field(default=())
    release: str = "006"

    @property
    def granule_start(self) -> float:
        """``delta_time`` at which the granule's region starts (s)."""
        u0, _ = orbit.region_span(self.region)
        return orbit.node_time(self.rgt, self.cycle) + u0 / (2 * np.pi) * orbit.NODAL_PERIOD_S

    @property
    def granule_end(self) -> float:
        """``delta_time`` at which the granule's region ends (s)."""
        _, u1 = orbit.region_span(self.region)
        return orbit.node_time(self.rgt, self.cycle) + u1 / (2 * np.pi) * orbit.NODAL_PERIOD_S

    @property
    def name(self) -> GranuleName:
        """The file name, from the granule's start time, RGT, cycle and region."""
        start = np.floor(self.granule_start + ATLAS_SDP_GPS_EPOCH)
        stamp = format_ccsds(start, digits=0)
        return GranuleName(
            product="ATL06",
            start=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"),
            rgt=self.rgt,
            cycle=self.cycle,
            region=self.region,
            release=self.release,
        )


def sc_orient_for_cycle(cycle: int) -> int:
    """Spacecraft orientation used by the sample: forward (1) in odd cycles, else backward (0).

    The real spacecraft flips about twice a year; this simple rule keeps both
    orientations in any multi-cycle sample.
    """
    return 1 if cycle % 2 else 0


@lru_cache(maxsize=1)
def _to_polar_stereo():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:3031", always_xy=True)


def _rng(seed: int, plan: GranulePlan) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, plan.rgt, plan.cycle, plan.region]))


def _cloud_gaps(rng: np.random.Generator, x: np.ndarray, weak: bool) -> np.ndarray:
    """Mask that keeps segments outside a few random cloud gaps (0.5-8 km each)."""
    keep = np.ones(x.size, dtype=bool)
    if x.size == 0:
        return keep
    length_km = (x[-1] - x[0]) / 1e3
    n_gaps = rng.poisson(length_km / (150.0 if weak else 250.0))
    for _ in range(n_gaps):
        center = rng.uniform(x[0], x[-1])
        half = rng.uniform(250.0, 4000.0)
        keep &= np.abs(x - center) > half
    return keep


def beam_segments(
    plan: GranulePlan, beam: str, pass_offset_m: float, rng: np.random.Generator
) -> dict[str, np.ndarray] | None:
    """All per-segment variables of one beam, or None when the beam has no segment.

    Parameters
    ----------
    plan : GranulePlan
    beam : str
        Ground track, e.g. ``"gt2l"``.
    pass_offset_m : float
        Cross-track pointing offset of this pass from the reference track (m).
    rng : numpy.random.Generator
        Source of noise (seeded per granule so that the sample is reproducible).
    """
    sc_orient = sc_orient_for_cycle(plan.cycle)
    weak = beam not in strong_beams(sc_orient)
    first = int(np.ceil(plan.x_start / SEGMENT_SPACING_M))
    last = int(np.floor(plan.x_end / SEGMENT_SPACING_M))
    segment_id = np.arange(first, last + 1, dtype=np.int64)
    x_atc = segment_id * SEGMENT_SPACING_M
    y_nominal = BEAM_OFFSETS_M[beam] + pass_offset_m
    track = orbit.ground_track(plan.rgt, plan.cycle, x_atc, cross_track_m=y_nominal)
    keep = np.ones(x_atc.size, dtype=bool)
    if plan.clip is not None:
        keep &= plan.clip.contains(track.longitude, track.latitude)
    if not keep.any():
        return None
    # Work on the kept stretch (plus one segment each side for slopes), then drop gaps.
    idx = np.flatnonzero(keep)
    lo, hi = max(idx[0] - 1, 0), min(idx[-1] + 2, x_atc.size)
    sl = slice(lo, hi)
    segment_id, x_atc, keep = segment_id[sl], x_atc[sl], keep[sl]
    lat, lon = track.latitude[sl], track.longitude[sl]
    delta_time = track.delta_time[sl] + BEAM_TIME_OFFSETS_S[beam]
    azimuth = track.azimuth[sl]
    n = x_atc.size

    x, y = _to_polar_stereo().transform(lon, lat)
    t_year = gps_to_decimal_year(delta_time + ATLAS_SDP_GPS_EPOCH)
    h_true = surface.surface_height(x, y, t_year)
    dh_fit_dx = np.gradient(h_true, x_atc) if n > 1 else np.zeros(n)
    # Across-track slope: the surface 10 m either side, in projected metres scaled
    # back to ground metres.
    if n > 1:
        dx, dy = np.gradient(x), np.gradient(y)
        step = np.hypot(dx, dy)
        scale = step / SEGMENT_SPACING_M  # projection scale factor
        left_x, left_y = -dy / step, dx / step
        d = 10.0 * scale
        h_left = surface.surface_height(x + d * left_x, y + d * left_y, t_year)
        h_right = surface.surface_height(x - d * left_x, y - d * left_y, t_year)
        dh_fit_dy = (h_left - h_right) / 20.0
    else:
        dh_fit_dy = np.zeros(n)

    # Heights: precise for good segments, worse where the quality summary flags a problem.
    sigma = 0.12 if weak else 0.07
    quality = (rng.random(n) < (0.07 if weak else 0.03)).astype(np.int8)
    bad = quality == 1
    h_li = h_true + rng.normal(0.0, sigma, n)
    h_li[bad] += rng.normal(0.0, 2.5, bad.sum())
    h_li_sigma = sigma * np.exp(rng.normal(0.0, 0.25, n))
    h_li_sigma[bad] = rng.uniform(0.5, 3.0, bad.sum())
    h_robust_sprd = np.abs(rng.normal(0.15 if weak else 0.1, 0.04, n))
    h_robust_sprd[bad] = rng.uniform(0.5, 5.0, bad.sum())
    snr_significance = rng.exponential(0.002, n)
    snr_significance[bad] = rng.uniform(0.02, 0.2, bad.sum())
    signal_selection_source = np.zeros(n, dtype=np.int8)
    signal_selection_source[bad] = rng.choice(np.array([1, 2, 3], dtype=np.int8), bad.sum())
    n_fit_photons = rng.poisson(40 if weak else 150, n).astype(np.int32)
    n_fit_photons[bad] = rng.poisson(12, bad.sum())
    # Fill values: mostly flagged, a few that the flag misses (the reducer's |h_li| test).
    filled = rng.random(n) < 0.004
    h_li[filled] = FLOAT32_FILL
    h_li_sigma[filled] = FLOAT32_FILL
    quality[filled] = (rng.random(filled.sum()) > 0.125).astype(np.int8)
    # Rare blunders of tens to hundreds of metres that pass the quality flag.
    blunder = (rng.random(n) < 0.0005) & ~filled
    h_li[blunder] += rng.choice([-1.0, 1.0], blunder.sum()) * rng.uniform(20, 300, blunder.sum())

    # Corrections: smooth functions of time and place, in metres.
    t_rel = delta_time - orbit.FIRST_NODE_DELTA_TIME
    semi_diurnal = 2 * np.pi * t_rel / 44714.0
    diurnal = 2 * np.pi * t_rel / 86164.0
    lon_rad = np.radians(lon)
    tide_earth = 0.25 * np.sin(semi_diurnal + 2 * lon_rad) + 0.08 * np.cos(diurnal + lon_rad)
    tide_load = 0.03 * np.sin(semi_diurnal + 2 * lon_rad + 1.0)
    tide_pole = 0.004 + 0.001 * np.sin(2 * np.pi * t_rel / (433 * 86400.0))
    dac = 0.08 * np.sin(2 * np.pi * t_rel / (5.3 * 86400.0) + lon_rad)
    tide_ocean = 0.9 * np.sin(semi_diurnal + lon_rad) + 0.4 * np.cos(diurnal + 0.5)
    tide_ocean[surface.is_grounded(x, y)] = FLOAT32_FILL
    bsnow_conf = np.full(n, 127, dtype=np.int8)
    blowing = rng.random(n) < 0.1
    bsnow_conf[blowing] = rng.integers(-1, 5, blowing.sum())

    # Cloud gaps, then the clip: what remains is what a subset order would return.
    keep &= _cloud_gaps(rng, x_atc, weak)
    if not keep.any():
        return None
    y_atc = y_nominal + rng.normal(0.0, 2.0, n)
    seg_azimuth = (azimuth + 180.0) % 360.0 - 180.0
    arrays = {
        "delta_time": delta_time,
        "latitude": lat,
        "longitude": lon,
        "h_li": h_li,
        "h_li_sigma": h_li_sigma,
        "atl06_quality_summary": quality,
        "segment_id": segment_id,
        "sigma_geo_h": np.round(0.03 + rng.exponential(0.01, n), 4),
        "dh_fit_dx": dh_fit_dx + rng.normal(0.0, 2e-4, n),
        "dh_fit_dy": dh_fit_dy + rng.normal(0.0, 1e-3, n),
        "h_robust_sprd": np.round(h_robust_sprd, 3),
        "n_fit_photons": n_fit_photons,
        "signal_selection_source": signal_selection_source,
        "snr_significance": np.round(snr_significance, 4),
        "bsnow_conf": bsnow_conf,
        "dac": dac,
        "tide_earth": tide_earth,
        "tide_load": tide_load,
        "tide_ocean": tide_ocean,
        "tide_pole": tide_pole,
        "x_atc": x_atc,
        "y_atc": y_atc,
        "seg_azimuth": seg_azimuth,
    }
    return {k: v[keep] for k, v in arrays.items()}


@dataclass(frozen=True)
class GranuleSummary:
    """What was written: file name, segments per beam, and where the file is."""

    path: Path
    segments: dict[str, int]

    @property
    def total_segments(self) -> int:
        """Segments over all beams."""
        return sum(self.segments.values())


def make_granule(plan: GranulePlan, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Per-beam arrays of one granule (beams without any segment are left out)."""
    rng = _rng(seed, plan)
    pass_offset = float(np.clip(rng.normal(0.0, REPEAT_POINTING_SIGMA_M), -60.0, 60.0))
    beams = {}
    for beam in BEAMS:
        arrays = beam_segments(plan, beam, pass_offset, rng)
        if arrays is not None and beam not in plan.missing_beams:
            beams[beam] = arrays
    return beams


def write_granule(plan: GranulePlan, seed: int, folder: Path) -> GranuleSummary:
    """Generate one granule and write it atomically into ``folder``.

    Returns
    -------
    GranuleSummary
        The file and its segment count per beam.
    """
    beams = make_granule(plan, seed)
    name = plan.name
    path = Path(folder) / name.filename
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        _write_file(f, plan, name, beams)
    return GranuleSummary(path=path, segments={b: a["h_li"].size for b, a in beams.items()})


def _write_file(
    f: h5py.File, plan: GranulePlan, name: GranuleName, beams: dict[str, dict[str, np.ndarray]]
) -> None:
    sc_orient = sc_orient_for_cycle(plan.cycle)
    strong = strong_beams(sc_orient)
    times = np.concatenate([a["delta_time"] for a in beams.values()]) if beams else np.array([])
    lats = np.concatenate([a["latitude"] for a in beams.values()]) if beams else np.array([])
    lons = np.concatenate([a["longitude"] for a in beams.values()]) if beams else np.array([])
    g_start = float(np.floor(plan.granule_start + ATLAS_SDP_GPS_EPOCH))
    g_end = float(np.ceil(plan.granule_end + ATLAS_SDP_GPS_EPOCH))
    d_start = float(times.min()) if times.size else plan.granule_start
    d_end = float(times.max()) if times.size else plan.granule_end
    file_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"atl06-tutorial/{name.stem}"))
    _write_root(f, name, file_uuid, g_start, g_end, lats, lons)
    _write_metadata(f, name, file_uuid)
    _write_ancillary(f, plan, g_start, g_end, d_start, d_end)
    _write_orbit_info(f, plan, sc_orient)
    for beam, arrays in beams.items():
        grp = f.create_group(beam)
        pair = beam[2]
        set_attrs(grp, {
            "Description": "Ground track group (gt1l, gt1r, gt2l, gt2r, gt3l, gt3r).",
            "atlas_pce": f"pce{pair}",
            "atlas_beam_type": "strong" if beam in strong else "weak",
            "groundtrack_id": beam,
            "atmosphere_profile": f"profile_{pair}",
            "atlas_spot_number": str(spot_number(beam, sc_orient)),
            "sc_orientation": "Forward" if sc_orient == 1 else "Backward",
        })  # fmt: skip
        write_segments(grp, arrays)


def _write_root(f, name: GranuleName, file_uuid, g_start, g_end, lats, lons) -> None:
    attrs = {
        "short_name": "ATL06",
        "level": "L3A",
        "title": "ATLAS/ICESat-2 L3A Land Ice Height (SYNTHETIC sample, not NASA data)",
        "description": "Synthetic land-ice surface heights in the layout of ATL06: "
        "geolocated heights above the WGS 84 ellipsoid with quality measures, "
        "generated from an orbit model and a model ice surface.",
        "comment": SYNTHETIC_NOTICE,
        "history": f"Created by helpers.sample {__version__} (synthetic data, not NASA data)",
        "source": "synthetic (helpers.sample)",
        "creator_name": "atl06-tutorial helpers.sample",
        "Conventions": "CF-1.6",
        "featureType": "trajectory",
        "date_type": "UTC",
        "time_type": "CCSDS UTC-A",
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_units": "degrees_east",
        "granule_type": "ATL06",
        "identifier_product_type": "ATL06",
        "identifier_product_doi": "doi:10.5067/ATLAS/ATL06.006",
        "identifier_product_format_version": "6.0",
        "identifier_file_uuid": file_uuid,
        "processing_level": "3A",
        "project": "ICESat-2 > Ice, Cloud, and land Elevation Satellite-2",
        "platform": "ICESat-2 > Ice, Cloud, and land Elevation Satellite-2",
        "instrument": "ATLAS > Advanced Topographic Laser Altimeter System",
        "time_coverage_start": format_ccsds(g_start),
        "time_coverage_end": format_ccsds(g_end),
        "time_coverage_duration": np.float64(g_end - g_start),
    }
    if lats.size:
        attrs |= {
            "geospatial_lat_min": np.float64(lats.min()),
            "geospatial_lat_max": np.float64(lats.max()),
            "geospatial_lon_min": np.float64(lons.min()),
            "geospatial_lon_max": np.float64(lons.max()),
        }
    set_attrs(f, attrs)


def _write_metadata(f, name: GranuleName, file_uuid: str) -> None:
    meta = f.create_group("METADATA")
    set_attrs(meta, {"Description": "ISO19115 Structured Metadata Represented within HDF5"})
    ident = meta.create_group("DatasetIdentification")
    set_attrs(ident, {
        "VersionID": name.release,
        "shortName": "ATL06",
        "fileName": name.filename,
        "uuid": file_uuid,
        "spatialRepresentationType": "along-track",
        "language": "eng",
        "characterSet": "utf8",
        "abstract": SYNTHETIC_NOTICE,
    })  # fmt: skip
    series = meta.create_group("SeriesIdentification")
    set_attrs(series, {
        "VersionID": name.release,
        "shortName": "ATL06",
        "longName": "ATLAS/ICESat-2 L3A Land Ice Height",
    })  # fmt: skip


def _write_ancillary(f, plan: GranulePlan, g_start, g_end, d_start, d_end) -> None:
    anc = f.create_group("ancillary_data")
    set_attrs(anc, {
        "Description": "Information ancillary to the data product.",
        "data_rate": "Data within this group pertain to the granule in its entirety.",
    })  # fmt: skip
    epoch_attrs = {
        "units": "seconds since 1980-01-06T00:00:00.000000Z",
        "long_name": "ATLAS Epoch Offset",
        "contentType": "auxiliaryInformation",
    }
    create_compact(anc, "atlas_sdp_gps_epoch", np.array([ATLAS_SDP_GPS_EPOCH]), epoch_attrs)
    actual, requested = "(CCSDS-A, Actual)", "(CCSDS-A, Requested)"
    texts = {
        "data_start_utc": (d_start + ATLAS_SDP_GPS_EPOCH, f"Start UTC Time of Granule {actual}"),
        "data_end_utc": (d_end + ATLAS_SDP_GPS_EPOCH, f"End UTC Time of Granule {actual}"),
        "granule_start_utc": (g_start, f"Start UTC Time of Granule {requested}"),
        "granule_end_utc": (g_end, f"End UTC Time of Granule {requested}"),
    }
    for key, (t_gps, long_name) in texts.items():
        create_compact(
            anc,
            key,
            np.array([format_ccsds(t_gps).encode()], dtype="S27"),
            {"units": "1", "long_name": long_name, "contentType": "auxiliaryInformation"},
        )
    for key, value, long_name in (
        ("release", plan.release, "Release Number"),
        ("version", "01", "Version"),
    ):
        create_compact(
            anc,
            key,
            np.array([value.ljust(80).encode()], dtype="S80"),
            {"units": "1", "long_name": long_name, "contentType": "auxiliaryInformation"},
        )
    times = {
        "start_delta_time": (d_start, "ATLAS Start Time (Actual)"),
        "end_delta_time": (d_end, "ATLAS End Time (Actual)"),
    }
    for key, (value, long_name) in times.items():
        create_compact(
            anc,
            key,
            np.array([value]),
            {
                "units": "seconds since 2018-01-01",
                "long_name": long_name,
                "contentType": "auxiliaryInformation",
            },
        )
    number = orbit.orbit_number(plan.rgt, plan.cycle)
    ints = {
        "start_rgt": (plan.rgt, "Starting Reference Groundtrack"),
        "end_rgt": (plan.rgt, "Ending Reference Groundtrack"),
        "start_cycle": (plan.cycle, "Starting Cycle"),
        "end_cycle": (plan.cycle, "Ending Cycle"),
        "start_region": (plan.region, "Starting Region"),
        "end_region": (plan.region, "Ending Region"),
        "start_orbit": (number, "Starting Orbit Number"),
        "end_orbit": (number, "Ending Orbit Number"),
    }
    for key, (value, long_name) in ints.items():
        create_compact(
            anc,
            key,
            np.array([value], dtype=np.int32),
            {"units": "1", "long_name": long_name, "contentType": "auxiliaryInformation"},
        )


def _write_orbit_info(f, plan: GranulePlan, sc_orient: int) -> None:
    info = f.create_group("orbit_info")
    set_attrs(info, {
        "Description": "Data common to all beams of the granule.",
        "data_rate": "These parameters are constant for a given granule.",
    })  # fmt: skip
    times = {"units": "seconds since 2018-01-01", "standard_name": "time"}
    per_node = {"coordinates": "crossing_time"}
    flags = {
        "flag_values": np.array([0, 1, 2], dtype=np.int8),
        "flag_meanings": "backward forward transition",
        "valid_min": np.int8(0),
        "valid_max": np.int8(2),
    }
    # name: (value, dtype, attributes, deflate, dimension scale it hangs on)
    spec = {
        "crossing_time": (orbit.node_time(plan.rgt, plan.cycle), "f8",
                          {**times, "long_name": "Ascending Node Crossing Time"}, False, None),
        "cycle_number": (plan.cycle, "i1", {"units": "counts", "long_name": "Cycle Number",
                                            **per_node}, False, "crossing_time"),
        "lan": (orbit.node_longitude(plan.rgt), "f8", {"units": "degrees_east",
                "long_name": "Ascending Node Longitude", **per_node}, True, "crossing_time"),
        "orbit_number": (orbit.orbit_number(plan.rgt, plan.cycle), "u2", {"units": "1",
                         "long_name": "Orbit Number", **per_node}, False, "crossing_time"),
        "rgt": (plan.rgt, "i2", {"units": "counts", "long_name": "Reference Ground track",
                                 **per_node}, False, "crossing_time"),
        "sc_orient_time": (orbit.cycle_start(plan.cycle), "f8",
                           {**times, "long_name": "Time of Last Spacecraft Orientation Change"},
                           False, None),
        "sc_orient": (sc_orient, "i1", {"units": "1", "long_name": "Spacecraft Orientation",
                      "coordinates": "sc_orient_time", **flags}, False, "sc_orient_time"),
    }  # fmt: skip
    datasets = {}
    for name, (value, dtype, attrs, deflate, _) in spec.items():
        attrs = {**attrs, "contentType": "referenceInformation"}
        datasets[name] = create_orbit_dataset(
            info, name, np.array([value], dtype=dtype), attrs, deflate=deflate
        )
    for name in ("crossing_time", "sc_orient_time"):
        datasets[name].make_scale(name)
    for name, (*_, scale) in spec.items():
        if scale is not None:
            datasets[name].dims[0].attach_scale(datasets[scale])
