"""The synthetic granules have the layout of a real v006 granule, and icepyx reads them."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from helpers.granules import BEAMS


def _datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    found: dict[str, h5py.Dataset] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    f.visititems(visit)
    return found


def _layout(ds: h5py.Dataset) -> dict:
    """Every storage property the issue asks to compare, for one dataset."""
    plist = ds.id.get_create_plist()
    attrs = ds.attrs
    fill = attrs.get("_FillValue")
    dims = []
    if ds.is_scale:
        dims = ["<scale>"]
    else:
        for dim in ds.dims:
            dims.append(sorted(scale.name.rsplit("/", 1)[-1] for scale in dim.values()))
    units = attrs.get("units")
    return {
        "dtype": ds.dtype.str if ds.dtype.kind != "S" else "S",
        "layout": plist.get_layout(),
        "chunks": ds.chunks,
        "maxshape": ds.maxshape if ds.chunks else None,
        "compression": ds.compression,
        "compression_opts": ds.compression_opts,
        "shuffle": ds.shuffle,
        "fillvalue": ds.fillvalue if ds.dtype.kind != "S" else None,
        "_FillValue": None
        if fill is None
        else (np.asarray(fill).dtype.str, np.asarray(fill).item()),
        "units": None if units is None else units.decode() if isinstance(units, bytes) else units,
        "dims": dims,
    }


def _beam_agnostic(path: str) -> str:
    return re.sub(r"^gt[123][lr]/", "gtXY/", path)


def test_every_shared_dataset_has_the_real_layout(small_sample, reference_granule):
    real_path = reference_granule
    synthetic = sorted(small_sample.glob("ATL06_*.h5"))[0]
    differences = []
    with h5py.File(real_path) as real, h5py.File(synthetic) as fake:
        real_sets = {_beam_agnostic(k): v for k, v in _datasets(real).items()}
        fake_sets = {_beam_agnostic(k): v for k, v in _datasets(fake).items()}
        shared = sorted(set(real_sets) & set(fake_sets))
        assert len(shared) >= 40, f"too few shared datasets to be a meaningful check: {shared}"
        for path in shared:
            want, got = _layout(real_sets[path]), _layout(fake_sets[path])
            for key in want:
                if want[key] != got[key]:
                    differences.append(f"{path}: {key} real={want[key]!r} synthetic={got[key]!r}")
    assert not differences, "\n".join(differences)


def test_everything_the_reducer_reads_is_present(small_sample):
    wanted = ["latitude", "longitude", "h_li", "h_li_sigma", "delta_time",
              "atl06_quality_summary", "segment_id", "fit_statistics/dh_fit_dx",
              "fit_statistics/h_robust_sprd", "fit_statistics/snr_significance",
              "fit_statistics/signal_selection_source", "geophysical/bsnow_conf",
              "geophysical/dac", "geophysical/tide_earth", "geophysical/tide_load",
              "geophysical/tide_ocean", "geophysical/tide_pole"]  # fmt: skip
    for path in sorted(small_sample.glob("ATL06_*.h5")):
        with h5py.File(path) as f:
            beams = [b for b in BEAMS if b in f]
            assert beams, path.name
            for beam in beams:
                for var in wanted:
                    assert f"{beam}/land_ice_segments/{var}" in f, f"{path.name}: {beam} {var}"


def test_root_attributes_are_null_terminated_strings_and_say_synthetic(
    small_sample, reference_granule
):
    synthetic = sorted(small_sample.glob("ATL06_*.h5"))[0]
    with h5py.File(reference_granule) as real, h5py.File(synthetic) as fake:
        for key in (
            "short_name",
            "level",
            "granule_type",
            "identifier_product_type",
            "identifier_product_doi",
            "time_coverage_start",
            "time_coverage_end",
        ):
            assert fake.attrs[key].dtype.kind == "S", key
            pad_real = h5py.h5a.open(real.id, key.encode()).get_type().get_strpad()
            pad_fake = h5py.h5a.open(fake.id, key.encode()).get_type().get_strpad()
            assert pad_fake == pad_real == h5py.h5t.STR_NULLTERM, key
        assert fake.attrs["short_name"] == real.attrs["short_name"] == b"ATL06"
        assert fake.attrs["level"] == b"L3A"
        assert fake["METADATA/DatasetIdentification"].attrs["VersionID"] == b"006"
        for key in ("comment", "title", "history"):
            assert b"SYNTHETIC" in fake.attrs[key].upper(), key
            assert b"NOT NASA DATA" in fake.attrs[key].upper(), key
        assert not list(fake["METADATA"].keys() - {"DatasetIdentification", "SeriesIdentification"})
        assert len(fake["METADATA"].keys()) and not any(
            isinstance(o, h5py.Dataset) for o in fake["METADATA"].values()
        )


def test_icepyx_reads_synthetic_granules_offline(small_sample):
    ipx = pytest.importorskip("icepyx")
    files = [
        str(p) for p in sorted(small_sample.glob("ATL06_*.h5"))
        if all(b in h5py.File(p) for b in BEAMS)
    ][:2]  # fmt: skip
    assert files
    reader = ipx.Read(files)
    reader.variables.append(var_list=["h_li", "latitude", "longitude"])
    ds = reader.load()
    for var in ("h_li", "latitude", "longitude"):
        assert var in ds.data_vars
    assert int(ds["h_li"].notnull().sum()) > 1000
    lat = ds["latitude"].values
    lat = lat[np.isfinite(lat)]
    assert lat.min() > -76.2 and lat.max() < -74.3
