"""The HDF5 layout of ATL06 release 006, for the variables this project writes.

Real granules store every per-segment variable as a 1-D dataset chunked ``(10000,)``,
unlimited (``maxshape=(None,)``), deflate level 6, with the shuffle filter on integer
types only; floats carry a ``_FillValue`` attribute (3.4028235e+38 for float32) and
``delta_time`` is an HDF5 dimension scale attached to every beam array. Strings are
fixed-length byte strings: null-terminated in attributes, null-padded in datasets.
Scalars in ``ancillary_data`` use the compact layout; ``orbit_info`` is chunked ``(16,)``.

:data:`SEGMENT_VARIABLES` lists what the synthetic sample writes, with the dtype, fill
value, units and names measured on a real v006 granule. The writer functions below are
the only place that knows how to lay them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

#: Fill value of float32 variables (the largest float32).
FLOAT32_FILL = np.float32(3.4028235e38)
#: Fill value of float64 variables that have one (the largest float64).
FLOAT64_FILL = np.float64(1.7976931348623157e308)
#: Chunk length of per-segment arrays.
SEGMENT_CHUNK = 10000


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
    fill: float | int | None = None
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
    SegmentVariable("delta_time", "f8", "seconds since 2018-01-01", "Elapsed GPS seconds",
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

#: Variables by short name.
SEGMENT_VARIABLES_BY_NAME: dict[str, SegmentVariable] = {v.name: v for v in SEGMENT_VARIABLES}

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
