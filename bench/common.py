"""What every benchmark in ``bench/`` needs, so that each script is about its own measurement.

- :data:`MB`: the one unit of memory and file sizes in every table, 10**6 bytes (as in
  ``helpers``: sample sizes, ``open_reduced(partition_mb=...)``); GB are 10**9 bytes.
- :func:`peak_rss_mb`: peak RSS of this process, or of its largest reaped child.
- :class:`TreePeak`: peak summed RSS of a process and all its descendants, sampled in a thread.
- :func:`machine`: one line describing the CPU, cores, RAM, Python and package versions.
- :func:`warm_page_cache`: read files once, so that every case starts with the same cache.
- :func:`run_fresh` / :func:`write_result`: run one case in a fresh interpreter (the calling
  script re-invoked with its own hidden options plus ``--result FILE``) and read its JSON.
- :func:`print_table`: a Markdown table.
- :func:`range_server`: a ``helpers.rangeserver`` process over an emulated link, with its
  counters and CPU (:class:`Server`).

The scripts import it as ``common`` (Python puts the script's folder first on ``sys.path``);
its name does not match ``bench_*.py``, so ``make bench`` does not run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

#: Repository root (this file is ``bench/common.py``).
REPO = Path(__file__).resolve().parents[1]
#: Where benchmarks cache generated inputs and write temporary outputs.
BUILD = REPO / "build" / "bench"
#: Bytes in one MB, the unit of every memory and size figure in ``bench/``.
MB = 1e6
#: Seconds between two samples of :class:`TreePeak`.
SAMPLE_INTERVAL_S = 0.05


def log(message: str) -> None:
    """Print a progress line at once (child processes share the terminal)."""
    print(message, flush=True)


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process, or of its largest reaped child, in MB.

    For this process on Linux it is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` would
    be at least the parent's peak, since exec keeps the high-water mark of the process that
    spawned it. Elsewhere, and for children, it is ``getrusage``'s ``ru_maxrss`` (a child's
    may thus include its parent's RSS at the time it was started).

    Parameters
    ----------
    children : bool
        False: this process; True: the largest of its terminated, waited-for children.

    Returns
    -------
    float

    Examples
    --------
    >>> peak_rss_mb() > 0
    True
    """
    status = Path("/proc/self/status")
    if not children and status.is_file():
        hwm = next(ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM:"))
        return int(hwm.split()[1]) * 1024 / MB
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / MB


class TreePeak:
    """Largest summed RSS of a process and all its descendants, sampled in a thread.

    Summing counts pages shared between processes (libraries) once per process, so it errs
    on the high side; a spike shorter than the interval may be missed.

    Parameters
    ----------
    pid : int
        The root process.
    interval : float
        Seconds between samples.

    Examples
    --------
    >>> peak = TreePeak(os.getpid()).start()
    >>> peak.stop() > 0
    True
    """

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-peak", daemon=True)

    def sample(self) -> float:
        """Take one sample now; return the summed RSS in MB (0 once the root is gone)."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # a child that ended between listing and reading
                continue
        self.peak_mb = max(self.peak_mb, total / MB)
        return total / MB

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> TreePeak:
        """Start sampling in the background."""
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stop sampling after one last sample; return the peak in MB."""
        self._stop.set()
        self._thread.join()
        self.sample()
        return self.peak_mb


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    model = (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    return next(model, platform.processor() or "unknown CPU")


def machine(packages: Sequence[str] = ("numpy", "h5py")) -> str:
    """One line describing the machine, Python, the given packages and the unit.

    Parameters
    ----------
    packages : sequence of str
        Distribution names whose versions to show; for h5py the HDF5 library's too.

    Returns
    -------
    str
        e.g. ``"Linux x86_64, Intel(R) Xeon(R) Processor, 2 cores (2 usable), 25.2 GB RAM;
        Python 3.11.7, numpy 2.4.6, h5py 3.16.0 (HDF5 2.0.0); MB = 10^6 bytes"``.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = [f"Python {platform.python_version()}"]
    for name in packages:
        versions.append(f"{name} {metadata.version(name)}")
        if name == "h5py":
            import h5py

            versions[-1] += f" (HDF5 {h5py.version.hdf5_version})"
    return (
        f"{platform.system()} {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores "
        f"({usable} usable), {psutil.virtual_memory().total / 1e9:.1f} GB RAM; "
        f"{', '.join(versions)}; MB = 10^6 bytes"
    )


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, e.g. ``"0.98, 1.65, 2.02"``."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def warm_page_cache(files: Iterable[Path]) -> float:
    """Read every byte of the files once, so that the page cache holds them.

    Parameters
    ----------
    files : iterable of Path
        Files to read.

    Returns
    -------
    float
        MB read.
    """
    total = 0
    for path in files:
        with path.open("rb", buffering=0) as f:
            while chunk := f.read(8 << 20):
                total += len(chunk)
    return total / MB


@dataclass
class FreshRun:
    """What one case run in a fresh interpreter gave.

    Attributes
    ----------
    result : dict
        The JSON the case wrote with :func:`write_result` (empty if it wrote none).
    tree_peak_mb : float or None
        Peak summed RSS of the case's process tree, MB (see :class:`TreePeak`); None when
        not sampled.
    load_before : float
        1-minute load average just before the start.
    error : str or None
        None on success; else the reason: the result's ``"error"``, the signal that
        killed the process, or its exit status and last line on stderr.
    """

    result: dict = field(default_factory=dict)
    tree_peak_mb: float | None = None
    load_before: float = 0.0
    error: str | None = None


def run_fresh(
    script: Path, args: Sequence[str], result: Path, sample_tree: bool = True
) -> FreshRun:
    """Run ``python script *args --result result`` from the repository root and measure it.

    The child's stdout goes to the terminal; its stderr is passed on after it ends (its
    last line names a failure).

    Parameters
    ----------
    script : Path
        The benchmark script (``Path(__file__)``), which must accept ``--result FILE``.
    args : sequence of str
        Its other options, selecting the case.
    result : Path
        Where the child writes its JSON (the caller's temporary folder).
    sample_tree : bool
        Sample the RSS of the child's process tree (costs ~2 ms of CPU per sample).

    Returns
    -------
    FreshRun
    """
    command = [sys.executable, str(script), *args, "--result", str(result)]
    result.unlink(missing_ok=True)  # a repeated case reuses its file name
    run = FreshRun(load_before=os.getloadavg()[0])
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    peak = TreePeak(proc.pid).start() if sample_tree else None
    _, stderr = proc.communicate()
    run.tree_peak_mb = peak.stop() if peak else None
    sys.stderr.write(stderr)
    if result.is_file():
        run.result = json.loads(result.read_text())
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        oom = " (likely out of memory)" if -proc.returncode == signal.SIGKILL else ""
        run.error = f"killed by {name}{oom}"
    elif "error" in run.result:
        run.error = str(run.result["error"])
    elif proc.returncode != 0 or not run.result:
        lines = stderr.strip().splitlines()
        run.error = f"exit {proc.returncode}: {lines[-1] if lines else 'no result'}"
    return run


def write_result(path: Path, result: dict) -> None:
    """Child side of :func:`run_fresh`: write the case's measurements as JSON."""
    path.write_text(json.dumps(result))


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> None:
    """Print a Markdown table.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : iterable of sequence of str
        Formatted cells, one sequence per row.
    align : str
        One letter per column: ``"l"`` (text) or ``"r"`` (numbers).

    Examples
    --------
    >>> print_table(["case", "s"], [["a", "1.00"]], "lr")
    | case | s |
    |---|---:|
    | a | 1.00 |
    """
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


#: Where the range server serves its counters (JSON).
STATS_PATH = "/_bench_stats"


@dataclass
class Server:
    """A server process: its address, its process, and (for the range server) counters."""

    url: str
    process: subprocess.Popen

    def stats(self) -> dict:
        """The range server's counters: requests, heads, bytes sent, not_found."""
        with urllib.request.urlopen(self.url + STATS_PATH) as answer:
            return json.load(answer)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the process so far."""
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system


@contextlib.contextmanager
def range_server(folder: Path, latency_ms: float, mbps: float = 0.0,
                 connection_mbps: float = 0.0) -> Iterator[Server]:  # fmt: skip
    """A ``helpers.rangeserver`` process serving ``folder`` over an emulated link: ``latency_ms``
    before each answer, ``mbps`` shared by all connections and ``connection_mbps`` for each
    (0: unlimited)."""
    command = [sys.executable, "-m", "helpers.rangeserver", str(folder), "--port", "0",
               "--latency-ms", str(latency_ms), "--connection-mbps", str(connection_mbps),
               "--mbps", str(mbps), "--stats-path", STATS_PATH]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" at ", 1)[-1].strip()  # "serving F at URL"
        if not url.startswith("http://"):
            raise SystemExit(f"error: the range server did not start ({url!r})")
        yield Server(url, process)
    finally:
        process.terminate()
        process.wait()
