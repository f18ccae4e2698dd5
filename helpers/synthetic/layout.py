"""The HDF5 layout of ATL06 release 006, for the variables this project writes.

Real granules store every per-segment variable as a 1-D dataset chunked ``(10000,)``,
unlimited (``maxshape=(None,)``), deflate level 6, with the shuffle filter on integer
types only; floats carry a ``_FillValue`` attribute (3.4028235e+38 for float32) and
``delta_time`` is an HDF5 dimension scale attached to every beam array. Strings are
fixed-length byte strings: null-terminated in attributes, null-padded in datasets.
Scalars in ``ancillary_data`` use the compact layout; ``orbit_info`` is chunked ``(16,)``.

:data:`SEGMENT_VARIABLES` lists what the synthetic sample writes, with the dtype, fill
value, units and names measured on a real v006 granule. This module is the only place
that knows how to lay them out, and the only one that writes: :func:`write_granule`
writes a whole granule (root attributes, ``METADATA``, ``ancillary_data``,
``orbit_info`` and the beams) from the arrays :mod:`helpers.synthetic.granule` makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from helpers import __version__
from helpers.fileio import write_h5_atomically
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, format_ccsds
from helpers.granules import GranuleName, spot_number, strong_beams
from helpers.synthetic import orbit

if TYPE_CHECKING:
    from helpers.synthetic.granule import GranulePlan

#: Fill value of float32 variables (the largest float32).
FLOAT32_FILL = np.float32(3.4028235e38)
#: Fill value of float64 variables that have one (the largest float64).
FLOAT64_FILL = np.float64(1.7976931348623157e308)
#: Chunk length of per-segment arrays.
SEGMENT_CHUNK = 10000
#: Units of ``delta_time`` and every other time kept in seconds since the ATLAS epoch.
DELTA_TIME_UNITS = "seconds since 2018-01-01"
#: Per-segment arrays of a granule's beams, by beam name, then by variable short name.
BeamArrays = Mapping[str, Mapping[str, np.ndarray]]
#: Words every synthetic file carries in its root ``comment`` and its metadata ``abstract``.
SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA made by the atl06-tutorial project (python -m helpers.sample) for "
    "teaching and testing; not NASA data. The layout follows ATL06 release 006."
)


@dataclass(frozen=True)
class SegmentVariable:
    """One per-segment dataset under ``gtXY/land_ice_segments``.

    Attributes
    ----------
    path : str
        Path below ``land_ice_segments``, e.g. ``"fit_statistics/dh_fit_dx"``.
    dtype : str
        numpy dtype string.
    units, long_name, content_type : str
        CF-style attributes as in the real product.
    fill : int or float or None
        The dataset's fill value, written as ``_FillValue`` too; None for variables
        that have no fill (HDF5's default, 0, and no attribute).
    extra : dict
        Further attributes (flag values and meanings, valid range, standard name).
    """

    path: str
    dtype: str
    units: str
    long_name: str
    content_type: str
    fill: float | int | np.floating | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The variable's short name (last path element)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def coordinates(self) -> str:
        """The ``coordinates`` attribute, relative to the dataset's group."""
        up = "../" if "/" in self.path else ""
        others = [c for c in ("delta_time", "latitude", "longitude") if c != self.name]
        return " ".join(up + c for c in others)


def _flags(values: list[int], meanings: str, dtype: str = "i1") -> dict[str, Any]:
    arr = np.array(values, dtype=dtype)
    return {
        "flag_values": arr,
        "flag_meanings": meanings,
        "valid_min": arr.min(),
        "valid_max": arr.max(),
    }


_F4 = FLOAT32_FILL
SEGMENT_VARIABLES: tuple[SegmentVariable, ...] = (
    SegmentVariable("delta_time", "f8", DELTA_TIME_UNITS, "Elapsed GPS seconds",
                    "referenceInformation", extra={"standard_name": "time"}),
    SegmentVariable("latitude", "f8", "degrees_north", "Latitude", "physicalMeasurement",
                    extra={"standard_name": "latitude", "valid_min": np.float64(-90.0),
                           "valid_max": np.float64(90.0)}),
    SegmentVariable("longitude", "f8", "degrees_east", "Longitude", "physicalMeasurement",
                    extra={"standard_name": "longitude", "valid_min": np.float64(-180.0),
                           "valid_max": np.float64(180.0)}),
    SegmentVariable("h_li", "f4", "meters", "Land Ice height", "physicalMeasurement", _F4),
    SegmentVariable("h_li_sigma", "f4", "meters", "Expected RMS segment misfit",
                    "qualityInformation", _F4),
    SegmentVariable("atl06_quality_summary", "i1", "1", "ATL06_Quality_Summary",
                    "qualityInformation",
                    extra=_flags([0, 1], "best_quality potential_problem")),
    SegmentVariable("segment_id", "i4", "1", "Reference Point, m", "referenceInformation", 0),
    SegmentVariable("sigma_geo_h", "f4", "meters", "Vertical Geolocation Error",
                    "qualityInformation", _F4),
    SegmentVariable("fit_statistics/dh_fit_dx", "f4", "meters/meters", "Along Track Slope",
                    "physicalMeasurement", _F4),
    SegmentVariable("fit_statistics/dh_fit_dy", "f4", "meters/meters", "Across Track Slope",
                    "physicalMeasurement", _F4),
    SegmentVariable("fit_statistics/h_robust_sprd", "f4", "meters", "Robust Spread",
                    "referenceInformation", _F4),
    SegmentVariable("fit_statistics/n_fit_photons", "i4", "1", "Number of Photons in Fit",
                    "physicalMeasurement", 2147483647),
    SegmentVariable("fit_statistics/signal_selection_source", "i1", "1",
                    "Signal Selection Source", "qualityInformation",
                    extra=_flags([0, 1, 2, 3], "succeeded_using_pe succeeded_using_flagged_pe "
                                 "succeeded_using_backup failed")),
    SegmentVariable("fit_statistics/snr_significance", "f4", "1", "SNR Significance",
                    "physicalMeasurement", _F4),
    SegmentVariable("geophysical/bsnow_conf", "i1", "1", "Blowing Snow confidence",
                    "referenceInformation", 127),
    SegmentVariable("geophysical/dac", "f4", "meters", "Dynamic Atmosphere Correction",
                    "referenceInformation", _F4),
    SegmentVariable("geophysical/tide_earth", "f4", "meters", "Earth Tide",
                    "referenceInformation", _F4),
    SegmentVariable("geophysical/tide_load", "f4", "meters", "Load Tide",
                    "referenceInformation", _F4),
    SegmentVariable("geophysical/tide_ocean", "f4", "meters", "Ocean Tide",
                    "referenceInformation", _F4),
    SegmentVariable("geophysical/tide_pole", "f4", "meters", "Solid Earth Pole Tide",
                    "referenceInformation", _F4),
    SegmentVariable("ground_track/x_atc", "f8", "meters", "X Along Track",
                    "referenceInformation", FLOAT64_FILL),
    SegmentVariable("ground_track/y_atc", "f4", "meters", "Y Along Track",
                    "referenceInformation", _F4),
    SegmentVariable("ground_track/seg_azimuth", "f4", "degrees", "Segment Azimuth",
                    "referenceInformation", _F4),
)  # fmt: skip

_SUBGROUP_DESCRIPTIONS = {
    "": "Land-ice heights and their quality, one value per 40 m segment posted every 20 m.",
    "fit_statistics": "Statistics of the surface fit for each segment.",
    "geophysical": "Geophysical corrections and flags for each segment.",
    "ground_track": "Geolocation of each segment relative to the reference ground track.",
}


def set_string_attr(obj: h5py.HLObject, name: str, value: str) -> None:
    """Write a fixed-length, null-terminated ASCII attribute, as the real product does."""
    data = value.encode("ascii")
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(len(data) + 1)
    tid.set_strpad(h5py.h5t.STR_NULLTERM)
    if name in obj.attrs:
        del obj.attrs[name]
    space = h5py.h5s.create(h5py.h5s.SCALAR)
    attr = h5py.h5a.create(obj.id, name.encode("ascii"), tid, space)
    attr.write(np.array(data, dtype=f"S{len(data) + 1}"), mtype=tid)


def set_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    """Write attributes: strings as fixed-length byte strings, numbers with their dtype."""
    for key, value in attrs.items():
        if isinstance(value, str):
            set_string_attr(obj, key, value)
        else:
            obj.attrs[key] = value


def create_compact(group: h5py.Group, name: str, value: np.ndarray, attrs: Mapping) -> None:
    """Create a small fixed-size dataset with the compact layout (as in ``ancillary_data``)."""
    value = np.asarray(value)
    space = h5py.h5s.create_simple(value.shape, value.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    tid = h5py.h5t.py_create(value.dtype)
    dsid = h5py.h5d.create(group.id, name.encode("ascii"), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, value)
    set_attrs(group[name], attrs)


def create_orbit_dataset(
    group: h5py.Group, name: str, value: np.ndarray, attrs: Mapping, deflate: bool = False
) -> h5py.Dataset:
    """Create a one-element, unlimited dataset chunked ``(16,)`` (as in ``orbit_info``)."""
    ds = group.create_dataset(
        name,
        data=np.atleast_1d(value),
        chunks=(16,),
        maxshape=(None,),
        compression="gzip" if deflate else None,
        compression_opts=6 if deflate else None,
    )
    set_attrs(ds, attrs)
    return ds


def write_segments(beam_group: h5py.Group, arrays: Mapping[str, np.ndarray]) -> None:
    """Write the per-segment variables of one beam under ``land_ice_segments``.

    Parameters
    ----------
    beam_group : h5py.Group
        The ``gtXY`` group (created by the caller, with its attributes).
    arrays : mapping of str to numpy.ndarray
        Arrays by short name (``"h_li"``, ``"dh_fit_dx"``, ...), all the same length;
        every variable of :data:`SEGMENT_VARIABLES` must be present.
    """
    missing = [v.name for v in SEGMENT_VARIABLES if v.name not in arrays]
    if missing:
        raise KeyError(f"segment arrays missing: {', '.join(missing)}")
    lis = beam_group.create_group("land_ice_segments")
    for sub, text in _SUBGROUP_DESCRIPTIONS.items():
        grp = lis.require_group(sub) if sub else lis
        set_attrs(
            grp, {"Description": text, "data_rate": "Data are stored at the land_ice segment rate."}
        )
    datasets = {}
    for var in SEGMENT_VARIABLES:
        dtype = np.dtype(var.dtype)
        data = np.asarray(arrays[var.name], dtype=dtype)
        ds = lis.create_dataset(
            var.path,
            data=data,
            chunks=(SEGMENT_CHUNK,),
            maxshape=(None,),
            compression="gzip",
            compression_opts=6,
            shuffle=dtype.kind in "iu",
            fillvalue=None if var.fill is None else dtype.type(var.fill),
        )
        attrs: dict[str, Any] = {
            "contentType": var.content_type,
            "coordinates": var.coordinates,
            "long_name": var.long_name,
            "units": var.units,
            **var.extra,
        }
        if var.fill is not None:
            attrs["_FillValue"] = dtype.type(var.fill)
        set_attrs(ds, attrs)
        datasets[var.name] = ds
    scale = datasets["delta_time"]
    scale.make_scale("delta_time")
    for name, ds in datasets.items():
        if name != "delta_time":
            ds.dims[0].attach_scale(scale)


def write_granule(plan: GranulePlan, beams: BeamArrays, folder: Path) -> Path:
    """Write one synthetic granule, atomically, into ``folder``.

    Parameters
    ----------
    plan : GranulePlan
        The pass and region: they give the file name and the granule-level metadata.
    beams : BeamArrays
        Per-segment arrays of each beam present, as
        :func:`helpers.synthetic.granule.make_granule` returns them.
    folder : path-like
        Existing output folder.

    Returns
    -------
    pathlib.Path
        The file written, named as NSIDC names ATL06 granules.

    Examples
    --------
    >>> from helpers.synthetic.granule import make_granule  # doctest: +SKIP
    >>> write_granule(plan, make_granule(plan, seed=2018), folder)  # doctest: +SKIP
    """
    name = plan.name
    path = Path(folder) / name.filename
    # Built in memory, written in one go: a full disk is a plain OSError, not a crash.
    return write_h5_atomically(path, lambda f: _write_file(f, plan, name, beams))


def _write_file(f: h5py.File, plan: GranulePlan, name: GranuleName, beams: BeamArrays) -> None:
    def joined(key: str) -> np.ndarray:
        return np.concatenate([a[key] for a in beams.values()]) if beams else np.array([])

    times, lats, lons = joined("delta_time"), joined("latitude"), joined("longitude")
    # The requested span (whole seconds around the region) and the span of the data.
    g_start = float(np.floor(plan.granule_start + ATLAS_SDP_GPS_EPOCH))
    g_end = float(np.ceil(plan.granule_end + ATLAS_SDP_GPS_EPOCH))
    d_start = float(times.min()) if times.size else plan.granule_start
    d_end = float(times.max()) if times.size else plan.granule_end
    file_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"atl06-tutorial/{name.stem}"))
    _write_root(f, file_uuid, g_start, g_end, lats, lons)
    _write_metadata(f, name, file_uuid)
    _write_ancillary(f, plan, g_start, g_end, d_start, d_end)
    _write_orbit_info(f, plan)
    for beam, arrays in beams.items():
        _write_beam(f, beam, plan.sc_orient, arrays)


