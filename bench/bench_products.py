"""Benchmark notebook 8's products: crossovers and the dh/dt grid, with the work split across
two worker processes.

Two inputs, both reduced to the Pine Island box as notebook 3 reduces them:

- **sample**: the default sample (``make sample``: 10 of the 44 RGTs, ~2.5 M points);
- **full**: the full-density sample over a longer record (``python -m helpers.sample
  --all-rgts --end 2020-12-31``: every RGT that crosses the box, every cycle to the end of
  2020; over 10 M points), generated and reduced once into ``build/bench/products/`` (a few
  minutes on 2 cores the first time) and reused.

Cases, each in a fresh process (``common.run_fresh``) with a Dask ``LocalCluster`` of two
worker processes of one thread each (the partitions of ``open_reduced`` are spread over
them; only small tables come back to the client):

1. ``find_crossovers(open_reduced(..., columns=[*COLUMNS, "s_li"]))``;
2. ``grid_dhdt(open_reduced(..., columns=COLUMNS), grounded=surface.is_grounded)`` (the points
   shuffled by RGT between the workers, dask's peer-to-peer shuffle, on disk).

The table gives the wall time (files in the page cache, cluster started before timing), the
points per second, the peak RSS of each worker process (``VmHWM``, asked of the workers
themselves at the end), of the client process, and of the whole process tree (sampled,
``common.TreePeak``), and what was found (crossovers, cells with a rate). Goal: at least
10 M points with at most 2 GB per process. Run it with ``make bench`` or::

    .venv/bin/python bench/bench_products.py [--skip-full] [--repeat 1] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import (
    BUILD,
    MB,
    log,
    machine,
    peak_rss_mb,
    print_table,
    run_fresh,
    warm_page_cache,
    write_result,
)

#: Goal: peak memory of any one process (MB).
GOAL_PEAK_MB = 2000.0
#: Goal: points in the large input.
GOAL_POINTS = 10_000_000
PACKAGES = ("numpy", "pandas", "dask", "distributed", "h5py")
#: Last day of the large input (the default sample ends on 2020-04-01).
FULL_END = "2020-12-31"
CASES = ("crossovers", "grid")


def prepare(cache: Path, full: bool) -> Path:
    """The reduced outputs of the default or the full-density sample (made once)."""
    from helpers.bbox import BBox
    from helpers.config import PIG_BBOX
    from helpers.reduce import ReduceOptions, reduce_granules
    from helpers.synthetic.sample import SampleConfig, generate_sample, sample_files

    name = "full-2020" if full else "sample"
    granules, reduced = cache / name / "granules", cache / name / "reduced"
    config = SampleConfig(rgts=None, end=FULL_END) if full else SampleConfig()
    started = time.perf_counter()
    generate_sample(granules, config, n_jobs=2, progress=False)
    notes: list[str] = []  # beams outside the box, granules without beams: expected here
    reduce_granules(sample_files(granules), reduced, ReduceOptions(bbox=BBox(*PIG_BBOX)),
                    n_jobs=2, progress=False, echo=notes.append)  # fmt: skip
    log(f"{name}: inputs ready in {reduced} ({time.perf_counter() - started:.0f} s; "
        f"{len(notes)} notes from the reducer)")  # fmt: skip
    return reduced


def _worker_peak_mb() -> float:
    """Peak RSS of a worker process (``VmHWM``, MB), measured inside it: runs on each worker,
    a fresh process (spawned), so the high-water mark is its own."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(ln for ln in status if ln.startswith("VmHWM:")).split()[1]) * 1024 / 1e6


def run_case(case: str, source: Path, result: Path) -> int:
    """One case on two worker processes; writes its measurements to ``result``."""
    import logging

    from dask.distributed import Client, LocalCluster

    from helpers.crossovers import COLUMNS as XOVER_COLUMNS
    from helpers.crossovers import find_crossovers
    from helpers.grid import grid_dhdt
    from helpers.load import find_reduced, open_reduced
    from helpers.repeat import COLUMNS as GRID_COLUMNS
    from helpers.synthetic import surface

    warm_page_cache(find_reduced(source))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=None,
                      silence_logs=logging.ERROR, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip
        started = time.perf_counter()
        if case == "crossovers":
            points = open_reduced(source, columns=[*XOVER_COLUMNS, "s_li"])
            found = len(find_crossovers(points))
        else:
            points = open_reduced(source, columns=list(GRID_COLUMNS))
            found = int(grid_dhdt(points, grounded=surface.is_grounded).dhdt.notnull().sum())
        wall = time.perf_counter() - started
        n = int(points.map_partitions(len).compute().sum())
        workers = sorted(client.run(_worker_peak_mb).values())
    write_result(result, {"wall_s": wall, "points": n, "found": found,
                          "worker_peaks_mb": workers, "client_peak_mb": peak_rss_mb()})  # fmt: skip
    return 0


