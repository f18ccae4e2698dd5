"""What runs many granules: the input list, joblib or Dask, and the run's summary.

Before any granule is touched, the run checks what it is given and where it writes:
inputs exist (a folder without granules is an error), two inputs of one name cannot
share the output folder, the folder (or bucket, :mod:`helpers.reduce.store`) can be
written, and it holds no outputs made with other options (unless ``overwrite``). Workers
are capped by the CPUs this process may use, die with their parent, and a Ctrl-C stops the
run (and its workers) every time.

**Lost workers.** A granule whose worker dies is reduced again elsewhere, a bounded number
of times: with joblib, the unfinished granules go to fresh workers (at most
:data:`WORKER_LOSS_RETRIES` times); on Dask, the scheduler runs a lost worker's tasks on
the others (at most ``distributed.scheduler.allowed-failures`` times, 3 by default). What a
dead worker leaves is safe: its partial outputs carry no record, its lock dies with it (a
local folder) or expires one lease after its last renewal (a bucket), and a granule it
finished before it could report is found finished *by this run* (its record names the run)
and counts as done, once.

Inputs may also be URLs (``https://``, ``s3://``), which workers receive as text and open
themselves (with their own credentials, see :mod:`helpers.reduce.sources`), and open file
objects, which are reduced in this process (they cannot be sent to another one safely:
they may carry tokens).
"""

from __future__ import annotations

import filecmp
import glob
import logging
import os
import posixpath
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from helpers.errors import log_unexpected, one_line
from helpers.reduce.granule import reduce_granule
from helpers.reduce.options import ReduceOptions, record_options
from helpers.reduce.outputs import folder_records
from helpers.reduce.overlap import reduce_in_turn
from helpers.reduce.result import GranuleResult, Status
from helpers.reduce.sources import is_file_object, is_url, source_label, source_name
from helpers.reduce.store import LocalFolder, Store, open_store
from helpers.reduce.urls import scrub
from helpers.workers import InterruptGuard, environment_fingerprint, init_worker, worker_count

log = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler to answer before giving up.
SCHEDULER_TIMEOUT_S = 10.0
#: Times a joblib run sends its unfinished granules to fresh workers after a worker died.
WORKER_LOSS_RETRIES = 2


def find_inputs(inputs: Iterable) -> list:
    """Expand files, folders (their ``*.h5``) and glob patterns into a sorted list of paths;
    URLs (sorted, after the paths) and open file objects (last, in their order) are kept
    as they are.

    Paths are made absolute (so workers elsewhere, e.g. on a Dask cluster, find them), but
    symlinks are kept as they are. A name that matches nothing is kept, and so is a broken
    link or a symlink loop in a folder: the reducer reports each as a failure.
    """
    found: set[Path] = set()
    urls: set[str] = set()
    objects = []
    for item in inputs:
        if is_url(item):
            urls.add(item)
            continue
        if is_file_object(item):
            objects.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found.update(p for p in path.glob("*.h5") if not p.is_dir())
        elif os.path.lexists(path):
            found.add(path)
        else:
            matches = glob.glob(str(item))
            if not matches:
                found.add(path)  # reported as "file not found" by the reducer
            found.update(Path(m) for m in matches)
    return [*sorted(Path(os.path.abspath(p)) for p in found), *sorted(urls), *objects]


