"""Execute every tutorial notebook in order, headless: ``python -m helpers.devtools.tutorial``.

Each notebook in ``notebooks/`` runs top to bottom in a fresh kernel; the executed copy
(with its outputs) is written to the output folder. A failing notebook is reported and
the others still run; the exit status says whether all of them succeeded.

Kernels are started with transport encryption (CurveZMQ keys provisioned by the kernel
manager) where pyzmq supports it: the kernel then has nothing to warn about, and a
newcomer's first ``make tutorial`` shows progress and results, not a warning per notebook.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from helpers.config import REPO_ROOT, data_dir, output_dir
from helpers.fileio import atomic_path


def notebooks(folder: Path = REPO_ROOT / "notebooks") -> list[Path]:
    """The tutorial notebooks in teaching order (their names start with a number)."""
    return sorted(p for p in folder.glob("[0-9]*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def kernel_config():
    """Configuration for kernels started here: encrypted transport when pyzmq supports it.

    Without it, ipykernel >= 7 warns on every start that it is "running over TCP without
    encryption". With ``transport_encryption = "auto"`` the kernel manager provisions
    CurveZMQ keys for kernels whose kernelspec declares support (ipykernel's does).

    Returns
    -------
    traitlets.config.Config
        For ``NotebookClient(..., config=kernel_config())``.
    """
    import zmq
    from traitlets.config import Config

    policy = "auto" if zmq.has("curve") else "disabled"
    return Config({"KernelManager": {"transport_encryption": policy}})


def execute_notebook(path: Path, out_dir: Path, timeout_s: int = 900) -> float:
    """Run one notebook in a fresh kernel and save the executed copy; return seconds taken.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell fails; the message holds the cell's traceback.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(
        nb, timeout=timeout_s, kernel_name="python3",
        resources={"metadata": {"path": path.parent}}, config=kernel_config(),
    )  # fmt: skip
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out_dir / path.name) as tmp:
            nbformat.write(nb, tmp)
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.devtools.tutorial",
        description="Execute every tutorial notebook in order, headless, and save the results.",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "tutorial",
                        help="folder for the executed notebooks")  # fmt: skip
    args = parser.parse_args(argv)
    found = notebooks()
    if not found:
        print("No notebooks in notebooks/ yet: nothing to execute.")
        return 0
    failed = []
    for path in found:
        print(f"running {path.name} ...", flush=True)
        try:
            seconds = execute_notebook(path, args.out)
        except Exception as err:  # report and go on with the next notebook
            failed.append(path.name)
            print(f"  FAILED {path.name}: {str(err).strip().splitlines()[-1]}", file=sys.stderr)
            continue
        print(f"  done in {seconds:.0f} s")
    print(f"\nExecuted notebooks:     {args.out.resolve()}")
    print(f"Maps (PNG):             {output_dir() / 'maps'}")
    print(f"Reduced outputs:        {output_dir() / 'reduced'}")
    print(f"Synthetic sample input: {data_dir()}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
