"""Open reduced outputs as one lazy dask DataFrame.

Nothing is read when the frame is made: each partition is a small group of files
(about ``partition_mb`` on disk), read only when dask computes it, and only the asked
columns are read. So a map of 100 million points needs memory for a few partitions at
a time, not for all the points (the original tutorial read every file into memory
first, then wrapped the arrays in dask: its "larger than memory" was not true).

The columns and their dtypes are those of :mod:`helpers.reduce.variables`, the one place
that names the reducer's outputs; every file read is checked against them, so a file
written with other dtypes stops the computation with its name instead of passing
unnoticed, and so does a file that cannot be read at all (truncated, corrupt).
``beam``, ``rgt`` and ``cycle`` come from what the reducer stores in each file (HDF5
attributes, Parquet metadata and its ``beam`` column), read with the data; the file name
(``<granule stem>_<beam>.h5``, ``<granule stem>.parquet``) is only a fallback, so files
renamed by a user load as well.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import ReducedFileError
from helpers.granules import BEAMS, parse_granule_name
from helpers.reduce.variables import OUTPUT_DTYPES, OUTPUT_NAME_SUFFIX
from helpers.urlfiles import base_name, fetch, find_files, is_remote, open_small, shown

#: Columns read when none are asked for: enough to map heights and time.
DEFAULT_COLUMNS: tuple[str, ...] = ("x", "y", "h_li", "t_year", "is_asc")
_BEAM_DTYPE = pd.CategoricalDtype(list(BEAMS))
#: Columns that come from file names, not file contents, with their dtypes (those of
#: ATL06's ``orbit_info/rgt`` and ``cycle_number``; beams as a category).
NAME_COLUMN_DTYPES: dict[str, object] = {"beam": _BEAM_DTYPE, "rgt": "i2", "cycle": "i1"}
NAME_COLUMNS: tuple[str, ...] = tuple(NAME_COLUMN_DTYPES)
#: Every column the loader gives, with its dtype: the reducer's outputs (as
#: :mod:`helpers.reduce.variables` defines them), then the name columns.
COLUMN_DTYPES: dict[str, object] = {**OUTPUT_DTYPES, **NAME_COLUMN_DTYPES}


def find_reduced(
    source: str | os.PathLike | Iterable[str | os.PathLike],
) -> list[Path | str]:
    """Reduced output files under a folder (recursively), from a glob, or from a list.

    Only names that follow the output convention are taken, so a folder that also holds
    raw granules or temporary files is fine.

    Parameters
    ----------
    source : path-like, URL, glob, or iterable of them
        Folders (searched recursively for ``*_gtXY.h5`` and ``*.parquet``), files or
        glob patterns; or the same in an object store, as URLs (``s3://bucket/prefix``,
        read through fsspec, see :mod:`helpers.urlfiles`).

    Returns
    -------
    list of pathlib.Path or str
        Sorted, without hidden (``.``-prefixed) files: local files as paths, then files in
        an object store as URLs.
    """
    return _in_order(_found(source))


def _in_order(found) -> list[Path | str]:
    """Local files (sorted), then URLs (sorted)."""
    return [*sorted(p for p in found if isinstance(p, Path)),
            *sorted(p for p in found if isinstance(p, str))]  # fmt: skip


def _is_output(name: str) -> bool:
    return not name.startswith(".") and bool(_OUTPUT_NAME.fullmatch(name))


_OUTPUT_NAME = re.compile(".*" + OUTPUT_NAME_SUFFIX)


def _found(source) -> dict[Path | str, int | None]:
    """Every reduced output of ``source`` -> its size when a listing gave it (URLs)."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    found: dict[Path | str, int | None] = {}
    for item in items:
        if is_remote(item):
            remote = find_files(str(item))
            if list(remote) == [str(item)]:
                found.update(remote)  # a file named on its own is taken as it is
                continue
            found.update({u: n for u, n in remote.items() if _is_output(base_name(u))})
            continue
        for path in _local_outputs(item):
            found[path] = None
    return found


