"""What happens to one granule: open, check, read, filter, derive, write.

For each beam, keep a segment if and only if ``atl06_quality_summary == 0``,
``|h_li| < 10 km`` (this drops fill values) and it lies inside the bounding box; add GPS
time, UTC decimal year, polar stereographic x/y and an ascending flag. The file is
opened once; expected problems (a file that is not HDF5, another product, missing
beams, nothing in the box) become a one-line reason in the :class:`GranuleResult`.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helpers import __version__
from helpers.bbox import BBox
from helpers.fileio import locked
from helpers.gpstime import gps_to_decimal_year
from helpers.granules import ASCENDING_REGIONS, BEAMS, spot_number
from helpers.projection import EPSG_SOUTH, lonlat_to_xy
from helpers.reduce.outputs import (
    FINISHED,
    OTHER_INPUT,
    OTHER_OPTIONS,
    RECORDS,
    input_identity,
    lock_path,
    record_state,
    remove_granule_outputs,
    write_outputs,
)
from helpers.reduce.variables import COPIED_VARIABLES, MAX_ABS_HEIGHT_M, OUTPUT_DTYPES
from helpers.tracks import is_ascending


class GranuleError(Exception):
    """An expected problem with one input file; the message is the one-line reason."""


@dataclass
class GranuleResult:
    """What happened to one granule.

    Attributes
    ----------
    source : str
        The input file.
    status : str
        ``"done"``, ``"skipped"`` (already finished) or ``"failed"``.
    reason : str
        Why it failed (empty otherwise).
    notes : list of str
        Beams left out and why (absent, no valid point, outside the area).
    points_read, points_kept : int
        Segments read over all beams, and kept after filtering.
    outputs : list of str
        Files written (names within the output folder).
    seconds : float
        Time taken.
    """

    source: str
    status: str
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    points_read: int = 0
    points_kept: int = 0
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class ReduceOptions:
    """How to reduce: area, output format and whether to redo finished granules."""

    bbox: BBox | None = None
    fmt: str = "h5"
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.fmt not in ("h5", "parquet"):
            raise ValueError(f"output format must be 'h5' or 'parquet', not {self.fmt!r}")

    def describe_filters(self) -> str:
        """The filters as one line, stored with every output."""
        text = f"atl06_quality_summary == 0; |h_li| < {MAX_ABS_HEIGHT_M:g} m"
        if self.bbox is not None:
            text += f"; inside bbox [W, S, E, N] = {self.bbox.as_list()}"
        return text


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.flat[0]
    return value.decode("ascii", "replace").strip() if isinstance(value, bytes) else str(value)


def open_atl06(path: Path) -> h5py.File:
    """Open a granule, turning the usual ways it can be wrong into GranuleError."""
    if not path.is_file():
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


def granule_info(f: h5py.File) -> dict:
    """RGT, cycle, orientation, time epoch, region and release of an open granule."""
    try:
        info = {
            "rgt": int(f["orbit_info/rgt"][0]),
            "cycle": int(f["orbit_info/cycle_number"][0]),
            "sc_orient": int(f["orbit_info/sc_orient"][0]),
            "epoch": float(f["ancillary_data/atlas_sdp_gps_epoch"][0]),
        }
    except KeyError as err:
        raise GranuleError(f"incomplete ATL06 granule: missing {err.args[0]}") from None
    anc = f["ancillary_data"]
    info["region"] = int(anc["start_region"][0]) if "start_region" in anc else 0
    info["release"] = _text(anc["release"][0]) if "release" in anc else ""
    return info


def read_beam(group: h5py.Group) -> dict[str, np.ndarray]:
    """Read the copied variables of one beam's ``land_ice_segments`` group."""
    lis = group["land_ice_segments"]
    return {name: lis[path][()] for name, path in COPIED_VARIABLES.items()}


