"""Finding and getting ATL06 granules: the embedded sample offline, or NASA's via icepyx.

``sample`` (the default) answers the same questions as a real search — which granules
cover the area and dates, where their ground tracks go — from the synthetic sample,
with no network. ``earthdata`` runs the real icepyx 2.x code: a CMR query, then an
Earthdata login (credentials from ``EARTHDATA_USERNAME``/``EARTHDATA_PASSWORD`` or
``~/.netrc``, never from the notebook) and a download. When something it needs is
missing, :class:`DataSourceError` says what and how to fix it, in one message.
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.bbox import BBox
from helpers.config import DATA_SOURCE_ENV, PIG_BBOX, PIG_DATES, data_dir
from helpers.granules import BEAMS, parse_granule_name

#: The Earthdata login host, as it appears in a ``~/.netrc`` entry.
EARTHDATA_NETRC_MACHINE = "urs.earthdata.nasa.gov"
#: Subfolder of the data folder that real granules are downloaded into.
EARTHDATA_SUBFOLDER = "earthdata"
#: Names of downloaded ATL06 granules (NSIDC subsets add a ``processed_`` prefix).
DOWNLOADED_GLOB = "*ATL06_*.h5"


class DataSourceError(RuntimeError):
    """Real data cannot be reached; the message says what is missing and what to do."""


def earthdata_credentials() -> str | None:
    """Where Earthdata credentials would come from, or None. Never returns the secrets.

    Returns
    -------
    str or None
        ``"environment"`` (EARTHDATA_USERNAME and EARTHDATA_PASSWORD set), ``"netrc"``
        (an entry for the Earthdata login host in ``~/.netrc``), or None.
    """
    if os.environ.get("EARTHDATA_USERNAME") and os.environ.get("EARTHDATA_PASSWORD"):
        return "environment"
    try:
        if netrc.netrc().authenticators(EARTHDATA_NETRC_MACHINE):
            return "netrc"
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        pass
    return None


def earthdata_folder(folder: str | os.PathLike | None = None) -> Path:
    """Where real granules are downloaded: ``folder``, else ``<data folder>/earthdata``.

    Parameters
    ----------
    folder : path-like, optional
        An explicit folder; default :func:`helpers.config.data_dir` / ``earthdata``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    return Path(folder) if folder else data_dir() / EARTHDATA_SUBFOLDER


def downloaded_granules(folder: str | os.PathLike | None = None) -> list[Path]:
    """The ATL06 granules already downloaded into :func:`earthdata_folder` (no network).

    Parameters
    ----------
    folder : path-like, optional
        As for :func:`earthdata_folder`.

    Returns
    -------
    list of pathlib.Path
        Sorted; empty when the folder is missing or holds no granule.
    """
    local = earthdata_folder(folder)
    return sorted(local.glob(DOWNLOADED_GLOB)) if local.is_dir() else []


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

    config = SampleConfig(bbox=tuple(float(v) for v in bbox), start=dates[0], end=dates[1])
    if folder is None:
        folder = data_dir()
        if (config.bbox, (config.start, config.end)) != (PIG_BBOX, PIG_DATES):
            label = "_".join(f"{v:g}" for v in config.bbox) + f"_{config.start}_{config.end}"
            folder = folder / "samples" / label
    return ensure_sample(folder, config)


def earthdata_query(
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
    product: str = "ATL06",
    version: str = "006",
):
    """An icepyx Query for real granules (contacts NASA's CMR, so it needs the network).

    Parameters
    ----------
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).
    product, version : str
        Short name and release to search for.

    Returns
    -------
    icepyx.Query

    Raises
    ------
    DataSourceError
        If CMR cannot be reached.
    """
    import icepyx as ipx
    import requests

    try:
        return ipx.Query(product, list(bbox), list(dates), version=version)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise DataSourceError(
            "Cannot reach NASA's CMR to search for granules (no network?). Connect to the "
            "internet, or use the embedded sample: set DATA_SOURCE = 'sample' (or the "
            f"environment variable {DATA_SOURCE_ENV}=sample). Details: {type(err).__name__}"
        ) from None


def download_earthdata(query, folder: str | os.PathLike | None = None) -> list[Path]:
    """Log in to Earthdata and download a query's granules (subset to its area).

    Parameters
    ----------
    query : icepyx.Query
        From :func:`earthdata_query`.
    folder : path-like, optional
        Where to put the granules; default :func:`earthdata_folder`.

    Returns
    -------
    list of pathlib.Path
        Every granule in the folder afterwards, sorted.

    Raises
    ------
    DataSourceError
        If no credentials are configured; nothing is attempted then.
    """
    require_credentials()
    local = earthdata_folder(folder)
    local.mkdir(parents=True, exist_ok=True)
    query.download_granules(str(local))
    return downloaded_granules(local)


def require_credentials() -> str:
    """Where the Earthdata credentials come from; DataSourceError if there are none."""
    where = earthdata_credentials()
    if where is None:
        raise DataSourceError(
            "No NASA Earthdata credentials found. Set EARTHDATA_USERNAME and "
            "EARTHDATA_PASSWORD in the environment, or add a line 'machine "
            f"{EARTHDATA_NETRC_MACHINE} login USER password PASS' to ~/.netrc "
            "(chmod 600). Free accounts: https://urs.earthdata.nasa.gov. Or use the "
            f"embedded sample: {DATA_SOURCE_ENV}=sample."
        )
    return where


def find_granules(
    source: str = "sample",
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
    folder: str | os.PathLike | None = None,
) -> list[Path]:
    """Granules for the area and dates from the chosen source, ready on disk.

    Parameters
    ----------
    source : str
        ``"sample"`` (offline) or ``"earthdata"`` (search and download with icepyx).
        Granules already downloaded into the folder (default :func:`earthdata_folder`)
        are used as they are, with no new search; delete them to search again.
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).
    folder : path-like, optional
        Where the granules live (see :func:`sample_granules` and :func:`earthdata_folder`).

    Returns
    -------
    list of pathlib.Path
        The granules, sorted.

    Raises
    ------
    ValueError
        For an unknown source.
    DataSourceError
        If real granules are asked for and cannot be had (no credentials, no network).
    """
    if source == "sample":
        return sample_granules(folder, bbox, dates)
    if source == "earthdata":
        downloaded = downloaded_granules(folder)
        if downloaded:
            return downloaded
        require_credentials()  # before any network call: the clearest message first
        return download_earthdata(earthdata_query(bbox, dates), folder)
    raise ValueError(f"unknown data source {source!r}: use 'sample' or 'earthdata'")


def granule_table(files: Sequence[str | os.PathLike]):
    """One row per granule: name parts, direction, beams present and segment count.

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
            orient = int(f["orbit_info/sc_orient"][0])
        rows.append({
            "granule": path.name, "start (UTC)": name.start, "rgt": name.rgt,
            "cycle": name.cycle, "region": name.region,
            "direction": "ascending" if name.is_ascending_region else "descending",
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