@dataclass
class RunSummary:
    """Totals of a run over many granules."""

    results: list[GranuleResult]
    seconds: float

    def count(self, status: Status) -> int:
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
        """Segments written, all granules (a granule whose writing failed keeps none)."""
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
                lines.append(f"{source_name(r.source)}: optional variables absent (NaN/fill): "
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
    scheduler_timeout: float = SCHEDULER_TIMEOUT_S,
) -> RunSummary:
    """Reduce many granules, in parallel with joblib or on a Dask cluster.

    Parameters
    ----------
    inputs : iterable of path-like, URL or file object
        Files, folders, glob patterns, URLs (``https://``, ``s3://``; each worker opens its
        own) or open file objects (reduced here, after the others).
    outdir : path-like or str
        Output folder, or ``s3://bucket/prefix`` (:func:`~helpers.reduce.store.open_store`).
    options : ReduceOptions, optional
        Area, format, overwrite...
    n_jobs : int
        Worker processes on this machine (joblib), at most one per available CPU and per
        granule; ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        Address of a running ``dask.distributed`` scheduler (e.g. ``tcp://10.0.0.5:8786``),
        or a connected Client (e.g. from Dask Gateway or Coiled, whose connections need
        credentials that an address alone does not carry).
    progress, echo
        Show a progress bar; receive one line per problem as it happens (default: print).
    force_input_dir : bool
        Allow the output folder to be an input folder.
    scheduler_timeout : float
        Seconds to wait for the scheduler at an address to answer.

    Returns
    -------
    RunSummary

    Raises
    ------
    ValueError
        Before anything is written: no granule; an output folder that is no path or
        supported URL, holds inputs, cannot be written or holds other options' outputs
        (unless ``overwrite``); no scheduler.
    KeyboardInterrupt
        On Ctrl-C (SIGINT) or SIGTERM, after stopping the workers.
    """
    from tqdm.auto import tqdm

    options, store, echo = options or ReduceOptions(), _output_store(outdir), echo or tqdm.write
    files = _check_run(inputs, store, options, force_input_dir, echo)
    started = time.perf_counter()
    todo, results = _same_names(files, store.label, echo)
    stream = _results(todo, store, options, n_jobs, scheduler, scheduler_timeout, echo)
    bar = tqdm(stream, total=len(todo), desc="reducing", unit="granule", disable=not progress)
    results = sorted(results + _collect(bar, stream, echo), key=lambda r: r.source)
    return RunSummary(results=results, seconds=time.perf_counter() - started)


def _output_store(outdir: str | os.PathLike) -> Store:
    """The run's store; a local folder by its absolute path (workers may start elsewhere)."""
    store = open_store(outdir)
    return LocalFolder(os.path.abspath(store.folder)) if isinstance(store, LocalFolder) else store


def _collect(bar, stream, echo: Callable[[str], None]) -> list[GranuleResult]:
    """Every result as it comes, echoing problems; Ctrl-C stops the run every time."""
    results = []
    with InterruptGuard() as guard:
        try:
            for result in bar:
                results.append(result)
                _echo_problems(result, echo)
                guard.check()  # an interrupt that Python swallowed stops the run here
        finally:
            bar.close()
            stream.close()  # stops joblib's workers or cancels Dask's tasks if interrupted
    return results


def _check_run(inputs, store: Store, options: ReduceOptions, force_input_dir: bool,
               echo: Callable[[str], None]) -> list:  # fmt: skip
    """The inputs, once the run is known to be possible (else ValueError)."""
    one = isinstance(inputs, str | os.PathLike) or is_file_object(inputs)
    items = [inputs] if one else list(inputs)  # a generator is read once, here
    files = find_inputs(items)
    if not files:
        raise ValueError(f"no granules found in {_describe(items)} (looked for *.h5)")
    if isinstance(store, LocalFolder):
        _check_outdir(store, files, force_input_dir)
    else:
        _check_bucket(store, files, force_input_dir)
    for line in _check_folder_options(store, files, options):
        echo(line)
    return files


def _describe(items: list) -> str:
    return ", ".join(source_label(i) for i in items) or "(nothing given)"


def _check_outdir(store: LocalFolder, files: list, force_input_dir: bool) -> None:
    """Refuse an output folder that holds inputs or cannot be written; clear leftovers."""
    outdir = store.folder
    input_dirs = {Path(os.path.realpath(p)).parent for p in files if isinstance(p, Path)}
    if Path(os.path.realpath(outdir)) in input_dirs and not force_input_dir:
        raise ValueError(
            f"output folder {outdir} holds input granules: choose another (or force it)"
        )
    try:
        store.prove_writable()
    except OSError as err:
        raise ValueError(f"cannot write to output folder {outdir}: {err.strerror}") from err
    store.clear_leftovers()


def _check_bucket(store: Store, files: list, force_input_dir: bool) -> None:
    """Refuse an output prefix that holds input URLs, or that cannot be written."""
    inputs = {posixpath.dirname(source_label(f)) for f in files if is_url(f)}
    if store.label in inputs and not force_input_dir:
        raise ValueError(f"{store.label} holds input granules: choose another prefix "
                         "(or force it)")  # fmt: skip
    try:
        store.prove_writable()
    except Exception as err:  # the store's own errors (no bucket, no credentials, denied...)
        log.debug("cannot write to %s", store.label, exc_info=True)
        raise ValueError(f"cannot write to {store.label}: {scrub(one_line(err))}") from None


