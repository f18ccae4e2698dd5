"""Opening and checking an ATL06 file: its product, its metadata as a typed record, its beams.

Granules come as users hold them: ``orbit_info`` values that a variable-subsetted granule
lacks come from its file name; an orientation nobody gives is -1; optional variables a
beam lacks are listed (the reader fills them, :mod:`helpers.reduce.variables`). Each such
departure is a note for the user; what makes a granule unusable is a
:class:`~helpers.errors.GranuleError` with a one-line reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helpers import __version__
from helpers.errors import GranuleError
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH
from helpers.granules import BEAMS, GranuleName, parse_granule_name, spot_number
from helpers.projection import epsg_for_latitudes
from helpers.reduce.options import ReduceOptions
from helpers.reduce.reading import BeamColumns, Fetch, missing_core
from helpers.reduce.variables import ABSENT_VALUES, INT8_FILL


@dataclass(frozen=True)
class GranuleInfo:
    """What a granule says about itself (or its file name says for it).

    Attributes
    ----------
    rgt, cycle, region : int
        Reference ground track, cycle, granule region (0: unknown).
    sc_orient : int
        Spacecraft orientation: 0 backward, 1 forward, -1 unknown.
    epoch : float
        ``atlas_sdp_gps_epoch``: GPS seconds of ``delta_time`` = 0.
    release : str
        Product release (``"006"``), or ``""``.
    notes : list of str
        What was taken from elsewhere than the file's datasets.
    """

    rgt: int
    cycle: int
    region: int
    sc_orient: int
    epoch: float
    release: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Beams:
    """The beams of a granule that will be read, checked.

    Attributes
    ----------
    columns : dict of str to BeamColumns
        Beam name -> its columns, in beam order.
    absent_variables : list of str
        Optional variables some beam lacks (``"name (gt1l, gt2l)"`` when not all do).
    notes : list of str
        Beams left out and why; optional variables absent.
    """

    columns: dict[str, BeamColumns]
    absent_variables: list[str]
    notes: list[str]


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
        raise GranuleError(f"not a readable HDF5 file (truncated or corrupt?): {err}") from err
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


def granule_info(f: h5py.File, name: str = "") -> GranuleInfo:
    """RGT, cycle, orientation, time epoch, region and release of an open granule.

    ``orbit_info`` and ``ancillary_data`` values the file lacks (variable-subsetted
    orders may drop ``rgt`` or ``sc_orient``) come from the file name ``name`` when it
    follows the ATL06 convention; an orientation nobody gives is -1 (unknown). What was
    taken from elsewhere is said in the notes.

    Raises
    ------
    GranuleError
        A value that is empty or not a number, or RGT/cycle found nowhere.
    """
    parsed, notes = _parsed_name(name), []
    found = {
        "rgt": _number(f, "orbit_info/rgt"),
        "cycle": _number(f, "orbit_info/cycle_number"),
        "sc_orient": _number(f, "orbit_info/sc_orient"),
        "epoch": _number(f, "ancillary_data/atlas_sdp_gps_epoch"),
        "region": _number(f, "ancillary_data/start_region"),
    }
    lacking = [key for key in ("rgt", "cycle", "region") if found[key] is None]
    if parsed is None and {"rgt", "cycle"} & set(lacking):
        paths = {"rgt": "orbit_info/rgt", "cycle": "orbit_info/cycle_number"}
        raise GranuleError(
            f"{' and '.join(paths[k] for k in lacking if k in paths)} absent, and the file "
            "name does not give it (not ATL06_<time>_<rgt><cycle><region>_<release>_...)"
        )
    if parsed is not None and lacking:
        found.update({k: getattr(parsed, k) for k in lacking})
        notes.append(f"{', '.join(lacking)} taken from the file name (absent from the file)")
    epoch = found["epoch"]
    if epoch is None:
        epoch = ATLAS_SDP_GPS_EPOCH
        notes.append("ancillary_data/atlas_sdp_gps_epoch absent: the ATLAS epoch, 2018-01-01, used")
    sc_orient = found["sc_orient"]
    if sc_orient not in (0, 1):
        said = "absent" if sc_orient is None else f"= {sc_orient:g}"
        notes.append(f"orbit_info/sc_orient {said}: orientation unknown, spot_number = -1")
        sc_orient = -1
    release = f.get("ancillary_data/release")
    text = _text(release[()]) if isinstance(release, h5py.Dataset) else ""
    return GranuleInfo(
        rgt=int(found["rgt"] or 0), cycle=int(found["cycle"] or 0),
        region=int(found["region"] or 0), sc_orient=int(sc_orient), epoch=epoch,
        release=text or (parsed.release if parsed else ""), notes=notes,
    )  # fmt: skip


def open_beams(f: h5py.File, fetch: Fetch | None = None) -> Beams:
    """The beams to read, checked; notes for beams left out and optional variables absent.
    ``fetch`` fetches stored chunks without h5py (remote files, see
    :class:`~helpers.reduce.reading.Column`).

    Raises
    ------
    GranuleError
        No beam, core variables missing (one line naming them), a malformed dataset
        (:class:`~helpers.errors.LayoutError`).
    """
    present = [b for b in BEAMS if isinstance(f.get(b), h5py.Group)]
    if not present:
        raise GranuleError("no beam groups (gt1l..gt3r) in the file")
    absent = [b for b in BEAMS if b not in present]
    notes = [f"beams absent: {', '.join(absent)}"] if absent else []
    empty = [b for b in present if "land_ice_segments" not in f[b]]
    notes += [f"{beam}: no land_ice_segments group (no segments)" for beam in empty]
    readable = [b for b in present if b not in empty]
    if not readable:
        raise GranuleError("no beam has a land_ice_segments group")
    _check_core(f, readable)
    columns = {b: BeamColumns.open(f[b], b, fetch) for b in readable}
    listed = _absent_variables(columns)
    if listed:
        notes.append(f"optional variables absent, written as NaN (int8 flags as "
                     f"{INT8_FILL}): {', '.join(listed)}")  # fmt: skip
    return Beams(columns=columns, absent_variables=listed, notes=notes)


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


def choose_epsg(columns: dict[str, BeamColumns]) -> tuple[int, str]:
    """EPSG:3031 or 3413 from the first and last latitude of the first beam with segments
    (the beams of a granule run a few km apart), and a note if they straddle the equator."""
    ends = next((c.end_latitudes() for c in columns.values() if c.size), [])
    return epsg_for_latitudes(ends)


def beam_attrs(group: h5py.Group, beam: str, sc_orient: int) -> dict:
    """The attributes of one beam's output: its name, spot number and strong/weak."""
    return {
        "beam": beam,
        "spot_number": spot_number(beam, sc_orient) if sc_orient in (0, 1) else -1,
        "beam_type": _text(group.attrs.get("atlas_beam_type", b"unknown")),
    }


def granule_attrs(
    name: str, info: GranuleInfo, options: ReduceOptions, epsg: int, absent: list[str]
) -> dict:
    """The attributes every output of a granule carries."""
    return {
        "source_granule": name,
        "rgt": info.rgt,
        "cycle": info.cycle,
        "region": info.region,
        "sc_orient": info.sc_orient,
        "product_release": info.release,
        "bbox": json.dumps(options.bbox.as_list() if options.bbox else None),
        "filters": options.describe_filters(),
        "epsg": epsg,
        "absent_variables": ", ".join(absent),
        "software": f"atl06-tutorial helpers.reduce {__version__}",
    }
