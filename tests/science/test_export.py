"""Exports re-opened by other tools: geopandas and pyarrow (GeoParquet), GDAL through pyogrio
(GeoPackage) and rasterio (NetCDF, COG), xarray (NetCDF); each must report EPSG:3031."""

from __future__ import annotations

import json

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from helpers import export
from helpers.grid import to_dataset


@pytest.fixture(scope="module")
def points() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 1000
    return pd.DataFrame({
        "x": rng.uniform(-1.65e6, -1.55e6, n), "y": rng.uniform(-3.3e5, -2.3e5, n),
        "h_li": rng.normal(500, 10, n).astype("f4"), "cycle": rng.integers(3, 8, n).astype("i1"),
        "beam": pd.Categorical(rng.choice(["gt1l", "gt2r"], n)),
    })  # fmt: skip


@pytest.fixture(scope="module")
def grid():
    """A 6 x 4 grid of 2 km cells: rates in some cells, NaN elsewhere."""
    cells = pd.DataFrame({"ix": [-800, -799, -797, -795], "iy": [-150, -149, -148, -147],
                          "dhdt": [-1.0, -2.5, 0.25, -4.0], "dhdt_sigma": [0.1, 0.2, 0.05, 0.3],
                          "n_passes": [8, 9, 10, 12], "n_cycles": [4, 4, 5, 5],
                          "n_points": [900, 1000, 1100, 1200], "x_mean": 0.0, "y_mean": 0.0})
    return to_dataset(cells, 2000.0, grounded=lambda x, y: x < -1.592e6)


def test_geoparquet_opens_in_geopandas_with_its_crs(points, tmp_path):
    import geopandas as gpd
    import pyarrow.parquet as pq

    path = export.to_geoparquet(points, tmp_path / "points.parquet")
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == 3031
    np.testing.assert_array_equal(frame.geometry.x, points.x)
    np.testing.assert_array_equal(frame.geometry.y, points.y)
    np.testing.assert_array_equal(frame.h_li, points.h_li)
    meta = json.loads(pq.read_schema(path).metadata[b"geo"])
    column = meta["columns"][meta["primary_column"]]
    assert meta["version"] == "1.1.0" and column["encoding"] == "point"
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 3031}
    assert column["bbox"] == [points.x.min(), points.y.min(), points.x.max(), points.y.max()]


def test_a_dask_frame_becomes_one_geoparquet_file_per_partition(points, tmp_path):
    import geopandas as gpd

    folder = export.to_geoparquet(dd.from_pandas(points, npartitions=3), tmp_path / "parts")
    parts = sorted(folder.glob("part-*.parquet"))
    assert len(parts) == 3
    frames = [gpd.read_parquet(p) for p in parts]
    assert {f.crs.to_epsg() for f in frames} == {3031}
    assert sum(len(f) for f in frames) == len(points)


def test_geopackage_opens_in_gdal_with_its_crs(points, tmp_path):
    import pyogrio

    path = export.to_geopackage(points, tmp_path / "points.gpkg", layer="points")
    info = pyogrio.read_info(path, layer="points")
    assert info["crs"] == "EPSG:3031" and info["features"] == len(points)
    frame = pyogrio.read_dataframe(path, layer="points")
    np.testing.assert_allclose(frame.geometry.x, points.x)
    assert list(frame.beam) == list(points.beam.astype(str))


def test_netcdf_follows_cf_and_opens_in_xarray(grid, tmp_path):
    import xarray as xr
    from pyproj import CRS

    path = export.to_netcdf(grid, tmp_path / "dhdt.nc")
    with xr.open_dataset(path, decode_coords="all") as ds:
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds.dhdt.encoding["grid_mapping"] == export.GRID_MAPPING
        mapping = ds[export.GRID_MAPPING].attrs
        assert mapping["grid_mapping_name"] == "polar_stereographic"
        assert CRS.from_cf(mapping).to_epsg() == 3031
        assert CRS.from_wkt(mapping["spatial_ref"]).to_epsg() == 3031
        assert ds.x.attrs["standard_name"] == "projection_x_coordinate"
        assert ds.x.attrs["units"] == "m" and ds.dhdt.attrs["units"] == "m year-1"
        np.testing.assert_array_equal(ds.dhdt, grid.dhdt)
        np.testing.assert_array_equal(ds.grounded, grid.grounded)
        assert "anomaly" not in ds.dims  # the pass weights stay out of the file


def test_netcdf_opens_in_gdal_placed_and_with_its_crs(grid, tmp_path):
    import rasterio

    path = export.to_netcdf(grid, tmp_path / "dhdt.nc")
    with rasterio.open(f"netcdf:{path}:dhdt") as src:
        assert src.crs.to_epsg() == 3031
        assert src.transform.a == 2000.0 and src.transform.e == -2000.0
        assert src.xy(0, 0) == (float(grid.x[0]), float(grid.y[0]))  # top-left cell centre
        np.testing.assert_array_equal(src.read(1), grid.dhdt.values)


def test_cog_opens_in_gdal_as_a_cog_with_its_crs(grid, tmp_path):
    import rasterio

    path = export.to_cog(grid, tmp_path / "dhdt.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 3031
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert np.isnan(src.nodata)
        assert src.xy(0, 0) == (float(grid.x[0]), float(grid.y[0]))
        np.testing.assert_array_equal(src.read(1), grid.dhdt.values)
        assert src.descriptions == ("dhdt",) and src.tags(1)["units"] == "m year-1"


def test_nothing_is_left_half_written(grid, tmp_path, monkeypatch):
    import xarray as xr

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        export.to_netcdf(grid, tmp_path / "dhdt.nc")
    assert list(tmp_path.iterdir()) == []
