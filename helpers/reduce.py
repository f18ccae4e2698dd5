"""Reduce ATL06 granules to simple per-beam files: ``python -m helpers.reduce``.

For each granule, read once with h5py, and for each beam keep a segment if and only if
``atl06_quality_summary == 0``, ``|h_li| < 10 km`` (this drops fill values) and it lies
inside the bounding box. Add GPS time, UTC decimal year, polar stereographic x/y and an
ascending flag; write one file per granule and beam, ``<granule stem>_<beam>.h5``, with
flat 1-D datasets (or one Parquet file per granule with a ``beam`` column).

Expected problems (a file that is not HDF5, another product, missing beams, nothing in
the box) are reported in one line naming the file, and the other granules go on.
Outputs are written under temporary names and renamed when complete; a small record in
``OUTDIR/.reduced/`` marks a granule as finished, so re-runs skip it unless asked to
overwrite, and a run killed half-way leaves nothing a re-run would take for finished.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helpers import __version__
from helpers.bbox import BBox
from helpers.fileio import PARTIAL_SUFFIX, atomic_path, remove_partials
from helpers.gpstime import gps_to_decimal_year
from helpers.granules import ASCENDING_REGIONS, BEAMS, spot_number
from helpers.projection import EPSG_SOUTH, lonlat_to_xy
from helpers.tracks import is_ascending

#: Output name -> path below ``gtXY/land_ice_segments`` (names of the original tutorial).
COPIED_VARIABLES: dict[str, str] = {
    "lat": "latitude",
    "lon": "longitude",
    "h_li": "h_li",
    "s_li": "h_li_sigma",
    "t_dt": "delta_time",
    "q_flag": "atl06_quality_summary",
    "s_fg": "fit_statistics/signal_selection_source",
    "snr": "fit_statistics/snr_significance",
    "h_rb": "fit_statistics/h_robust_sprd",
    "dac": "geophysical/dac",
    "f_sn": "geophysical/bsnow_conf",
    "dh_fit_dx": "fit_statistics/dh_fit_dx",
    "tide_earth": "geophysical/tide_earth",
    "tide_load": "geophysical/tide_load",
    "tide_ocean": "geophysical/tide_ocean",
    "tide_pole": "geophysical/tide_pole",
}
#: Variables computed here, with their units and meaning.
DERIVED_VARIABLES: dict[str, tuple[str, str]] = {
    "x": ("meters", f"polar stereographic easting, EPSG:{EPSG_SOUTH}"),
    "y": ("meters", f"polar stereographic northing, EPSG:{EPSG_SOUTH}"),
    "t_gps": ("seconds since 1980-01-06T00:00:00Z", "GPS time: atlas_sdp_gps_epoch + delta_time"),
    "t_year": ("years", "UTC decimal year (leap seconds handled)"),
    "is_asc": ("1", "true where latitude increases with time (ascending)"),
}
#: Every output variable, in file order.
OUTPUT_VARIABLES: tuple[str, ...] = (*COPIED_VARIABLES, *DERIVED_VARIABLES)
#: Heights beyond this magnitude are fill values or nonsense (m).
MAX_ABS_HEIGHT_M = 10_000.0
#: Folder (inside the output folder) with one record per finished granule.
RECORDS = ".reduced"


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


def _open_atl06(path: Path) -> h5py.File:
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


def _granule_info(f: h5py.File) -> dict:
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
    return out, counts


def _write_beam_h5(path: Path, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    with h5py.File(path, "w") as f:
        for name in OUTPUT_VARIABLES:
            ds = f.create_dataset(name, data=arrays[name])
            if name in DERIVED_VARIABLES:
                ds.attrs["units"], ds.attrs["description"] = DERIVED_VARIABLES[name]
            else:
                ds.attrs["source"] = f"land_ice_segments/{COPIED_VARIABLES[name]}"
        for key, value in attrs.items():
            f.attrs[key] = value


def _write_parquet(path: Path, beams: dict[str, dict[str, np.ndarray]], attrs: dict) -> None:
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


def _record_path(outdir: Path, stem: str) -> Path:
    return outdir / RECORDS / f"{stem}.json"


def is_finished(outdir: Path, stem: str) -> bool:
    """True when a granule's record and every output it lists exist."""
    record = _record_path(outdir, stem)
    try:
        outputs = json.loads(record.read_text())["outputs"]
    except (OSError, ValueError, KeyError):
        return False
    return all((outdir / name).is_file() for name in outputs)


