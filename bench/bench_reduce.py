"""Benchmark ``helpers.reduce`` on full-size granules against a read-only limit.

On N full-size synthetic ATL06 granules (default 8, about 1 M segments and 45 MB each, made
once with ``python -m helpers.sample --full`` into ``build/bench/full<N>``; ``--data`` may
name any folder of granules), every case of :data:`CASES` runs once, each in a fresh process
right after the granules were read into the page cache:

1. **read-only limit**: h5py reads every dataset the reducer reads
   (``helpers.reduce.COPIED_VARIABLES`` of every beam) into numpy, serially, nothing else,
   as plain h5py code would (the reducer decodes chunks itself, see
   :mod:`helpers.reduce.reading`, so it may beat this "limit"); and the **inflate floor**:
   every stored chunk of those datasets fetched raw and inflated with ISA-L, nothing else.
2. (a) **whole granules**: ``reduce_granules`` with 1 job, 1 job plus one reader thread
   (``read_ahead``), 2 jobs (joblib), HDF5 output, no bbox; and 1 job with Parquet output.
3. (b) **a box that keeps about 10 % of each track** (:data:`BOX`), 1 job: with area-aware
   reads (the default), and with whole reads for comparison; stored bytes read are counted.
4. (c) **the same box over HTTP** from a ``helpers.rangeserver`` process on this machine
   (Range requests, as NASA's HTTPS and S3 servers answer them), against downloading the
   whole files from the same server and then reducing them: bytes the server sent / the
   files' bytes, requests, and time; once as fast as the machine goes, and once over an
   emulated link (:data:`SLOW_LINK`: a round trip before every answer, one shared link
   speed), about what reading a cloud store from outside its region gives.

It prints a Markdown table (wall time, segments per second, ratio to the read-only limit,
speed-up over 1 job, stored MB read, peak RSS: the process's own peak,
``common.peak_rss_mb``, plus its largest worker for 2 jobs), how each peak was taken (also
the sampled sum over the process tree), CPU seconds per case (CPU/wall well below 1 for one
process means the machine was busy: re-run), the ratios against the goals ((a) 1 job /
read-only <= 1.5, 2 jobs / 1 job >= 1.7; (b) box / read-only of whole files <= 0.3;
(c) bytes transferred / file bytes <= 0.2, outputs the same as the local box case's), the
goals of issue 23 on every run (CPU of 1 job <= 2x the inflate floor's; every 1-job run
<= 1.2x the read-only limit, 2 jobs <= 1.0x; the box over the slow link <= 0.35x
download-then-reduce), every run's wall time, ratio, CPU (user + sys) and load, and then
where the 1-job reducer's time goes on one granule (reading, derived variables,
filtering, writing), profiled in its own fresh process. ``--cases`` runs some cases only.

A case is one row of :data:`CASES`: a name, a label, the function that runs it (same
signature as :func:`read_only`) and its parameters. Run it with ``make bench`` or::

    .venv/bin/python bench/bench_reduce.py [--granules N] [--repeat R] [--data DIR] [--keep]
                                           [--cases read,floor,reduce1,...]

8 granules take about a minute on 2 CPUs, plus about 30 s to generate them the first time;
``--granules 16`` (the count the goals are stated for) about twice that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import h5py
import numpy as np
from common import (
    BUILD,
    MB,
    REPO,
    SAMPLE_INTERVAL_S,
    log,
    machine,
    peak_rss_mb,
    print_table,
    range_server,
    run_fresh,
    warm_page_cache,
    write_result,
)

from helpers import reduce as red
from helpers.bbox import BBox
from helpers.gpstime import gps_to_decimal_year
from helpers.granules import ASCENDING_REGIONS, BEAMS
from helpers.projection import lonlat_to_xy
from helpers.reduce.outputs import write_beam_h5, write_parquet
from helpers.tracks import is_ascending

#: Goals of the issue: 1-job reducer within 1.5x of the read-only limit, 2 jobs >= 1.7x,
#: and with a box keeping ~10 % of each track, within 0.3x of the whole-file read-only limit.
GOAL_RATIO_TO_READ = 1.5
GOAL_SPEEDUP_2_JOBS = 1.7
GOAL_BOX_TO_READ = 0.3
GOAL_REMOTE_BYTES = 0.2
#: Goals of issue 23: CPU of 1 job within 2x the inflate floor's; every 1-job run within
#: 1.2x the read-only limit and 2 jobs within 1.0x; the box over the slow link within 0.35x
#: download-then-reduce.
GOAL_CPU_TO_FLOOR = 2.0
GOAL_EVERY_RUN_1_JOB = 1.2
GOAL_2_JOBS_TO_READ = 1.0
GOAL_SLOW_LINK = 0.35
#: [W, S, E, N] keeping about 10 % of every track of the full-size synthetic granules (regions
#: 10 and 12 run from 50 to 79 degrees S; this band holds 10.1-10.6 % of each one's segments).
BOX = (-115.0, -77.0, -85.0, -74.0)
#: Case (c)'s emulated link: seconds before each answer, MB/s shared by all connections.
SLOW_LINK = (0.020, 25.0)
#: Profile repetitions (the median of each phase is reported).
PROFILE_REPEATS = 3
PROFILE_CASE = "profile"
PACKAGES = ("numpy", "h5py", "isal", "pyproj", "joblib", "pyarrow")


# --------------------------------------------------------------------------- cases


def read_only(case: Case, files: list[Path], outdir: Path) -> dict:
    """Read what the reducer reads, nothing else: the read-only limit.

    Parameters
    ----------
    case : Case
        This case (unused: it has no parameters).
    files : list of Path
        Granules, read one after the other.
    outdir : Path
        Unused: nothing is written.

    Returns
    -------
    dict
        ``segments`` read (``h_li`` sizes over all beams), ``kept`` (the same),
        ``array_mb``, MB of numpy arrays produced, and ``stored_mb``, their stored size.
    """
    segments = nbytes = stored = 0
    for path in files:
        with h5py.File(path, "r") as f:
            for beam in (b for b in BEAMS if b in f):
                lis = f[beam]["land_ice_segments"]
                arrays = {name: lis[p][()] for name, p in red.COPIED_VARIABLES.items()}
                segments += arrays["h_li"].size
                nbytes += sum(a.nbytes for a in arrays.values())
                stored += sum(lis[p].id.get_storage_size() for p in red.COPIED_VARIABLES.values())
    return {"segments": segments, "kept": segments, "array_mb": nbytes / MB,
            "stored_mb": stored / MB}  # fmt: skip


def inflate_floor(case: Case, files: list[Path], outdir: Path) -> dict:
    """Fetch every stored chunk that the reducer decodes (``read_direct_chunk``) and inflate
    it with ISA-L, nothing else: the floor of any reduction of these files.

    Returns
    -------
    dict
        ``segments`` (``h_li`` sizes), ``kept`` (the same), ``stored_mb`` fetched and
        ``inflate_s``, the seconds spent inflating alone.
    """
    from isal.isal_zlib import decompress

    segments = stored = 0
    inflating = 0.0
    for path in files:
        with h5py.File(path, "r") as f:
            for beam in (b for b in BEAMS if b in f):
                lis = f[beam]["land_ice_segments"]
                segments += lis["h_li"].size
                for p in red.COPIED_VARIABLES.values():
                    dsid = lis[p].id
                    for k in range(dsid.get_num_chunks()):
                        raw = dsid.read_direct_chunk(dsid.get_chunk_info(k).chunk_offset)[1]
                        started = time.perf_counter()
                        decompress(raw)
                        inflating += time.perf_counter() - started
                        stored += len(raw)
    return {"segments": segments, "kept": segments, "stored_mb": stored / MB,
            "inflate_s": inflating}  # fmt: skip


def reduce_files(case: Case, files: list[Path], outdir: Path) -> dict:
    """Run ``reduce_granules`` with the case's jobs, format, box and reading options.

    Returns
    -------
    dict
        ``segments`` read, ``kept``, ``failed`` granules, ``notes`` (skipped beams...) and
        ``stored_mb``, the stored (compressed) MB of segment variables fetched.
    """
    notes: list[str] = []
    options = red.ReduceOptions(
        bbox=BBox(*case.bbox) if case.bbox else None, fmt=case.fmt, overwrite=True,
        area_reads=case.area_reads, read_ahead=case.read_ahead,
    )  # fmt: skip
    summary = red.reduce_granules(
        files, outdir, options, n_jobs=case.n_jobs, progress=False, echo=notes.append
    )
    return {
        "segments": summary.points_read,
        "kept": summary.points_kept,
        "failed": len(summary.failed),
        "granules": len(summary.results),
        "notes": notes,
        "stored_mb": sum(r.bytes_read for r in summary.results) / MB,
        "outputs": sorted(str(outdir / o) for r in summary.results for o in r.outputs),
    }


def outputs_digest(paths: list[str]) -> str:
    """SHA-256 of the outputs' datasets (names and values, in order): equal digests mean
    the same points, value for value, whatever the folder and file times."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).name.encode())
        with h5py.File(path, "r") as f:
            for name in sorted(f):
                digest.update(name.encode() + np.ascontiguousarray(f[name][()]).tobytes())
    return digest.hexdigest()


