"""What to do with a granule's outputs: skip it, refuse it, reduce it, replace old outputs.

A granule whose outputs in the folder (or bucket) were made from this very input with these
options and are unchanged since is skipped (unless ``overwrite``); outputs of the same name
made from another input, or with other options, are refused (unless ``overwrite``);
anything else is reduced. One writer at a time works on a granule (a lock beside its
record).

A granule that fails leaves a *failure record* beside the records,
``.reduced/failures/<granule>.json``: its source, the one-line reason and, for an error
nobody expected, the traceback (what a maintainer needs; the user sees the line). It is
removed when the granule is next done.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import time
from pathlib import Path

from helpers.errors import GranuleError
from helpers.reduce.outputs import FINISHED, OTHER_INPUT, OTHER_OPTIONS, RECORDS, read_json
from helpers.reduce.sources import Source
from helpers.reduce.store import Store

#: Folder (inside the records folder) with one failure record per granule that failed.
FAILURES = "failures"


class Plan(enum.Enum):
    """What to do with one granule, given the output folder."""

    SKIP = "skip"  # finished from this input with these options
    REDUCE = "reduce"  # nothing of it yet, or damaged outputs to redo
    REPLACE = "replace"  # another input's or other options' outputs, and overwrite


def output_stem(source: Source) -> str:
    """What a granule's outputs are named after: its file name without ``.h5``.

    Raises
    ------
    GranuleError
        No file name, or one that could name a file outside the output folder (for a URL,
        :class:`~helpers.errors.InvalidUrl` saying why).
    """
    if not source.name:
        source.check_name()
        raise GranuleError("no file name to name its outputs after")
    stem = source.name.removesuffix(".h5")
    if stem in ("", ".", "..") or any(c in stem for c in "/\\\0"):
        raise GranuleError(f"its file name {stem!r} cannot name output files")
    return stem


def identity_of(source: Source, head: bool = True) -> dict:
    """What identifies the input (a remote one brings its first bytes too with ``head``;
    a re-run whose record suggests a skip needs only its version).

    Raises
    ------
    GranuleError
        The input cannot be found or opened (one line).
    """
    try:
        return source.identity(head=head)
    except OSError as err:
        if err.errno == errno.ENOENT:
            raise GranuleError("file not found") from err
        raise GranuleError(f"cannot open: {err.strerror}") from err


def plan(state: str, record: dict | None, identity: dict, stem: str, where: str,
         overwrite: bool) -> Plan:  # fmt: skip
    """What to do with a granule whose outputs are in ``state``
    (:func:`~helpers.reduce.outputs.state_of`, given its ``record``, None if none) for the
    input ``identity``; ``where`` names the output folder in messages.

    Raises
    ------
    GranuleError
        Outputs of another input or other options are in the way, and not ``overwrite``.
    """
    if state == FINISHED:
        return Plan.REDUCE if overwrite else Plan.SKIP
    if state not in (OTHER_INPUT, OTHER_OPTIONS):
        return Plan.REDUCE
    if overwrite:
        return Plan.REPLACE
    if state == OTHER_INPUT:
        raise GranuleError(_other_input((record or {}).get("input", {}), identity, stem, where))
    raise GranuleError(f"the outputs of {stem} in {where} were made with other options: "
                       "use --overwrite to replace them, or another output folder")  # fmt: skip


def _other_input(recorded: dict, identity: dict, stem: str, outdir: str) -> str:
    """Why a granule's outputs are not this input's: another file, or another version of
    the same URL (its server's ETag or modification time changed since)."""
    other = recorded.get("path", "another file")
    if "version" in identity and other == identity.get("path"):
        then, now = recorded.get("version") or "none", identity.get("version") or "none"
        return (f"the server's version of {other} changed since its outputs in {outdir} were "
                f"made (ETag or Last-Modified {then!r} then, {now!r} now): use --overwrite to "
                "reduce it again, or another output folder")  # fmt: skip
    return (f"the outputs named {stem} in {outdir} come from another file, {other}: "
            "use --overwrite to replace them, or another output folder")


def failure_name(stem: str) -> str:
    """Where the failure record of a granule lives, in its store."""
    return f"{RECORDS}/{FAILURES}/{stem}.json"


def failure_path(outdir: str | os.PathLike, stem: str) -> Path:
    """Where the failure record of a granule lives, in a local output folder."""
    return Path(outdir) / failure_name(stem)


def write_failure(store: Store, stem: str, source: str, reason: str, trace: str = "") -> None:
    """Record why a granule failed (and the traceback of an unexpected error), atomically."""
    store.prepare(f"{RECORDS}/{FAILURES}")
    body = {"source": source, "reason": reason, "traceback": trace,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
    store.write_text(failure_name(stem), json.dumps(body, indent=1))


def read_failure(store: Store, stem: str) -> dict:
    """A granule's failure record (empty when there is none, or it cannot be read)."""
    return read_json(store, failure_name(stem)) or {}


def clear_failure(store: Store, stem: str) -> None:
    """Forget a granule's failure record (it is done now)."""
    store.remove(failure_name(stem))
