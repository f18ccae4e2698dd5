"""What happens to one granule: open, check, read, filter, derive, write.

For each beam, keep a segment if and only if ``atl06_quality_summary == 0``,
``|h_li| < 10 km`` (this drops fill values) and it lies inside the bounding box; add GPS
time, UTC decimal year, polar stereographic x/y and an ascending flag. The file is
opened once; expected problems (a file that is not HDF5, another product, missing
beams, core variables missing, malformed datasets, nothing in the box) become a one-line
reason in the :class:`GranuleResult`.

Granules come as users hold them: optional variables that a (variable-subsetted) granule
lacks are written as NaN (int8 flags: 127, see :mod:`helpers.reduce.variables`), and
``orbit_info`` values it lacks come from its file name. x/y are in EPSG:3031 for southern
granules and EPSG:3413 for northern ones (:func:`helpers.projection.epsg_for_latitudes`)
unless :attr:`ReduceOptions.epsg` forces a code. With a box, only the index ranges that
can hold points inside it are read (:mod:`helpers.reduce.reading`); the outputs are the
same as those of a whole read, value for value.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import h5py
import numpy as np

from helpers import __version__
from helpers.bbox import BBox
from helpers.fileio import locked
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, gps_to_decimal_year
from helpers.granules import (
    ASCENDING_REGIONS,
    BEAMS,
    POLAR_TURN_REGIONS,
    GranuleName,
    parse_granule_name,
    spot_number,
)
from helpers.projection import EPSG_SOUTH, check_epsg, epsg_for_latitudes, lonlat_to_xy
from helpers.reduce.outputs import (
    FINISHED,
    OTHER_INPUT,
    OTHER_OPTIONS,
    RECORDS,
    lock_path,
    read_record,
    record_state,
    remove_granule_outputs,
    write_outputs,
)
from helpers.reduce.reading import (
    BeamColumns,
    BoxSearch,
    LayoutError,
    missing_core,
    pad_and_merge,
)
from helpers.reduce.remote import prefetch_chunks
from helpers.reduce.sources import Source, as_source
from helpers.reduce.transport import DEFAULT_TIMEOUT_S, SourceError
from helpers.reduce.urls import scrub
from helpers.reduce.variables import ABSENT_VALUES, INT8_FILL, MAX_ABS_HEIGHT_M, OUTPUT_DTYPES
from helpers.tracks import is_ascending

#: Regions whose latitude may turn back within a beam: the polar turns, and 0 (unknown).
MAY_TURN = (0, *POLAR_TURN_REGIONS)


class GranuleError(Exception):
    """An expected problem with one input file; the message is the one-line reason."""


@dataclass
class GranuleResult:
    """What happened to one granule.

    Attributes
    ----------
    source : str
        The input: a path, or a URL without credentials or query string.
    status : str
        ``"done"``, ``"skipped"`` (already finished) or ``"failed"``.
    reason : str
        Why it failed (empty otherwise).
    notes : list of str
        Beams left out and why (absent, no valid point, outside the area), values taken
        from the file name, unknown orientation, the projection of a granule that
        straddles the equator.
    points_read, points_kept : int
        Segments in the beams read, and kept after filtering.
    outputs : list of str
        Files written (names within the output folder).
    seconds : float
        Time taken.
    absent_variables : list of str
        Optional output variables the granule lacks, written as NaN (int8 flags: 127);
        ``"name (gt1l, gt2l)"`` when only some beams lack one.
    bytes_read : int
        Stored (compressed) bytes of the segment variables fetched: what area-aware reads
        save, and what a remote read transfers at least.
    requests, bytes_fetched : int
        For URLs and fsspec file objects: requests made and bytes received over the
        network (0 for local files).
    """

    source: str
    status: str
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    points_read: int = 0
    points_kept: int = 0
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    absent_variables: list[str] = field(default_factory=list)
    bytes_read: int = 0
    requests: int = 0
    bytes_fetched: int = 0


#: ReduceOptions fields that change how a granule is read, never what is written.
HOW_TO_READ = ("area_reads", "read_ahead", "timeout")


@dataclass(frozen=True)
class ReduceOptions:
    """How to reduce: area, output format, projection, and whether to redo finished granules.

    Attributes
    ----------
    bbox : BBox, optional
        Keep points inside this box; default: everywhere.
    fmt : str
        ``"h5"`` (one file per granule and beam) or ``"parquet"`` (one per granule).
    overwrite : bool
        Redo granules that are already finished.
    epsg : int, optional
        Project x/y to this EPSG code; default: per granule, EPSG:3031 south of the
        equator and EPSG:3413 north of it.
    area_reads : bool
        With a box, read only the index ranges that can hold points inside it (the same
        outputs as a whole read, fewer bytes); False reads every segment.
    read_ahead : bool or None
        Read the next beam in one extra thread while this one is filtered and projected
        (inflating and projecting release the GIL): faster with one job on a machine with a
        spare core, no help when every core already runs a job. None (the default) lets
        :func:`~helpers.reduce.run.reduce_granules` decide: on when it reduces the granules
        one at a time in its own process, off in worker processes and in direct calls.
    timeout : float
        For URLs: seconds to wait for a connection or for the next bytes of an answer
        before trying again (each request is tried 3 times; see
        :mod:`helpers.reduce.transport`).
    """

    bbox: BBox | None = None
    fmt: str = "h5"
    overwrite: bool = False
    epsg: int | None = None
    area_reads: bool = True
    read_ahead: bool | None = None
    timeout: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.fmt not in ("h5", "parquet"):
            raise ValueError(f"output format must be 'h5' or 'parquet', not {self.fmt!r}")
        if self.epsg is not None:
            object.__setattr__(self, "epsg", check_epsg(self.epsg))
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")

    def describe_filters(self) -> str:
        """The filters as one line, stored with every output."""
        text = f"atl06_quality_summary == 0; |h_li| < {MAX_ABS_HEIGHT_M:g} m"
        if self.bbox is not None:
            text += f"; inside bbox [W, S, E, N] = {self.bbox.as_list()}"
        return text


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.flat[0] if value.size else b""
    return value.decode("ascii", "replace").strip() if isinstance(value, bytes) else str(value)


def open_atl06(path) -> h5py.File:
    """Open a granule, turning the usual ways it can be wrong into GranuleError.

    ``path`` is a local path, or an open binary file object (e.g. a
    :class:`~helpers.reduce.remote.RangeReader`) that h5py reads through.
    """
    if isinstance(path, str | os.PathLike) and not Path(path).is_file():
        raise GranuleError("file not found")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise GranuleError(f"not a readable HDF5 file (truncated or corrupt?): {err}") from None
    try:
        product = _text(f.attrs.get("short_name", b"")) or _text(
            f.attrs.get("identifier_product_type", b"")
        )
        if product != "ATL06":
            raise GranuleError(
                f"is {product or 'an unknown product'} (no short_name ATL06): not an ATL06 granule"
            )
    except GranuleError:
        f.close()
        raise
    return f


def _number(f: h5py.File, path: str) -> float | None:
    """The first value of a small numeric dataset; None if absent, GranuleError if malformed."""
    dataset = f.get(path)
    if dataset is None:
        return None
    if not isinstance(dataset, h5py.Dataset):
        raise GranuleError(f"{path} is a group, not a dataset")
    if dataset.dtype.kind not in "fiub":
        kind = "text" if dataset.dtype.kind in "SUO" else f"{dataset.dtype} values"
        raise GranuleError(f"{path} holds {kind}, not a number")
    if dataset.size == 0:
        raise GranuleError(f"{path} is empty (shape {dataset.shape})")
    return np.asarray(dataset[()]).flat[0].item()


def _parsed_name(name: str) -> GranuleName | None:
    try:
        return parse_granule_name(name) if name else None
    except ValueError:
        return None


def granule_info(f: h5py.File, name: str = "") -> dict:
    """RGT, cycle, orientation, time epoch, region and release of an open granule.

    ``orbit_info`` and ``ancillary_data`` values the file lacks (variable-subsetted
    orders may drop ``rgt`` or ``sc_orient``) come from the file name ``name`` when it
    follows the ATL06 convention; an orientation nobody gives is -1 (unknown). What was
    taken from elsewhere is said in ``info["notes"]``.

    Raises
    ------
    GranuleError
        A value that is empty or not a number, or RGT/cycle found nowhere.
    """
    parsed, notes = _parsed_name(name), []
    info = {
        "rgt": _number(f, "orbit_info/rgt"),
        "cycle": _number(f, "orbit_info/cycle_number"),
        "sc_orient": _number(f, "orbit_info/sc_orient"),
        "epoch": _number(f, "ancillary_data/atlas_sdp_gps_epoch"),
        "region": _number(f, "ancillary_data/start_region"),
    }
    lacking = [key for key in ("rgt", "cycle", "region") if info[key] is None]
    if parsed is None and {"rgt", "cycle"} & set(lacking):
        paths = {"rgt": "orbit_info/rgt", "cycle": "orbit_info/cycle_number"}
        raise GranuleError(
            f"{' and '.join(paths[k] for k in lacking if k in paths)} absent, and the file "
            "name does not give it (not ATL06_<time>_<rgt><cycle><region>_<release>_...)"
        )
    if parsed is not None and lacking:
        info.update({k: getattr(parsed, k) for k in lacking})
        notes.append(f"{', '.join(lacking)} taken from the file name (absent from the file)")
    if info["epoch"] is None:
        info["epoch"] = ATLAS_SDP_GPS_EPOCH
        notes.append("ancillary_data/atlas_sdp_gps_epoch absent: the ATLAS epoch, 2018-01-01, used")
    if info["sc_orient"] not in (0, 1):
        said = "absent" if info["sc_orient"] is None else f"= {info['sc_orient']:g}"
        notes.append(f"orbit_info/sc_orient {said}: orientation unknown, spot_number = -1")
        info["sc_orient"] = -1
    info = {k: (v if k == "epoch" else int(v or 0)) for k, v in info.items()}
    release = f.get("ancillary_data/release")
    info["release"] = _text(release[()]) if isinstance(release, h5py.Dataset) else ""
    info["release"] = info["release"] or (parsed.release if parsed else "")
    info["notes"] = notes
    return info


def read_beam(
    group: h5py.Group, bbox: BBox | None = None, monotonic: bool = True
) -> dict[str, np.ndarray]:
    """Read the copied variables of one beam's ``land_ice_segments`` group.

    Parameters
    ----------
    group : h5py.Group
        A beam group (``f["gt1l"]``) of an open granule.
    bbox : BBox, optional
        Read only the index ranges that can hold points in this box (plus each range's
        neighbours); default: every segment.
    monotonic : bool
        Whether latitude may be assumed monotonic along the beam (any granule region but
        the polar turns, 4 and 11); a contradiction found while reading is handled.

    Returns
    -------
    dict of numpy.ndarray
        Output name -> values, for every copied variable; optional variables the beam
        lacks are filled (:data:`helpers.reduce.variables.ABSENT_VALUES`).

    Raises
    ------
    GranuleError
        A core variable missing, or a malformed dataset (the message says which).
    """
    beam = group.name.rsplit("/", 1)[-1]
    missing = missing_core(group)
    if missing:
        raise GranuleError(f"missing core variable(s) {', '.join(missing)} in {beam}")
    search = BoxSearch(bbox, monotonic) if bbox is not None else None
    try:
        return _read_rows(BeamColumns.open(group, beam), search)
    except LayoutError as err:
        raise GranuleError(str(err)) from None


#: Fetches the chunks a read of a beam's rows will need, all at once: ``prefetch(columns,
#: plan)`` with ``plan`` as :meth:`BeamColumns.plan` gives it (remote sources only).
Prefetch = Callable[[BeamColumns, list[tuple[str, int]]], None]


def _read_rows(columns: BeamColumns, search: BoxSearch | None,
               prefetch: Prefetch | None = None) -> dict:  # fmt: skip
    """A beam's variables: all rows, or the rows that may be in the search's box and their
    neighbours.

    The ascending flag of a row depends on its neighbours in time; they are read with it,
    and if the rows read are not in time order (or hold one latitude only), the whole beam
    is read instead, so the flag is the one a whole read gives. With ``prefetch``, every
    read of many chunks is announced first (remote sources fetch them in one batch).
    """

    def read(rows=None) -> dict:
        if prefetch is not None:
            prefetch(columns, columns.plan(rows))
        return columns.read(rows)

    if search is None:
        return read()
    lat = columns.columns["lat"]
    if prefetch is not None and not search.monotonic:  # all of latitude will be read
        prefetch(columns, [("lat", k) for k in lat.chunks_for([(0, columns.size)])])
    rows = pad_and_merge(search.rows(lat, columns.columns["lon"]), columns.size, lat.chunk_len)
    if rows == [(0, columns.size)]:
        return read()
    raw = read(rows)
    t, y = raw["t_dt"], raw["lat"]
    if t.size and (np.any(t[1:] < t[:-1]) or (y.size > 1 and np.all(y == y[0]))):
        return read()
    return raw


def reduce_beam(
    raw: dict[str, np.ndarray],
    epoch: float,
    bbox: BBox | None,
    ascending_hint: bool | None,
    epsg: int = EPSG_SOUTH,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Filter one beam and add the derived variables.

    Parameters
    ----------
    raw : dict of numpy.ndarray
        As :func:`read_beam` gives it.
    epoch : float
        ``atlas_sdp_gps_epoch`` (GPS s).
    bbox : BBox or None
        Area filter.
    ascending_hint : bool or None
        Direction for a lone point (from the granule region).
    epsg : int
        Output coordinates (EPSG:3031 by default; 3413 for northern granules).

    Returns
    -------
    (dict of numpy.ndarray, dict of int)
        The output arrays, and how many of the rows given each filter left (``read``,
        ``quality``, ``height``, ``bbox``).
    """
    counts = {"read": raw["h_li"].size}
    # Ascending/descending is a property of the pass: decide it on every read point
    # before filtering, so gaps left by the filters cannot flip a point's direction.
    ascending = is_ascending(raw["lat"], raw["t_dt"], fallback=ascending_hint)
    keep = raw["q_flag"] == 0
    counts["quality"] = int(keep.sum())
    keep &= np.abs(raw["h_li"]) < MAX_ABS_HEIGHT_M
    counts["height"] = int(keep.sum())
    if bbox is not None:
        keep &= bbox.contains(raw["lon"], raw["lat"])
    counts["bbox"] = int(keep.sum())
    index = np.flatnonzero(keep)
    out = {name: values[index] for name, values in raw.items()}
    out["x"], out["y"] = lonlat_to_xy(out["lon"], out["lat"], epsg)
    out["t_gps"] = out["t_dt"] + epoch
    out["t_year"] = gps_to_decimal_year(out["t_gps"])
    out["is_asc"] = ascending[index]
    return {k: v.astype(OUTPUT_DTYPES[k], copy=False) for k, v in out.items()}, counts


