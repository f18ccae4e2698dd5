"""Files other tools open, each knowing its coordinate system.

- :func:`to_geoparquet`: points (reduced outputs, crossovers) as **GeoParquet 1.1** —
  Parquet with a point geometry column in GeoArrow's native ``point`` encoding (a struct of
  x and y, no WKB to build) and the CRS (PROJJSON) in its ``geo`` metadata, as geopandas,
  GDAL >= 3.8 and QGIS read it. Written with pyarrow directly, millions of points take a
  second, not the time to make a shapely object per point; a Dask DataFrame becomes a
  folder of files, one per partition, written in parallel.
- :func:`to_geopackage`: a table of points as a **GeoPackage** layer (GDAL's own format,
  written through pyogrio), for tools whose GDAL lacks Parquet.
- :func:`to_netcdf`: a grid (:func:`helpers.grid.grid_dhdt`) as **NetCDF following the CF
  conventions**: ``x``/``y`` coordinates in metres with their standard names, every data
  variable pointing at a ``grid_mapping`` variable that holds the projection's CF
  parameters and its WKT (``crs_wkt`` and GDAL's ``spatial_ref``), so that xarray, GDAL,
  QGIS and Panoply all place it.
- :func:`to_cog`: one variable of a grid as a **Cloud-Optimised GeoTIFF** (rasterio, GDAL's
  COG driver), tiled and compressed, readable over HTTP by range requests.

Every file is written under a temporary name beside the final one and renamed when
complete, as the reducer does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.fileio import partial_name

#: Name of the grid-mapping variable in the NetCDF files.
GRID_MAPPING = "polar_stereographic"
#: Grid variables written to NetCDF (when present), in this order.
GRID_VARIABLES: tuple[str, ...] = ("dhdt", "dhdt_sigma", "n_passes", "n_cycles", "n_points",
                                   "grounded")  # fmt: skip


@contextlib.contextmanager
def _atomic_file(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a path with ``final``'s own name in a hidden folder beside it (libraries that
    pick a format by extension are happy); move it into place on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = partial_name(final)
    folder.mkdir()
    try:
        yield folder / final.name
        os.replace(folder / final.name, final)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _geodataframe(points, epsg: int):
    """A GeoDataFrame of points from a frame's ``x``/``y`` columns (kept as columns too)."""
    import geopandas as gpd

    geometry = gpd.points_from_xy(points["x"], points["y"], crs=f"EPSG:{int(epsg)}")
    return gpd.GeoDataFrame(points.reset_index(drop=True), geometry=geometry)


def geo_metadata(x: np.ndarray, y: np.ndarray, epsg: int) -> dict:
    """GeoParquet 1.1 ``geo`` metadata of a ``geometry`` column of points (native encoding).

    Examples
    --------
    >>> meta = geo_metadata(np.array([0.0, 2.0]), np.array([1.0, 3.0]), 3031)
    >>> column = meta["columns"]["geometry"]
    >>> column["encoding"], column["bbox"], column["crs"]["id"]
    ('point', [0.0, 1.0, 2.0, 3.0], {'authority': 'EPSG', 'code': 3031})
    """
    from pyproj import CRS

    bbox = [float(x.min()), float(y.min()), float(x.max()), float(y.max())] if x.size else []
    column = {"encoding": "point", "geometry_types": ["Point"],
              "crs": CRS.from_epsg(int(epsg)).to_json_dict(), "bbox": bbox}  # fmt: skip
    return {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}


