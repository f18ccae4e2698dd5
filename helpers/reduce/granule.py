"""One granule, from input to outputs: open, check, read, reduce each beam, write.

The steps live in their own modules -- opening and checking the file
(:mod:`~helpers.reduce.atl06file`), how it is read (:mod:`~helpers.reduce.strategy`), the
science of a beam (:mod:`~helpers.reduce.beam`), what to do with existing outputs
(:mod:`~helpers.reduce.policy`), writing (:mod:`~helpers.reduce.outputs`) into a folder or
a bucket (:mod:`~helpers.reduce.store`), holding the granule's lock meanwhile -- and this
module runs them. Each step raises :class:`~helpers.errors.GranuleError` (or a subclass)
for a problem it expects; :func:`reduce_granule` turns that, and any other exception, into
a failed :class:`~helpers.reduce.result.GranuleResult` with a one-line reason, so the
other granules go on. An exception nobody expected also leaves its traceback: in the log
(``helpers.reduce.granule``, printed by ``--debug``) and in the granule's failure record
(:func:`~helpers.reduce.policy.write_failure`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, fields
from typing import IO

from helpers.errors import GranuleError, format_traceback, log_unexpected, one_line
from helpers.reduce.atl06file import (
    beam_attrs,
    choose_epsg,
    granule_attrs,
    granule_info,
    open_atl06,
    open_beams,
)
from helpers.reduce.beam import reduce_one_beam
from helpers.reduce.lease import Held, LockLost
from helpers.reduce.memory import keep_freed_memory
from helpers.reduce.options import ReduceOptions, record_options
from helpers.reduce.outputs import (
    FINISHED,
    RECORDS,
    lock_name,
    read_record,
    remove_granule_outputs,
    state_of,
    write_outputs,
)
from helpers.reduce.policy import (
    Plan,
    clear_failure,
    identity_of,
    output_stem,
    plan,
    write_failure,
)
from helpers.reduce.result import GranuleResult
from helpers.reduce.sources import Source, as_source
from helpers.reduce.store import Store, open_store
from helpers.reduce.strategy import box_search, read_each, read_rows
from helpers.reduce.urls import scrub

log = logging.getLogger(__name__)


@dataclass
class Tally:
    """What is learnt about a granule as it is reduced (kept when it then fails)."""

    notes: list[str] = field(default_factory=list)
    points_read: int = 0
    points_kept: int = 0
    absent_variables: list[str] = field(default_factory=list)
    bytes_read: int = 0


class _Failed(Exception):
    """A granule failed: ``reason`` for the user, ``cause`` when nobody expected it."""

    def __init__(self, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason, self.cause = reason, cause


def reduce_granule(
    source: str | os.PathLike | IO[bytes],
    outdir: str | os.PathLike | Store,
    options: ReduceOptions | None = None,
    run: str = "",
) -> GranuleResult:
    """Reduce one granule into ``outdir``: one file per beam (or one Parquet file).

    Never raises for a problem with the input or with writing: whatever goes wrong with
    this granule (an expected problem, a malformed file, an unreachable URL, a full disk,
    any exception) becomes a failed result with a one-line reason, and the other granules
    go on.

    Parameters
    ----------
    source : path-like, URL or binary file object
        An ATL06 granule (full or subset): a path; an ``https://``, ``http://`` or
        ``s3://`` URL, read by byte ranges (only what the box needs); or an open file
        object, such as ``earthaccess.open()`` gives (see :mod:`helpers.reduce.sources`
        for credentials). Outputs are named after its file name.
    outdir : path-like or str
        Output folder (created if missing), or an object store's URL,
        ``s3://bucket/prefix`` (:func:`~helpers.reduce.store.open_store`; credentials from
        the environment).
    options : ReduceOptions, optional
        Area, format and overwrite; default: no area filter, HDF5, skip finished.
    run : str, optional
        A token naming the run, kept in the record: a granule found finished by this very
        run (by a worker that was lost before it reported) counts as done, not skipped.

    Returns
    -------
    GranuleResult
        ``skipped`` when its outputs in ``outdir`` were made from this very file with
        these options and are unchanged since. Its ``source`` and messages name a URL
        without credentials or query string.
    """
    options = options or ReduceOptions()
    started = time.perf_counter()
    keep_freed_memory()  # the next granule reuses this one's memory
    try:
        src = as_source(source, options.timeout)
    except Exception as err:  # not a path, URL or file object
        return GranuleResult(source=scrub(str(source)), status="failed",
                             reason=f"not a path, URL or file object: {one_line(err)}")  # fmt: skip
    tally = Tally()
    try:
        store = open_store(outdir)
        result = _reduce(src, store, options, tally, run)
    except ValueError as err:  # not a folder or a supported URL
        result = GranuleResult(source=src.label, status="failed", reason=one_line(err))
    finally:
        src.close()
    result.requests, result.bytes_fetched = src.requests, src.bytes_fetched
    result.reason, result.notes = src.censor(result.reason), [src.censor(n) for n in result.notes]
    result.seconds = time.perf_counter() - started
    return result


def _reduce(src: Source, store: Store, options: ReduceOptions, tally: Tally,
            run: str) -> GranuleResult:  # fmt: skip
    """The granule's result; every failure, expected or not, caught here and recorded."""
    stem = ""
    try:
        stem = output_stem(src)
        store.prepare(RECORDS)
        with store.lock(lock_name(stem), options.lease) as held:  # one writer per granule
            tally.notes += held.notes
            return _reduce_locked(src, store, stem, options, tally, held, run)
    except LockLost as err:  # the granule is another writer's now: no failure record
        return GranuleResult(source=src.label, status="failed", reason=str(err),
                             notes=tally.notes)  # fmt: skip
    except GranuleError as err:
        failure = _Failed(str(err))
    except _Failed as err:
        failure = err
    except Exception as err:  # the guard: this granule fails, the run goes on
        failure = _Failed(f"unexpected error: {one_line(err)}", err)
    return _failed(src, store, stem, tally, failure)


