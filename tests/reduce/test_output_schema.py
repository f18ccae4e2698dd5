"""One schema: the files the reducer writes, and the frames the loader gives, carry exactly the
variables and dtypes that :mod:`helpers.reduce.variables` names; a file that drifts is named."""

from __future__ import annotations

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.load import NAME_COLUMNS, find_reduced, open_reduced
from helpers.reduce import OUTPUT_DTYPES, OUTPUT_VARIABLES, ReduceOptions, reduce_granules


@pytest.fixture(scope="module", params=["h5", "parquet"])
def outputs(request, small_sample, tmp_path_factory):
    """The small sample reduced in one format: (format, output folder)."""
    out = tmp_path_factory.mktemp(f"schema_{request.param}")
    options = ReduceOptions(bbox=BBox(*PIG_BBOX), fmt=request.param)
    summary = reduce_granules([small_sample], out, options, progress=False)
    assert not summary.failed and summary.points_kept > 0
    return request.param, out


def test_variables_name_every_output_once_with_a_dtype():
    assert len(set(OUTPUT_VARIABLES)) == len(OUTPUT_VARIABLES)
    assert set(OUTPUT_DTYPES) == set(OUTPUT_VARIABLES)
    for name, dtype in OUTPUT_DTYPES.items():
        assert np.dtype(dtype).kind in "fib", name


def test_written_files_carry_exactly_the_variables_and_dtypes(outputs):
    fmt, folder = outputs
    files = find_reduced(folder)
    assert files and all(p.suffix == (".h5" if fmt == "h5" else ".parquet") for p in files)
    for path in files:
        if fmt == "h5":
            with h5py.File(path, "r") as f:
                stored = {name: f[name].dtype for name in f}
            assert set(stored) == set(OUTPUT_VARIABLES), path.name
        else:
            schema = pq.read_schema(path)
            assert schema.names == [*OUTPUT_VARIABLES, "beam"], path.name
            stored = {
                field.name: np.dtype(field.type.to_pandas_dtype())
                for field in schema
                if field.name != "beam"
            }
        for name in OUTPUT_VARIABLES:
            assert stored[name] == np.dtype(OUTPUT_DTYPES[name]), f"{path.name}: {name}"


def test_loaded_frames_have_the_schema_dtypes_after_compute(outputs):
    _, folder = outputs
    columns = [*OUTPUT_VARIABLES, *NAME_COLUMNS]
    lazy = open_reduced(folder, columns=columns, partition_mb=0.5)
    frame = lazy.compute()
    assert len(frame) > 0
    assert list(frame.columns) == columns
    for name in OUTPUT_VARIABLES:
        assert frame[name].dtype == np.dtype(OUTPUT_DTYPES[name]), name
    # What dask promised before reading (meta) is what the partitions hold.
    assert dict(lazy.dtypes) == dict(frame.dtypes)


def test_a_file_with_another_dtype_is_named(outputs, tmp_path):
    fmt, folder = outputs
    original = find_reduced(folder)[0]
    drifted = tmp_path / original.name
    if fmt == "h5":
        with h5py.File(original, "r") as src, h5py.File(drifted, "w") as dst:
            for name in src:
                values = src[name][()]
                dst[name] = values.astype("f8") if name == "h_li" else values
    else:
        table = pq.read_table(original)
        index = table.schema.get_field_index("h_li")
        table = table.set_column(index, "h_li", table.column("h_li").cast("float64"))
        pq.write_table(table, drifted)
    frame = open_reduced(tmp_path, columns=["x", "y"]).compute()  # other columns still load
    assert len(frame) > 0
    with pytest.raises(ValueError, match=rf"{drifted.name}: column h_li is float64, expected"):
        open_reduced(tmp_path, columns=["x", "h_li"]).compute()
