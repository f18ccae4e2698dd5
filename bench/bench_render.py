"""Benchmark rendering a map of reduced outputs: lazy ``open_reduced`` against eager reading.

For inputs of 10 M and 100 M points by default (``--sizes``, in millions), it renders a
600×600 mean(h_li) map over the Pine Island Glacier box (EPSG:3031) in two ways:

1. **lazy**: ``helpers.load.open_reduced(folder, columns=["x", "y", "h_li"])`` (files grouped
   into partitions of about ``--partition-mb`` MB, read when dask computes them), then
   ``helpers.render.aggregate(df, "h_li", "mean", 600, 600, x_range, y_range)`` (datashader);
2. **eager**: the original tutorial's way, ``helpers.load.read_eagerly(files, columns)``
   (every file read into numpy first, then wrapped in dask), then the same aggregation.

Both bin over the same extent; the script checks that they count the same points and give
the same grid (``np.allclose(..., equal_nan=True)``) and says so loudly if not.

The inputs are synthetic reduced outputs, made once and cached in ``build/bench/reduced_<N>M/``
(or under ``--cache``): files of about 1 M points named like the reducer's output
(``<granule stem>_<beam>.h5``, six beams per granule, distinct RGTs and cycles), with flat,
uncompressed x, y (float64, m), h_li (float32), t_year (float64) and is_asc (bool) along
straight tracks over the box; h_li is a smooth surface plus noise.

Each case runs ``--repeat`` times (default 3), each time in a fresh process right after the
files were read into the page cache, with dask's threaded scheduler. Inside it, tiny
aggregations with the same dtypes run first so that numba compiles before timing starts:
the wall time covers finding/opening the files and rendering only. The table shows the
fastest wall time and the largest peak RSS (``common.peak_rss_mb``) of the runs, then the
goal lines: peak RSS of the lazy approach at 100 M points (goal <= 2 GB) and lazy against
eager wall time at 10 M points (goal: lazy no slower). Run it with ``make bench`` or::

    .venv/bin/python bench/bench_render.py [--sizes 10 100] [--cache DIR]
        [--partition-mb 64 [MB ...]] [--repeat 3] [--skip-eager-above M]

Generating the 100 M input (100 files, 2.8 GB) takes about 15 s the first time; the
measurements take a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from common import (
    BUILD,
    log,
    machine,
    peak_rss_mb,
    print_table,
    run_fresh,
    warm_page_cache,
    write_result,
)

#: Pine Island Glacier box, EPSG:3031 (m): the map extent of every case.
X_RANGE: tuple[float, float] = (-1_680_000.0, -1_495_000.0)
Y_RANGE: tuple[float, float] = (-352_000.0, -212_000.0)
#: Map size in pixels.
WIDTH = HEIGHT = 600
#: Columns read by both approaches.
COLUMNS: tuple[str, ...] = ("x", "y", "h_li")
#: Points per generated file, on average (files vary by +-20 %).
POINTS_PER_FILE = 1_000_000
#: Straight tracks per granule; each beam file holds its beam's points along all of them.
TRACKS_PER_GRANULE = 40
#: Across-track offset of each beam from the granule's reference track (m).
BEAM_OFFSETS: dict[str, float] = {
    "gt1l": -3345.0, "gt1r": -3255.0, "gt2l": -45.0,
    "gt2r": 45.0, "gt3l": 3255.0, "gt3r": 3345.0,
}  # fmt: skip
#: Range of t_year of the generated points.
T_RANGE: tuple[float, float] = (2018.8, 2020.3)
#: Start of cycle 1 (2018-10-13) as a decimal year, and the cycle length in years.
CYCLE1_START = 2018.781
CYCLE_YEARS = 91.0 / 365.25
#: Bump when the generated data change, so that old caches are regenerated.
DATA_VERSION = 1
#: Approaches, in table order.
APPROACHES: tuple[str, ...] = ("lazy", "eager")
#: The issue's goal for the lazy approach at 100 M points: 2 GB, a hub's memory per user.
GOAL_PEAK_MB = 2000.0
PACKAGES = ("numpy", "h5py", "dask", "datashader", "numba")
# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def surface(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth synthetic ice surface height (m) over the box, with a glacier trough.

    Parameters
    ----------
    x, y : numpy.ndarray
        EPSG:3031 coordinates (m).

    Returns
    -------
    numpy.ndarray
        Heights (float64), from about 100 m to 1700 m.
    """
    u = (x - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0])
    v = (y - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0])
    trough = 300.0 * np.exp(-(((v - 0.45 - 0.1 * u) / 0.15) ** 2)) * (1.0 - u)
    return (
        350.0 + 1100.0 * u**1.5 + 120.0 * np.sin(3.0 * np.pi * u) * np.cos(2.0 * np.pi * v) - trough
    )


