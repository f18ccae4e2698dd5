"""Benchmark ``helpers.reduce`` on full-size granules against a read-only limit.

What it measures, on N full-size synthetic ATL06 granules (default 8, about 1 M
segments and 45 MB each, generated once with ``python -m helpers.sample --full`` into a
cache folder, ``build/bench/full<N>`` by default, and reused afterwards):

1. **read-only limit**: open each granule once with h5py and read every dataset the
   reducer reads (``helpers.reduce.COPIED_VARIABLES`` for every beam present) into
   numpy, nothing else, serially. No reducer can be faster than this on one core.
2. **reducer, 1 job**: ``reduce_granules(..., n_jobs=1)``, HDF5 output, no bbox.
3. **reducer, 2 jobs**: the same with ``n_jobs=2`` (joblib/loky worker processes).
4. **reducer, 1 job, Parquet**: case 2 with ``fmt="parquet"``.

Each case runs once, in a fresh Python process (this script re-invoked with a hidden
``--case`` flag), so that its peak memory is its own; the granules are read once just
before every case so that the page cache is equally warm for all of them. Outputs go to
a temporary folder under ``build/bench/`` that is removed afterwards unless ``--keep``.

It prints a Markdown table (wall time, segments read per second, ratio to the read-only
limit, speed-up over 1 job, peak RSS), how peak RSS was taken (``ru_maxrss`` of the
process, plus its largest worker for 2 jobs, and a sampled sum over the process tree),
CPU seconds per case (CPU/wall well below 1 for a single process means the machine was
busy: re-run), the ratios against the goals of the issue (1 job / read-only <= 1.5;
2 jobs speed-up >= 1.7), then a per-phase breakdown of the 1-job reducer on one
granule (reading, the derived variables, filtering, writing), profiled in its own
fresh process.

Run it with ``make bench`` or directly::

    .venv/bin/python bench/bench_reduce.py [--granules N] [--data DIR] [--keep]

A run on 8 granules takes under a minute on a 2-CPU machine (plus about 30 s to
generate them the first time). Nothing here is run by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from helpers import reduce as red
from helpers.gpstime import gps_to_decimal_year
from helpers.granules import ASCENDING_REGIONS, BEAMS
from helpers.projection import lonlat_to_xy
from helpers.reduce.outputs import write_beam_h5, write_parquet
from helpers.tracks import is_ascending

#: Repository root (this file is ``bench/bench_reduce.py``).
REPO = Path(__file__).resolve().parents[1]
#: Where generated granules and temporary outputs go.
BENCH_BUILD = REPO / "build" / "bench"
#: Goals of the issue: 1-job reducer within 1.5x of the read-only limit, 2 jobs >= 1.7x.
GOAL_RATIO_TO_READ = 1.5
GOAL_SPEEDUP_2_JOBS = 1.7
#: How often the parent samples the RSS of a case's process tree (s).
SAMPLE_INTERVAL_S = 0.05
#: Profile repetitions (the median of each phase is reported).
PROFILE_REPEATS = 3
_BYTES_PER_MB = 1e6


@dataclass(frozen=True)
class Case:
    """One benchmark configuration.

    Attributes
    ----------
    name : str
        Identifier passed to ``--case``.
    label : str
        Row label of the table.
    n_jobs : int
        Reducer processes (0 for the read-only limit).
    fmt : str
        Reducer output format.
    """

    name: str
    label: str
    n_jobs: int
    fmt: str = "h5"


CASES: tuple[Case, ...] = (
    Case("read", "read-only limit (h5py, serial)", 0),
    Case("reduce1", "reducer, 1 job, HDF5", 1),
    Case("reduce2", "reducer, 2 jobs, HDF5", 2),
    Case("reduce1pq", "reducer, 1 job, Parquet", 1, "parquet"),
)
PROFILE_CASE = "profile"


# --------------------------------------------------------------------------- helpers


def _log(message: str) -> None:
    """Print a progress line at once (children share the terminal with the parent)."""
    print(message, flush=True)


def _maxrss_mb(who: int) -> float:
    """Peak resident set size from ``getrusage(who)``, in MB (10**6 bytes).

    Parameters
    ----------
    who : int
        ``resource.RUSAGE_SELF`` or ``resource.RUSAGE_CHILDREN``.

    Returns
    -------
    float
        ``ru_maxrss`` converted from KiB (Linux) or bytes (macOS) to MB.
    """
    value = resource.getrusage(who).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024
    return value * scale / _BYTES_PER_MB


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children so far."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def granule_files(folder: Path, n: int) -> list[Path]:
    """The first ``n`` granules of a folder, in name order.

    Parameters
    ----------
    folder : Path
        Folder written by ``helpers.sample`` (its manifest is used when present), or any
        folder of ``*.h5`` granules.
    n : int
        How many to take.

    Returns
    -------
    list of Path
    """
    manifest = folder / "sample_manifest.json"
    if manifest.is_file():
        names = sorted(g["file"] for g in json.loads(manifest.read_text())["granules"])
        files = [folder / name for name in names]
    else:
        files = sorted(folder.glob("*.h5"))
    return files[:n]


def ensure_granules(folder: Path, n: int) -> list[Path]:
    """Generate ``n`` full-size granules into ``folder`` unless it already holds them.

    When the folder already holds at least ``n`` granules (those its sample manifest
    lists, or any ``*.h5`` files when it has none, e.g. real granules), the first ``n``
    are used as they are. Otherwise ``python -m helpers.sample --full --max-granules n``
    writes them.

    Parameters
    ----------
    folder : Path
        Cache folder.
    n : int
        Number of granules.

    Returns
    -------
    list of Path
        The granules, in name order.
    """
    files = granule_files(folder, n)
    if len(files) >= n and all(p.is_file() for p in files):
        _log(f"reusing the first {n} granules in {folder}")
        manifest = folder / "sample_manifest.json"
        if manifest.is_file() and not json.loads(manifest.read_text())["config"].get("full"):
            _log("  WARNING: that sample was made without --full: these are subsets")
        return files
    _log(f"granules: python -m helpers.sample --full --max-granules {n} --out {folder}")
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "helpers.sample",
        "--out",
        str(folder),
        "--full",
        "--max-granules",
        str(n),
        "--quiet",
    ]
    subprocess.run(command, cwd=REPO, check=True)
    _log(f"  ready in {time.perf_counter() - started:.1f} s")
    files = granule_files(folder, n)
    if len(files) < n:
        raise SystemExit(f"error: only {len(files)} granules in {folder}, wanted {n}")
    return files


def warm_page_cache(files: list[Path]) -> float:
    """Read every byte of the files once so that the page cache holds them.

    Parameters
    ----------
    files : list of Path
        Granules.

    Returns
    -------
    float
        Bytes read, in MB.
    """
    total = 0
    for path in files:
        with path.open("rb", buffering=0) as f:
            while chunk := f.read(8 << 20):
                total += len(chunk)
    return total / _BYTES_PER_MB


class TreeRssSampler(threading.Thread):
    """Sample the summed RSS of a process and all its descendants (needs psutil).

    Parameters
    ----------
    pid : int
        Root process.
    interval : float
        Seconds between samples.

    Attributes
    ----------
    peak_mb : float or None
        Largest sum seen, in MB; None when psutil is missing.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_mb: float | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample until :meth:`stop` is called or the process is gone."""
        try:
            import psutil
        except ImportError:
            return
        self.peak_mb = 0.0
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / _BYTES_PER_MB)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the sampling loop to end."""
        self._stop_event.set()


