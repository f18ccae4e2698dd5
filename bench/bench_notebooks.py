"""Benchmark the tutorial notebooks against the issue's budgets: time and kernel memory.

Every notebook ``notebooks/NN-*.ipynb``, in teaching order (``helpers.devtools.tutorial``),
runs in its own fresh ``python3`` kernel started with nbclient, its working folder
``notebooks/`` as in JupyterLab, reading the embedded sample (``IS2_DATA_SOURCE=sample``;
``make sample`` first). For each it measures:

1. **kernel start s**: from creating the kernel manager until the kernel answered
   ``kernel_info`` (process launch, ``import ipykernel``, channels ready);
2. **run s**: executing every code cell top to bottom (timeout 600 s per cell);
3. **peak RSS MB**: the largest summed RSS of the kernel and all its descendants (loky and
   Dask workers, CLI subprocesses), sampled while the cells run (``common.TreePeak``).

The executed copies go to a temporary folder (kept with ``--keep``), so ``notebooks/`` is
never modified. Reduced outputs and maps already under ``helpers.config.output_dir()`` are
reused by notebooks 4 and 7 unless ``--fresh`` deletes them first (notebook 3 always redoes
its reduction). Kernels start with the same encrypted transport as ``make tutorial``. A
missing or failing notebook does not stop the others: its row reads ``FAILED: <first line of
the error>``. The load average before and after is printed, since other jobs on the same cores
skew timings.

It prints a Markdown table with a total row and the goal lines: total run <= 180 s on 2
cores, no kernel above 2 GB. Run it with ``make bench`` or::

    .venv/bin/python bench/bench_notebooks.py [--fresh] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from common import BUILD, TreePeak, load_average, machine, print_table
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.config import DATA_SOURCE_ENV, REPO_ROOT, data_dir, output_dir
from helpers.devtools.tutorial import kernel_config, notebooks

#: Folder of the tutorial notebooks; also the kernels' working folder.
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
#: Teaching order: notebook name prefixes expected, so that a missing one is reported.
EXPECTED_PREFIXES = ("01", "02", "03", "04", "05", "06", "07", "08")
#: Per-cell timeout, in seconds.
CELL_TIMEOUT_S = 600
#: The issue's budgets: every notebook in 3 min, no kernel above 2 GB.
GOAL_TOTAL_RUN_S = 180.0
GOAL_PEAK_MB = 2000.0
#: Sub-folders of ``output_dir()`` that ``--fresh`` deletes.
FRESH_SUBDIRS = ("reduced", "real-reduced", "maps")
PACKAGES = ("nbclient", "ipykernel", "numpy", "dask", "datashader")


@dataclass
class Result:
    """Measurements of one notebook.

    Attributes
    ----------
    name : str
        The notebook's file name (or the expected prefix, when it is missing).
    startup_s : float or None
        Kernel start-up time, seconds; None if the kernel never started.
    run_s : float or None
        Time executing the cells, seconds (up to the failure, if any); None if not started.
    peak_mb : float or None
        Peak summed RSS of the kernel and its descendants, MB; None if never sampled.
    error : str or None
        First line of the error when the notebook is missing or failed; None on success.
    """

    name: str
    startup_s: float | None = None
    run_s: float | None = None
    peak_mb: float | None = None
    error: str | None = None


def kernel_pid(km: object) -> int:
    """The pid of the kernel started by a jupyter_client (>= 7) kernel manager ``km``."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None:
        raise RuntimeError(f"cannot find the kernel pid on {type(km).__name__}")
    return int(process.pid)


def first_line(err: BaseException) -> str:
    """A one-line description of an error, for a table cell.

    Parameters
    ----------
    err : BaseException
        The error; for a failing cell, the cell's exception name and value are used.

    Returns
    -------
    str
        ``"<Type>: <first line of the message>"``, without ``|`` (it would split the cell).
    """
    if isinstance(err, CellExecutionError) and err.ename:
        text = f"{err.ename}: {err.evalue}"
    else:
        text = f"{type(err).__name__}: {err}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(err).__name__).replace("|", "/")[:160]


