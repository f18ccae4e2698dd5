"""What was downloaded for which query: a small JSON manifest beside the granules.

Each real query (product, release, area, dates) downloads into its own folder under the
Earthdata folder, and the manifest is written there, atomically, only once every granule
has arrived. A later run reuses the files only for the *same* query: same product, area
and dates, and the same release when one is pinned (with no release pinned, the newest
release downloaded for that query is reused, with no network needed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from helpers.fileio import atomic_path

#: Subfolder of the data folder that real granules are downloaded into.
EARTHDATA_SUBFOLDER = "earthdata"
#: Names of downloaded ATL06 granules (NSIDC subsets add a ``processed_`` prefix).
DOWNLOADED_GLOB = "*ATL06_*.h5"
#: The manifest's file name, in each query's folder.
MANIFEST_NAME = "download_manifest.json"
#: Bumped if the manifest's fields change meaning.
MANIFEST_FORMAT = 1


def _area(bbox: Sequence[float]) -> tuple[float, ...]:
    """The area as a tuple of floats rounded to 1e-6 degrees (about 0.1 m), for comparing."""
    return tuple(round(float(v), 6) for v in bbox)


def _dates(dates: Sequence[str]) -> tuple[str, str]:
    return (str(dates[0]), str(dates[1]))


@dataclass(frozen=True)
class Download:
    """One finished download: the query it answers and the granule files it holds.

    Attributes
    ----------
    product, release : str
        E.g. ``"ATL06"``, ``"007"``.
    bbox : tuple of float
        Area ``(W, S, E, N)``, degrees.
    dates : tuple of str
        First and last day, ISO dates, inclusive.
    files : tuple of str
        Granule file names, in the manifest's folder.
    jobs : tuple of str
        Harmony job IDs of the order.
    created : str
        When the download finished (UTC, ISO 8601).
    folder : pathlib.Path
        The folder holding the manifest and the granules (not stored in the file).
    """

    product: str
    release: str
    bbox: tuple[float, ...]
    dates: tuple[str, str]
    files: tuple[str, ...]
    jobs: tuple[str, ...] = ()
    created: str = ""
    folder: Path = field(default=Path("."), compare=False)

    @property
    def paths(self) -> list[Path]:
        """The granules' paths, sorted."""
        return sorted(self.folder / name for name in self.files)

    def answers(self, product: str, bbox, dates, release: str | None = None) -> bool:
        """True if this download is for the same query (release: any, when None)."""
        return (
            self.product == product
            and self.bbox == _area(bbox)
            and self.dates == _dates(dates)
            and (release is None or self.release == release)
        )

    def is_complete(self) -> bool:
        """True if every granule the manifest lists is still on disk."""
        return bool(self.files) and all(path.is_file() for path in self.paths)


def query_folder(root: str | os.PathLike, product: str, release: str, bbox, dates) -> Path:
    """The folder one query downloads into, e.g. ``ATL06_007_-102_-76_-98_-74.5_<dates>``.

    Examples
    --------
    >>> query_folder("data/earthdata", "ATL06", "007", (-102, -76, -98, -74.5),
    ...              ("2019-01-01", "2019-01-31")).name
    'ATL06_007_-102_-76_-98_-74.5_2019-01-01_2019-01-31'
    """
    area = "_".join(f"{v:g}" for v in _area(bbox))
    start, end = _dates(dates)
    return Path(root) / f"{product}_{release}_{area}_{start}_{end}"


def write_manifest(
    folder: str | os.PathLike,
    product: str,
    release: str,
    bbox,
    dates,
    files: Sequence[str | os.PathLike],
    jobs: Sequence[str] = (),
) -> Download:
    """Record a finished download in ``folder``, atomically (a crash leaves no manifest).

    Returns
    -------
    Download
        What was recorded.
    """
    folder = Path(folder)
    record = Download(
        product=product, release=release, bbox=_area(bbox), dates=_dates(dates),
        files=tuple(sorted(Path(f).name for f in files)), jobs=tuple(jobs),
        created=datetime.now(UTC).isoformat(timespec="seconds"), folder=folder,
    )  # fmt: skip
    content = {"format": MANIFEST_FORMAT, **asdict(record)}
    del content["folder"]
    with atomic_path(folder / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    return record


def read_manifest(path: str | os.PathLike) -> Download | None:
    """The download a manifest records, or None if it is missing, damaged or of another format."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        if content.pop("format", None) != MANIFEST_FORMAT:
            return None
        return Download(
            product=str(content["product"]), release=str(content["release"]),
            bbox=_area(content["bbox"]), dates=_dates(content["dates"]),
            files=tuple(content["files"]), jobs=tuple(content.get("jobs", ())),
            created=str(content.get("created", "")), folder=path.parent,
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def find_download(root: str | os.PathLike, product: str, bbox, dates,
                  release: str | None = None) -> Download | None:  # fmt: skip
    """A complete earlier download for the same query under ``root``, or None (no network).

    With ``release`` None, the newest release downloaded for that product, area and dates.
    """
    found = [
        record
        for path in Path(root).glob(f"*/{MANIFEST_NAME}")
        if (record := read_manifest(path)) is not None
        and record.answers(product, bbox, dates, release)
        and record.is_complete()
    ]
    return max(found, key=lambda r: int(r.release), default=None)


def earthdata_folder(folder: str | os.PathLike | None = None) -> Path:
    """Where real granules are downloaded: ``folder``, else ``<data folder>/earthdata``.

    Each query gets its own subfolder there (see :func:`query_folder`).

    Parameters
    ----------
    folder : path-like, optional
        An explicit folder; default :func:`helpers.config.data_dir` / ``earthdata``.

    Returns
    -------
    pathlib.Path
        The folder, absolute (not created here).
    """
    from helpers.config import data_dir

    return Path(folder).expanduser().resolve() if folder else data_dir() / EARTHDATA_SUBFOLDER


def downloaded_granules(folder: str | os.PathLike | None = None) -> list[Path]:
    """The ATL06 granules in one folder (no network, no manifest check).

    Parameters
    ----------
    folder : path-like, optional
        As for :func:`earthdata_folder`; a query's own subfolder lists that query's files.

    Returns
    -------
    list of pathlib.Path
        Sorted; empty when the folder is missing or holds no granule.
    """
    local = earthdata_folder(folder)
    return sorted(local.glob(DOWNLOADED_GLOB)) if local.is_dir() else []