def _transferred(before: dict, after: dict, files: list[Path]) -> dict:
    return {"sent_mb": (after["bytes"] - before["bytes"]) / MB,
            "requests": after["requests"] - before["requests"] + after["heads"] - before["heads"],
            "file_mb": sum(p.stat().st_size for p in files) / MB}  # fmt: skip


def reduce_over_http(case: Case, files: list[Path], outdir: Path) -> dict:
    """Reduce the granules from their URLs on a local range server (case (c)).

    Returns
    -------
    dict
        :func:`reduce_files`'s result plus ``sent_mb`` and ``requests`` (the server's
        counts), ``file_mb`` and ``setup_s`` (server start-up, not timed).
    """
    started = time.perf_counter()
    with range_server(files[0].parent, case.latency * 1000, case.mbps) as server:
        before, setup = server.stats(), time.perf_counter() - started
        result = reduce_files(case, [f"{server.url}/{quote(p.name)}" for p in files], outdir)
        return {**result, **_transferred(before, server.stats(), files), "setup_s": setup}


def download_then_reduce(case: Case, files: list[Path], outdir: Path) -> dict:
    """Download every granule whole from a local range server, then reduce the copies."""
    started = time.perf_counter()
    folder = outdir / "downloaded"
    folder.mkdir(parents=True, exist_ok=True)
    with range_server(files[0].parent, case.latency * 1000, case.mbps) as server:
        before, setup = server.stats(), time.perf_counter() - started
        for path in files:
            source = urllib.request.urlopen(f"{server.url}/{quote(path.name)}")
            with source as answer, (folder / path.name).open("wb") as copy:
                shutil.copyfileobj(answer, copy, 1 << 20)
        sent = _transferred(before, server.stats(), files)
    result = reduce_files(case, sorted(folder.glob("*.h5")), outdir / "reduced")
    return {**result, **sent, "setup_s": setup}