def _write_beam(f: h5py.File, beam: str, sc_orient: int, arrays: Mapping[str, np.ndarray]) -> None:
    grp = f.create_group(beam)
    pair = beam[2]
    set_attrs(grp, {
        "Description": "Ground track group (gt1l, gt1r, gt2l, gt2r, gt3l, gt3r).",
        "atlas_pce": f"pce{pair}",
        "atlas_beam_type": "strong" if beam in strong_beams(sc_orient) else "weak",
        "groundtrack_id": beam,
        "atmosphere_profile": f"profile_{pair}",
        "atlas_spot_number": str(spot_number(beam, sc_orient)),
        "sc_orientation": "Forward" if sc_orient == 1 else "Backward",
    })  # fmt: skip
    write_segments(grp, arrays)


def _write_root(
    f: h5py.File, file_uuid: str, g_start: float, g_end: float, lats: np.ndarray, lons: np.ndarray
) -> None:
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


def _write_metadata(f: h5py.File, name: GranuleName, file_uuid: str) -> None:
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


def _write_ancillary(
    f: h5py.File, plan: GranulePlan, g_start: float, g_end: float, d_start: float, d_end: float
) -> None:
    """``ancillary_data``: epoch, requested and actual times, release, pass numbers.

    ``g_start``/``g_end`` are GPS seconds, ``d_start``/``d_end`` are ``delta_time``.
    """
    anc = f.create_group("ancillary_data")
    set_attrs(anc, {
        "Description": "Information ancillary to the data product.",
        "data_rate": "Data within this group pertain to the granule in its entirety.",
    })  # fmt: skip
    epoch_units = "seconds since 1980-01-06T00:00:00.000000Z"
    _ancillary(anc, "atlas_sdp_gps_epoch", np.array([ATLAS_SDP_GPS_EPOCH]), "ATLAS Epoch Offset",
               units=epoch_units)  # fmt: skip
    actual, requested = "(CCSDS-A, Actual)", "(CCSDS-A, Requested)"
    for key, t_gps, long_name in (
        ("data_start_utc", d_start + ATLAS_SDP_GPS_EPOCH, f"Start UTC Time of Granule {actual}"),
        ("data_end_utc", d_end + ATLAS_SDP_GPS_EPOCH, f"End UTC Time of Granule {actual}"),
        ("granule_start_utc", g_start, f"Start UTC Time of Granule {requested}"),
        ("granule_end_utc", g_end, f"End UTC Time of Granule {requested}"),
    ):
        _ancillary(anc, key, np.array([format_ccsds(t_gps).encode()], dtype="S27"), long_name)
    for key, text, long_name in (
        ("release", plan.release, "Release Number"),
        ("version", "01", "Version"),
    ):
        _ancillary(anc, key, np.array([text.ljust(80).encode()], dtype="S80"), long_name)
    for key, seconds, long_name in (
        ("start_delta_time", d_start, "ATLAS Start Time (Actual)"),
        ("end_delta_time", d_end, "ATLAS End Time (Actual)"),
    ):
        _ancillary(anc, key, np.array([seconds]), long_name, units=DELTA_TIME_UNITS)
    number = orbit.orbit_number(plan.rgt, plan.cycle)
    for key, count, long_name in (
        ("start_rgt", plan.rgt, "Starting Reference Groundtrack"),
        ("end_rgt", plan.rgt, "Ending Reference Groundtrack"),
        ("start_cycle", plan.cycle, "Starting Cycle"),
        ("end_cycle", plan.cycle, "Ending Cycle"),
        ("start_region", plan.region, "Starting Region"),
        ("end_region", plan.region, "Ending Region"),
        ("start_orbit", number, "Starting Orbit Number"),
        ("end_orbit", number, "Ending Orbit Number"),
    ):
        _ancillary(anc, key, np.array([count], dtype=np.int32), long_name)


def _ancillary(
    group: h5py.Group, name: str, value: np.ndarray, long_name: str, units: str = "1"
) -> None:
    attrs = {"units": units, "long_name": long_name, "contentType": "auxiliaryInformation"}
    create_compact(group, name, value, attrs)


def _write_orbit_info(f: h5py.File, plan: GranulePlan) -> None:
    info = f.create_group("orbit_info")
    set_attrs(info, {
        "Description": "Data common to all beams of the granule.",
        "data_rate": "These parameters are constant for a given granule.",
    })  # fmt: skip
    times = {"units": DELTA_TIME_UNITS, "standard_name": "time"}
    per_node = {"coordinates": "crossing_time"}
    flags: dict[str, Any] = {
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
        "sc_orient": (plan.sc_orient, "i1", {"units": "1", "long_name": "Spacecraft Orientation",
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