def _local_outputs(item: str | os.PathLike) -> set[Path]:
    found: set[Path] = set()
    path = Path(item)
    if path.is_dir() or path.is_file():
        candidates = [path]
    else:
        candidates = [Path(m) for m in glob.glob(str(item), recursive=True)]
    for candidate in candidates:  # a folder, given or matched, is searched
        if candidate.is_dir():
            found.update(p for p in candidate.rglob("*") if _is_output(p.name) and not p.is_dir())
        elif not candidate.name.startswith("."):
            found.add(candidate)
    return found


#: What h5py and pyarrow raise for a file they cannot read (pyarrow's errors derive from
#: these too: ArrowInvalid from ValueError, ArrowIOError from OSError).
_READ_ERRORS = (OSError, ValueError, RuntimeError, TypeError, IndexError, EOFError)


def _fields_from_name(path: Path) -> dict:
    """``beam`` (HDF5 only), ``rgt`` and ``cycle`` from an output's name, where it parses."""
    stem, fields = path.stem, {}
    if path.suffix == ".h5":
        stem, _, beam = stem.rpartition("_")
        if beam in BEAMS:
            fields["beam"] = beam
    try:
        name = parse_granule_name(stem)
    except ValueError:
        return fields
    return fields | {"rgt": name.rgt, "cycle": name.cycle}


def _meta(columns: Sequence[str]) -> pd.DataFrame:
    """An empty frame with the asked columns and their dtypes (dask's ``meta``)."""
    return pd.DataFrame({c: pd.Series([], dtype=COLUMN_DTYPES[c]) for c in columns})


def check_dtypes(data: dict[str, np.ndarray], path: Path) -> None:
    """Raise if a stored column's dtype is not the one :mod:`helpers.reduce.variables` names.

    Parameters
    ----------
    data : dict of numpy.ndarray
        Columns as read from the file; name columns (``beam``) are not checked.
    path : pathlib.Path
        The file they came from, for the message.

    Raises
    ------
    ValueError
        Naming the file, the column, its dtype and the expected one.
    """
    for column, values in data.items():
        expected = np.dtype(OUTPUT_DTYPES[column]) if column in OUTPUT_DTYPES else None
        if expected is not None and values.dtype != expected:
            raise ValueError(
                f"{path.name}: column {column} is {values.dtype}, expected {expected} "
                "(helpers.reduce.variables); reduce the granule again with this version"
            )