def reduce_granule(
    source: str | os.PathLike | IO[bytes],
    outdir: str | os.PathLike,
    options: ReduceOptions | None = None,
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
    outdir : path-like
        Output folder (created if missing).
    options : ReduceOptions, optional
        Area, format and overwrite; default: no area filter, HDF5, skip finished.

    Returns
    -------
    GranuleResult
        ``skipped`` when its outputs in ``outdir`` were made from this very file with
        these options and are unchanged since. Its ``source`` and messages name a URL
        without credentials or query string.
    """
    options = options or ReduceOptions()
    outdir = Path(outdir)
    started = time.perf_counter()
    try:
        src = as_source(source, options.timeout)
    except Exception as err:  # not a path, URL or file object
        return GranuleResult(source=scrub(str(source)), status="failed",
                             reason=f"not a path, URL or file object: {one_line(err)}")  # fmt: skip
    result = GranuleResult(source=src.label, status="done")
    try:
        stem = output_stem(src)
        (outdir / RECORDS).mkdir(parents=True, exist_ok=True)
        with locked(lock_path(outdir, stem)):  # one process at a time per granule
            _reduce_unless_finished(src, outdir, stem, options, result)
    except (GranuleError, SourceError) as err:
        _fail(result, str(err))
    except Exception as err:  # the guard: this granule fails, the run goes on
        _fail(result, f"unexpected error: {one_line(err)}")
    finally:
        src.close()
    result.requests, result.bytes_fetched = src.requests, src.bytes_fetched
    result.reason, result.notes = src.censor(result.reason), [src.censor(n) for n in result.notes]
    result.seconds = time.perf_counter() - started
    return result


def output_stem(source: Source) -> str:
    """What a granule's outputs are named after: its file name without ``.h5``.

    Raises
    ------
    GranuleError
        No file name, or one that could name a file outside the output folder.
    SourceError
        A URL whose file name holds a ``/`` or ``\\`` once decoded (see
        :func:`helpers.reduce.urls.url_file_name`).
    """
    if not source.name:
        source.check_name()
        raise GranuleError("no file name to name its outputs after")
    stem = source.name.removesuffix(".h5")
    if stem in ("", ".", "..") or any(c in stem for c in "/\\\0"):
        raise GranuleError(f"its file name {stem!r} cannot name output files")
    return stem


def record_options(options: ReduceOptions) -> dict:
    """The options a granule's record keeps (all but ``overwrite`` and :data:`HOW_TO_READ`;
    ``epsg`` when forced), as JSON reads them back."""
    key = {k: v for k, v in asdict(options).items() if k not in ("overwrite", *HOW_TO_READ)}
    if options.epsg is None:  # chosen per granule (in each output's attributes)
        del key["epsg"]
    key["bbox"] = options.bbox.as_list() if options.bbox is not None else None
    key["filters"] = options.describe_filters()
    key["software"] = f"helpers.reduce {__version__}"
    return json.loads(json.dumps(key, default=str))


def one_line(err: BaseException) -> str:
    """An exception as one line: its type (unless it is an OSError) and its message."""
    text = " ".join(str(err).split()) or "(no message)"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror if err.filename is None else f"{err.strerror}: {err.filename}"
    return text if isinstance(err, GranuleError) else f"{type(err).__name__}: {text}"


def _fail(result: GranuleResult, reason: str) -> None:
    result.status, result.reason = "failed", reason
    result.points_kept = 0  # nothing of this granule was written
    result.outputs.clear()


def _reduce_unless_finished(source: Source, outdir, stem, options, result) -> None:
    """Skip a finished granule, refuse another input's outputs, else reduce and write."""
    try:
        identity = source.identity(head=read_record(outdir, stem) is None)
    except SourceError as err:
        _fail(result, str(err))
        return
    except OSError as err:
        _fail(result, "file not found" if err.errno == errno.ENOENT else
              f"cannot open: {err.strerror}")  # fmt: skip
        return
    made_by = {"input": identity, "options": record_options(options)}
    state, record = record_state(outdir, stem, identity, made_by["options"])
    if state == FINISHED and not options.overwrite:
        result.status = "skipped"
        return
    if state == OTHER_INPUT and not options.overwrite:
        _fail(result, _other_input(record.get("input", {}), identity, stem, outdir))
        return
    if state == OTHER_OPTIONS and not options.overwrite:
        _fail(result, f"the outputs of {stem} in {outdir} were made with other options: "
                      "use --overwrite to replace them, or another output folder")  # fmt: skip
        return
    _reduce_and_write(source, outdir, stem, options, result, made_by)
    if result.status == "failed" and state in (OTHER_INPUT, OTHER_OPTIONS):
        remove_granule_outputs(outdir, stem)  # never leave outputs of other options behind
        result.notes.append(f"its old outputs ({state}) were removed")