def to_geoparquet(points, path: str | os.PathLike, epsg: int = 3031) -> Path:
    """Points as GeoParquet: a ``geometry`` column (native point encoding) and the CRS.

    Parameters
    ----------
    points : pandas.DataFrame or dask.dataframe.DataFrame
        With ``x`` and ``y`` (m, in ``epsg``), and any other columns.
    path : path-like
        A file (``.parquet``) for a pandas frame; a folder of ``part-NNNNN.parquet`` files,
        one per partition, for a dask frame.
    epsg : int
        The x/y's coordinate system.

    Returns
    -------
    pathlib.Path
        Every column is kept (``x`` and ``y`` too, for readers without geometry support),
        compressed with zstd.

    Examples
    --------
    >>> to_geoparquet(xovers, "build/crossovers.parquet")  # doctest: +SKIP
    >>> geopandas.read_parquet("build/crossovers.parquet").crs.to_epsg()  # doctest: +SKIP
    3031
    """
    path = Path(path)
    if hasattr(points, "to_delayed"):
        import dask

        path.mkdir(parents=True, exist_ok=True)
        parts = [dask.delayed(to_geoparquet)(part, path / f"part-{i:05d}.parquet", epsg)
                 for i, part in enumerate(points.to_delayed())]  # fmt: skip
        dask.compute(*parts)
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, y = (points[c].to_numpy(dtype=np.float64) for c in ("x", "y"))
    table = pa.Table.from_pandas(points, preserve_index=False)
    geometry = pa.StructArray.from_arrays([pa.array(x), pa.array(y)], names=["x", "y"])
    table = table.append_column(pa.field("geometry", geometry.type, nullable=False), geometry)
    meta = {**(table.schema.metadata or {}),
            b"geo": json.dumps(geo_metadata(x, y, epsg)).encode()}  # fmt: skip
    with _atomic_file(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
    return path


def to_geopackage(points, path: str | os.PathLike, layer: str, epsg: int = 3031) -> Path:
    """Points as a layer of a new GeoPackage (replacing the file), through GDAL (pyogrio).

    Parameters
    ----------
    points : pandas.DataFrame
        With ``x`` and ``y`` (m, in ``epsg``); categorical columns are written as text.
    path : path-like
        The ``.gpkg`` file.
    layer : str
        Layer name.
    epsg : int
        The x/y's coordinate system.

    Returns
    -------
    pathlib.Path
    """
    frame = _geodataframe(points, epsg)
    for name in frame.columns:
        if str(frame[name].dtype) == "category":
            frame[name] = frame[name].astype(str)
    with _atomic_file(path) as tmp:
        frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
    return Path(path)


def cf_dataset(grid, title: str, source: str, variables: Sequence[str] = GRID_VARIABLES):
    """The grid as a CF-1.8 Dataset: coordinates and variables described, a grid mapping.

    Parameters
    ----------
    grid : xarray.Dataset
        :func:`helpers.grid.grid_dhdt` (``attrs['epsg']`` names its projection).
    title, source : str
        Global attributes (what it is; where the data came from).
    variables : sequence of str
        Variables to keep (those present).

    Returns
    -------
    xarray.Dataset
    """
    from pyproj import CRS

    crs = CRS.from_epsg(int(grid.attrs.get("epsg", 3031)))
    ds = grid[[v for v in variables if v in grid]].copy()
    mapping = crs.to_cf()
    mapping["spatial_ref"] = mapping["crs_wkt"]  # what GDAL looks for first
    ds[GRID_MAPPING] = ((), np.int32(0), mapping)
    for name in ds.data_vars:
        if name != GRID_MAPPING:
            ds[name].attrs["grid_mapping"] = GRID_MAPPING
    ds["x"].attrs.update(axis="X", units="m", standard_name="projection_x_coordinate")
    ds["y"].attrs.update(axis="Y", units="m", standard_name="projection_y_coordinate")
    ds.attrs = {"Conventions": "CF-1.8", "title": title, "source": source,
                "history": "made by helpers.grid and helpers.export (ATL06 tutorial)",
                "cell_size_m": float(grid.attrs.get("cell_m", np.nan)),
                "epsg": int(crs.to_epsg() or 0)}  # fmt: skip
    return ds


def to_netcdf(grid, path: str | os.PathLike, title: str = "Surface elevation change rate",
              source: str = "ICESat-2 ATL06") -> Path:  # fmt: skip
    """The grid as CF NetCDF-4 (see :func:`cf_dataset`), compressed.

    Returns
    -------
    pathlib.Path
    """
    ds = cf_dataset(grid, title, source)
    encoding: dict[str, dict[str, Any]] = {
        name: {"zlib": True, "complevel": 4} for name in ds.data_vars
                if name != GRID_MAPPING}  # fmt: skip
    for name in ("dhdt", "dhdt_sigma"):
        if name in ds:
            encoding[name]["_FillValue"] = np.float32(np.nan)
    with _atomic_file(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return Path(path)


def to_cog(grid, path: str | os.PathLike, variable: str = "dhdt") -> Path:
    """One variable of a grid as a Cloud-Optimised GeoTIFF (float32, NaN for no data).

    Parameters
    ----------
    grid : xarray.Dataset
        With regular ``x`` (ascending) and ``y`` (descending) cell centres (m).
    path : path-like
        The ``.tif`` file.
    variable : str
        Which variable.

    Returns
    -------
    pathlib.Path
    """
    import rasterio
    from affine import Affine

    x, y = grid["x"].to_numpy(), grid["y"].to_numpy()
    cell = float(x[1] - x[0])
    if not (np.allclose(np.diff(x), cell) and np.allclose(np.diff(y), -cell)):
        raise ValueError("to_cog needs a regular grid, x increasing and y decreasing")
    values = grid[variable].to_numpy().astype(np.float32)
    corner = Affine(cell, 0.0, x[0] - cell / 2, 0.0, -cell, y[0] + cell / 2)  # upper left
    profile = {"driver": "COG", "width": x.size, "height": y.size, "count": 1,
               "dtype": "float32", "nodata": np.nan, "compress": "deflate",
               "crs": f"EPSG:{int(grid.attrs.get('epsg', 3031))}",
               "transform": corner}  # fmt: skip
    with _atomic_file(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(values, 1)
        dst.set_band_description(1, variable)
        units = grid[variable].attrs.get("units")
        if units:
            dst.update_tags(1, units=units)
    return Path(path)