# --------------------------------------------------------------------------- cases


def read_only(files: list[Path]) -> tuple[int, int]:
    """Read what the reducer reads, nothing else: the read-only limit.

    Parameters
    ----------
    files : list of Path
        Granules, read one after the other.

    Returns
    -------
    (int, int)
        Segments read (``h_li`` sizes over all beams) and bytes of arrays produced.
    """
    segments = nbytes = 0
    for path in files:
        with h5py.File(path, "r") as f:
            for beam in BEAMS:
                if beam not in f:
                    continue
                lis = f[beam]["land_ice_segments"]
                arrays = {name: lis[p][()] for name, p in red.COPIED_VARIABLES.items()}
                segments += arrays["h_li"].size
                nbytes += sum(a.nbytes for a in arrays.values())
    return segments, nbytes


def _shutdown_loky() -> None:
    """Stop joblib's reusable loky workers and wait for them.

    Only terminated and waited-for children count in ``RUSAGE_CHILDREN``; loky keeps
    its workers alive for reuse, so they are shut down before the peak is read.
    """
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)  # private, may move
    if executor is not None:
        executor.shutdown(wait=True)


def run_case(case: Case, files: list[Path], outdir: Path) -> dict:
    """Run one case in this (fresh) process and measure it.

    Parameters
    ----------
    case : Case
        What to run.
    files : list of Path
        Granules.
    outdir : Path
        Output folder of the reducer.

    Returns
    -------
    dict
        ``seconds``, ``segments``, ``kept``, ``failed``, ``notes``, ``base_mb`` (peak
        RSS after imports, before the run), ``self_mb`` and ``children_mb`` (peak RSS
        of this process and of its largest waited-for child).
    """
    base_mb = _maxrss_mb(resource.RUSAGE_SELF)
    cpu_before = _cpu_seconds()
    result: dict = {"case": case.name, "base_mb": base_mb, "failed": 0, "notes": 0}
    if case.n_jobs == 0:
        _log(f"  [{case.name}] reading {len(files)} granules with h5py ...")
        started = time.perf_counter()
        segments, nbytes = read_only(files)
        result["seconds"] = time.perf_counter() - started
        result.update(segments=segments, kept=segments, array_mb=nbytes / _BYTES_PER_MB)
    else:
        _log(
            f"  [{case.name}] reduce_granules: {len(files)} granules, n_jobs={case.n_jobs}, "
            f"fmt={case.fmt} -> {outdir}"
        )
        notes: list[str] = []
        options = red.ReduceOptions(bbox=None, fmt=case.fmt, overwrite=True)
        started = time.perf_counter()
        summary = red.reduce_granules(
            files, outdir, options, n_jobs=case.n_jobs, progress=False, echo=notes.append
        )
        result["seconds"] = time.perf_counter() - started
        result.update(
            segments=summary.points_read,
            kept=summary.points_kept,
            failed=len(summary.failed),
            notes=len(notes),
        )
        for line in notes:
            _log(f"  [{case.name}]   note: {line}")
        if case.n_jobs > 1:
            _shutdown_loky()
    result["self_mb"] = _maxrss_mb(resource.RUSAGE_SELF)
    result["children_mb"] = _maxrss_mb(resource.RUSAGE_CHILDREN)
    result["cpu_s"] = _cpu_seconds() - cpu_before
    _log(f"  [{case.name}] done in {result['seconds']:.2f} s")
    return result