def reduce_granule(
    source: str | os.PathLike, outdir: str | os.PathLike, options: ReduceOptions | None = None
) -> GranuleResult:
    """Reduce one granule into ``outdir`` (see the module docstring).

    Never raises for a problem with the input: it is reported in the result instead.

    Parameters
    ----------
    source : path-like
        An ATL06 granule (full or subset).
    outdir : path-like
        Output folder (created if missing).
    options : ReduceOptions, optional
        Area, format and overwrite; default: no area filter, HDF5, skip finished.
    """
    options = options or ReduceOptions()
    source, outdir = Path(source), Path(outdir)
    started = time.perf_counter()
    result = GranuleResult(source=str(source), status="done")
    stem = source.name.removesuffix(".h5")
    if not options.overwrite and is_finished(outdir, stem):
        result.status = "skipped"
        return result
    try:
        beams, attrs = _read_and_reduce(source, options, result)
        _write_outputs(outdir, stem, beams, attrs, options, result)
    except GranuleError as err:
        result.status, result.reason = "failed", str(err)
    except OSError as err:  # unreadable data inside an HDF5 file that opened fine
        result.status, result.reason = "failed", f"read error (corrupt data?): {err}"
    result.seconds = time.perf_counter() - started
    return result


def _read_and_reduce(source: Path, options: ReduceOptions, result: GranuleResult):
    with _open_atl06(source) as f:
        info = _granule_info(f)
        present = [b for b in BEAMS if b in f]
        if not present:
            raise GranuleError("no beam groups (gt1l..gt3r) in the file")
        absent = [b for b in BEAMS if b not in f]
        if absent:
            result.notes.append(f"beams absent: {', '.join(absent)}")
        hint = None if info["region"] in (0, 4, 11) else info["region"] in ASCENDING_REGIONS
        beams, kept_attrs = {}, {}
        for beam in present:
            try:
                raw = read_beam(f[beam])
            except KeyError as err:
                result.notes.append(f"{beam}: skipped, missing {err.args[0]}")
                continue
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
                beams[beam] = arrays
                kept_attrs[beam] = {
                    "beam": beam,
                    "spot_number": spot_number(beam, info["sc_orient"])
                    if info["sc_orient"] in (0, 1)
                    else -1,
                    "beam_type": _text(f[beam].attrs.get("atlas_beam_type", b"unknown")),
                }
    attrs = {
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
    return {b: (beams[b], kept_attrs[b]) for b in beams}, attrs


def _write_outputs(outdir, stem, beams, attrs, options: ReduceOptions, result) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    record = _record_path(outdir, stem)
    record.unlink(missing_ok=True)  # from here on the granule is unfinished
    with contextlib.ExitStack() as stack:
        if options.fmt == "h5":
            for beam, (arrays, beam_attrs) in beams.items():
                name = f"{stem}_{beam}.h5"
                tmp = stack.enter_context(atomic_path(outdir / name))
                _write_beam_h5(tmp, arrays, {**attrs, **beam_attrs})
                result.outputs.append(name)
        elif beams:
            name = f"{stem}.parquet"
            tmp = stack.enter_context(atomic_path(outdir / name))
            _write_parquet(tmp, {b: a for b, (a, _) in beams.items()}, attrs)
            result.outputs.append(name)
    # All outputs renamed into place: now record the granule as finished.
    record.parent.mkdir(exist_ok=True)
    with atomic_path(record) as tmp:
        tmp.write_text(json.dumps(asdict(result) | {"attrs": attrs}, indent=1, default=str))


def find_granules(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (their ``*.h5``) and glob patterns into a sorted file list."""
    import glob

    found: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.update(p for p in path.glob("*.h5") if p.is_file())
        elif path.exists():
            found.add(path)
        else:
            matches = glob.glob(str(item))
            if not matches:
                found.add(path)  # reported as "file not found" by the reducer
            found.update(Path(m) for m in matches)
    return sorted(found)


@dataclass
class RunSummary:
    """Totals of a run over many granules."""

    results: list[GranuleResult]
    seconds: float

    def count(self, status: str) -> int:
        """Granules with a status (``done``, ``skipped`` or ``failed``)."""
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[GranuleResult]:
        """The granules that failed, with their reasons."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def points_read(self) -> int:
        """Segments read, all granules."""
        return sum(r.points_read for r in self.results)

    @property
    def points_kept(self) -> int:
        """Segments written, all granules."""
        return sum(r.points_kept for r in self.results)

    def report(self) -> str:
        """A few lines for people: counts, points and time, then each failure."""
        lines = [
            f"{len(self.results)} granules: {self.count('done')} done, "
            f"{self.count('skipped')} skipped (already finished), {self.count('failed')} failed",
            f"{self.points_read:,} points read, {self.points_kept:,} kept, in {self.seconds:.1f} s",
        ]
        for r in self.failed:
            lines.append(f"FAILED {r.source}: {r.reason}")
        return "\n".join(lines)


def reduce_granules(
    inputs: Iterable[str | os.PathLike],
    outdir: str | os.PathLike,
    options: ReduceOptions | None = None,
    n_jobs: int = 1,
    scheduler=None,
    progress: bool = True,
    force_input_dir: bool = False,
    echo=None,
) -> RunSummary:
    """Reduce many granules, in parallel with joblib or on a Dask cluster.

    Parameters
    ----------
    inputs : iterable of path-like
        Files, folders or glob patterns.
    outdir : path-like
        Output folder.
    options : ReduceOptions, optional
        Area, format, overwrite.
    n_jobs : int
        Worker processes on this machine (joblib); ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        Address of a running ``dask.distributed`` scheduler (e.g. ``tcp://10.0.0.5:8786``),
        or a connected Client (e.g. from Dask Gateway or Coiled, whose connections need
        credentials that an address alone does not carry).
    progress : bool
        Show a progress bar.
    force_input_dir : bool
        Allow the output folder to be an input folder.
    echo : callable, optional
        Receives one line per problem as it happens (default: print above the bar).

    Returns
    -------
    RunSummary
    """
    options = options or ReduceOptions()
    outdir = Path(outdir).resolve()
    files = find_granules(inputs)
    input_dirs = {p.resolve().parent for p in files}
    if outdir in input_dirs and not force_input_dir:
        raise ValueError(
            f"output folder {outdir} holds input granules: choose another (or force it)"
        )
    from tqdm.auto import tqdm

    echo = echo or tqdm.write
    if outdir.is_dir():
        remove_partials(outdir)  # leftovers of an interrupted run
    started = time.perf_counter()
    if scheduler:
        results_iter = _run_on_dask(files, outdir, options, scheduler)
    elif n_jobs == 1:
        results_iter = (reduce_granule(p, outdir, options) for p in files)
    else:
        from joblib import Parallel, delayed

        results_iter = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(reduce_granule)(p, outdir, options) for p in files
        )
    results = []
    bar = tqdm(results_iter, total=len(files), desc="reducing", unit="granule",
               disable=not progress)  # fmt: skip
    for result in bar:
        results.append(result)
        name = Path(result.source).name
        if result.status == "failed":
            echo(f"{name}: FAILED: {result.reason}")
        for note in result.notes:
            echo(f"{name}: {note}")
    results.sort(key=lambda r: r.source)
    return RunSummary(results=results, seconds=time.perf_counter() - started)


def _run_on_dask(files, outdir, options, scheduler):
    from distributed import Client, as_completed

    owned = isinstance(scheduler, str)
    client = Client(scheduler) if owned else scheduler
    try:
        futures = client.map(reduce_granule, files, outdir=outdir, options=options, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        if owned:
            client.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.reduce",
        description=(
            "Reduce ATL06 granules: keep segments with atl06_quality_summary == 0, "
            "|h_li| < 10 km and inside the bounding box; add GPS time (t_gps), UTC decimal "
            "year (t_year), EPSG:3031 x/y and an ascending flag (is_asc); write one file per "
            "granule and beam, <granule>_<beam>.h5 (or one Parquet file per granule). "
            "Finished granules are skipped on re-runs; broken files are named and skipped."
        ),
        epilog="Example: python -m helpers.reduce data/ -o build/reduced "
        "-b -102 -76 -98 -74.5 -n 2",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILES_OR_DIRS",
        help="ATL06 granules, folders of them (*.h5) or glob patterns",
    )
    parser.add_argument("-o", "--outdir", required=True, type=Path, help="output folder")
    parser.add_argument(
        "-b",
        "--bbox",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        help="keep points inside this box (degrees); W > E crosses the "
        "antimeridian. Default: keep everything",
    )
    parser.add_argument(
        "-n",
        "--jobs",
        type=int,
        default=1,
        help="granules reduced in parallel on this machine (default 1)",
    )
    parser.add_argument(
        "--format",
        choices=("h5", "parquet"),
        default="h5",
        help="h5: one HDF5 file per granule and beam (default); parquet: one "
        "Parquet file per granule with a beam column",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="redo granules that are already finished"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster at ADDRESS "
        "(e.g. tcp://127.0.0.1:8786) instead of local processes",
    )
    parser.add_argument(
        "--force", action="store_true", help="allow writing into a folder that holds input granules"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 when every granule succeeded, else 1 (2: usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        bbox = BBox.from_sequence(args.bbox) if args.bbox else None
        options = ReduceOptions(bbox=bbox, fmt=args.format, overwrite=args.overwrite)
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
        summary = reduce_granules(
            args.inputs, args.outdir, options, n_jobs=args.jobs, scheduler=args.scheduler,
            progress=not args.quiet, force_input_dir=args.force,
        )  # fmt: skip
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"interrupted: unfinished granules carry no record; re-run to finish "
                         f"(temporary *{PARTIAL_SUFFIX} files are ignored)\n")  # fmt: skip
    print(summary.report())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
