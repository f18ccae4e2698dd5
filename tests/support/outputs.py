"""Comparing two sets of reduced outputs: the same files, datasets, values, dtypes and
attributes (HDF5), or the same tables and metadata (Parquet)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq


def _attrs(obj) -> dict:
    return {k: v.tolist() if hasattr(v, "tolist") else v for k, v in obj.attrs.items()}


def output_files(folder: Path) -> dict[str, Path]:
    """The reduced outputs directly in a folder, by name."""
    return {p.name: p for p in folder.glob("ATL06_*") if p.suffix in (".h5", ".parquet")}


def assert_same_outputs(got: Path, want: Path) -> int:
    """Every output of ``want`` is in ``got`` and nothing else, equal in every dataset,
    dtype and attribute (or table and metadata). Returns the number of points compared."""
    mine, theirs = output_files(got), output_files(want)
    assert sorted(mine) == sorted(theirs)
    points = 0
    for name, path in theirs.items():
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            assert pq.read_table(mine[name]).equals(table, check_metadata=True), name
            points += table.num_rows
            continue
        with h5py.File(mine[name]) as a, h5py.File(path) as b:
            assert _attrs(a) == _attrs(b), name
            assert sorted(a) == sorted(b), name
            for var in b:
                np.testing.assert_array_equal(a[var][()], b[var][()], strict=True,
                                              err_msg=f"{name}/{var}")  # fmt: skip
                assert _attrs(a[var]) == _attrs(b[var]), f"{name}/{var}"
            points += b["h_li"].size
    return points