def _other_input(recorded: dict, identity: dict, stem: str, outdir: Path) -> str:
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


def _reduce_and_write(source, outdir, stem, options, result, made_by) -> None:
    """Read, reduce and write one granule, telling reading errors from writing errors."""
    try:
        beams, attrs = _read_and_reduce(source, options, result)
    except (GranuleError, SourceError) as err:
        _fail(result, str(err))
        return
    except OSError as err:  # unreadable data inside an HDF5 file that opened fine
        _fail(result, f"read error (corrupt data?): {one_line(err)}")
        return
    except Exception as err:  # a malformed file that the checks above did not catch
        _fail(result, f"cannot reduce this granule: {one_line(err)}")
        return
    result.notes[:] = [source.censor(note) for note in result.notes]  # records keep them
    try:
        write_outputs(outdir, stem, beams, attrs, options.fmt, result, made_by)
    except Exception as err:
        _fail(result, f"cannot write its outputs into {outdir}: {one_line(err)}")


def _read_and_reduce(source: Source, options: ReduceOptions, result: GranuleResult):
    """``({beam: (arrays, beam_attrs)}, granule_attrs)`` of the beams that kept points."""
    with source.opened() as target, open_atl06(target) as f:
        info = granule_info(f, source.name)
        result.notes += info.pop("notes")
        columns = _open_beams(f, result)
        epsg = options.epsg or _choose_epsg(columns, result)
        reader = source.reader
        # Latitude is monotonic along a beam outside the polar turns: remote reads bisect
        # it (bytes count); local ones read all of it (cheap), so any file reduces right.
        monotonic = info["region"] not in MAY_TURN and reader is not None
        search = BoxSearch(options.bbox, monotonic) if options.bbox and options.area_reads else None
        prefetch = (lambda c, plan: prefetch_chunks(reader, c, plan)) if reader else None
        beams = {}
        try:
            for beam, raw in _read_each(list(columns.values()),
                                        lambda c: _read_rows(c, search, prefetch),
                                        bool(options.read_ahead)):  # fmt: skip
                arrays = _reduce_one_beam(beam, raw, info, options, epsg, result)
                if arrays is not None:
                    attrs = _beam_attrs(f[beam.beam], beam.beam, info["sc_orient"])
                    beams[beam.beam] = (arrays, attrs)
        except LayoutError as err:  # a chunk that cannot be decoded
            raise GranuleError(str(err)) from None
        finally:
            result.bytes_read = sum(c.bytes_read for c in columns.values())
    return beams, _granule_attrs(source.name, info, options, epsg, result.absent_variables)