@dataclass(frozen=True)
class Case:
    """One row of the table: ``run(case, files, outdir)`` is timed in a fresh process.

    ``n_jobs`` is the number of worker processes (1: all in the case's own process);
    ``bbox``, ``area_reads`` and ``read_ahead`` are passed to ``ReduceOptions``;
    ``latency`` (s) and ``mbps`` (MB/s, 0: unlimited) set a range server's link.
    """

    name: str
    label: str
    run: Callable[[Case, list[Path], Path], dict]
    n_jobs: int = 1
    fmt: str = "h5"
    bbox: tuple[float, float, float, float] | None = None
    area_reads: bool = True
    read_ahead: bool | None = None
    latency: float = 0.0
    mbps: float = 0.0


CASES: tuple[Case, ...] = (
    Case("read", "read-only limit (h5py, serial)", read_only),
    Case("floor", "inflate floor (raw chunks + ISA-L, serial)", inflate_floor),
    Case("reduce1", "(a) reducer, 1 job (default: + 1 reader thread)", reduce_files),
    Case("reduce1nt", "(a) reducer, 1 job, no reader thread", reduce_files, read_ahead=False),
    Case("reduce2", "(a) reducer, 2 jobs (no reader threads)", reduce_files, n_jobs=2),
    Case("reduce1pq", "(a) reducer, 1 job, Parquet", reduce_files, fmt="parquet"),
    Case("box", "(b) box, 1 job, area-aware reads (+ 1 reader thread)", reduce_files, bbox=BOX),
    Case("boxnt", "(b) box, 1 job, area-aware reads, no reader thread", reduce_files, bbox=BOX,
         read_ahead=False),
    Case("boxwhole", "(b) box, 1 job, whole reads", reduce_files, bbox=BOX, area_reads=False),
    Case("http", "(c) box over HTTP, 1 job", reduce_over_http, bbox=BOX),
    Case("download", "(c) download over HTTP, then box, 1 job", download_then_reduce, bbox=BOX),
    Case("httpslow", "(c) box over HTTP, slow link", reduce_over_http, bbox=BOX,
         latency=SLOW_LINK[0], mbps=SLOW_LINK[1]),
    Case("downloadslow", "(c) download, slow link, then box", download_then_reduce, bbox=BOX,
         latency=SLOW_LINK[0], mbps=SLOW_LINK[1]),
)


def _cpu_usage() -> dict[str, float]:
    """User and system CPU seconds, and minor page faults, of this process and its
    waited-for children so far."""
    usages = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return {"user_s": sum(u.ru_utime for u in usages), "sys_s": sum(u.ru_stime for u in usages),
            "minflt": sum(u.ru_minflt for u in usages)}  # fmt: skip


def _shutdown_loky() -> None:
    """Stop joblib's reusable loky workers and wait for them.

    Only reaped children count in ``RUSAGE_CHILDREN``; loky keeps its workers alive.
    """
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)  # private, may move
    if executor is not None:
        executor.shutdown(wait=True)


def measure(case: Case, files: list[Path], outdir: Path) -> dict:
    """Run one case in this (fresh) process: what it returns, plus time, memory and CPU.

    Returns
    -------
    dict
        The case's own result plus ``seconds`` (wall), ``base_mb`` (peak RSS after
        imports), ``self_mb`` and ``children_mb`` (peak RSS of this process and of its
        largest reaped worker), ``cpu_s`` = ``user_s`` + ``sys_s`` (process + workers)
        and ``minflt``, their minor page faults.
    """
    base_mb, cpu_before = peak_rss_mb(), _cpu_usage()
    log(f"  [{case.name}] {len(files)} granules, n_jobs={case.n_jobs}, fmt={case.fmt} -> {outdir}")
    started = time.perf_counter()
    result = {"failed": 0, **case.run(case, files, outdir)}
    result["seconds"] = time.perf_counter() - started - result.pop("setup_s", 0.0)
    outputs = result.pop("outputs", [])
    if case.bbox and case.fmt == "h5":  # after timing: compared across the box cases
        result["digest"] = outputs_digest(outputs)
    for line in result.pop("notes", []):
        log(f"  [{case.name}]   note: {line}")
    if case.n_jobs > 1:
        _shutdown_loky()
    result.update(
        base_mb=base_mb,
        self_mb=peak_rss_mb(),
        children_mb=peak_rss_mb(children=True),
        **{k: v - cpu_before[k] for k, v in _cpu_usage().items()},
    )
    result["cpu_s"] = result["user_s"] + result["sys_s"]
    log(f"  [{case.name}] done in {result['seconds']:.2f} s")
    return result


