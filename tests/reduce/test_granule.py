"""The reducer's outputs, checked against an independent re-read of the inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from astropy.time import Time
from pyproj import Transformer

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.granules import BEAMS, parse_granule_name
from helpers.reduce import (
    OUTPUT_VARIABLES,
    RECORDS,
    ReduceOptions,
    reduce_granules,
)

W, S, E, N = PIG_BBOX
GPS_EPOCH_2018 = 1198800018.0  # GPS seconds of 2018-01-01, the ATLAS epoch
INT8_FILL = 127
SOURCES = {
    "lat": "latitude", "lon": "longitude", "h_li": "h_li", "s_li": "h_li_sigma",
    "t_dt": "delta_time", "q_flag": "atl06_quality_summary",
    "s_fg": "fit_statistics/signal_selection_source",
    "snr": "fit_statistics/snr_significance", "h_rb": "fit_statistics/h_robust_sprd",
    "dac": "geophysical/dac", "f_sn": "geophysical/bsnow_conf",
    "dh_fit_dx": "fit_statistics/dh_fit_dx", "tide_earth": "geophysical/tide_earth",
    "tide_load": "geophysical/tide_load", "tide_ocean": "geophysical/tide_ocean",
    "tide_pole": "geophysical/tide_pole",
}  # fmt: skip
CORE = ("lat", "lon", "h_li", "t_dt", "q_flag")
NAME_PARTS = re.compile(r"ATL06_\d{14}_(\d{4})(\d{2})(\d{2})_(\d{3})_\d{2}")


@pytest.fixture(scope="module")
def reduced_sample(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("reduced")
    summary = reduce_granules([small_sample], out, ReduceOptions(bbox=BBox(*PIG_BBOX)),
                              n_jobs=2, progress=False)  # fmt: skip
    assert not summary.failed
    return out


def expected_epsg(src) -> int:
    """3413 if the granule's point farthest from the equator is north of it, else 3031."""
    lat = np.concatenate([src[f"{b}/land_ice_segments/latitude"][()] for b in BEAMS
                          if f"{b}/land_ice_segments/latitude" in src])  # fmt: skip
    return 3413 if lat[np.argmax(np.abs(lat))] > 0 else 3031


def orbit_value(src, granule, key, group):
    """``orbit_info/<key>`` of the file, or the number in its name (rgt, cycle, region)."""
    if key in src.get("orbit_info", {}):
        return src[f"orbit_info/{key}"][0]
    return int(NAME_PARTS.search(granule.name).group(group))


def check_against_source(granule, out_dir, bbox=None, ascending=None):
    """Re-read ``granule`` with h5py and check every output value; return points checked.

    Variables the granule lacks must be NaN (int8 flags: 127); x/y must be those of pyproj
    in the EPSG of the granule's hemisphere; RGT and cycle come from orbit_info, or from the
    file name when the file lacks them; spot numbers are -1 when sc_orient is absent.
    """
    checked = 0
    with h5py.File(granule) as src:
        epoch = src["ancillary_data/atlas_sdp_gps_epoch"][0]
        epsg = expected_epsg(src)
        to_xy = Transformer.from_crs(4326, epsg, always_xy=True)
        for beam in BEAMS:
            out_path = out_dir / f"{granule.stem}_{beam}.h5"
            if beam not in src:
                assert not out_path.exists()
                continue
            g = src[f"{beam}/land_ice_segments"]
            raw = {k: g[p][()] for k, p in SOURCES.items() if p in g}
            keep = (raw["q_flag"] == 0) & (np.abs(raw["h_li"]) < 10_000)
            if bbox is not None:
                keep &= (raw["lon"] >= W) & (raw["lon"] <= E)
                keep &= (raw["lat"] >= S) & (raw["lat"] <= N)
            if not keep.any():
                assert not out_path.exists(), out_path
                continue
            with h5py.File(out_path) as out:
                assert set(out) == set(OUTPUT_VARIABLES)
                for name in SOURCES:
                    if name in raw:
                        want = raw[name][keep]
                        np.testing.assert_array_equal(out[name][()], want, err_msg=name)
                        assert out[name].dtype == want.dtype, name
                    elif out[name].dtype.kind == "f":
                        assert np.isnan(out[name][()]).all(), name
                    else:
                        assert (out[name][()] == INT8_FILL).all(), name
                t_gps = epoch + raw["t_dt"][keep]
                np.testing.assert_array_equal(out["t_gps"][()], t_gps)
                expected_year = Time(t_gps, format="gps").utc.decimalyear
                assert np.max(np.abs(out["t_year"][()] - expected_year)) < 1e-9
                x, y = to_xy.transform(raw["lon"][keep], raw["lat"][keep])
                assert np.max(np.abs(out["x"][()] - x)) < 1e-3  # 1 mm
                assert np.max(np.abs(out["y"][()] - y)) < 1e-3
                if ascending is not None:
                    assert np.all(out["is_asc"][()] == ascending), (granule.name, beam)
                attrs = out.attrs
                assert attrs["source_granule"] == granule.name
                assert attrs["beam"] == beam
                assert attrs["rgt"] == orbit_value(src, granule, "rgt", 1)
                assert attrs["cycle"] == orbit_value(src, granule, "cycle_number", 2)
                assert attrs["epsg"] == epsg
                assert out["x"].attrs["description"].endswith(f"EPSG:{epsg}")
                assert attrs["beam_type"] == src[beam].attrs["atlas_beam_type"].decode()
                if "sc_orient" in src["orbit_info"]:
                    spot = src[beam].attrs["atlas_spot_number"].decode()
                    assert str(attrs["spot_number"]) == spot
                else:
                    assert attrs["spot_number"] == -1
                assert "atl06_quality_summary == 0" in attrs["filters"]
                checked += int(keep.sum())
    return checked