async def run_notebook(path: Path, out_dir: Path, result: Result) -> None:
    """Execute one notebook in a fresh kernel, filling ``result`` as it goes.

    The executed copy is written to ``out_dir`` (also on failure). Errors propagate after
    the kernel is shut down; ``result`` then holds what was measured until then.

    Parameters
    ----------
    path : pathlib.Path
        The notebook (only read).
    out_dir : pathlib.Path
        Folder for the executed copy.
    result : Result
        Filled in place: start-up time, run time, peak memory.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        config=kernel_config(),
    )
    client.reset_execution_trackers()
    env = {**os.environ, DATA_SOURCE_ENV: "sample"}
    started = time.perf_counter()
    try:
        client.km = client.create_kernel_manager()
        await client.async_start_new_kernel(env=env)
        await client.async_start_new_kernel_client()
        assert client.kc is not None
        info = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
        if info is not None and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        result.startup_s = time.perf_counter() - started

        sampler = TreePeak(kernel_pid(client.km)).start()
        started = time.perf_counter()
        try:
            for index, cell in enumerate(nb.cells):
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1
                )
        finally:
            result.run_s = time.perf_counter() - started
            result.peak_mb = sampler.stop()
    finally:
        await client._async_cleanup_kernel()
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)


def find_notebooks() -> list[tuple[str, Path | None]]:
    """The notebooks to run in teaching order, with a placeholder for each missing one.

    Returns
    -------
    list of (str, pathlib.Path or None)
        (name, path) pairs; path is None for an expected prefix with no notebook.
    """
    found = notebooks(NOTEBOOK_DIR)
    rows: list[tuple[str, Path | None]] = [(p.name, p) for p in found]
    present = {p.name[:2] for p in found}
    rows += [(f"{prefix}-*.ipynb", None) for prefix in EXPECTED_PREFIXES if prefix not in present]
    return sorted(rows, key=lambda row: row[0])


def remove_outputs() -> list[Path]:
    """Delete the reduced outputs and maps under ``output_dir()`` (for ``--fresh``).

    Returns
    -------
    list of pathlib.Path
        The folders that existed and were removed.
    """
    removed = []
    for name in FRESH_SUBDIRS:
        folder = output_dir() / name
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed


def fmt(value: float | None, digits: int = 1) -> str:
    """Format a number for the table, ``-`` for None."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(results: Sequence[Result]) -> None:
    """Print the Markdown table (one row per notebook, in teaching order) and the goal lines."""
    rows = [[r.name, fmt(r.startup_s, 2), f"FAILED: {r.error}" if r.error else fmt(r.run_s),
             fmt(r.peak_mb, 0)] for r in results]  # fmt: skip
    total_start = sum(r.startup_s or 0.0 for r in results)
    total_run = sum(r.run_s or 0.0 for r in results)
    largest = max((r.peak_mb for r in results if r.peak_mb is not None), default=0.0)
    rows.append(["**total**", f"{total_start:.2f}", f"{total_run:.1f}", f"max {largest:.0f}"])
    print_table(["notebook", "kernel start s", "run s", "peak RSS MB"], rows, "lrrr")
    print()
    failed = [r.name for r in results if r.error]
    note = f" (incomplete: {len(failed)} notebook(s) failed)" if failed else ""
    verdicts = ["OK" if ok else "NOT MET"
                for ok in (total_run <= GOAL_TOTAL_RUN_S, largest <= GOAL_PEAK_MB)]  # fmt: skip
    if failed:  # a budget "met" by an unfinished run proves nothing
        verdicts = ["INCOMPLETE" if v == "OK" else v for v in verdicts]
    print(f"total run = {total_run:.1f} s (goal <= {GOAL_TOTAL_RUN_S:.0f} s): {verdicts[0]}{note}")
    print(f"largest kernel peak = {largest:.0f} MB (goal <= {GOAL_PEAK_MB:.0f} MB): "
          f"{verdicts[1]}{note}")  # fmt: skip
    print(f"with kernel start-up: {total_start + total_run:.1f} s")


def run_all(keep: bool) -> list[Result]:
    """Run every notebook in its own kernel, reporting progress on stderr."""
    BUILD.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="notebooks-out-", dir=BUILD))
    results: list[Result] = []
    try:
        for name, path in find_notebooks():
            result = Result(name)
            results.append(result)
            if path is None:
                result.error = "notebook missing"
                print(f"{name}: missing", file=sys.stderr, flush=True)
                continue
            print(f"running {name} ...", end=" ", file=sys.stderr, flush=True)
            try:
                asyncio.run(run_notebook(path, tmp, result))
            except Exception as err:  # report it and go on with the next notebook
                result.error = first_line(err)
                print(f"FAILED: {result.error}", file=sys.stderr, flush=True)
            else:
                print(f"{result.run_s:.1f} s, peak {result.peak_mb:.0f} MB",
                      file=sys.stderr, flush=True)  # fmt: skip
    finally:
        if keep:
            print(f"- executed copies: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 if every notebook ran, 1 otherwise."""
    parser = argparse.ArgumentParser(
        description="Time every tutorial notebook in a fresh kernel and sample its peak memory."
    )
    parser.add_argument("--fresh", action="store_true",
                        help=f"first delete {', '.join(FRESH_SUBDIRS)} under the output folder "
                             "so that notebooks 4 and 7 reuse nothing earlier")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the executed notebook copies (under build/bench/) "
                             "and print where")  # fmt: skip
    args = parser.parse_args(argv)

    samples = sorted(data_dir().glob("ATL06_*.h5"))
    print(f"# Notebook benchmark ({'--fresh' if args.fresh else 'outputs kept'})\n")
    print(f"- machine: {machine(PACKAGES)}")
    print(f"- sample: {len(samples)} granules in {data_dir()}")
    print(f"- outputs: {output_dir()}")
    if not samples:
        print("error: no sample granules; run `make sample` first", file=sys.stderr)
        return 2
    if args.fresh:
        removed = remove_outputs()
        print(f"- --fresh: removed {', '.join(str(p) for p in removed) or 'nothing (absent)'}")
    load_before = load_average()
    print(f"- load average before: {load_before}\n", flush=True)
    results = run_all(args.keep)
    print_report(results)
    print(f"load average (1, 5, 15 min): before {load_before}; after {load_average()}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