def _timed(func: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return time.perf_counter() - started, value


def _profile_pass(path: Path, workdir: Path) -> tuple[dict[str, float], int, int]:
    """One pass of :func:`profile_granule`: seconds per phase, segments, beams."""
    t = dict.fromkeys(("read", "reduce", "is_ascending", "lonlat_to_xy",
                       "gps_to_decimal_year", "write_h5"), 0.0)  # fmt: skip
    beams: dict[str, dict[str, np.ndarray]] = {}
    segments = 0
    started = time.perf_counter()
    with red.granule.open_atl06(path) as f:
        info = red.granule.granule_info(f)
        present = [b for b in BEAMS if b in f]
        t["open"] = time.perf_counter() - started
        hint = None if info.region in (0, 4, 11) else info.region in ASCENDING_REGIONS
        for beam in present:
            dt, raw = _timed(red.read_beam, f[beam])
            t["read"] += dt
            dt, (arrays, _counts) = _timed(red.reduce_beam, raw, info.epoch, None, hint)
            t["reduce"] += dt
            t["is_ascending"] += _timed(is_ascending, raw["lat"], raw["t_dt"], hint)[0]
            t["lonlat_to_xy"] += _timed(lonlat_to_xy, arrays["lon"], arrays["lat"])[0]
            t["gps_to_decimal_year"] += _timed(gps_to_decimal_year, arrays["t_gps"])[0]
            beams[beam] = arrays
            segments += raw["h_li"].size
    attrs = {"source_granule": path.name, "rgt": info.rgt, "cycle": info.cycle,
             "epsg": 3031}  # fmt: skip
    for beam, arrays in beams.items():
        target = workdir / f"{path.stem}_{beam}.h5"
        t["write_h5"] += _timed(write_beam_h5, target, arrays, {**attrs, "beam": beam})[0]
    target = workdir / f"{path.stem}.parquet"
    t["write_parquet"] = _timed(write_parquet, target, beams, attrs)[0]
    del beams  # as in a real run, the arrays are gone before the next granule
    options = red.ReduceOptions(overwrite=True)
    t["end_to_end"] = _timed(red.reduce_granule, path, workdir / "full", options)[0]
    return t, segments, len(present)


def profile_granule(path: Path, workdir: Path) -> dict:
    """Time the phases of the 1-job reducer on one granule, calling helpers.reduce directly.

    The three derived-variable functions are also timed on their own, on the arrays
    ``reduce_beam`` gives them, to split ``reduce_beam``; the rest of it is filtering and
    small arithmetic. One-off costs (the pyproj transformer, the first HDF5 write) are paid
    on a tiny warm-up first. Each phase is the median of :data:`PROFILE_REPEATS` passes.

    Returns
    -------
    dict
        Seconds per phase, ``end_to_end`` (one ``reduce_granule`` call on the same file),
        ``segments`` and ``beams``.
    """
    lonlat_to_xy(np.array([-100.0]), np.array([-75.0]))
    gps_to_decimal_year(np.array([1.2e9]))
    is_ascending(np.array([-75.0, -75.1]), np.array([0.0, 1.0]))
    write_beam_h5(workdir / "warmup.h5", {n: np.zeros(1) for n in red.OUTPUT_VARIABLES},
                  {"epsg": 3031})  # fmt: skip
    passes = []
    for repeat in range(PROFILE_REPEATS):
        seconds, segments, beams = _profile_pass(path, workdir)
        passes.append(seconds)
        log(f"  [profile] pass {repeat + 1}/{PROFILE_REPEATS}: "
            f"reduce_granule {seconds['end_to_end']:.2f} s")  # fmt: skip
    result = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    return {**result, "segments": segments, "beams": beams}


# --------------------------------------------------------------------------- inputs


def granule_files(folder: Path, n: int) -> list[Path]:
    """The first ``n`` granules of a folder in name order (those of its sample manifest,
    or its ``*.h5`` files when it has none)."""
    manifest = folder / "sample_manifest.json"
    if manifest.is_file():
        names = sorted(g["file"] for g in json.loads(manifest.read_text())["granules"])
        return [folder / name for name in names][:n]
    return sorted(folder.glob("*.h5"))[:n]


def ensure_granules(folder: Path, n: int) -> list[Path]:
    """The first ``n`` granules of ``folder``, generated with ``helpers.sample --full``
    unless the folder already holds them."""
    files = granule_files(folder, n)
    if len(files) >= n and all(p.is_file() for p in files):
        log(f"reusing the first {n} granules in {folder}")
        manifest = folder / "sample_manifest.json"
        if manifest.is_file() and not json.loads(manifest.read_text())["config"].get("full"):
            log("  WARNING: that sample was made without --full: these are subsets")
        return files
    command = [sys.executable, "-m", "helpers.sample", "--out", str(folder), "--full",
               "--max-granules", str(n), "--quiet"]  # fmt: skip
    log(f"granules: {' '.join(command[1:])}")
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    log(f"  ready in {time.perf_counter() - started:.1f} s")
    files = granule_files(folder, n)
    if len(files) < n:
        raise SystemExit(f"error: only {len(files)} granules in {folder}, wanted {n}")
    return files


# --------------------------------------------------------------------------- report


def _peak_mb(result: dict) -> float:
    """The table's peak: the process, plus its largest worker when there are workers."""
    extra = result["children_mb"] if result["n_jobs"] > 1 else 0.0
    return result["self_mb"] + extra


def print_results(results: list[dict]) -> None:
    """Print the table, what was read and kept, and how each peak RSS was taken."""
    by_name = {r["case"]: r for r in results}
    read_s = by_name["read"]["seconds"]
    one_s = by_name.get("reduce1", by_name["read"])["seconds"]
    print_table(
        ["case", "wall s", "segments/s", "x read-only", "speed-up vs 1 job", "stored MB read",
         "kept", "HTTP bytes / file bytes", "HTTP requests", "peak RSS MB"],
        [[r["label"], f"{r['seconds']:.2f}", f"{r['segments'] / r['seconds']:,.0f}",
          f"{r['seconds'] / read_s:.2f}",
          f"{one_s / r['seconds']:.2f}" if r["case"].startswith("reduce") else "—",
          f"{r['stored_mb']:,.0f}", f"{r['kept'] / r['segments']:.1%}",
          f"{r['sent_mb'] / r['file_mb']:.3f}" if "sent_mb" in r else "—",
          f"{r['requests']:,}" if "requests" in r else "—",
          f"{_peak_mb(r):,.0f}"] for r in results],
        "lrrrrrrrrr",
    )  # fmt: skip
    print()
    segments = sorted({r["segments"] for r in results})
    warning = "" if len(segments) == 1 else "  <-- WARNING: cases disagree"
    print(f"Segments read per case: {', '.join(f'{s:,}' for s in segments)}{warning}")
    if "reduce1" in by_name:
        kept = by_name["reduce1"]["kept"]
        print(f"Segments kept by the reducer: {kept:,} "
              f"({kept / by_name['reduce1']['segments']:.1%}); read-only decoded "
              f"{by_name['read']['array_mb']:,.0f} MB of arrays.")  # fmt: skip
    if failed := sum(r["failed"] for r in results):
        print(f"WARNING: {failed} granule(s) failed in the reducer cases; timings are suspect.")
    print()
    print("Peak RSS, each case in its own fresh process (process peak: VmHWM on Linux):")
    for r in results:
        line = (f"  {r['label']}: process peak {r['self_mb']:,.0f} "
                f"(after imports, before the run: {r['base_mb']:,.0f})")  # fmt: skip
        if r["n_jobs"] > 1:
            line += (f"; largest worker (RUSAGE_CHILDREN ru_maxrss, workers reaped) "
                     f"{r['children_mb']:,.0f}; table = parent + largest worker")  # fmt: skip
        print(f"{line}; sampled sum over the process tree {r['tree_peak_mb']:,.0f}")
    print("  The sampled sum adds the RSS of the process and all its descendants every "
          f"{SAMPLE_INTERVAL_S * 1000:.0f} ms "
          "(shared library pages counted once per process).")  # fmt: skip


def print_cpu(results: list[dict]) -> None:
    """Print CPU seconds against wall time per case, and warn when the machine was busy."""
    print("CPU seconds during each run (user + sys, process + reaped workers) and the 1-min")
    print("load average just before it (it lags, and includes the previous case); other work")
    print("on the machine inflates wall times:")
    for r in results:
        print(f"  {r['label']}: CPU {r['cpu_s']:.2f} s (user {r['user_s']:.2f} + sys "
              f"{r['sys_s']:.2f}, {r['minflt'] / 1e6:.2f} M minor faults) for "
              f"{r['seconds']:.2f} s wall (CPU/wall {r['cpu_s'] / r['seconds']:.2f}); "
              f"load before {r['load_before']:.2f}")  # fmt: skip
    # Before the first case only other work can raise the load. One computing process gets
    # one CPU-second per second; two workers on two free CPUs well over one.
    first_load = results[0]["load_before"]
    starved = [r["label"] for r in results
               if r["cpu_s"] < (0.9 if r["n_jobs"] <= 1 else 1.3) * r["seconds"]]  # fmt: skip
    why = [f"load {first_load:.2f} before the first case"] if first_load > 0.5 else []
    why += [f"CPU/wall too low for {', '.join(starved)}"] if starved else []
    if why:
        print(f"  WARNING: other work was running ({'; '.join(why)}; generating granules in "
              "this run also counts): wall times and ratios are unreliable; re-run when the "
              "machine is idle.")  # fmt: skip


def _verdict(value: float, goal: float, lower_is_better: bool) -> str:
    if not (value > goal if lower_is_better else value < goal):
        return ": met"
    return f": MISSED by {abs(value - goal):.2f} ({abs(value - goal) / goal:.0%} of the goal)"


def print_goals(results: list[dict]) -> None:
    """Print the ratios against the goals of the cases that ran, also in CPU seconds."""
    r = {x["case"]: x for x in results}
    if {"reduce1", "reduce1nt", "reduce2"} <= r.keys():
        print_whole_goals(r)
    if {"box", "boxnt", "boxwhole"} <= r.keys():
        print_box_goals(r)
    if {"http", "download", "httpslow", "downloadslow"} <= r.keys():
        print_remote_goals(r)
    cpu = ", ".join(f"{name} {x['cpu_s'] / r['read']['cpu_s']:.2f}" for name, x in r.items()
                    if name != "read")  # fmt: skip
    print(f"  in CPU seconds (user + sys), / read-only: {cpu} (worker start-up, pickling "
          "included)")  # fmt: skip
    if (cpus := os.cpu_count() or 1) < 3 and "reduce2" in r:
        print(f"  note: this machine has {cpus} CPUs for the parent, 2 workers and the "
              "page cache; 2 jobs cannot exceed 2x here.")  # fmt: skip


def print_whole_goals(r: dict[str, dict]) -> None:
    """Print case (a) against the goals of the first round of work on the reducer."""
    read_s = r["read"]["seconds"]
    ratio = r["reduce1"]["seconds"] / read_s
    unthreaded = r["reduce1nt"]["seconds"] / read_s
    speed_up = r["reduce1nt"]["seconds"] / r["reduce2"]["seconds"]
    print(f"(a) 1 job (1 process + 1 reader thread) / read-only = {ratio:.2f} (goal <= "
          f"{GOAL_RATIO_TO_READ})" + _verdict(ratio, GOAL_RATIO_TO_READ, lower_is_better=True))
    print(f"    1 job, no reader thread / read-only = {unthreaded:.2f}"
          + _verdict(unthreaded, GOAL_RATIO_TO_READ, lower_is_better=True))  # fmt: skip
    print(f"(a) 2 jobs / 1 job (one thread each) throughput = {speed_up:.2f} (goal >= "
          f"{GOAL_SPEEDUP_2_JOBS})"
          + _verdict(speed_up, GOAL_SPEEDUP_2_JOBS, lower_is_better=False))  # fmt: skip
    print(f"    2 jobs / 1 job with its reader thread = "
          f"{r['reduce1']['seconds'] / r['reduce2']['seconds']:.2f}")  # fmt: skip


def print_box_goals(r: dict[str, dict]) -> None:
    """Print case (b) against its goal."""
    read_s = r["read"]["seconds"]
    box = r["box"]["seconds"] / read_s
    print(f"(b) box, area-aware / read-only of whole files = {box:.2f} (goal <= "
          f"{GOAL_BOX_TO_READ})" + _verdict(box, GOAL_BOX_TO_READ, lower_is_better=True))
    print(f"    without the reader thread: {r['boxnt']['seconds'] / read_s:.2f}")
    print(f"    stored bytes read: {r['box']['stored_mb'] / r['read']['stored_mb']:.1%} of the "
          f"whole files' variables (whole reads with the same box: "
          f"{r['boxwhole']['seconds'] / read_s:.2f} x read-only)")  # fmt: skip


def print_cpu_goals(runs: dict[str, list[dict]]) -> None:
    """Print the goals on CPU and on every run (issue 23): CPU of 1 job within
    :data:`GOAL_CPU_TO_FLOOR` x the inflate floor's, every 1-job run within
    :data:`GOAL_EVERY_RUN_1_JOB` x the read-only limit, 2 jobs within
    :data:`GOAL_2_JOBS_TO_READ` x, and the box over the slow link within
    :data:`GOAL_SLOW_LINK` x download-then-reduce."""
    read_s = min(x["seconds"] for x in runs["read"])
    if "floor" in runs:
        floor = min(runs["floor"], key=lambda x: x["seconds"])
        print(f"Inflate floor: {floor['cpu_s']:.2f} s of CPU ({floor['inflate_s']:.2f} s "
              "inflating alone)")  # fmt: skip
        for name in ("reduce1", "reduce1nt", "reduce2"):
            if name in runs:
                cpus = [x["cpu_s"] / floor["cpu_s"] for x in runs[name]]
                print(f"  {name}: CPU / floor's CPU, every run: "
                      f"{', '.join(f'{c:.2f}' for c in cpus)} (goal <= {GOAL_CPU_TO_FLOOR})"
                      + _verdict(max(cpus), GOAL_CPU_TO_FLOOR, lower_is_better=True))  # fmt: skip
    for name, goal in (("reduce1", GOAL_EVERY_RUN_1_JOB), ("reduce2", GOAL_2_JOBS_TO_READ)):
        if name in runs:
            ratios = [x["seconds"] / read_s for x in runs[name]]
            print(f"  {name}: wall / read-only limit, every run: "
                  f"{', '.join(f'{q:.2f}' for q in ratios)} (goal <= {goal})"
                  + _verdict(max(ratios), goal, lower_is_better=True))  # fmt: skip
    if "httpslow" in runs and "downloadslow" in runs:
        best = min(x["seconds"] for x in runs["downloadslow"])
        ratios = [x["seconds"] / best for x in runs["httpslow"]]
        print(f"  httpslow: wall / fastest download-then-reduce, every run: "
              f"{', '.join(f'{q:.2f}' for q in ratios)} (goal <= {GOAL_SLOW_LINK})"
              + _verdict(max(ratios), GOAL_SLOW_LINK, lower_is_better=True))  # fmt: skip
    print()


def print_remote_goals(r: dict[str, dict]) -> None:
    """Print case (c) against its goal and against downloading the files first."""
    http = r["http"]
    sent = http["sent_mb"] / http["file_mb"]
    print(f"(c) box over HTTP: bytes transferred / file bytes = {sent:.3f} (goal <= "
          f"{GOAL_REMOTE_BYTES})" + _verdict(sent, GOAL_REMOTE_BYTES, lower_is_better=True))
    same = {x["digest"] for x in r.values() if "digest" in x}
    print(f"    outputs the same as the local box case's (SHA-256 of every output dataset, "
          f"{sum('digest' in x for x in r.values())} box cases): "
          f"{'yes' if len(same) == 1 else 'NO'}")  # fmt: skip
    print(f"    {http['requests']:,} requests, {http['requests'] / http['granules']:.0f} per "
          "granule (HEAD included)")  # fmt: skip
    for fast, whole in (("http", "download"), ("httpslow", "downloadslow")):
        link = "no added latency" if fast == "http" else (
            f"{SLOW_LINK[0] * 1000:.0f} ms per request, {SLOW_LINK[1]:.0f} MB/s")
        print(f"    time, byte ranges / download-then-reduce ({link}): "
              f"{r[fast]['seconds']:.2f} s / {r[whole]['seconds']:.2f} s = "
              f"{r[fast]['seconds'] / r[whole]['seconds']:.2f}")  # fmt: skip


def print_spread(runs: dict[str, list[dict]]) -> None:
    """Print every run of every case: the table keeps the fastest, this shows them all,
    each with its ratio to the read-only limit (the fastest read-only run), its CPU and
    the load average before it."""
    read_s = min(r["seconds"] for r in runs["read"])
    print("Every run, in round order (the table shows the fastest): wall s (x read-only "
          "limit; CPU user + sys s; 1-min load before)")  # fmt: skip
    for name, rounds in runs.items():
        times = ", ".join(f"{r['seconds']:.2f} ({r['seconds'] / read_s:.2f}x; "
                          f"{r['user_s']:.1f} + {r['sys_s']:.1f}; {r['load_before']:.2f})"
                          for r in rounds)  # fmt: skip
        print(f"  {name}: {times}")
    print()


def print_breakdown(p: dict, path: Path) -> None:
    """Print where the 1-job reducer's time goes on one granule (from :func:`profile_granule`)."""
    derived = ("is_ascending", "lonlat_to_xy", "gps_to_decimal_year")
    rest = p["reduce"] - sum(p[k] for k in derived)
    total = p["open"] + p["read"] + p["reduce"] + p["write_h5"]
    rows = [
        ("open + metadata (open_atl06, granule_info)", p["open"]),
        ("read_beam (raw chunks, ISA-L inflate)", p["read"]),
        ("reduce_beam, of which:", p["reduce"]),
        ("  is_ascending (all read points)", p["is_ascending"]),
        ("  lonlat_to_xy (pyproj, kept points)", p["lonlat_to_xy"]),
        ("  gps_to_decimal_year (kept points)", p["gps_to_decimal_year"]),
        ("  filtering, masking, rest (by difference)", rest),
        ("write_beam_h5 (uncompressed HDF5)", p["write_h5"]),
    ]
    print(f"Where the rest goes: 1-job reducer on {path.name} ({p['beams']} beams, "
          f"{p['segments']:,} segments), median of {PROFILE_REPEATS} passes, fresh process, "
          "warm cache")  # fmt: skip
    print()
    print_table(["phase", "s", "share"],
                [[label, f"{s:.3f}", f"{s / total:.1%}"] for label, s in rows]
                + [["**sum of phases**", f"**{total:.3f}**", "100%"]], "lrr")  # fmt: skip
    print()
    print(f"reduce_granule end to end on the same file: {p['end_to_end']:.3f} s "
          f"(other: records, renames, attributes = {p['end_to_end'] - total:+.3f} s)")  # fmt: skip
    print(f"For comparison, write_parquet of the same beams: {p['write_parquet']:.3f} s "
          f"(vs {p['write_h5']:.3f} s for HDF5)")  # fmt: skip
    beyond_read = total - p["read"] - p["open"]
    if beyond_read > 0:
        parts = {**{k: p[k] for k in derived}, "filtering/rest": rest,
                 "write_beam_h5": p["write_h5"]}  # fmt: skip
        shares = ", ".join(f"{k} {v / beyond_read:.0%}" for k, v in parts.items())
        print(f"Time beyond reading ({beyond_read:.3f} s, {beyond_read / total:.0%} of the "
              f"sum): {shares}")  # fmt: skip


# --------------------------------------------------------------------------- parent, child


def _spawn(args: argparse.Namespace, name: str, data: Path, outroot: Path) -> dict:
    """Run case ``name`` in a fresh interpreter; its result plus tree peak and load."""
    options = ["--case", name, "--granules", str(args.granules), "--data", str(data),
               "--outdir", str(outroot / name)]  # fmt: skip
    run = run_fresh(Path(__file__).resolve(), options, outroot / f"{name}.json")
    if run.error is not None:
        raise SystemExit(f"error: case {name} failed: {run.error}")
    return {**run.result, "tree_peak_mb": run.tree_peak_mb, "load_before": run.load_before}


def run_all(args: argparse.Namespace) -> None:
    """Parent: make the granules, run every case in its own process, print the results."""
    BUILD.mkdir(parents=True, exist_ok=True)
    data = (args.data or BUILD / f"full{args.granules}").resolve()
    files = ensure_granules(data, args.granules)
    size_mb = sum(p.stat().st_size for p in files) / MB
    log(f"{len(files)} granules, {size_mb:,.0f} MB in {data}")
    outroot = Path(tempfile.mkdtemp(prefix="reduce-out-", dir=BUILD))
    wanted = None if args.cases is None else {"read", *args.cases.split(",")}
    cases = [c for c in CASES if wanted is None or c.name in wanted]
    runs: dict[str, list[dict]] = {case.name: [] for case in cases}
    try:
        for repeat in range(args.repeat):  # rounds over all cases, so that load spreads
            for case in cases:
                log(f"case {case.name}: {case.label} (round {repeat + 1} of {args.repeat})")
                mb = warm_page_cache(files)
                os.sync()  # flush the previous case's writes before timing this one
                log(f"  warm-up: read {mb:,.0f} MB of granules into the page cache")
                result = _spawn(args, case.name, data, outroot)
                runs[case.name].append({**result, "case": case.name, "label": case.label,
                                        "n_jobs": case.n_jobs})  # fmt: skip
                if not args.keep:
                    shutil.rmtree(outroot / case.name, ignore_errors=True)
        print_report(runs, files, size_mb, args.repeat)
        log(f"case {PROFILE_CASE}: phases of the 1-job reducer on {files[0].name}")
        warm_page_cache(files[:1])
        os.sync()
        profile = _spawn(args, PROFILE_CASE, data, outroot)
    finally:
        if args.keep:
            log(f"outputs kept in {outroot}")
        else:
            shutil.rmtree(outroot, ignore_errors=True)
    print_breakdown(profile, files[0])


def print_report(runs: dict[str, list[dict]], files: list[Path], size_mb: float,
                 repeat: int) -> None:  # fmt: skip
    """Print the results of every case (before the profile, so that they survive it)."""
    # The fastest run of each case: other work on a shared machine only ever slows one down.
    results = [min(r, key=lambda x: x["seconds"]) for r in runs.values()]
    print(f"\n## Reducer benchmark: {len(files)} full-size synthetic granules "
          f"({size_mb:,.0f} MB, gzip level 6 inputs)\n")  # fmt: skip
    print(f"{machine(PACKAGES)}.")
    print(f"Each case ran {repeat} time(s), each in a fresh process right after a warm-up "
          "read of all granules (page cache warm for every case); the table shows each case's "
          "fastest run. Wall time excludes interpreter start-up and imports but includes "
          "joblib worker start-up.\n")  # fmt: skip
    for section in (print_results, print_cpu, print_goals):
        section(results)
        print()
    print_cpu_goals(runs)
    print_spread(runs)


def run_child(args: argparse.Namespace) -> None:
    """Child: run one case (or the profile) and write its result as JSON."""
    files = granule_files(args.data, args.granules)
    args.outdir.mkdir(parents=True, exist_ok=True)
    if args.case == PROFILE_CASE:
        result = profile_granule(files[0], args.outdir)
    else:
        result = measure(next(c for c in CASES if c.name == args.case), files, args.outdir)
    write_result(args.result, result)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark helpers.reduce (1 and 2 jobs, HDF5 and Parquet) against "
        "a read-only h5py limit on full-size synthetic granules; print a Markdown table.",
    )
    parser.add_argument("--granules", type=int, default=8, metavar="N",
                        help="number of full-size granules (default 8)")  # fmt: skip
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="granule cache folder (default build/bench/full<N>); generated "
                        "if it does not hold the sample yet")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, metavar="R",
                        help="run every case R times and keep each case's fastest run "
                        "(default 1; use 3 on a shared machine)")  # fmt: skip
    parser.add_argument("--cases", default=None, metavar="A,B",
                        help="run only these cases (names as in the table's rows: read, "
                        "floor, reduce1, reduce1nt, reduce2, reduce1pq, box, boxnt, boxwhole, "
                        "http, download, httpslow, downloadslow); read always runs")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the outputs (under build/bench/reduce-out-*)")  # fmt: skip
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--outdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.granules < 1 or args.repeat < 1:
        raise SystemExit("error: --granules and --repeat must be at least 1")
    (run_child if args.case else run_all)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