def _check_folder_options(store: Store, files: list, options: ReduceOptions) -> list[str]:
    """Refuse to mix outputs made with other options, unless overwriting; notes if mixed."""
    wanted = record_options(options)
    outdir = store.label
    other = {stem: r for stem, r in folder_records(store).items()
             if r.get("options") != wanted}  # fmt: skip
    if not other:
        return []
    example = next(iter(other.values())).get("options")
    if not isinstance(example, dict):
        differs = "by an older version of helpers.reduce, which did not record them"
    else:
        keys = [k for k in wanted if example.get(k) != wanted.get(k)]
        if len(keys) > 1 and "filters" in keys:
            keys.remove("filters")  # it repeats the box; the other keys say it better
        differs = "; ".join(f"{k} {example.get(k)} (this run: {wanted.get(k)})" for k in keys)
    if not options.overwrite:
        raise ValueError(
            f"{outdir} holds outputs of {len(other)} granule(s) made with other options: "
            f"{differs}; use --overwrite to replace them, or another output folder"
        )
    stems = {source_name(p).removesuffix(".h5") for p in files}
    left = sorted(set(other) - stems)
    if not left:
        return []
    return [f"note: {len(left)} granule(s) in {outdir} made with other options are not among "
            f"this run's inputs and stay as they are (e.g. {left[0]})"]  # fmt: skip


def _same_names(files: list, outdir: str,
                echo: Callable[[str], None]) -> tuple[list, list[GranuleResult]]:  # fmt: skip
    """Split off inputs whose name another input already has: outputs are named by it.

    Returns the inputs to reduce, and results for the others (echoed): a copy of the same
    file (or the same URL twice) is skipped, a different file of the same name fails
    (naming both; a URL and a path are not compared byte by byte, so they count as
    different).
    """
    first: dict[str, object] = {}
    todo, results = [], []
    for item in files:
        name = source_name(item)
        if not name:  # no usable name (a malformed URL...): it fails on its own, saying why
            todo.append(item)
            continue
        seen = first.setdefault(name, item)
        label, other = source_label(item), source_label(seen)
        if seen is item:
            todo.append(item)
        elif _same_bytes(seen, item) or (is_url(item) and is_url(seen) and label == other):
            results.append(GranuleResult(source=label, status="skipped",
                                         notes=[f"the same file as {other}"]))  # fmt: skip
        else:
            differs = "other contents" if isinstance(item, Path) and isinstance(seen, Path) \
                else "may differ"
            reason = (
                f"has the same file name as {other} but {differs}: their outputs "
                f"would have the same names in {outdir}; reduce it into another folder"
            )
            results.append(GranuleResult(source=label, status="failed", reason=reason))
    for result in results:
        _echo_problems(result, echo)
    return todo, results


def _same_bytes(a, b) -> bool:
    if not (isinstance(a, Path) and isinstance(b, Path)):
        return False
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _results(files, outdir: str | os.PathLike | Store, options: ReduceOptions, n_jobs: int,
             scheduler, timeout: float,
             echo: Callable[[str], None] = print) -> Iterator[GranuleResult]:  # fmt: skip
    """Results in the order they finish: in this process, with joblib, or on Dask; open file
    objects always in this process, after the others. Workers are given the store's address
    (they open it themselves) and a token naming the run."""
    store = open_store(outdir)
    objects = [f for f in files if is_file_object(f)]
    files = [f for f in files if not is_file_object(f)]
    here = options
    if options.read_ahead is None:  # one process: a reader thread uses the spare core
        here = replace(options, read_ahead=True)
    run = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    if scheduler and files:
        owned = isinstance(scheduler, str)
        client = connect_scheduler(scheduler, timeout) if owned else scheduler
        stream = _run_on_dask(files, store.where, options, client, owned, run)
    elif files and (n_workers := worker_count(n_jobs, len(files))) > 1:
        stream = _run_on_joblib(files, store, options, n_workers, run, echo)
    else:
        stream = reduce_in_turn(files, store, here, reduce_granule)  # URLs a few at a time
    return _then_here(stream, objects, store, here)


def _then_here(stream, objects, store: Store, options) -> Iterator[GranuleResult]:
    """The results of ``stream``, then those of the file objects, reduced in this process."""
    try:
        yield from stream
        for fo in objects:
            yield reduce_granule(fo, store, options)
    finally:
        stream.close()