def read_file(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """Read the asked columns of one reduced file (HDF5 or Parquet) into pandas.

    Parameters
    ----------
    path : path-like or str
        A reduced output, ``<granule>_<beam>.h5`` or ``<granule>.parquet`` (or the same
        file under another name); or its URL in an object store (``s3://...``, fetched
        whole: outputs are small).
    columns : sequence of str
        Output variables and/or granule fields (``beam``, ``rgt``, ``cycle``).

    Returns
    -------
    pandas.DataFrame
        The columns in the asked order, with the dtypes of :data:`COLUMN_DTYPES`.

    Raises
    ------
    KeyError
        If the file lacks a column; the message names the file and the column.
    ValueError
        If a column's dtype differs from :mod:`helpers.reduce.variables` (see
        :func:`check_dtypes`).
    ReducedFileError
        If the file cannot be read (truncated, corrupt, not an output), naming it.
    """
    remote = is_remote(path)
    named = Path(base_name(str(path))) if remote else Path(path)  # its name and suffix
    shown_as = shown(str(path)) if remote else str(path)
    if not remote and named.is_dir():
        raise ReducedFileError(f"{named}: is a folder, not a reduced output file")
    stored = [c for c in columns
              if c not in NAME_COLUMNS or (c == "beam" and named.suffix != ".h5")]  # fmt: skip
    try:
        source: Path | bytes = fetch(str(path)) if remote else named
        reader = _read_h5 if named.suffix == ".h5" else _read_parquet
        data, fields, n = reader(source, stored, named.name)
    except KeyError:
        raise
    except _READ_ERRORS as err:  # h5py's and pyarrow's ways of saying "cannot read this"
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ReducedFileError(
            f"{shown_as}: cannot read this reduced output ({reason}); delete it or reduce its "
            "granule again"
        ) from err
    check_dtypes(data, named)
    _add_name_columns(data, fields, columns, n, named, shown_as)
    return pd.DataFrame({c: data[c] for c in columns})


def _add_name_columns(data: dict, fields: dict, columns: Sequence[str], n: int, named: Path,
                      shown_as: str) -> None:  # fmt: skip
    """Add the asked ``beam``, ``rgt``, ``cycle`` columns that the file does not store, from
    its attributes (``fields``) or else its name."""
    wanted = [c for c in NAME_COLUMNS if c in columns and c not in data]
    fields = _fields_from_name(named) | fields if wanted else fields
    for column in wanted:
        if column not in fields:
            raise ReducedFileError(
                f"{shown_as}: no {column} attribute, and its name is not "
                "<granule>_<beam>.h5 or <granule>.parquet; reduce its granule again"
            )
        dtype = object if column == "beam" else COLUMN_DTYPES[column]
        data[column] = np.full(n, fields[column], dtype=dtype)
    if "beam" in columns:
        data["beam"] = pd.Categorical(data["beam"], dtype=_BEAM_DTYPE)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_h5(source: Path | bytes, columns: Sequence[str],
             name: str) -> tuple[dict, dict, int]:  # fmt: skip
    """(columns, granule fields from the attributes, number of rows) of an HDF5 output (a
    file, or its bytes)."""
    import h5py

    with h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r") as f:
        _require(name, columns, f)
        data = {c: f[c][()] for c in columns}
        n = len(next(iter(data.values()))) if data else f["h_li"].shape[0]
        attrs = f.attrs
        fields: dict[str, int | str] = {k: int(attrs[k]) for k in ("rgt", "cycle") if k in attrs}
        if "beam" in attrs:
            fields["beam"] = _text(attrs["beam"])
    return data, fields, n


def _read_parquet(source: Path | bytes, columns: Sequence[str],
                  name: str) -> tuple[dict, dict, int]:  # fmt: skip
    """(columns, granule fields from the metadata, number of rows) of a Parquet output (a
    file, or its bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def opened():
        return pa.BufferReader(source) if isinstance(source, bytes) else source

    schema = pq.read_schema(opened())
    _require(name, columns, set(schema.names))
    table = pq.read_table(opened(), columns=list(columns))
    meta = schema.metadata or {}
    fields = {k: int(json.loads(meta[k.encode()])) for k in ("rgt", "cycle")
              if k.encode() in meta}  # fmt: skip
    return {c: table.column(c).to_numpy() for c in columns}, fields, table.num_rows


def _require(name: str, columns: Sequence[str], have) -> None:
    """KeyError naming the file if ``have`` (a container of names) lacks a column."""
    missing = [c for c in columns if c not in have]
    if missing:
        raise KeyError(f"{name} has no column {', '.join(missing)}")


def _read_group(
    paths: Sequence[str], columns: Sequence[str], epsg_of_all: str = ""
) -> pd.DataFrame:
    if epsg_of_all:
        check_same_epsg(paths, epsg_of_all)
    frames = [read_file(p, columns) for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _group_by_size(files: dict[Path | str, int | None], target_bytes: int) -> list[list[str]]:
    """Consecutive files in groups of about ``target_bytes`` on disk (sizes from a listing,
    or a stat; nothing is read)."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path, known in files.items():
        nbytes = known if known is not None else Path(path).stat().st_size
        if current and size + nbytes > target_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(str(path))
        size += nbytes
    if current:
        groups.append(current)
    return groups


def stored_epsg(path: str | os.PathLike) -> int | None:
    """The EPSG code of a reduced output's x/y: its ``epsg`` attribute (HDF5) or schema
    metadata (Parquet); None for outputs written before they recorded it, and for files
    that cannot be read (reading their data then names them)."""
    try:
        if is_remote(path):
            with open_small(str(path)) as handle:
                return _stored_epsg(handle, base_name(str(path)))
        return _stored_epsg(Path(path), Path(path).name)
    except _READ_ERRORS:
        return None


def _stored_epsg(source, name: str) -> int | None:
    """The EPSG code stored in a file (a path, or a file object on one)."""
    if name.endswith(".h5"):
        import h5py

        with h5py.File(source, "r") as f:
            value = f.attrs.get("epsg")
        return None if value is None else int(value)
    import pyarrow.parquet as pq

    value = (pq.read_schema(source).metadata or {}).get(b"epsg")
    return None if value is None else int(json.loads(value))


def check_same_epsg(paths: Sequence[str | os.PathLike], reference: str | os.PathLike) -> None:
    """Raise ValueError, naming two files, if any output is in another projection than
    ``reference`` (x/y of two EPSG codes cannot share a map or a grid)."""
    want = stored_epsg(reference)
    for path in paths:
        got = stored_epsg(path)
        if None not in (want, got) and got != want:
            raise ValueError(
                f"reduced outputs in different projections: EPSG:{want} ({_name(reference)})"
                f" and EPSG:{got} ({_name(path)}); open each projection's outputs "
                "separately, or reduce again with one --epsg"
            )


def _name(path: str | os.PathLike) -> str:
    return base_name(str(path)) if is_remote(path) else Path(path).name


def epsg_of(df) -> int | None:
    """The EPSG code of the x/y of a frame made by :func:`open_reduced` (None if unknown).

    Reads one attribute of one output. Works on frames derived from it (selections,
    filters) too: dask keeps the reference in the frame's ``_meta`` (an empty pandas frame).
    """
    reference = getattr(df, "_meta", df).attrs.get("epsg_of_all")
    return stored_epsg(reference) if reference else None


def open_reduced(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    columns: Sequence[str] | None = None,
    partition_mb: float = 64.0,
):
    """Open reduced outputs (HDF5 per granule-beam, or Parquet) as one lazy dask DataFrame.

    Parameters
    ----------
    source : path-like, URL, glob, or list of them
        A folder (searched recursively), a glob pattern or files; or the same in an
        object store (``s3://bucket/prefix``: partitions fetch their files through fsspec).
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
        If a column name is unknown; when computed, if a file's column has another dtype
        than :mod:`helpers.reduce.variables` names (the message names the file), or if
        outputs are in two projections (EPSG codes; the message names one file of each).
    KeyError
        When computed, if a file lacks an asked column (the message names the file).
    """
    import dask.dataframe as dd

    columns = _known_columns(columns or DEFAULT_COLUMNS)
    found = _found(source)
    files = _in_order(found)  # as find_reduced gives them
    if not files:
        raise FileNotFoundError(f"no reduced outputs (*_gtXY.h5 or *.parquet) in "
                                f"{shown(str(source)) if is_remote(source) else source}")
    groups = _group_by_size({f: found[f] for f in files}, int(partition_mb * 1e6))
    meta = _meta(columns)
    # Every partition checks its files' EPSG against the first file's (when computed).
    meta.attrs["epsg_of_all"] = str(files[0])
    return dd.from_map(
        _read_group,
        groups,
        columns=columns,
        epsg_of_all=str(files[0]),
        meta=meta,
        # dask's own check compares column names only; read_file checks every file's dtypes
        # against helpers.reduce.variables and names the file that differs.
        enforce_metadata=False,
        label="read-reduced",
    )


def _known_columns(columns: Sequence[str]) -> list[str]:
    """The asked columns, as a list; ValueError naming any that the loader does not know."""
    unknown = [c for c in columns if c not in COLUMN_DTYPES]
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(unknown)}; choose from {', '.join(COLUMN_DTYPES)}"
        )
    return list(columns)


def read_eagerly(files: Sequence[str | os.PathLike], columns: Sequence[str]):
    """The original tutorial's approach, for comparison: read all, then wrap in dask.

    Every file is read into numpy first (all of it in memory), then each array is
    wrapped with ``dd.from_array`` and the pieces concatenated.

    Parameters
    ----------
    files : sequence of path-like
        Reduced outputs.
    columns : sequence of str
        Numeric columns to read (all become float64).

    Returns
    -------
    dask.dataframe.DataFrame
        Backed by arrays already in memory.
    """
    import dask.array as da
    import dask.dataframe as dd

    parts = []
    for path in files:
        frame = read_file(path, columns)
        array = np.column_stack([frame[c].to_numpy(dtype="f8") for c in columns])
        parts.append(dd.from_dask_array(da.from_array(array), columns=list(columns)))
    return dd.concat(parts)