def _open_beams(f: h5py.File, result: GranuleResult) -> dict[str, BeamColumns]:
    """The beams to read, checked; notes for beams left out and optional variables absent.

    Raises
    ------
    GranuleError
        No beam, core variables missing (one line naming them), a malformed dataset.
    """
    present = [b for b in BEAMS if isinstance(f.get(b), h5py.Group)]
    if not present:
        raise GranuleError("no beam groups (gt1l..gt3r) in the file")
    absent = [b for b in BEAMS if b not in present]
    if absent:
        result.notes.append(f"beams absent: {', '.join(absent)}")
    empty = [b for b in present if "land_ice_segments" not in f[b]]
    for beam in empty:
        result.notes.append(f"{beam}: no land_ice_segments group (no segments)")
    readable = [b for b in present if b not in empty]
    if not readable:
        raise GranuleError("no beam has a land_ice_segments group")
    _check_core(f, readable)
    try:
        columns = {b: BeamColumns.open(f[b], b) for b in readable}
    except LayoutError as err:
        raise GranuleError(str(err)) from None
    result.absent_variables = _absent_variables(columns)
    if result.absent_variables:
        result.notes.append(
            f"optional variables absent, written as NaN (int8 flags as "
            f"{INT8_FILL}): {', '.join(result.absent_variables)}"
        )
    return columns