def _run_on_joblib(files, store: Store, options, n_workers, run: str,
                   echo: Callable[[str], None]) -> Iterator[GranuleResult]:  # fmt: skip
    """Results from joblib's workers; when a worker dies (killed, out of memory), the
    granules not yet done go to fresh workers, at most :data:`WORKER_LOSS_RETRIES` times."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    done: set[str] = set()
    todo, reason = list(files), ""
    for attempt in range(WORKER_LOSS_RETRIES + 1):
        try:
            for result in _joblib_stream(todo, store.where, options, n_workers, run):
                done.add(result.source)
                yield result
            return
        except TerminatedWorkerError as err:  # a worker crashed or was killed
            todo = [p for p in todo if source_label(p) not in done]
            reason = f"a worker process died before this granule was done: {one_line(err)}"
            if attempt < WORKER_LOSS_RETRIES and todo:
                echo(f"a worker process died ({one_line(err)[:120]}): its {len(todo)} "
                     f"unfinished granule(s) go to new workers (retry {attempt + 1} of "
                     f"{WORKER_LOSS_RETRIES})")  # fmt: skip
                store.clear_leftovers()  # the dead writer's temporary files
    for path in todo:
        yield GranuleResult(source=source_label(path), status="failed",
                            reason=f"{reason[:300]} ({WORKER_LOSS_RETRIES + 1} times)")  # fmt: skip


def _joblib_stream(files, where, options, n_workers, run: str) -> Iterator[GranuleResult]:
    """Results from joblib's workers, in the order they finish. Workers kept from an earlier
    run are reused only if the environment is the same (credentials set since then must
    reach the workers)."""
    from joblib import Parallel, delayed

    jobs = Parallel(n_jobs=min(n_workers, len(files)), return_as="generator_unordered",
                    initializer=init_worker,
                    initargs=(os.getpid(), environment_fingerprint()))  # fmt: skip
    stream = jobs(delayed(reduce_granule)(p, where, options, run) for p in files)
    try:
        yield from stream
    finally:
        stream.close()


def _echo_problems(result: GranuleResult, echo: Callable[[str], None]) -> None:
    name = source_name(result.source) or result.source
    if result.status == "failed":
        echo(f"{name}: FAILED: {result.reason}")
    for note in result.notes:
        echo(f"{name}: {note}")


def connect_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S):
    """A ``distributed.Client`` for a scheduler address, or ValueError in one line.

    The address is tried first with a plain TCP connection (a closed port fails at
    once), then with Dask's handshake under ``timeout`` seconds (a port that accepts
    connections but is not a Dask scheduler would otherwise hang for ever).
    """
    from distributed import Client

    _probe_scheduler(address, timeout)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ValueError(f"cannot reach a Dask scheduler at {address}: {one_line(err)}") from err


def _probe_scheduler(address: str, timeout: float) -> None:
    """Raise ValueError unless something at ``address`` answers Dask's handshake in time."""
    import asyncio
    import socket
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect, parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme == "tcp":
            with socket.create_connection(parse_host_port(location), timeout=timeout):
                pass
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(f"cannot reach a Dask scheduler at {address}: {one_line(err)}") from err

    async def handshake() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        await comm.close()

    # In a thread: asyncio.run cannot run inside a notebook's own event loop.
    with ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, handshake()).result()
        except TimeoutError as err:
            raise ValueError(
                f"no Dask scheduler answered at {address} within {timeout:g} s "
                "(something listens there, but it is not a Dask scheduler?)"
            ) from err
        except (OSError, ValueError) as err:
            raise ValueError(
                f"cannot reach a Dask scheduler at {address}: {one_line(err)}"
            ) from err


def _run_on_dask(files, where, options, client, owned: bool,
                 run: str) -> Iterator[GranuleResult]:  # fmt: skip
    """Results from a Dask cluster. A task whose worker is lost is run again on another
    worker by the scheduler (at most ``distributed.scheduler.allowed-failures`` times); one
    that still cannot finish fails, saying so."""
    from distributed import as_completed

    futures = []
    try:
        futures = client.map(reduce_granule, files, outdir=where, options=options, run=run,
                             pure=False)  # fmt: skip
        sources = {f.key: source_label(p) for f, p in zip(futures, files, strict=True)}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # the task itself was lost (a worker died, ...)
                log_unexpected(log, f"{sources[future.key]} lost on the cluster", err)
                yield GranuleResult(source=sources[future.key], status="failed",
                                    reason=f"lost on the cluster: {one_line(err)}")  # fmt: skip
    finally:
        if futures:
            client.cancel(futures)  # nothing left running on the cluster if interrupted
        if owned:
            client.close()