def spawn(case: str, source: Path, label: str, workdir: Path, repeat: int) -> dict:
    """Run a case ``repeat`` times in fresh processes: the fastest, with the largest peaks."""
    runs = []
    for i in range(repeat):
        result = workdir / f"{label}_{case}_{i}.json"
        run = run_fresh(Path(__file__).resolve(), ["--case", case, "--source", str(source)],
                        result)  # fmt: skip
        if run.error is not None:
            log(f"  {label} {case}: FAILED, {run.error}")
            return {"error": run.error, "tree_peak_mb": run.tree_peak_mb}
        runs.append({**run.result, "tree_peak_mb": run.tree_peak_mb})
        s = runs[-1]
        log(f"  {label} {case}: {s['wall_s']:.1f} s, {s['points']:,} points, found "
            f"{s['found']:,}, workers {', '.join(f'{w:.0f}' for w in s['worker_peaks_mb'])} "
            f"MB, tree {s['tree_peak_mb']:.0f} MB")  # fmt: skip
    best = min(runs, key=lambda r: r["wall_s"])
    for key in ("tree_peak_mb", "client_peak_mb"):
        best[key] = max(r[key] for r in runs)
    best["worker_peaks_mb"] = [max(w) for w in zip(*(r["worker_peaks_mb"] for r in runs),
                                                   strict=True)]  # fmt: skip
    return best


def print_results(results: dict[tuple[str, str], dict]) -> None:
    """The machine, the table and the goal line."""
    print(f"\nMachine: {machine(PACKAGES)}\n")
    rows = []
    for (label, case), s in results.items():
        if "error" in s:
            rows.append([label, case, f"FAILED: {s['error']}", "-", "-", "-", "-", "-", "-"])
            continue
        rows.append([label, case, f"{s['points'] / 1e6:.1f} M", f"{s['wall_s']:.1f}",
                     f"{s['points'] / 1e6 / s['wall_s']:.2f}",
                     " / ".join(f"{w:.0f}" for w in s["worker_peaks_mb"]),
                     f"{s['client_peak_mb']:.0f}", f"{s['tree_peak_mb']:.0f}",
                     f"{s['found']:,}"])  # fmt: skip
    print_table(["input", "case", "points", "wall s", "Mpoints/s", "worker peaks MB",
                 "client peak MB", "tree peak MB", "found"], rows, "llrrrrrrr")  # fmt: skip
    big = [s for (label, _), s in results.items() if label == "full-2020" and "error" not in s]
    if big:
        largest = max(max(*s["worker_peaks_mb"], s["client_peak_mb"]) for s in big)
        points = min(s["points"] for s in big)
        verdict = "met" if largest <= GOAL_PEAK_MB and points >= GOAL_POINTS else "NOT met"
        print(f"\nlargest process at {points / 1e6:.1f} M points: {largest:.0f} MB "
              f"(goal: >= {GOAL_POINTS / 1e6:.0f} M points, <= {GOAL_PEAK_MB:.0f} MB per "
              f"process) -> {verdict}")  # fmt: skip
    print("found: crossovers (crossovers case), cells with a rate (grid case). "
          f"MB = {MB:.0e} bytes; peaks include the interpreter and imports.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=BUILD / "products",
                        help="where the inputs are made once and reused")  # fmt: skip
    parser.add_argument("--skip-full", action="store_true", help="only the default sample")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case (fastest)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:  # a child process: one case
        return run_case(args.case, args.source, args.result)
    inputs = {"sample": prepare(args.cache, full=False)}
    if not args.skip_full:
        inputs["full-2020"] = prepare(args.cache, full=True)
    results = {}
    BUILD.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-products-", dir=BUILD) as tmp:
        for label, source in inputs.items():
            for case in CASES:
                results[(label, case)] = spawn(case, source, label, Path(tmp), args.repeat)
    print_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