def _check_core(f: h5py.File, beams: list[str]) -> None:
    """GranuleError, in one line, if any beam lacks a core variable."""
    missing = {b: missing_core(f[b]) for b in beams}
    if not any(missing.values()):
        return
    if all(m == missing[beams[0]] for m in missing.values()):
        where = f"{', '.join(missing[beams[0]])} (every beam)"
    else:
        where = "; ".join(f"{b}: {', '.join(m)}" for b, m in missing.items() if m)
    raise GranuleError(f"missing core variable(s) {where}: cannot reduce this granule")


def _absent_variables(columns: dict[str, BeamColumns]) -> list[str]:
    """Optional variables some beam lacks: ``"name"`` if every beam does, else with beams."""
    listed = []
    for name in ABSENT_VALUES:
        lacking = [b for b, c in columns.items() if name in c.absent]
        if lacking:
            listed.append(
                name if len(lacking) == len(columns) else f"{name} ({', '.join(lacking)})"
            )
    return listed


def _choose_epsg(columns: dict[str, BeamColumns], result: GranuleResult) -> int:
    """EPSG:3031 or 3413 from the first and last latitude of the first beam with segments
    (the beams of a granule run a few km apart); a note if they straddle the equator."""
    ends = next((c.end_latitudes() for c in columns.values() if c.size), [])
    epsg, note = epsg_for_latitudes(ends)
    if note:
        result.notes.append(note)
    return epsg


