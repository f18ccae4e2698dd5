"""A granule's reduced outputs, and the records that say what made them.

Outputs are written under temporary names and renamed when complete; only then is a
small JSON record written to ``OUTDIR/.reduced/<granule>.json``. The record says what
made the outputs: the input (its path, size and modification time), the options (area,
format, filters, reducer version) and the size and time of every output file. So a
re-run can tell a granule that is finished from one that was reduced from another file
of the same name, with another box or format, or whose outputs were damaged since.

Replacing a granule replaces all of its outputs: the new files are written first; then
the record goes, every old output of that granule (either format) that is not among the
new ones is removed, the new files are renamed into place, and a new record is written.
A run killed half-way therefore leaves nothing that a re-run would take for finished.
One process at a time works on a granule: a lock file beside its record.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from helpers.fileio import atomic_path
from helpers.granules import BEAMS
from helpers.reduce.images import hdf5_image, write_image
from helpers.reduce.variables import (
    COPIED_VARIABLES,
    DERIVED_VARIABLES,
    OUTPUT_VARIABLES,
    derived_attrs,
)

#: Folder (inside the output folder) with one record per finished granule.
RECORDS = ".reduced"
#: What a record can say about a granule, compared with the run at hand.
FINISHED, MISSING, DAMAGED, OTHER_INPUT, OTHER_OPTIONS = (
    "finished", "missing", "damaged", "other input", "other options",
)  # fmt: skip


def write_beam_h5(path: Path, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    """One beam as flat 1-D datasets, with units/sources and the granule's attributes.

    The file is built in memory and written in one go, so a full disk raises a plain
    ``OSError`` (HDF5's own errors at close time can crash the interpreter).
    """

    def fill(f) -> None:
        for name in OUTPUT_VARIABLES:
            ds = f.create_dataset(name, data=arrays[name])
            if name in DERIVED_VARIABLES:
                units, description = derived_attrs(name, attrs["epsg"])
                ds.attrs["units"], ds.attrs["description"] = units, description
            else:
                ds.attrs["source"] = f"land_ice_segments/{COPIED_VARIABLES[name]}"
        for key, value in attrs.items():
            f.attrs[key] = value

    with hdf5_image(fill) as image:  # reused memory, written past the page cache
        write_image(path, image)


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


def lock_path(outdir: Path, stem: str) -> Path:
    """The lock file that lets one process at a time work on a granule."""
    return outdir / RECORDS / f"{stem}.lock"


def input_identity(source: Path) -> dict:
    """What identifies an input: path, name, size (bytes) and modification time (ns).

    A plain ``stat``: no byte of the file is read. Raises OSError if it cannot be stat'ed.
    """
    info = source.stat()
    return {"path": str(source), "name": source.name, "size": info.st_size,
            "mtime_ns": info.st_mtime_ns}  # fmt: skip


def same_input(a: dict, b: dict) -> bool:
    """True when two identities are the same file contents as far as ``stat`` tells (for a
    URL: as far as its size and the version its server states tell)."""
    return all(a.get(k) == b.get(k) for k in ("name", "size", "mtime_ns", "version"))


def read_record(outdir: Path, stem: str) -> dict | None:
    """A granule's record, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(record_path(outdir, stem).read_text())
    except (OSError, ValueError):
        return None


def _outputs_unchanged(outdir: Path, record: dict) -> bool:
    files = record.get("output_files")
    if not isinstance(files, dict) or set(files) != set(record.get("outputs", ())):
        return False
    for name, made in files.items():
        try:
            info = (outdir / name).stat()
        except OSError:
            return False
        if (info.st_size, info.st_mtime_ns) != (made.get("size"), made.get("mtime_ns")):
            return False
    return True


def record_state(outdir: Path, stem: str, identity: dict, options: dict) -> tuple[str, dict]:
    """How a granule's outputs in ``outdir`` relate to this input and these options.

    Returns
    -------
    (str, dict)
        :data:`FINISHED`, :data:`MISSING` (no record: never finished), :data:`DAMAGED`
        (an output is gone or changed since it was written), :data:`OTHER_INPUT` (made
        from another file of the same name) or :data:`OTHER_OPTIONS`; and the record
        (empty when there is none).
    """
    record = read_record(outdir, stem)
    if record is None:
        return MISSING, {}
    if not same_input(record.get("input", {}), identity):
        return OTHER_INPUT, record
    if record.get("options") != options:
        return OTHER_OPTIONS, record
    if not _outputs_unchanged(outdir, record):
        return DAMAGED, record
    return FINISHED, record


def is_finished(outdir: Path, stem: str) -> bool:
    """True when a granule has a record and every output it lists is there, unchanged."""
    record = read_record(Path(outdir), stem)
    return record is not None and _outputs_unchanged(Path(outdir), record)


def folder_records(outdir: Path) -> dict[str, dict]:
    """Every granule record in an output folder, by granule stem."""
    records = {}
    for path in sorted((outdir / RECORDS).glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            records[path.stem] = json.loads(path.read_text())
    return records


def existing_outputs(outdir: Path, stem: str) -> list[Path]:
    """Every output of a granule in ``outdir``, in either format (finished or not)."""
    pattern = glob.escape(stem)
    found = [*outdir.glob(f"{pattern}_gt[123][lr].h5"), *outdir.glob(f"{pattern}.parquet")]
    return sorted(found)


def _write_files(outdir: Path, stem: str, beams: dict, attrs: dict, fmt: str, stack) -> list:
    """Write every output under a temporary name (renamed when ``stack`` closes)."""
    names = []
    if fmt == "h5":
        for beam, (arrays, beam_attrs) in beams.items():
            names.append(f"{stem}_{beam}.h5")
            tmp = stack.enter_context(atomic_path(outdir / names[-1]))
            write_beam_h5(tmp, arrays, {**attrs, **beam_attrs})
    elif beams:
        names.append(f"{stem}.parquet")
        tmp = stack.enter_context(atomic_path(outdir / names[-1]))
        write_parquet(tmp, {b: a for b, (a, _) in beams.items()}, attrs)
    return names


def write_outputs(
    outdir: Path, stem: str, beams: dict, attrs: dict, fmt: str, result, made_by: dict
) -> None:
    """Write a granule's beams (``{beam: (arrays, beam_attrs)}``), replacing its old outputs.

    ``result`` (a :class:`~helpers.reduce.granule.GranuleResult`) gets the names of the
    files written and is stored in the record, with ``made_by`` (``input`` identity and
    ``options``). If writing fails, the old outputs and record are left as they were.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    record = record_path(outdir, stem)
    with contextlib.ExitStack() as stack:
        names = _write_files(outdir, stem, beams, attrs, fmt, stack)
        # Everything is written: from here on the granule is unfinished until recorded.
        record.unlink(missing_ok=True)
        for old in existing_outputs(outdir, stem):
            if old.name not in names:
                old.unlink(missing_ok=True)
    result.outputs[:] = names
    files = {}
    for name in names:
        info = (outdir / name).stat()
        files[name] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
    record.parent.mkdir(exist_ok=True)
    body = asdict(result) | made_by | {"output_files": files, "attrs": attrs}
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(body, indent=1, default=str))


def remove_granule_outputs(outdir: Path, stem: str) -> None:
    """Forget a granule: its record first, then all of its outputs."""
    record_path(outdir, stem).unlink(missing_ok=True)
    for old in existing_outputs(outdir, stem):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old)