def _timed(func: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    value = func(*args, **kwargs)
    return time.perf_counter() - started, value


def profile_granule(path: Path, workdir: Path) -> dict:
    """Time the phases of the 1-job reducer on one granule, calling helpers.reduce directly.

    The three derived-variable functions are also timed on their own, on the same arrays
    ``reduce_beam`` gives them, to split ``reduce_beam``; what is left of it is the
    filtering (masks, fancy indexing) and small arithmetic. One-off costs (building the
    pyproj transformer, first HDF5 write) are paid on a tiny warm-up beforehand. Each
    phase is the median over ``PROFILE_REPEATS`` passes.

    Parameters
    ----------
    path : Path
        Granule.
    workdir : Path
        Scratch folder for the outputs.

    Returns
    -------
    dict
        Seconds per phase, plus ``segments``, ``beams`` and ``end_to_end`` (one
        ``reduce_granule`` call on the same file).
    """
    lonlat_to_xy(np.array([-100.0]), np.array([-75.0]))
    gps_to_decimal_year(np.array([1.2e9]))
    is_ascending(np.array([-75.0, -75.1]), np.array([0.0, 1.0]))
    write_beam_h5(workdir / "warmup.h5", {n: np.zeros(1) for n in red.OUTPUT_VARIABLES}, {})
    passes: list[dict[str, float]] = []
    end_to_end: list[float] = []
    segments = n_beams = 0
    for repeat in range(PROFILE_REPEATS):
        t: dict[str, float] = dict.fromkeys(
            (
                "open",
                "read",
                "reduce",
                "is_ascending",
                "lonlat_to_xy",
                "gps_to_decimal_year",
                "write_h5",
                "write_parquet",
            ),
            0.0,
        )
        beams: dict[str, dict[str, np.ndarray]] = {}
        started = time.perf_counter()
        with red.granule.open_atl06(path) as f:
            info = red.granule.granule_info(f)
            present = [b for b in BEAMS if b in f]
            t["open"] = time.perf_counter() - started
            region = info["region"]
            hint = None if region in (0, 4, 11) else region in ASCENDING_REGIONS
            for beam in present:
                dt, raw = _timed(red.read_beam, f[beam])
                t["read"] += dt
                dt, (arrays, _counts) = _timed(red.reduce_beam, raw, info["epoch"], None, hint)
                t["reduce"] += dt
                t["is_ascending"] += _timed(is_ascending, raw["lat"], raw["t_dt"], hint)[0]
                t["lonlat_to_xy"] += _timed(lonlat_to_xy, arrays["lon"], arrays["lat"])[0]
                t["gps_to_decimal_year"] += _timed(gps_to_decimal_year, arrays["t_gps"])[0]
                beams[beam] = arrays
                if repeat == 0:
                    segments += raw["h_li"].size
        n_beams = len(present)
        attrs = {"source_granule": path.name, "rgt": info["rgt"], "cycle": info["cycle"]}
        for beam, arrays in beams.items():
            target = workdir / f"{path.stem}_{beam}.h5"
            t["write_h5"] += _timed(write_beam_h5, target, arrays, {**attrs, "beam": beam})[0]
        t["write_parquet"] = _timed(
            write_parquet, workdir / f"{path.stem}.parquet", beams, attrs
        )[0]
        passes.append(t)
        del beams
        options = red.ReduceOptions(overwrite=True)
        end_to_end.append(_timed(red.reduce_granule, path, workdir / "full", options)[0])
        _log(
            f"  [profile] pass {repeat + 1}/{PROFILE_REPEATS}: "
            f"reduce_granule {end_to_end[-1]:.2f} s"
        )
    result = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    result.update(end_to_end=statistics.median(end_to_end), segments=segments, beams=n_beams)
    return result


# --------------------------------------------------------------------------- parent


def _spawn(args: argparse.Namespace, case: str, files_dir: Path, outdir: Path) -> dict:
    """Run ``--case`` in a fresh interpreter; return its result and the sampled tree peak."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=BENCH_BUILD) as handle:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--case",
            case,
            "--granules",
            str(args.granules),
            "--data",
            str(files_dir),
            "--outdir",
            str(outdir),
            "--result",
            handle.name,
        ]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        proc = subprocess.Popen(command, cwd=REPO)
        sampler = TreeRssSampler(proc.pid)
        sampler.start()
        code = proc.wait()
        sampler.stop()
        sampler.join()
        if code != 0:
            raise SystemExit(f"error: case {case} failed with exit status {code}")
        result = json.loads(Path(handle.name).read_text())
    result["tree_peak_mb"], result["load_before"] = sampler.peak_mb, load
    return result


def _peak_mb(result: dict) -> float:
    """The table's peak: the process, plus its largest worker when there are workers."""
    if result.get("n_jobs", 1) > 1:
        return result["self_mb"] + result["children_mb"]
    return result["self_mb"]


def print_table(results: list[dict]) -> None:
    """Print the Markdown table and the comparison with the goals.

    Parameters
    ----------
    results : list of dict
        One per case, in ``CASES`` order, as returned by :func:`run_case` plus ``label``
        and ``n_jobs``.
    """
    by_name = {r["case"]: r for r in results}
    read_s = by_name["read"]["seconds"]
    one_s = by_name["reduce1"]["seconds"]
    print("| case | wall s | segments/s | x read-only | speed-up vs 1 job | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        speed_up = "—" if r["case"] == "read" else f"{one_s / r['seconds']:.2f}"
        print(
            f"| {r['label']} | {r['seconds']:.2f} | {r['segments'] / r['seconds']:,.0f} | "
            f"{r['seconds'] / read_s:.2f} | {speed_up} | {_peak_mb(r):,.0f} |"
        )
    print()
    segments = {r["segments"] for r in results}
    print(
        f"Segments read per case: {', '.join(f'{s:,}' for s in sorted(segments))}"
        + ("" if len(segments) == 1 else "  <-- WARNING: cases disagree")
    )
    kept = by_name["reduce1"]["kept"]
    print(
        f"Segments kept by the reducer: {kept:,} ({kept / by_name['reduce1']['segments']:.1%}); "
        f"read-only decoded {by_name['read']['array_mb']:,.0f} MB of arrays."
    )
    failed = sum(r["failed"] for r in results)
    if failed:
        print(f"WARNING: {failed} granule(s) failed in the reducer cases; timings are suspect.")
    print()
    print("Peak RSS (MB = 10^6 bytes), each case in its own fresh process:")
    for r in results:
        line = (
            f"  {r['label']}: process ru_maxrss {r['self_mb']:,.0f} "
            f"(after imports, before the run: {r['base_mb']:,.0f})"
        )
        if r["n_jobs"] > 1:
            line += (
                f"; largest worker (RUSAGE_CHILDREN ru_maxrss, workers reaped) "
                f"{r['children_mb']:,.0f}; table = parent + largest worker"
            )
        if r.get("tree_peak_mb") is not None:
            line += f"; sampled sum over the process tree {r['tree_peak_mb']:,.0f}"
        print(line)
    print(
        "  The sampled sum adds the RSS of the process and all its descendants every "
        f"{SAMPLE_INTERVAL_S * 1000:.0f} ms (shared library pages counted once per process)."
    )
    print()
    print("CPU seconds during each run (user + sys, process + reaped workers) and the 1-min")
    print("load average just before it (it lags, and includes the previous case); other work")
    print("on the machine inflates wall times:")
    for r in results:
        load = "n/a" if r.get("load_before") is None else f"{r['load_before']:.2f}"
        print(
            f"  {r['label']}: CPU {r['cpu_s']:.2f} s for {r['seconds']:.2f} s wall "
            f"(CPU/wall {r['cpu_s'] / r['seconds']:.2f}); load before {load}"
        )
    # Before the first case only other work can raise the load. A single process that
    # computes all along should get one CPU-second per second.
    first_load = results[0].get("load_before") or 0.0
    starved = [r["label"] for r in results if r["n_jobs"] <= 1 and r["cpu_s"] < 0.9 * r["seconds"]]
    # Two workers on two free CPUs give well over one CPU-second per second.
    starved += [r["label"] for r in results if r["n_jobs"] > 1 and r["cpu_s"] < 1.3 * r["seconds"]]
    if first_load > 0.5 or starved:
        why = f"load {first_load:.2f} before the first case" if first_load > 0.5 else ""
        if starved:
            why += ("; " if why else "") + f"CPU/wall too low for {', '.join(starved)}"
        print(
            f"  WARNING: other work was running ({why}; generating granules in this run also "
            "counts): wall times and ratios are "
            "unreliable; re-run when the machine is idle."
        )
    print()
    ratio = one_s / read_s
    speed_up = one_s / by_name["reduce2"]["seconds"]
    print(
        f"1 job / read-only = {ratio:.2f} (goal <= {GOAL_RATIO_TO_READ})"
        + _verdict(ratio, GOAL_RATIO_TO_READ, lower_is_better=True)
    )
    print(
        f"2 jobs speed-up = {speed_up:.2f} (goal >= {GOAL_SPEEDUP_2_JOBS})"
        + _verdict(speed_up, GOAL_SPEEDUP_2_JOBS, lower_is_better=False)
    )
    cpu_ratio = by_name["reduce1"]["cpu_s"] / by_name["read"]["cpu_s"]
    extra_cpu = by_name["reduce2"]["cpu_s"] - by_name["reduce1"]["cpu_s"]
    print(
        f"  in CPU seconds: 1 job / read-only = {cpu_ratio:.2f}; "
        f"2 jobs used {extra_cpu:+.2f} CPU s more than 1 job (worker start-up, pickling)"
    )
    cpus = os.cpu_count() or 1
    if cpus < 3:
        print(
            f"  note: this machine has {cpus} CPUs for the parent, 2 workers and the "
            "page cache; 2 jobs cannot exceed 2x here."
        )


def _verdict(value: float, goal: float, lower_is_better: bool) -> str:
    missed = value > goal if lower_is_better else value < goal
    if not missed:
        return ": met"
    return f": MISSED by {abs(value - goal):.2f} ({abs(value - goal) / goal:.0%} of the goal)"


def print_breakdown(profile: dict, path: Path) -> None:
    """Print where the 1-job reducer's time goes on one granule.

    Parameters
    ----------
    profile : dict
        As returned by :func:`profile_granule`.
    path : Path
        The granule profiled.
    """
    derived = ("is_ascending", "lonlat_to_xy", "gps_to_decimal_year")
    rest = profile["reduce"] - sum(profile[k] for k in derived)
    total = profile["open"] + profile["read"] + profile["reduce"] + profile["write_h5"]
    rows = [
        ("open + metadata (_open_atl06, _granule_info)", profile["open"]),
        ("read_beam (h5py read, gzip decode)", profile["read"]),
        ("reduce_beam, of which:", profile["reduce"]),
        ("  is_ascending (all read points)", profile["is_ascending"]),
        ("  lonlat_to_xy (pyproj, kept points)", profile["lonlat_to_xy"]),
        ("  gps_to_decimal_year (kept points)", profile["gps_to_decimal_year"]),
        ("  filtering, masking, rest (by difference)", rest),
        ("_write_beam_h5 (uncompressed HDF5)", profile["write_h5"]),
    ]
    print(
        f"Where the rest goes: 1-job reducer on {path.name} ({profile['beams']} beams, "
        f"{profile['segments']:,} segments), median of {PROFILE_REPEATS} passes, "
        "fresh process, warm cache"
    )
    print()
    print("| phase | s | share |")
    print("|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} | {seconds / total:.1%} |")
    print(f"| **sum of phases** | **{total:.3f}** | 100% |")
    print()
    other = profile["end_to_end"] - total
    print(
        f"reduce_granule end to end on the same file: {profile['end_to_end']:.3f} s "
        f"(other: records, renames, attributes = {other:+.3f} s)"
    )
    print(
        f"For comparison, _write_parquet of the same beams: {profile['write_parquet']:.3f} s "
        f"(vs {profile['write_h5']:.3f} s for HDF5)"
    )
    beyond_read = total - profile["read"] - profile["open"]
    if beyond_read > 0:
        parts = {
            **{k: profile[k] for k in derived},
            "filtering/rest": rest,
            "_write_beam_h5": profile["write_h5"],
        }
        shares = ", ".join(f"{k} {v / beyond_read:.0%}" for k, v in parts.items())
        print(
            f"Time beyond reading ({beyond_read:.3f} s, {beyond_read / total:.0%} of the "
            f"sum): {shares}"
        )


def _environment() -> str:
    import joblib
    import pyproj

    return (
        f"Python {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__} "
        f"(HDF5 {h5py.version.hdf5_version}), pyproj {pyproj.__version__}, "
        f"joblib {joblib.__version__}; {os.cpu_count()} CPUs, {platform.machine()}, "
        f"{platform.system()} {platform.release()}"
    )


def run_all(args: argparse.Namespace) -> None:
    """Parent: make the granules, run every case in its own process, print the results."""
    BENCH_BUILD.mkdir(parents=True, exist_ok=True)
    data = args.data or BENCH_BUILD / f"full{args.granules}"
    files = ensure_granules(data.resolve(), args.granules)
    size_mb = sum(p.stat().st_size for p in files) / _BYTES_PER_MB
    _log(f"{len(files)} granules, {size_mb:,.0f} MB in {data}")
    _log(_environment())
    outroot = Path(tempfile.mkdtemp(prefix="reduce-out-", dir=BENCH_BUILD))
    results: list[dict] = []
    try:
        for case in CASES:
            _log(f"case {case.name}: {case.label}")
            mb = warm_page_cache(files)
            os.sync()  # flush the previous case's writes before timing this one
            _log(f"  warm-up: read {mb:,.0f} MB of granules into the page cache")
            result = _spawn(args, case.name, data, outroot / case.name)
            result.update(label=case.label, n_jobs=case.n_jobs)
            results.append(result)
            if not args.keep:
                shutil.rmtree(outroot / case.name, ignore_errors=True)
        _log(f"case {PROFILE_CASE}: phases of the 1-job reducer on {files[0].name}")
        warm_page_cache(files[:1])
        os.sync()
        profile = _spawn(args, PROFILE_CASE, data, outroot / PROFILE_CASE)
    finally:
        if args.keep:
            _log(f"outputs kept in {outroot}")
        else:
            shutil.rmtree(outroot, ignore_errors=True)
    print()
    print(
        f"## Reducer benchmark: {len(files)} full-size synthetic granules "
        f"({size_mb:,.0f} MB, gzip level 6 inputs)"
    )
    print()
    print(f"{_environment()}.")
    print(
        "Each case ran once in a fresh process, right after a warm-up read of all granules "
        "(page cache warm for every case); wall time excludes interpreter start-up and "
        "imports but includes joblib worker start-up."
    )
    print()
    print_table(results)
    print()
    print_breakdown(profile, files[0])


def run_child(args: argparse.Namespace) -> None:
    """Child: run one case (or the profile) and write its result as JSON."""
    files = granule_files(args.data, args.granules)
    args.outdir.mkdir(parents=True, exist_ok=True)
    if args.case == PROFILE_CASE:
        result = profile_granule(files[0], args.outdir)
    else:
        case = next(c for c in CASES if c.name == args.case)
        result = run_case(case, files, args.outdir)
    Path(args.result).write_text(json.dumps(result))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark helpers.reduce (1 and 2 jobs, HDF5 and Parquet) against "
        "a read-only h5py limit on full-size synthetic granules; print a Markdown table.",
    )
    parser.add_argument(
        "--granules",
        type=int,
        default=8,
        metavar="N",
        help="number of full-size granules (default 8)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="granule cache folder (default build/bench/full<N>); generated "
        "if it does not hold the sample yet",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the reducer outputs (under build/bench/reduce-out-*)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--outdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.granules < 1:
        raise SystemExit("error: --granules must be at least 1")
    if args.case:
        run_child(args)
    else:
        run_all(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