def test_sample_outputs_match_an_independent_reread(small_sample, reduced_sample):
    total = 0
    for granule in sorted(small_sample.glob("ATL06_*.h5")):
        ascending = parse_granule_name(granule).is_ascending_region
        total += check_against_source(granule, reduced_sample, bbox=True, ascending=ascending)
    assert total > 50_000


def test_real_granules_reduce_correctly(real_data, tmp_path):
    summary = reduce_granules([real_data], tmp_path, ReduceOptions(), progress=False)
    assert not summary.failed, summary.report()
    assert summary.count("done") == len(list(real_data.glob("*.h5")))
    checked = 0
    for granule in sorted(real_data.glob("*.h5")):
        ascending = parse_granule_name(granule).is_ascending_region
        checked += check_against_source(granule, tmp_path, ascending=ascending)
    assert checked > 1000
    # The granule with only gt1l/gt1r says so, and the others still reduce.
    missing = next(r for r in summary.results if "08822013" in r.source)
    assert any("beams absent: gt2l, gt2r, gt3l, gt3r" in n for n in missing.notes)
    # The northern granule (Greenland side, region 02) is in EPSG:3413, at sensible x/y.
    north = sorted(tmp_path.glob("ATL06_*_08782002_*_gt*.h5"))
    assert north
    for path in north:
        with h5py.File(path) as out:
            assert out.attrs["epsg"] == 3413
            assert np.abs(out["x"][()]).max() < 5e6 and np.abs(out["y"][()]).max() < 5e6


def subset_granule(granule, folder, name, variables, drop=()):
    """A variable-subsetted copy of a real granule, as older NSIDC orders made them.

    Root attributes, the datasets of ``orbit_info`` and ``ancillary_data`` (less those in
    ``drop``) and, per beam, only ``variables`` (paths below ``land_ice_segments``), with
    the source's chunks and filters. Returns the new file's path.
    """
    path = folder / name
    with h5py.File(granule) as src, h5py.File(path, "w") as dst:
        dst.attrs.update(dict(src.attrs))
        for group in ("orbit_info", "ancillary_data"):
            for key, ds in src[group].items():
                if isinstance(ds, h5py.Dataset) and f"{group}/{key}" not in drop:
                    dst[f"{group}/{key}"] = ds[()]
        for beam in BEAMS:
            if beam not in src:
                continue
            dst.create_group(beam).attrs.update(dict(src[beam].attrs))
            for var in variables:
                ds = src[f"{beam}/land_ice_segments/{var}"]
                dst.create_dataset(f"{beam}/land_ice_segments/{var}", data=ds[()],
                                   chunks=ds.chunks, maxshape=ds.maxshape,
                                   compression=ds.compression,
                                   shuffle=ds.shuffle)  # fmt: skip
    return path


SUBSETS = {  # case -> (variables kept, datasets dropped)
    "core": (tuple(SOURCES[k] for k in CORE), ()),
    "no_sc_orient": (tuple(SOURCES.values()), ("orbit_info/sc_orient",)),
    "no_rgt": (tuple(SOURCES.values()), ("orbit_info/rgt", "orbit_info/cycle_number")),
}


