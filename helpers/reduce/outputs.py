"""A granule's reduced outputs, and the records that say what made them.

Outputs go to a :class:`~helpers.reduce.store.Store`: a local folder, or a prefix of an S3
bucket. They become visible only when complete (a local file is written under a temporary
name and renamed; an object is written with one PUT); only then is a small JSON record
written to ``OUTDIR/.reduced/<granule>.json``. The record says what made the outputs: the
input (its path, size and modification time; for a URL its size and version), the options
(area, format, filters, reducer version) and what identifies every output as written (its
size, and its modification time in a folder or its ETag in a bucket). So a re-run can tell
a granule that is finished from one that was reduced from another file of the same name,
with another box or format, or whose outputs were damaged since.

Replacing a granule replaces all of its outputs: the new files are written first (locally,
under temporary names; in a bucket, staged in a local temporary folder); then the record
goes, every old output of that granule (either format) that is not among the new ones is
removed, the new files are made visible, and a new record is written. A run killed
half-way therefore leaves nothing that a re-run would take for finished. One writer at a
time works on a granule: a lock beside its record (the kernel's lock on a lock file, or a
lock object held by a lease, :mod:`helpers.reduce.lease`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from helpers.granules import BEAMS
from helpers.reduce.images import hdf5_image, write_image
from helpers.reduce.store import Store, open_store
from helpers.reduce.variables import (
    COPIED_VARIABLES,
    DERIVED_VARIABLES,
    OUTPUT_NAME_SUFFIX,
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


def record_name(stem: str) -> str:
    """Where the record of a finished granule lives, in its store."""
    return f"{RECORDS}/{stem}.json"


def lock_name(stem: str) -> str:
    """The lock that lets one writer at a time work on a granule, in its store."""
    return f"{RECORDS}/{stem}.lock"


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


def read_json(store: Store, name: str) -> dict | None:
    """The JSON object stored as ``name``, or None when there is none (or it is unreadable)."""
    text = store.read_text(name)
    try:
        found = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def read_record(store: Store, stem: str) -> dict | None:
    """A granule's record, or None when there is none (or it is unreadable)."""
    return read_json(store, record_name(stem))


def _outputs_unchanged(store: Store, record: dict) -> bool:
    """True when every output a record lists is there, as it was written (same size and
    mtime, or size and ETag)."""
    files = record.get("output_files")
    if not isinstance(files, dict) or set(files) != set(record.get("outputs", ())):
        return False
    found = store.stamps(sorted(files))
    for name, made in files.items():
        stamp = found.get(name)
        if stamp is None or not isinstance(made, dict):
            return False
        if any(made.get(key) != value for key, value in stamp.items()):
            return False
    return True


def state_of(store: Store, record: dict | None, identity: dict,
             options: dict) -> str:  # fmt: skip
    """How a granule's outputs, as ``record`` says they were made, relate to this input
    and these options: :data:`FINISHED`, :data:`MISSING` (no record: never finished),
    :data:`DAMAGED` (an output is gone or changed since it was written),
    :data:`OTHER_INPUT` (made from another file of the same name) or
    :data:`OTHER_OPTIONS`."""
    if record is None:
        return MISSING
    if not same_input(record.get("input", {}), identity):
        return OTHER_INPUT
    if record.get("options") != options:
        return OTHER_OPTIONS
    if not _outputs_unchanged(store, record):
        return DAMAGED
    return FINISHED


def is_finished(outdir: str | os.PathLike | Store, stem: str) -> bool:
    """True when a granule has a record and every output it lists is there, unchanged.

    ``outdir`` is a folder or an output URL (``s3://bucket/prefix``).
    """
    store = open_store(outdir)
    record = read_record(store, stem)
    return record is not None and _outputs_unchanged(store, record)


def folder_records(store: Store) -> dict[str, dict]:
    """Every granule record in an output folder, by granule stem."""
    records = {}
    for name, text in store.read_texts(RECORDS, ".json").items():
        with contextlib.suppress(ValueError):
            records[name.removesuffix(".json")] = json.loads(text)
    return records


def existing_outputs(store: Store, stem: str) -> list[str]:
    """Every output of a granule in a store, in either format (finished or not)."""
    return store.find(stem, re.compile(re.escape(stem) + OUTPUT_NAME_SUFFIX))


def _write_files(store: Store, stem: str, beams: dict, attrs: dict, fmt: str, stack) -> list:
    """Write every output under a temporary name (made visible when ``stack`` closes)."""
    names = []
    if fmt == "h5":
        for beam, (arrays, beam_attrs) in beams.items():
            names.append(f"{stem}_{beam}.h5")
            tmp = stack.enter_context(store.staged(names[-1]))
            write_beam_h5(tmp, arrays, {**attrs, **beam_attrs})
    elif beams:
        names.append(f"{stem}.parquet")
        tmp = stack.enter_context(store.staged(names[-1]))
        write_parquet(tmp, {b: a for b, (a, _) in beams.items()}, attrs)
    return names


def write_outputs(
    store: Store, stem: str, beams: dict, attrs: dict, fmt: str, result, made_by: dict,
    check: Callable[[], None] = lambda: None,
) -> None:  # fmt: skip
    """Write a granule's beams (``{beam: (arrays, beam_attrs)}``), replacing its old outputs.

    ``result`` (a :class:`~helpers.reduce.granule.GranuleResult`) gets the names of the
    files written and is stored in the record, with ``made_by`` (``input`` identity,
    ``options``, and the ``run`` when one is named). If writing fails, the old outputs and
    record are left as they were. ``check`` is called before anything becomes visible and
    before the record is written (it raises if the granule's lock was lost).
    """
    store.prepare(RECORDS)
    record = record_name(stem)
    with contextlib.ExitStack() as stack:
        names = _write_files(store, stem, beams, attrs, fmt, stack)
        check()
        # Everything is written: from here on the granule is unfinished until recorded.
        remove_granule_outputs(store, stem, keep=names)
    result.outputs[:] = names
    files = store.stamps(names)
    if set(files) != set(names):
        raise OSError(f"outputs vanished right after they were written: "
                      f"{', '.join(sorted(set(names) - set(files)))}")  # fmt: skip
    body = asdict(result) | made_by | {"output_files": files, "attrs": attrs}
    check()
    store.write_text(record, json.dumps(body, indent=1, default=str))


def remove_granule_outputs(store: Store, stem: str, keep: Sequence[str] = ()) -> None:
    """Forget a granule: its record first, then its outputs (but those named in ``keep``)."""
    store.remove(record_name(stem))
    for old in existing_outputs(store, stem):
        if old not in keep:
            store.remove(old)
