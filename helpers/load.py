"""Open reduced outputs as one lazy dask DataFrame.

Nothing is read when the frame is made: each partition is a small group of files
(about ``partition_mb`` on disk), read only when dask computes it, and only the asked
columns are read. So a map of 100 million points needs memory for a few partitions at
a time, not for all the points (the original tutorial read every file into memory
first, then wrapped the arrays in dask: its "larger than memory" was not true).

``beam``, ``rgt`` and ``cycle`` come from the file names
(``<granule stem>_<beam>.h5``, ``<granule stem>.parquet``), at no read cost.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.granules import BEAMS, parse_granule_name

#: Columns read when none are asked for: enough to map heights and time.
DEFAULT_COLUMNS: tuple[str, ...] = ("x", "y", "h_li", "t_year", "is_asc")
#: Columns that come from file names, not file contents.
NAME_COLUMNS: tuple[str, ...] = ("beam", "rgt", "cycle")
#: dtypes of the reducer's output variables.
COLUMN_DTYPES: dict[str, str] = {
    "lat": "f8", "lon": "f8", "h_li": "f4", "s_li": "f4", "t_dt": "f8", "q_flag": "i1",
    "s_fg": "i1", "snr": "f4", "h_rb": "f4", "dac": "f4", "f_sn": "i1", "dh_fit_dx": "f4",
    "tide_earth": "f4", "tide_load": "f4", "tide_ocean": "f4", "tide_pole": "f4",
    "x": "f8", "y": "f8", "t_gps": "f8", "t_year": "f8", "is_asc": "bool",
}  # fmt: skip
_BEAM_DTYPE = pd.CategoricalDtype(list(BEAMS))


def find_reduced(source: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Reduced output files under a folder (recursively), from a glob, or from a list.

    Only names that follow the output convention are taken, so a folder that also holds
    raw granules or temporary files is fine.
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    found: set[Path] = set()
    for item in items:
        path = Path(item)
        if path.is_dir():
            candidates = [*path.rglob("*_gt[123][lr].h5"), *path.rglob("*.parquet")]
        elif path.is_file():
            candidates = [path]
        else:
            candidates = [Path(m) for m in glob.glob(str(item), recursive=True)]
        found.update(p for p in candidates if not p.name.startswith("."))
    return sorted(found)


def _name_parts(path: Path) -> tuple[str | None, int, int]:
    """(beam or None, rgt, cycle) from an output file name."""
    stem = path.stem
    beam = None
    if path.suffix == ".h5":
        stem, beam = stem.rsplit("_", 1)
        if beam not in BEAMS:
            raise ValueError(f"{path.name}: not a reduced output name (<granule>_<beam>.h5)")
    name = parse_granule_name(stem)
    return beam, name.rgt, name.cycle


def _meta(columns: Sequence[str]) -> pd.DataFrame:
    data = {}
    for c in columns:
        if c == "beam":
            data[c] = pd.Series([], dtype=_BEAM_DTYPE)
        elif c == "rgt":
            data[c] = pd.Series([], dtype="i2")
        elif c == "cycle":
            data[c] = pd.Series([], dtype="i1")
        else:
            data[c] = pd.Series([], dtype=COLUMN_DTYPES[c])
    return pd.DataFrame(data)


def read_file(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """Read the asked columns of one reduced file (HDF5 or Parquet) into pandas.

    Raises
    ------
    KeyError
        If the file lacks a column; the message names the file and the column.
    """
    path = Path(path)
    beam, rgt, cycle = _name_parts(path)
    stored = [c for c in columns if c not in NAME_COLUMNS or (c == "beam" and beam is None)]
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as f:
            missing = [c for c in stored if c not in f]
            if missing:
                raise KeyError(f"{path.name} has no column {', '.join(missing)}")
            data = {c: f[c][()] for c in stored}
    else:
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
        missing = [c for c in stored if c not in have]
        if missing:
            raise KeyError(f"{path.name} has no column {', '.join(missing)}")
        table = pq.read_table(path, columns=stored)
        data = {c: table.column(c).to_numpy() for c in stored}
    n = len(next(iter(data.values()))) if data else 0
    if "beam" in columns:
        data["beam"] = pd.Categorical(
            data["beam"] if beam is None else np.full(n, beam), dtype=_BEAM_DTYPE
        )
    if "rgt" in columns:
        data["rgt"] = np.full(n, rgt, dtype="i2")
    if "cycle" in columns:
        data["cycle"] = np.full(n, cycle, dtype="i1")
    return pd.DataFrame({c: data[c] for c in columns})


def _read_group(paths: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    frames = [read_file(p, columns) for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _group_by_size(files: Sequence[Path], target_bytes: int) -> list[list[str]]:
    """Consecutive files in groups of about ``target_bytes`` on disk (stat only, no reads)."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in files:
        nbytes = path.stat().st_size
        if current and size + nbytes > target_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(str(path))
        size += nbytes
    if current:
        groups.append(current)
    return groups


def open_reduced(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    columns: Sequence[str] | None = None,
    partition_mb: float = 64.0,
):
    """Open reduced outputs (HDF5 per granule-beam, or Parquet) as one lazy dask DataFrame.

    Parameters
    ----------
    source : path-like, glob, or list of them
        A folder (searched recursively), a glob pattern or files.
    columns : sequence of str, optional
        Columns to read: any output variable plus ``beam``, ``rgt``, ``cycle``.
        Default: :data:`DEFAULT_COLUMNS`.
    partition_mb : float
        Files are grouped into partitions of about this many MB on disk.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy: building it opens no file.

    Raises
    ------
    FileNotFoundError
        If no reduced file is found.
    ValueError
        If a column name is unknown.
    """
    import dask.dataframe as dd

    columns = list(columns or DEFAULT_COLUMNS)
    unknown = [c for c in columns if c not in COLUMN_DTYPES and c not in NAME_COLUMNS]
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown)}; choose from "
            f"{', '.join([*COLUMN_DTYPES, *NAME_COLUMNS])}"
        )
    files = find_reduced(source)
    if not files:
        raise FileNotFoundError(f"no reduced outputs (*_gtXY.h5 or *.parquet) in {source}")
    groups = _group_by_size(files, int(partition_mb * 1e6))
    return dd.from_map(
        _read_group,
        groups,
        columns=columns,
        meta=_meta(columns),
        enforce_metadata=False,
        label="read-reduced",
    )


def read_eagerly(files: Sequence[str | os.PathLike], columns: Sequence[str]):
    """The original tutorial's approach, for comparison: read all, then wrap in dask.

    Every file is read into numpy first (all of it in memory), then each array is
    wrapped with ``dd.from_array`` and the pieces concatenated.
    """
    import dask.array as da
    import dask.dataframe as dd

    parts = []
    for path in files:
        frame = read_file(path, columns)
        array = np.column_stack([frame[c].to_numpy(dtype="f8") for c in columns])
        parts.append(dd.from_dask_array(da.from_array(array), columns=list(columns)))
    return dd.concat(parts)
