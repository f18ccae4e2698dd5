"""Project-wide defaults: where data lives, the classic example area and dates, the product."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that overrides the data folder (e.g. a shared hub folder).
DATA_DIR_ENV = "IS2_DATA_DIR"
#: Environment variable that overrides where reduced outputs and maps go.
OUTPUT_DIR_ENV = "IS2_OUTPUT_DIR"
#: Environment variable that picks the notebooks' data source: ``sample`` (the default,
#: offline) or ``earthdata`` (real granules via icepyx, see :mod:`helpers.access`).
DATA_SOURCE_ENV = "IS2_DATA_SOURCE"
#: Environment variable that pins the ATL06 release a real search asks for (e.g. ``007``);
#: unset, the search takes the latest release NASA's CMR lists.
VERSION_ENV = "IS2_VERSION"

#: The ICESat-2 product this tutorial reads.
PRODUCT = "ATL06"

#: Pine Island Glacier, as [W, S, E, N] in degrees: the list icepyx's ``spatial_extent`` takes.
PIG_BBOX: tuple[float, float, float, float] = (-102.0, -76.0, -98.0, -74.5)

#: Dates of the original tutorial (inclusive), ISO strings.
PIG_DATES: tuple[str, str] = ("2018-10-14", "2020-04-01")

#: The repository root (the folder holding ``pyproject.toml``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: The real mini-set's folder, relative to the repository root: a few unaltered NASA granules
#: (ATL06 and ATL11) that ship with the tutorial, described in the folder's ``README.md``.
REAL_DATA_FOLDER = Path("notebooks") / "real-data"


def data_dir() -> Path:
    """Folder for generated data: ``$IS2_DATA_DIR`` if set, else ``<repo>/data``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data"


def output_dir() -> Path:
    """Folder for what the tutorial makes (reduced outputs, maps): ``$IS2_OUTPUT_DIR``, else
    ``<repo>/build``. Kept apart from the data folder, which may be a shared, read-only copy.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    env = os.environ.get(OUTPUT_DIR_ENV)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "build"


def real_data_dir() -> Path:
    """The real mini-set shipped with the tutorial: unaltered NASA ATL06 and ATL11 files.

    The files are read in place (never written to); their provenance, releases, areas and
    citations are in the folder's ``README.md``, their SHA-256 sums in ``SHA256SUMS``.

    Returns
    -------
    pathlib.Path
        ``<repo>/notebooks/real-data``.

    Raises
    ------
    FileNotFoundError
        If the folder is missing (a copy of the notebooks without it).

    Examples
    --------
    >>> sorted(p.name for p in real_data_dir().glob("*ATL11*.h5"))
    ['processed_ATL11_135803_0311_004_01.h5']
    """
    folder = REPO_ROOT / REAL_DATA_FOLDER
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the real mini-set is missing: no folder {folder}; restore it from the "
            f"repository (git checkout -- {REAL_DATA_FOLDER.as_posix()})"
        )
    return folder


def pinned_version(version: str | int | None = None) -> str | None:
    """The release a real search must ask for: ``version``, else ``$IS2_VERSION``, else None.

    Parameters
    ----------
    version : str or int, optional
        A release such as ``"007"`` or ``7``; wins over the environment variable.

    Returns
    -------
    str or None
        Three digits (``"007"``), or None for "the latest release CMR lists".

    Raises
    ------
    ValueError
        If the release is not a positive whole number.

    Examples
    --------
    >>> pinned_version(7)
    '007'
    >>> pinned_version("006")
    '006'
    """
    value = str(version if version is not None else os.environ.get(VERSION_ENV, "")).strip()
    if not value:
        return None
    if not value.isdigit() or int(value) == 0:
        raise ValueError(
            f"release {value!r} is not a positive whole number (e.g. 007); "
            f"check version= or {VERSION_ENV}"
        )
    return f"{int(value):03d}"