def _read_each(
    beams: list[BeamColumns], read: Callable[[BeamColumns], dict], ahead: bool
) -> Iterator[tuple[BeamColumns, dict]]:
    """``(beam, read(beam))`` in order; with ``ahead``, the next beam is read in one thread
    while the caller works on this one (at most two beams in memory)."""
    if not ahead or len(beams) < 2:
        yield from ((beam, read(beam)) for beam in beams)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="atl06-read") as reader:
        pending = reader.submit(read, beams[0])
        for i, beam in enumerate(beams):
            raw = pending.result()
            if i + 1 < len(beams):
                pending = reader.submit(read, beams[i + 1])
            yield beam, raw


def _reduce_one_beam(
    beam: BeamColumns, raw: dict, info: dict, options: ReduceOptions, epsg: int, result
) -> dict | None:
    """One beam's output arrays, or None (with a note saying why) when it keeps nothing."""
    hint = None if info["region"] in MAY_TURN else info["region"] in ASCENDING_REGIONS
    arrays, counts = reduce_beam(raw, info["epoch"], options.bbox, hint, epsg)
    result.points_read += beam.size
    result.points_kept += counts["bbox"]
    if counts["bbox"] > 0:
        return arrays
    if beam.size == 0:
        result.notes.append(f"{beam.beam}: no segments")
    elif counts["read"] == beam.size and counts["height"] == 0:  # a whole read: all invalid
        result.notes.append(f"{beam.beam}: no valid point (quality flag or fill values)")
    else:
        result.notes.append(f"{beam.beam}: no valid point inside the bbox")
    return None


def _beam_attrs(group: h5py.Group, beam: str, sc_orient: int) -> dict:
    return {
        "beam": beam,
        "spot_number": spot_number(beam, sc_orient) if sc_orient in (0, 1) else -1,
        "beam_type": _text(group.attrs.get("atlas_beam_type", b"unknown")),
    }


def _granule_attrs(
    name: str, info: dict, options: ReduceOptions, epsg: int, absent: list[str]
) -> dict:
    return {
        "source_granule": name,
        "rgt": info["rgt"],
        "cycle": info["cycle"],
        "region": info["region"],
        "sc_orient": info["sc_orient"],
        "product_release": info["release"],
        "bbox": json.dumps(options.bbox.as_list() if options.bbox else None),
        "filters": options.describe_filters(),
        "epsg": epsg,
        "absent_variables": ", ".join(absent),
        "software": f"atl06-tutorial helpers.reduce {__version__}",
    }