def _failed(src: Source, store: Store, stem: str, tally: Tally,
            failure: _Failed) -> GranuleResult:  # fmt: skip
    """The failed result; the traceback of an unexpected error logged and recorded."""
    trace = ""
    if failure.cause is not None:
        log_unexpected(log, f"{src.label} failed", failure.cause)
        trace = src.censor(format_traceback(failure.cause))
    if stem:
        try:
            write_failure(store, stem, src.label, src.censor(failure.reason), trace)
        except Exception as err:  # a full or read-only disk: the result still says why
            log.warning("cannot record the failure of %s: %s", src.label, one_line(err))
    return GranuleResult(source=src.label, status="failed", reason=failure.reason,
                         notes=tally.notes, points_read=tally.points_read,
                         absent_variables=tally.absent_variables,
                         bytes_read=tally.bytes_read)  # fmt: skip


def _reduce_locked(src: Source, store: Store, stem: str, options: ReduceOptions,
                   tally: Tally, held: Held, run: str) -> GranuleResult:  # fmt: skip
    """Skip a finished granule, refuse another input's outputs, else reduce and write."""
    record = read_record(store, stem)
    identity = identity_of(src, head=record is None)
    wanted = record_options(options)
    made_by: dict[str, object] = {"input": identity, "options": wanted}
    made_by |= {"run": run} if run else {}
    state = state_of(store, record, identity, wanted)
    if run and state == FINISHED and record is not None and record.get("run") == run:
        return _finished_by_this_run(src, record, tally)
    todo = plan(state, record, identity, stem, store.label, options.overwrite)
    if todo is Plan.SKIP:
        return GranuleResult(source=src.label, status="skipped", notes=tally.notes)
    try:
        return _reduce_and_write(src, store, stem, options, tally, made_by, held)
    except LockLost:
        raise
    except (GranuleError, _Failed):
        if todo is Plan.REPLACE:  # never leave outputs of another input or options behind
            remove_granule_outputs(store, stem)
            tally.notes.append(f"its old outputs ({state}) were removed")
        raise


def _finished_by_this_run(src: Source, record: dict, tally: Tally) -> GranuleResult:
    """The result of a granule that a worker of this run finished, then was lost before it
    reported (the task was run again): done, as its record tells."""
    kept = {f.name: record[f.name] for f in fields(GranuleResult)
            if f.name in record and f.name not in ("source", "status")}  # fmt: skip
    result = GranuleResult(source=src.label, status="done", **kept)
    lost = "finished by a worker of this run that was lost before it reported"
    result.notes = [*result.notes, *tally.notes, lost]
    return result


def _reduce_and_write(src: Source, store: Store, stem: str, options: ReduceOptions,
                      tally: Tally, made_by: dict, held: Held) -> GranuleResult:  # fmt: skip
    """Read, reduce and write one granule, telling reading errors from writing errors."""
    try:
        beams, attrs = _read_and_reduce(src, options, tally)
    except GranuleError:
        raise
    except OSError as err:  # unreadable data inside an HDF5 file that opened fine
        raise _Failed(f"read error (corrupt data?): {one_line(err)}", err) from err
    except Exception as err:  # a malformed file that the checks above did not catch
        raise _Failed(f"cannot reduce this granule: {one_line(err)}", err) from err
    tally.notes[:] = [src.censor(note) for note in tally.notes]  # records keep them
    result = GranuleResult(source=src.label, status="done", notes=tally.notes,
                           points_read=tally.points_read, points_kept=tally.points_kept,
                           absent_variables=tally.absent_variables,
                           bytes_read=tally.bytes_read)  # fmt: skip
    try:
        write_outputs(store, stem, beams, attrs, options.fmt, result, made_by, held.check)
    except LockLost:
        raise
    except Exception as err:
        raise _Failed(f"cannot write its outputs into {store.label}: {one_line(err)}",
                      err) from err  # fmt: skip
    clear_failure(store, stem)
    return result


def _read_and_reduce(src: Source, options: ReduceOptions, tally: Tally) -> tuple[dict, dict]:
    """``({beam: (arrays, beam_attrs)}, granule_attrs)`` of the beams that kept points."""
    with src.opened() as target, open_atl06(target) as f:
        info = granule_info(f, src.name)
        tally.notes += info.notes
        reader = src.reader
        opened = open_beams(f, reader.fetch if reader is not None else None)
        tally.notes += opened.notes
        tally.absent_variables = opened.absent_variables
        epsg = options.epsg
        if epsg is None:
            epsg, note = choose_epsg(opened.columns)
            tally.notes += [note] if note else []
        search = box_search(options.bbox if options.area_reads else None, info.region,
                            remote=reader is not None)  # fmt: skip
        beams = {}
        try:
            for beam, raw in read_each(list(opened.columns.values()),
                                       lambda c: read_rows(c, search),
                                       bool(options.read_ahead)):  # fmt: skip
                tally.points_read += beam.size
                outcome = reduce_one_beam(beam.beam, beam.size, raw, info.region, info.epoch,
                                          options.bbox, epsg)  # fmt: skip
                tally.points_kept += outcome.kept
                if outcome.arrays is None:
                    tally.notes.append(outcome.note)
                    continue
                beams[beam.beam] = (outcome.arrays,
                                    beam_attrs(f[beam.beam], beam.beam, info.sc_orient))
        finally:
            tally.bytes_read = sum(c.bytes_read for c in opened.columns.values())
    return beams, granule_attrs(src.name, info, options, epsg, tally.absent_variables)
