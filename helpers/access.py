"""Finding and getting ATL06 granules: the embedded sample offline, or NASA's via icepyx.

``sample`` (the default) answers the same questions as a real search — which granules
cover the area and dates, where their ground tracks go — from the synthetic sample,
with no network. ``earthdata`` runs the real icepyx 2.x code (:mod:`helpers.earthdata`):
the latest ATL06 release NASA's CMR offers (or the one ``$IS2_VERSION`` pins), an
Earthdata login (credentials from ``EARTHDATA_USERNAME``/``EARTHDATA_PASSWORD`` or the
netrc file, never from the notebook), a Harmony order and a checked download, recorded
so that the same query is not ordered twice.

:func:`find_granules` is the one place where every notebook meets a failing real source:
it prints one line (what is missing, that it carries on with the embedded sample, how to
fix it) and returns the sample's granules; ``strict=True`` raises the
:class:`DataSourceError` instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.bbox import BBox
from helpers.config import PIG_BBOX, PIG_DATES, PRODUCT, data_dir
from helpers.earthdata import (
    DataSourceError,
    available_releases,
    download_earthdata,
    downloaded_granules,
    earthdata_credentials,
    earthdata_folder,
    earthdata_query,
    real_granules,
    require_credentials,
)
from helpers.earthdata.errors import EARTHDATA_LOGIN_HOST
from helpers.earthdata.manifest import DOWNLOADED_GLOB, EARTHDATA_SUBFOLDER
from helpers.granules import BEAMS, parse_granule_name, region_direction

#: The Earthdata login host, as it appears in a ``~/.netrc`` entry.
EARTHDATA_NETRC_MACHINE = EARTHDATA_LOGIN_HOST

__all__ = [
    "DOWNLOADED_GLOB",
    "EARTHDATA_NETRC_MACHINE",
    "EARTHDATA_SUBFOLDER",
    "DataSourceError",
    "available_releases",
    "download_earthdata",
    "downloaded_granules",
    "earthdata_credentials",
    "earthdata_folder",
    "earthdata_query",
    "find_granules",
    "granule_table",
    "plot_ground_tracks",
    "require_credentials",
    "sample_granules",
]


def sample_granules(
    folder: str | os.PathLike | None = None,
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
) -> list[Path]:
    """The synthetic sample's granules for an area and dates, generated first if needed.

    A complete sample of that area and dates in the folder is used as it is, whatever
    options made it (an instructor's ``--all-rgts`` sample, another version): it is never
    deleted or regenerated here. When there is none, it is generated once: callers that
    find another process generating it wait for that one instead of starting their own.

    Parameters
    ----------
    folder : path-like, optional
        Where the sample lives. Default: :func:`helpers.config.data_dir` for the classic
        Pine Island Glacier sample, a subfolder named after the area and dates otherwise.
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).

    Returns
    -------
    list of pathlib.Path
        The sample's granules, sorted.

    Raises
    ------
    helpers.synthetic.sample.SampleError
        If the folder holds a sample of another area or dates, or cannot be written when
        the sample must be made.
    """
    from helpers.synthetic.sample import SampleConfig, ensure_sample

    west, south, east, north = (float(v) for v in bbox)
    config = SampleConfig(bbox=(west, south, east, north), start=dates[0], end=dates[1])
    if folder is None:
        folder = data_dir()
        if (config.bbox, (config.start, config.end)) != (PIG_BBOX, PIG_DATES):
            label = "_".join(f"{v:g}" for v in config.bbox) + f"_{config.start}_{config.end}"
            folder = folder / "samples" / label
    return ensure_sample(folder, config)


def find_granules(
    source: str = "sample",
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
    folder: str | os.PathLike | None = None,
    *,
    version: str | int | None = None,
    strict: bool = False,
) -> list[Path]:
    """Granules for the area and dates from the chosen source, ready on disk.

    Parameters
    ----------
    source : str
        ``"sample"`` (offline) or ``"earthdata"`` (search, order and download with icepyx).
        Real granules downloaded earlier for the same query (product, release, area,
        dates) are reused with no network; anything else is a new search.
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).
    folder : path-like, optional
        Where the granules live (see :func:`sample_granules` and :func:`earthdata_folder`).
    version : str or int, optional
        Real data only: the release to ask for; default ``$IS2_VERSION``, else the latest
        release NASA's CMR offers.
    strict : bool
        Real data only: raise :class:`DataSourceError` when real granules cannot be had,
        instead of printing one line and returning the embedded sample's granules.

    Returns
    -------
    list of pathlib.Path
        The granules, sorted.

    Raises
    ------
    ValueError
        For an unknown source.
    DataSourceError
        With ``strict=True``, if real granules cannot be had (the message says why and
        what to do).

    Examples
    --------
    >>> files = find_granules("earthdata")  # doctest: +SKIP
    Real data not used: No NASA Earthdata credentials found: ... Continuing with the embedded
    synthetic sample; for real data, set both environment variables before starting Jupyter, ...
    """
    if source == "sample":
        return sample_granules(folder, bbox, dates)
    if source != "earthdata":
        raise ValueError(f"unknown data source {source!r}: use 'sample' or 'earthdata'")
    try:
        return real_granules(bbox, dates, folder, PRODUCT, version)
    except DataSourceError as err:
        if strict:
            raise
        print(err.fallback_message())
    return sample_granules(None, bbox, dates)


def granule_table(files: Sequence[str | os.PathLike]):
    """One row per granule: name parts (with the release), direction, beams and segments.

    ``direction`` is that of the granule region (:func:`helpers.granules.region_direction`):
    ascending, descending, or both for the polar turns (regions 4 and 11). ``sc_orient`` is
    -1 for a granule whose ``orbit_info/sc_orient`` was subsetted away.

    Returns
    -------
    pandas.DataFrame
    """
    import h5py
    import pandas as pd

    rows = []
    for path in map(Path, files):
        name = parse_granule_name(path)
        with h5py.File(path, "r") as f:
            beams = [b for b in BEAMS if b in f]
            segments = sum(f[f"{b}/land_ice_segments/h_li"].shape[0] for b in beams)
            orient = int(f["orbit_info/sc_orient"][0]) if "orbit_info/sc_orient" in f else -1
        rows.append({
            "granule": path.name, "start (UTC)": name.start, "rgt": name.rgt,
            "cycle": name.cycle, "region": name.region, "release": name.release,
            "direction": region_direction(name.region),
            "sc_orient": orient, "beams": len(beams), "segments": segments,
            "MB": round(path.stat().st_size / 1e6, 1),
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_ground_tracks(files: Sequence[str | os.PathLike], bbox: Sequence[float] = PIG_BBOX,
                       ax=None, beam: str = "gt2l", every: int = 50):  # fmt: skip
    """Map of the area (EPSG:3031, km) with each granule's ground track, drawn offline.

    Ascending passes in one colour, descending in another; a latitude/longitude grid
    gives the bearings (no coastline download needed).

    Parameters
    ----------
    files : sequence of path-like
        ATL06 granules.
    bbox : sequence of float
        Area ``[W, S, E, N]`` (degrees), drawn as an outline with a graticule around it.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    beam : str
        Ground track to draw (the first one present when a granule lacks it).
    every : int
        Draw every ``every``-th segment (every 20 m x ``every`` along track).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from helpers.projection import lonlat_to_xy

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6), layout="constrained")
    box = BBox.from_sequence(bbox)
    _draw_graticule(ax, box)
    colours = {True: "tab:orange", False: "tab:blue"}
    for path in map(Path, files):
        ascending = parse_granule_name(path).is_ascending_region
        track = _ground_track(path, beam, every)
        if track is not None:
            ax.plot(track[0] / 1e3, track[1] / 1e3, ".", ms=1.5, color=colours[ascending])
    x, y = lonlat_to_xy(*_box_outline(box))
    ax.plot(x / 1e3, y / 1e3, "k-", lw=1.2, label="area of interest")
    ax.plot([], [], ".", color=colours[True], label="ascending passes")
    ax.plot([], [], ".", color=colours[False], label="descending passes")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("x (km, EPSG:3031)")
    ax.set_ylabel("y (km, EPSG:3031)")
    ax.set_title(f"{len(files)} granules over the area")
    return ax