@pytest.mark.parametrize("case", list(SUBSETS))
def test_variable_subsetted_granules_reduce(real_data, tmp_path, case):
    variables, drop = SUBSETS[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    sources = ["ATL06_20230816161508_08782002_006_02.h5",  # north, 6 beams
               "processed_ATL06_20181015100401_02560110_003_01.h5"]  # south, NSIDC subset
    made = [subset_granule(real_data / name, inputs,
                           name if name.startswith("processed_") else f"processed_{name}",
                           variables, drop) for name in sources]  # fmt: skip
    summary = reduce_granules([inputs], tmp_path / "out", progress=False)
    assert not summary.failed, summary.report()
    checked = 0
    for granule in made:
        ascending = parse_granule_name(granule).is_ascending_region
        checked += check_against_source(granule, tmp_path / "out", ascending=ascending)
    assert checked > 500
    report = summary.report()
    for result in summary.results:
        notes = " | ".join(result.notes)
        if case == "core":
            optional = [k for k in SOURCES if k not in CORE]
            assert result.absent_variables == optional
            assert f"{Path(result.source).name}: optional variables absent" in report
        else:
            assert not result.absent_variables
        if case == "no_sc_orient":
            assert "orbit_info/sc_orient absent: orientation unknown, spot_number = -1" in notes
        if case == "no_rgt":
            assert "rgt, cycle taken from the file name" in notes


def test_a_granule_without_a_core_variable_fails_in_one_line(reference_granule, tmp_path):
    variables = tuple(v for v in SOURCES.values() if v not in ("h_li", "delta_time"))
    subset_granule(reference_granule, tmp_path, reference_granule.name, variables)
    summary = reduce_granules([tmp_path / reference_granule.name], tmp_path / "out",
                              progress=False)  # fmt: skip
    [failed] = summary.failed
    assert failed.reason == (
        "missing core variable(s) h_li, delta_time (every beam): cannot reduce this granule"
    )
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.h5"))


def test_rerun_skips_finished_and_overwrite_redoes(small_sample, tmp_path):
    files = sorted(small_sample.glob("ATL06_*.h5"))[:2]
    first = reduce_granules(files, tmp_path, progress=False)
    assert first.count("done") == 2
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")}
    again = reduce_granules(files, tmp_path, progress=False)
    assert again.count("skipped") == 2 and again.points_read == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")} == mtimes
    redo = reduce_granules(files, tmp_path, ReduceOptions(overwrite=True), progress=False)
    assert redo.count("done") == 2
    # A granule whose output went missing is redone.
    next(iter(mtimes)).unlink()
    assert reduce_granules(files, tmp_path, progress=False).count("done") == 1


def test_refuses_to_write_into_the_input_folder(small_sample):
    with pytest.raises(ValueError, match="holds input granules"):
        reduce_granules([small_sample], small_sample, progress=False)


def test_parquet_holds_the_same_points(small_sample, reduced_sample, tmp_path):
    import pyarrow.parquet as pq

    granule = sorted(small_sample.glob("ATL06_*.h5"))[0]
    reduce_granules([granule], tmp_path, ReduceOptions(bbox=BBox(*PIG_BBOX), fmt="parquet"),
                    progress=False)  # fmt: skip
    table = pq.read_table(tmp_path / f"{granule.stem}.parquet").to_pandas()
    meta = pq.read_schema(tmp_path / f"{granule.stem}.parquet").metadata
    assert json.loads(meta[b"source_granule"]) == granule.name
    for beam, part in table.groupby("beam"):
        with h5py.File(reduced_sample / f"{granule.stem}_{beam}.h5") as out:
            for name in OUTPUT_VARIABLES:
                np.testing.assert_array_equal(part[name].to_numpy(), out[name][()], err_msg=name)


def test_antimeridian_bbox_keeps_both_sides(tmp_path):
    from helpers.synthetic.sample import SampleConfig, generate_sample

    ross = (170.0, -80.0, -170.0, -78.0)
    raw = tmp_path / "raw"
    config = SampleConfig(bbox=ross, rgts=None, start="2019-01-01", end="2019-01-02")
    generate_sample(raw, config, n_jobs=1, progress=False)
    summary = reduce_granules([raw], tmp_path / "out", ReduceOptions(bbox=BBox(*ross)),
                              progress=False)  # fmt: skip
    assert summary.points_kept > 1000
    lon = np.concatenate([h5py.File(p)["lon"][()] for p in (tmp_path / "out").glob("*.h5")])
    assert (lon > 170).any() and (lon < -170).any()
    assert not ((lon < 170) & (lon > -170)).any()


def test_records_mark_finished_granules(reduced_sample, small_sample):
    records = sorted((reduced_sample / RECORDS).glob("*.json"))
    assert len(records) == len(list(small_sample.glob("ATL06_*.h5")))
    for record in records:
        data = json.loads(record.read_text())
        assert data["status"] == "done"
        for name in data["outputs"]:
            assert (reduced_sample / name).is_file()
