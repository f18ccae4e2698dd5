"""Writing a granule's reduced outputs, and the records that mark a granule as finished.

Outputs are written under temporary names and renamed when complete; only then is a
small JSON record written to ``OUTDIR/.reduced/<granule>.json``. A granule counts as
finished when its record and every output it lists exist, so a run killed half-way
leaves nothing that a re-run would take for finished.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np

from helpers.fileio import atomic_path
from helpers.granules import BEAMS
from helpers.reduce.variables import (
    COPIED_VARIABLES,
    DERIVED_VARIABLES,
    OUTPUT_VARIABLES,
    derived_attrs,
)

#: Folder (inside the output folder) with one record per finished granule.
RECORDS = ".reduced"


def write_beam_h5(path: Path, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    """One beam as flat 1-D datasets, with units/sources and the granule's attributes."""
    with h5py.File(path, "w") as f:
        for name in OUTPUT_VARIABLES:
            ds = f.create_dataset(name, data=arrays[name])
            if name in DERIVED_VARIABLES:
                units, description = derived_attrs(name, attrs["epsg"])
                ds.attrs["units"], ds.attrs["description"] = units, description
            else:
                ds.attrs["source"] = f"land_ice_segments/{COPIED_VARIABLES[name]}"
        for key, value in attrs.items():
            f.attrs[key] = value


def write_parquet(path: Path, beams: dict[str, dict[str, np.ndarray]], attrs: dict) -> None:
    """All beams of a granule in one Parquet table, with a dictionary-encoded beam column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: np.concatenate([b[name] for b in beams.values()]) for name in OUTPUT_VARIABLES}
    sizes = [b["h_li"].size for b in beams.values()]
    # The beam column as a dictionary (int8 codes + names): cheap to build and to store.
    codes = np.repeat(np.array([BEAMS.index(b) for b in beams], dtype=np.int8), sizes)
    table = pa.table({k: pa.array(v) for k, v in columns.items()})
    table = table.append_column(
        "beam", pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(BEAMS)))
    )
    meta = {
        k: json.dumps(v if not isinstance(v, np.generic) else v.item()) for k, v in attrs.items()
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    pq.write_table(table, path, compression="snappy", use_dictionary=["beam"])


def record_path(outdir: Path, stem: str) -> Path:
    """Where the record of a finished granule lives."""
    return outdir / RECORDS / f"{stem}.json"


def is_finished(outdir: Path, stem: str) -> bool:
    """True when a granule's record and every output it lists exist."""
    record = record_path(outdir, stem)
    try:
        outputs = json.loads(record.read_text())["outputs"]
    except (OSError, ValueError, KeyError):
        return False
    return all((outdir / name).is_file() for name in outputs)


def write_outputs(outdir: Path, stem: str, beams: dict, attrs: dict, fmt: str, result) -> None:
    """Write a granule's beams (``{beam: (arrays, beam_attrs)}``), then its record.

    ``result`` (a :class:`~helpers.reduce.granule.GranuleResult`) gets the names of the
    files written and is stored in the record.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    record = record_path(outdir, stem)
    record.unlink(missing_ok=True)  # from here on the granule is unfinished
    with contextlib.ExitStack() as stack:
        if fmt == "h5":
            for beam, (arrays, beam_attrs) in beams.items():
                name = f"{stem}_{beam}.h5"
                tmp = stack.enter_context(atomic_path(outdir / name))
                write_beam_h5(tmp, arrays, {**attrs, **beam_attrs})
                result.outputs.append(name)
        elif beams:
            name = f"{stem}.parquet"
            tmp = stack.enter_context(atomic_path(outdir / name))
            write_parquet(tmp, {b: a for b, (a, _) in beams.items()}, attrs)
            result.outputs.append(name)
    # All outputs renamed into place: now record the granule as finished.
    record.parent.mkdir(exist_ok=True)
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(asdict(result) | {"attrs": attrs}, indent=1, default=str))