def _draw_graticule(ax, box: BBox) -> None:
    """Parallels every 0.5° and meridians every 1° around the box, labelled, in km."""
    from helpers.projection import lonlat_to_xy

    lat_lines = np.arange(np.floor(box.south) - 1, np.ceil(box.north) + 1.01, 0.5)
    lon_lines = np.arange(np.floor(box.west) - 2, np.ceil(box.east) + 2.01, 1.0)
    for lat in lat_lines:
        lon = np.linspace(lon_lines[0], lon_lines[-1], 100)
        x, y = lonlat_to_xy(lon, np.full(lon.size, lat))
        ax.plot(x / 1e3, y / 1e3, color="0.85", lw=0.6, zorder=0)
        ax.annotate(f"{lat:g}°", (x[0] / 1e3, y[0] / 1e3), fontsize=7, color="0.5")
    for lon in lon_lines:
        lat = np.linspace(lat_lines[0], lat_lines[-1], 50)
        x, y = lonlat_to_xy(np.full(lat.size, lon), lat)
        ax.plot(x / 1e3, y / 1e3, color="0.85", lw=0.6, zorder=0)
        ax.annotate(f"{lon:g}°", (x[-1] / 1e3, y[-1] / 1e3), fontsize=7, color="0.5")


def _ground_track(path: Path, beam: str, every: int) -> tuple[np.ndarray, np.ndarray] | None:
    """EPSG:3031 x/y (m) of every ``every``-th segment of one beam; None if no beam at all."""
    import h5py

    from helpers.projection import lonlat_to_xy

    with h5py.File(path, "r") as f:
        name = beam if beam in f else next((b for b in BEAMS if b in f), None)
        if name is None:
            return None
        g = f[f"{name}/land_ice_segments"]
        return lonlat_to_xy(g["longitude"][::every], g["latitude"][::every])


def _box_outline(box: BBox, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (degrees) along the box's edges, ``n`` points per edge.

    Edges are sampled, not just corners: parallels are curves once projected.
    """
    edge = np.linspace(0, 1, n)
    width, height = box.east - box.west, box.north - box.south
    lons = np.concatenate([box.west + width * edge, np.full(n, box.east),
                           box.east - width * edge, np.full(n, box.west)])  # fmt: skip
    lats = np.concatenate([np.full(n, box.south), box.south + height * edge,
                           np.full(n, box.north), box.north - height * edge])  # fmt: skip
    return lons, lats
