"""What runs many granules: the input list, joblib or Dask, and the run's summary."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers.fileio import remove_partials
from helpers.reduce.granule import GranuleResult, ReduceOptions, reduce_granule


def find_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (their ``*.h5``) and glob patterns into a sorted file list.

    A name that matches nothing is kept, so that the reducer reports it as not found.
    """
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
        for r in self.results:
            if r.absent_variables:
                lines.append(f"{Path(r.source).name}: optional variables absent (NaN/fill): "
                             f"{', '.join(r.absent_variables)}")  # fmt: skip
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
    echo: Callable[[str], None] | None = None,
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
    from tqdm.auto import tqdm

    options = options or ReduceOptions()
    outdir = Path(outdir).resolve()
    files = find_inputs(inputs)
    _check_outdir(outdir, files, force_input_dir)
    echo = echo or tqdm.write
    started = time.perf_counter()
    results = []
    bar = tqdm(_results(files, outdir, options, n_jobs, scheduler), total=len(files),
               desc="reducing", unit="granule", disable=not progress)  # fmt: skip
    for result in bar:
        results.append(result)
        _echo_problems(result, echo)
    results.sort(key=lambda r: r.source)
    return RunSummary(results=results, seconds=time.perf_counter() - started)


def _check_outdir(outdir: Path, files: list[Path], force_input_dir: bool) -> None:
    """Refuse an output folder that holds inputs; clear leftovers of an interrupted run."""
    input_dirs = {p.resolve().parent for p in files}
    if outdir in input_dirs and not force_input_dir:
        raise ValueError(
            f"output folder {outdir} holds input granules: choose another (or force it)"
        )
    if outdir.is_dir():
        remove_partials(outdir)


def _results(files, outdir, options, n_jobs, scheduler) -> Iterator[GranuleResult]:
    """Results in the order they finish: in this process, with joblib, or on Dask."""
    if scheduler:
        return _run_on_dask(files, outdir, options, scheduler)
    if n_jobs == 1:
        return (reduce_granule(p, outdir, options) for p in files)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(reduce_granule)(p, outdir, options) for p in files
    )


def _echo_problems(result: GranuleResult, echo: Callable[[str], None]) -> None:
    name = Path(result.source).name
    if result.status == "failed":
        echo(f"{name}: FAILED: {result.reason}")
    for note in result.notes:
        echo(f"{name}: {note}")


def _run_on_dask(files, outdir, options, scheduler) -> Iterator[GranuleResult]:
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