def _decimal_year_to_datetime(t: float) -> datetime:
    """UTC datetime of a decimal year (to the second)."""
    year = int(t)
    start = datetime(year, 1, 1)
    days = (datetime(year + 1, 1, 1) - start).days
    return (start + timedelta(days=(t - year) * days)).replace(microsecond=0)


def _chord(
    center: np.ndarray, direction: np.ndarray, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """Parameter range (smin, smax) of the line ``center + s * direction`` inside ``box``."""
    lo, hi = -np.inf, np.inf
    for axis, (bmin, bmax) in enumerate(((box[0], box[1]), (box[2], box[3]))):
        d = direction[axis]
        if abs(d) < 1e-12:
            continue
        a, b = (bmin - center[axis]) / d, (bmax - center[axis]) / d
        lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return float(lo), float(hi)


@dataclass(frozen=True)
class Granule:
    """One synthetic granule: its name parts and its tracks over the box."""

    stem: str
    t0: float
    is_asc: bool
    centers: np.ndarray  # (k, 2) one point of each track (m)
    directions: np.ndarray  # (k, 2) unit along-track vectors
    chords: np.ndarray  # (k, 2) along-track parameter ranges (m)


def make_granule(index: int, seed: int) -> Granule:
    """Name, time, direction and tracks of synthetic granule ``index`` (deterministic).

    RGTs are distinct for up to 1387 granules; the cycle follows from the time.
    """
    rng = np.random.default_rng([seed, index])
    t0 = float(rng.uniform(T_RANGE[0], T_RANGE[1] - 1e-4))
    is_asc = bool(rng.random() < 0.5)
    rgt = 1 + (index * 97) % 1387
    cycle = 1 + int((t0 - CYCLE1_START) / CYCLE_YEARS)
    region = 12 if is_asc else 10
    start = _decimal_year_to_datetime(t0)
    stem = f"ATL06_{start:%Y%m%d%H%M%S}_{rgt:04d}{cycle:02d}{region:02d}_006_01"
    # Keep every beam 1 km inside the box: shrink it by the widest beam offset + 1 km.
    margin = max(abs(o) for o in BEAM_OFFSETS.values()) + 1000.0
    inner = (X_RANGE[0] + margin, X_RANGE[1] - margin, Y_RANGE[0] + margin, Y_RANGE[1] - margin)
    k = TRACKS_PER_GRANULE
    centers = np.column_stack(
        [rng.uniform(inner[0], inner[1], k), rng.uniform(inner[2], inner[3], k)]
    )
    angles = rng.uniform(0.0, np.pi, k)
    directions = np.column_stack([np.cos(angles), np.sin(angles)])
    chords = np.array([_chord(c, d, inner) for c, d in zip(centers, directions, strict=True)])
    return Granule(stem, t0, is_asc, centers, directions, chords)


def beam_points(
    granule: Granule, beam: str, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The datasets of one beam file with ``n`` points (about 30 bytes/point in memory).

    Points are spread over the granule's tracks in proportion to their lengths, evenly
    spaced along each track with a few metres of across-track jitter.
    """
    lengths = granule.chords[:, 1] - granule.chords[:, 0]
    per_track = rng.multinomial(n, lengths / lengths.sum())
    normals = np.column_stack([-granule.directions[:, 1], granule.directions[:, 0]])
    offset = BEAM_OFFSETS[beam]
    x = np.empty(n)
    y = np.empty(n)
    t = np.empty(n)
    start = 0
    for i, m in enumerate(per_track):
        if m == 0:
            continue
        s = np.linspace(granule.chords[i, 0], granule.chords[i, 1], m)
        if not granule.is_asc:
            s = s[::-1]
        across = offset + rng.normal(0.0, 3.0, m)
        stop = start + m
        x[start:stop] = (
            granule.centers[i, 0] + s * granule.directions[i, 0] + across * normals[i, 0]
        )
        y[start:stop] = (
            granule.centers[i, 1] + s * granule.directions[i, 1] + across * normals[i, 1]
        )
        # ~7 km/s along track: a track takes seconds, far below T_RANGE's resolution.
        t[start:stop] = granule.t0 + (np.abs(s - s[0]) / 7000.0) / (365.25 * 86400.0)
        start = stop
    h = (surface(x, y) + rng.normal(0.0, 1.5, n)).astype("f4")
    return {"x": x, "y": y, "h_li": h, "t_year": t, "is_asc": np.full(n, granule.is_asc)}


def ensure_inputs(folder: Path, millions: int, seed: int = 20190101) -> tuple[list[Path], int]:
    """Create (if not cached) about ``millions`` files of ~1 M points in ``folder``.

    The cache is valid when ``folder/manifest.json`` describes the same inputs; files are
    generated one at a time, so memory stays near 150 MB whatever the size.

    Returns
    -------
    files : list of pathlib.Path
        The reduced output files, sorted.
    points : int
        Total number of points, ``millions * 10**6``.
    """
    import h5py

    total = millions * 10**6
    n_files = max(1, round(total / POINTS_PER_FILE))
    wanted = {"version": DATA_VERSION, "points": total, "files": n_files, "seed": seed}
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("spec") == wanted:
        files = [folder / name for name in json.loads(manifest.read_text())["names"]]
        if all(f.is_file() for f in files):
            log(f"inputs: reusing {len(files)} files, {millions} M points, in {folder}")
            return files, total
    if n_files > 6 * 1387:
        raise ValueError(f"{millions} M points need more than 1387 distinct RGTs")
    folder.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    rng = np.random.default_rng([seed, millions])
    sizes = rng.integers(int(0.8 * POINTS_PER_FILE), int(1.2 * POINTS_PER_FILE), n_files)
    sizes = np.round(sizes * (total / sizes.sum())).astype(np.int64)
    sizes[-1] += total - sizes.sum()
    log(f"inputs: generating {n_files} files, {millions} M points, in {folder}")
    beams = list(BEAM_OFFSETS)
    names: list[str] = []
    started = time.perf_counter()
    done = 0
    granule = make_granule(0, seed)
    for i, n in enumerate(sizes):
        if i % len(beams) == 0:
            granule = make_granule(i // len(beams), seed)
        beam = beams[i % len(beams)]
        data = beam_points(granule, beam, int(n), np.random.default_rng([seed, millions, i]))
        path = folder / f"{granule.stem}_{beam}.h5"
        with h5py.File(path, "w") as f:
            for name, values in data.items():
                f.create_dataset(name, data=values)
        names.append(path.name)
        done += int(n)
        if (i + 1) % max(1, n_files // 10) == 0 or i + 1 == n_files:
            log(
                f"  {i + 1}/{n_files} files, {done / 1e6:.1f} M points, "
                f"{time.perf_counter() - started:.1f} s"
            )
    manifest.write_text(json.dumps({"spec": wanted, "names": names}, indent=1))
    return sorted(folder / n for n in names), total


# --------------------------------------------------------------------------------------
# One case, in its own process
# --------------------------------------------------------------------------------------


def _warm_up(approach: str) -> float:
    """Run tiny aggregations with the case's dtypes, so numba compiles before timing.

    Returns
    -------
    float
        Its wall time (s): mostly numba compiling datashader's kernels.
    """
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    from helpers.render import aggregate

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    x = rng.uniform(*X_RANGE, 1000)
    y = rng.uniform(*Y_RANGE, 1000)
    h = rng.normal(500.0, 10.0, 1000)
    # datashader compiles one kernel for 1 partition and another for several.
    for parts in (1, 2):
        if approach == "lazy":
            frame = pd.DataFrame({"x": x, "y": y, "h_li": h.astype("f4")})
            df = dd.from_pandas(frame, npartitions=parts)
        else:
            array = da.from_array(np.column_stack([x, y, h]), chunks=(1000 // parts, 3))
            df = dd.from_dask_array(array, columns=list(COLUMNS))
        aggregate(df, "h_li", "mean", WIDTH, HEIGHT, X_RANGE, Y_RANGE)
    return time.perf_counter() - started


def run_case(approach: str, source: Path, partition_mb: float, result: Path) -> int:
    """Measure one approach on one folder; write the summary to ``result`` (JSON) and the
    grid next to it (``.npy``).

    Returns
    -------
    int
        Process exit code: 0, or 3 after a MemoryError (reported in the JSON).
    """
    import dask
    import dask.system
    import datashader  # noqa: F401  (imported before timing)

    from helpers.load import find_reduced, open_reduced, read_eagerly
    from helpers.render import aggregate

    summary: dict[str, object] = {
        "warm_up_s": _warm_up(approach),
        "baseline_rss_mb": peak_rss_mb(),
        "threads": dask.config.get("num_workers", None) or dask.system.CPU_COUNT,
    }
    try:
        started = time.perf_counter()
        if approach == "lazy":
            df = open_reduced(source, columns=list(COLUMNS), partition_mb=partition_mb)
        else:
            df = read_eagerly(find_reduced(source), list(COLUMNS))
        opened = time.perf_counter()
        agg = aggregate(df, "h_li", "mean", WIDTH, HEIGHT, X_RANGE, Y_RANGE)
        finished = time.perf_counter()
    except MemoryError:
        write_result(result, {**summary, "error": "MemoryError", "peak_rss_mb": peak_rss_mb()})
        return 3
    np.save(result.with_suffix(".npy"), np.asarray(agg.grid.values, dtype="f8"))
    summary.update(open_s=opened - started, wall_s=finished - started, points=agg.points,
                   npartitions=df.npartitions, peak_rss_mb=peak_rss_mb())  # fmt: skip
    write_result(result, summary)
    return 0


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one case process reported (``error`` set if it failed)."""

    millions: int
    approach: str
    partition_mb: float
    summary: dict
    grid: np.ndarray | None
    error: str | None = None

    @property
    def label(self) -> str:
        """Approach as shown in the table."""
        if self.approach == "lazy":
            return f"lazy `open_reduced` ({self.partition_mb:g} MB partitions)"
        return "eager `read_eagerly`"


def spawn_case(
    approach: str, source: Path, partition_mb: float, millions: int, workdir: Path
) -> Outcome:
    """Run one case in a fresh Python process and collect its results."""
    result = workdir / f"{approach}_{millions}M_{partition_mb:g}.json"
    options = ["--case", approach, "--source", str(source), "--partition-mb", str(partition_mb)]
    run = run_fresh(Path(__file__).resolve(), options, result, sample_tree=False)
    s = run.result
    if run.error is not None:
        log(f"  {approach}: FAILED, {run.error}")
        return Outcome(millions, approach, partition_mb, s, None, run.error)
    log(f"  {approach}: {s['wall_s']:.2f} s (open {s['open_s']:.2f} s), {s['points']:,} points "
        f"in {s['npartitions']} partitions, peak RSS {s['peak_rss_mb']:.0f} MB (before the "
        f"measured work: {s['baseline_rss_mb']:.0f} MB), "
        f"warm-up {s['warm_up_s']:.1f} s")  # fmt: skip
    return Outcome(millions, approach, partition_mb, s, np.load(result.with_suffix(".npy")))


def best_of(runs: list[Outcome]) -> Outcome:
    """Combine repeated runs of one case: fastest wall time, largest peak RSS.

    Returns
    -------
    Outcome
        The first failed run if any failed (a failure is not hidden by a success);
        otherwise the fastest run, with ``peak_rss_mb`` the largest of all runs and
        ``walls_s`` and ``warm_ups_s`` every run's wall and warm-up times.
    """
    failed = [r for r in runs if r.error is not None]
    if failed:
        return failed[0]
    best = min(runs, key=lambda r: r.summary["wall_s"])
    best.summary["walls_s"] = [r.summary["wall_s"] for r in runs]
    best.summary["peak_rss_mb"] = max(r.summary["peak_rss_mb"] for r in runs)
    best.summary["warm_ups_s"] = [r.summary["warm_up_s"] for r in runs]
    return best


def check_same(outcomes: list[Outcome], expected: int) -> list[str]:
    """Compare point counts and grids of the successful cases of one size.

    Returns
    -------
    list of str
        Problems found (empty if all agree).
    """
    ok = [o for o in outcomes if o.error is None]
    problems = [
        f"{o.millions} M {o.label}: {o.summary['points']:,} points, expected {expected:,}"
        for o in ok
        if o.summary["points"] != expected
    ]
    for other in ok[1:]:
        ref = ok[0]
        assert ref.grid is not None and other.grid is not None
        if ref.grid.shape != other.grid.shape or not np.allclose(
            ref.grid, other.grid, equal_nan=True
        ):
            diff = np.nanmax(np.abs(ref.grid - other.grid))
            problems.append(
                f"{ref.millions} M: grids differ between {ref.label} and {other.label} "
                f"(max |difference| {diff:.3g} m)"
            )
    return problems


def print_results(outcomes: list[Outcome], repeat: int) -> None:
    """Print every run's wall time, the machine and the Markdown table."""
    if repeat > 1:
        print(f"Wall times of all {repeat} runs (the table shows the fastest):")
        for o in (o for o in outcomes if o.error is None):
            walls = ", ".join(f"{w:.2f}" for w in o.summary.get("walls_s", []))
            print(f"- {o.millions} M, {o.label}: {walls} s")
        print()
    print(f"Machine: {machine(PACKAGES)}")
    print()
    rows = []
    for o in outcomes:
        s = o.summary
        rss = f"{s['peak_rss_mb']:.0f}" if "peak_rss_mb" in s else "-"
        if o.error is None:
            rate = f"{s['points'] / 1e6 / s['wall_s']:.1f}"
            rows.append([f"{o.millions} M", o.label, f"{s['wall_s']:.2f}", rate, rss])
        else:
            rows.append([f"{o.millions} M", o.label, f"FAILED: {o.error}", "-", rss])
    print_table(["points", "approach", "wall s", "Mpoints/s", "peak RSS MB"], rows, "rlrrr")
    print()


def print_goals(outcomes: list[Outcome], problems: list[str], sizes: list[int]) -> None:
    """Print the goal lines and whether every case agreed."""

    def find(millions: int, approach: str) -> Outcome | None:
        match = (o for o in outcomes if o.millions == millions and o.approach == approach)
        return next(match, None)

    def value(o: Outcome | None, key: str, unit: str) -> str:
        if o is None:
            return "not run"
        if o.error is not None:
            return f"failed ({o.error})"
        return f"{o.summary[key]:.{0 if unit == 'MB' else 2}f} {unit}"

    big = 100 if 100 in sizes else max(sizes)
    small = 10 if 10 in sizes else min(sizes)
    lazy_big, lazy_small, eager_small = find(big, "lazy"), find(small, "lazy"), find(small, "eager")
    print(f"peak RSS lazy at {big} M = {value(lazy_big, 'peak_rss_mb', 'MB')} "
          f"(goal <= {GOAL_PEAK_MB:.0f} MB)")  # fmt: skip
    verdict = ""
    if lazy_small and eager_small and lazy_small.error is None and eager_small.error is None:
        met = lazy_small.summary["wall_s"] <= eager_small.summary["wall_s"]
        verdict = " -> met" if met else " -> NOT met"
    print(f"lazy wall at {small} M = {value(lazy_small, 'wall_s', 's')} vs eager "
          f"{value(eager_small, 'wall_s', 's')} (goal: lazy no worse){verdict}")  # fmt: skip
    print()
    for problem in ["MISMATCH between approaches", *problems] if problems else []:
        print(f"!!! {problem}")
    if not problems:
        skipped = " (failed cases aside)" if any(o.error for o in outcomes) else ""
        print(f"Check: every case drew the expected number of points and all grids agree "
              f"(np.allclose, equal_nan=True){skipped}.")  # fmt: skip


def print_notes(outcomes: list[Outcome], repeat: int) -> None:
    """Print how the cases ran: warm-up (numba) time, baseline memory."""
    warm = [w for o in outcomes for w in o.summary.get("warm_ups_s", [])]
    base = [o.summary["baseline_rss_mb"] for o in outcomes if "baseline_rss_mb" in o.summary]
    if warm and base:
        print(
            f"Notes: each case ran in a fresh process with dask's default threaded "
            f"scheduler ({os.cpu_count()} cores). Before timing, each ran tiny 1000-point "
            f"aggregations (1 and 2 partitions) with the same dtypes, so that numba "
            f"compiled datashader's kernels first: that took {min(warm):.1f}-{max(warm):.1f} s, "
            f"which a first map in a fresh kernel also pays, and is not in the wall times. "
            f"Wall time = finding/opening the files + aggregating, with a warm page cache, "
            f"the fastest of {repeat} run(s) of each case (each in its own process); peak RSS "
            f"the largest. Peak RSS includes the interpreter, imports and warm-up "
            f"({min(base):.0f}-{max(base):.0f} MB before the measured work)."
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Time and measure the memory of rendering a 600x600 mean(h_li) map "
        "from reduced outputs: lazy open_reduced against the eager read_eagerly.",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10, 100], metavar="M",
        help="input sizes in millions of points (default: 10 100)",
    )  # fmt: skip
    parser.add_argument(
        "--cache", type=Path, default=BUILD,
        help="folder for the generated inputs reduced_<N>M/ (default: build/bench)",
    )  # fmt: skip
    parser.add_argument(
        "--partition-mb", type=float, nargs="+", default=[64.0], metavar="MB",
        help="partition size(s) of the lazy approach, in MB on disk (default: 64)",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=3, metavar="R",
        help="run every case R times, each in a fresh process, and report the fastest "
        "wall time and the largest peak RSS (default: 3)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-eager-above", type=int, default=None, metavar="M",
        help="do not run the eager approach on inputs larger than M million points",
    )  # fmt: skip
    parser.add_argument("--case", choices=APPROACHES, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser


def run_size(
    args: argparse.Namespace, millions: int, workdir: Path
) -> tuple[list[Outcome], list[str]]:
    """Make (or reuse) the input of one size, run every case on it and compare them."""
    files, total = ensure_inputs(args.cache / f"reduced_{millions}M", millions)
    cases = [("lazy", mb) for mb in args.partition_mb]
    if args.skip_eager_above is None or millions <= args.skip_eager_above:
        cases.append(("eager", args.partition_mb[0]))
    outcomes = []
    for approach, mb in cases:
        log(f"{millions} M points: {approach}" + (f", {mb:g} MB" if approach == "lazy" else ""))
        runs = []
        for _ in range(max(1, args.repeat)):
            warm_page_cache(files)
            runs.append(spawn_case(approach, files[0].parent, mb, millions, workdir))
        outcomes.append(best_of(runs))
    return outcomes, check_same(outcomes, total)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parser().parse_args(argv)
    if args.case:
        return run_case(args.case, args.source, args.partition_mb[0], args.result)
    BUILD.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="render-out-", dir=BUILD) as tmp:
        for millions in args.sizes:
            size_outcomes, size_problems = run_size(args, millions, Path(tmp))
            outcomes += size_outcomes
            problems += size_problems
    print()
    print_results(outcomes, max(1, args.repeat))
    print_goals(outcomes, problems, args.sizes)
    print_notes(outcomes, max(1, args.repeat))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
