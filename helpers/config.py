"""Project-wide defaults: where data lives, the classic example area and dates."""

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

#: Pine Island Glacier, as [W, S, E, N] in degrees: the list icepyx's ``spatial_extent`` takes.
PIG_BBOX: tuple[float, float, float, float] = (-102.0, -76.0, -98.0, -74.5)

#: Dates of the original tutorial (inclusive), ISO strings.
PIG_DATES: tuple[str, str] = ("2018-10-14", "2020-04-01")

#: The repository root (the folder holding ``pyproject.toml``).
REPO_ROOT = Path(__file__).resolve().parent.parent


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

