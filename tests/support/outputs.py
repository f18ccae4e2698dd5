"""Comparing two sets of reduced outputs: the same files, datasets, values, dtypes and
attributes (HDF5), or the same tables and metadata (Parquet)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq


def attributes(obj) -> dict:
    """An HDF5 object's attributes as plain Python values."""
    return {k: v.tolist() if hasattr(v, "tolist") else v for k, v in obj.attrs.items()}


def output_files(folder: Path, stems=None) -> dict[str, Path]:
    """The reduced outputs directly in a folder, by name (of the granules ``stems`` only,
    when given)."""
    found = {p.name: p for p in folder.glob("*ATL06_*") if p.suffix in (".h5", ".parquet")}
    if stems is not None:
        found = {n: p for n, p in found.items() if any(n.startswith(s) for s in stems)}
    return found


def assert_same_outputs(got: Path, want: Path, stems=None) -> int:
    """Every output of ``want`` (of ``stems``) is in ``got`` and nothing else, equal in
    every dataset, dtype and attribute (or table and metadata). Returns the number of
    points compared."""
    mine, theirs = output_files(got, stems), output_files(want, stems)
    assert sorted(mine) == sorted(theirs)
    points = 0
    for name, path in theirs.items():
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            assert pq.read_table(mine[name]).equals(table, check_metadata=True), name
            points += table.num_rows
            continue
        with h5py.File(mine[name]) as a, h5py.File(path) as b:
            assert attributes(a) == attributes(b), name
            assert sorted(a) == sorted(b), name
            for var in b:
                np.testing.assert_array_equal(a[var][()], b[var][()], strict=True,
                                              err_msg=f"{name}/{var}")  # fmt: skip
                assert attributes(a[var]) == attributes(b[var]), f"{name}/{var}"
            points += b["h_li"].size
    return points