def reduce_beam(
    raw: dict[str, np.ndarray], epoch: float, bbox: BBox | None, ascending_hint: bool | None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Filter one beam and add the derived variables.

    Returns
    -------
    (dict of numpy.ndarray, dict of int)
        The output arrays, and how many points each filter left (``read``,
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
    out = {name: values[keep] for name, values in raw.items()}
    out["x"], out["y"] = lonlat_to_xy(out["lon"], out["lat"])
    out["t_gps"] = out["t_dt"] + epoch
    out["t_year"] = gps_to_decimal_year(out["t_gps"])
    out["is_asc"] = ascending[keep]
    return {k: v.astype(OUTPUT_DTYPES[k], copy=False) for k, v in out.items()}, counts


def reduce_granule(
    source: str | os.PathLike, outdir: str | os.PathLike, options: ReduceOptions | None = None
) -> GranuleResult:
    """Reduce one granule into ``outdir``: one file per beam (or one Parquet file).

    Never raises for a problem with the input or with writing: whatever goes wrong with
    this granule (an expected problem, a malformed file, a full disk, any exception)
    becomes a failed result with a one-line reason, and the other granules go on.

    Parameters
    ----------
    source : path-like
        An ATL06 granule (full or subset).
    outdir : path-like
        Output folder (created if missing).
    options : ReduceOptions, optional
        Area, format and overwrite; default: no area filter, HDF5, skip finished.

    Returns
    -------
    GranuleResult
        ``skipped`` when its outputs in ``outdir`` were made from this very file with
        these options and are unchanged since.
    """
    options = options or ReduceOptions()
    source, outdir = Path(source), Path(outdir)
    started = time.perf_counter()
    result = GranuleResult(source=str(source), status="done")
    try:
        (outdir / RECORDS).mkdir(parents=True, exist_ok=True)
        stem = source.name.removesuffix(".h5")
        with locked(lock_path(outdir, stem)):  # one process at a time per granule
            _reduce_unless_finished(source, outdir, stem, options, result)
    except Exception as err:  # the guard: this granule fails, the run goes on
        _fail(result, f"unexpected error: {one_line(err)}")
    result.seconds = time.perf_counter() - started
    return result


def record_options(options: ReduceOptions) -> dict:
    """The options a granule's record keeps (all but ``overwrite``), as JSON reads them back."""
    key = {k: v for k, v in asdict(options).items() if k != "overwrite"}
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


def _reduce_unless_finished(source, outdir, stem, options, result) -> None:
    """Skip a finished granule, refuse another input's outputs, else reduce and write."""
    try:
        identity = input_identity(source)
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
        other = record.get("input", {}).get("path", "another file")
        _fail(result, f"the outputs named {stem} in {outdir} come from another file, {other}: "
                      "use --overwrite to replace them, or another output folder")  # fmt: skip
        return
    if state == OTHER_OPTIONS and not options.overwrite:
        _fail(result, f"the outputs of {stem} in {outdir} were made with other options: "
                      "use --overwrite to replace them, or another output folder")  # fmt: skip
        return
    _reduce_and_write(source, outdir, stem, options, result, made_by)
    if result.status == "failed" and state in (OTHER_INPUT, OTHER_OPTIONS):
        remove_granule_outputs(outdir, stem)  # never leave outputs of other options behind
        result.notes.append(f"its old outputs ({state}) were removed")


def _reduce_and_write(source, outdir, stem, options, result, made_by) -> None:
    """Read, reduce and write one granule, telling reading errors from writing errors."""
    try:
        beams, attrs = _read_and_reduce(source, options, result)
    except GranuleError as err:
        _fail(result, str(err))
        return
    except OSError as err:  # unreadable data inside an HDF5 file that opened fine
        _fail(result, f"read error (corrupt data?): {one_line(err)}")
        return
    except Exception as err:  # a malformed file that the checks above did not catch
        _fail(result, f"cannot reduce this granule: {one_line(err)}")
        return
    try:
        write_outputs(outdir, stem, beams, attrs, options.fmt, result, made_by)
    except Exception as err:
        _fail(result, f"cannot write its outputs into {outdir}: {one_line(err)}")


def _read_and_reduce(source: Path, options: ReduceOptions, result: GranuleResult):
    """``({beam: (arrays, beam_attrs)}, granule_attrs)`` of the beams that kept points."""
    with open_atl06(source) as f:
        info = granule_info(f)
        present = [b for b in BEAMS if b in f]
        if not present:
            raise GranuleError("no beam groups (gt1l..gt3r) in the file")
        absent = [b for b in BEAMS if b not in f]
        if absent:
            result.notes.append(f"beams absent: {', '.join(absent)}")
        beams = {}
        for beam in present:
            arrays = _reduce_one_beam(f, beam, info, options, result)
            if arrays is not None:
                beams[beam] = (arrays, _beam_attrs(f[beam], beam, info["sc_orient"]))
    return beams, _granule_attrs(source, info, options)


def _reduce_one_beam(f: h5py.File, beam: str, info: dict, options, result):
    """One beam's output arrays, or None (with a note saying why) when it keeps nothing."""
    hint = None if info["region"] in (0, 4, 11) else info["region"] in ASCENDING_REGIONS
    try:
        raw = read_beam(f[beam])
    except KeyError as err:
        result.notes.append(f"{beam}: skipped, missing {err.args[0]}")
        return None
    arrays, counts = reduce_beam(raw, info["epoch"], options.bbox, hint)
    result.points_read += counts["read"]
    result.points_kept += counts["bbox"]
    if counts["read"] == 0:
        result.notes.append(f"{beam}: no segments")
    elif counts["height"] == 0:
        result.notes.append(f"{beam}: no valid point (quality flag or fill values)")
    elif counts["bbox"] == 0:
        result.notes.append(f"{beam}: no valid point inside the bbox")
    else:
        return arrays
    return None


def _beam_attrs(group: h5py.Group, beam: str, sc_orient: int) -> dict:
    return {
        "beam": beam,
        "spot_number": spot_number(beam, sc_orient) if sc_orient in (0, 1) else -1,
        "beam_type": _text(group.attrs.get("atlas_beam_type", b"unknown")),
    }


def _granule_attrs(source: Path, info: dict, options: ReduceOptions) -> dict:
    return {
        "source_granule": source.name,
        "rgt": info["rgt"],
        "cycle": info["cycle"],
        "region": info["region"],
        "sc_orient": info["sc_orient"],
        "product_release": info["release"],
        "bbox": json.dumps(options.bbox.as_list() if options.bbox else None),
        "filters": options.describe_filters(),
        "epsg": EPSG_SOUTH,
        "software": f"atl06-tutorial helpers.reduce {__version__}",
    }
