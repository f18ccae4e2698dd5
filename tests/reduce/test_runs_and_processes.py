"""Many granules in processes: no hang, no runaway workers, no swallowed Ctrl-C, no orphans.

A scheduler address that is not one fails fast; ``-n 1000`` starts no more workers than
CPUs; Ctrl-C stops the run (even when a finalizer swallows it) and leaves no worker; the
parent killed takes its workers with it. On Dask (a cluster's address, relative inputs, a
connected client) the outputs are those of joblib.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from processes import alive, descendants, kill_all, linked_copies, output_of

from helpers.reduce import OUTPUT_VARIABLES, RECORDS, reduce_granules
from helpers.workers import available_cpus, worker_count


@pytest.fixture(scope="module")
def many_granules(small_sample, tmp_path_factory):
    """150 granules (hard links to the small sample's): a run of several seconds."""
    folder = tmp_path_factory.mktemp("many")
    linked_copies(sorted(small_sample.glob("ATL06_*.h5")), folder / "in", 150)
    return folder / "in"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def silent_server():
    """A TCP port that accepts connections and never says a word (not a Dask scheduler)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for conn in held:
        conn.close()


def test_a_closed_scheduler_port_fails_fast_in_one_line(small_sample, tmp_path, reduce_cli):
    started = time.monotonic()
    result = reduce_cli(small_sample, "-o", tmp_path / "out", "--scheduler",
                        f"tcp://127.0.0.1:{_closed_port()}", "-q")  # fmt: skip
    assert time.monotonic() - started < 20
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Dask scheduler" in lines[0] and "127.0.0.1" in lines[0], lines


def test_a_port_that_is_not_a_scheduler_times_out(small_sample, tmp_path, silent_server):

    started = time.monotonic()
    with pytest.raises(ValueError, match="no Dask scheduler answered") as err:
        reduce_granules([small_sample], tmp_path / "out", scheduler=silent_server,
                        progress=False, scheduler_timeout=2)  # fmt: skip
    assert time.monotonic() - started < 15
    assert "\n" not in str(err.value) and silent_server in str(err.value)


def test_worker_count_is_capped_by_the_cpus_and_the_work():
    cpus = available_cpus()
    assert cpus == len(os.sched_getaffinity(0))
    assert worker_count(1000, 6) == min(6, cpus)
    assert worker_count(1000, 1) == 1
    assert worker_count(1, 100) == 1


def test_a_thousand_jobs_start_no_more_workers_than_cpus(many_granules, tmp_path):
    twelve = sorted(many_granules.glob("ATL06_*.h5"))[:12]
    proc = subprocess.Popen([sys.executable, "-m", "helpers.reduce", *map(str, twelve), "-o",
                             str(tmp_path / "out"), "-n", "1000", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    most, seen = 0, []
    while proc.poll() is None:
        below = descendants(proc.pid)
        seen.extend(below)
        # Workers at the same time (loky may replace one; short-lived helpers do not count).
        most = max(most, sum("LokyProcess" in " ".join(_cmdline(p)) for p in below
                             if _parent(p) == proc.pid))  # fmt: skip
        time.sleep(0.05)
    out, err = proc.communicate()
    kill_all(seen)
    assert proc.returncode == 0, out + err
    assert 0 < most <= available_cpus(), most


def _parent(process) -> int | None:
    import psutil

    try:
        return process.ppid()
    except psutil.Error:
        return None


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _interrupt_when(path, out, jobs, finished, signo=signal.SIGINT):
    """Start a reducer in its own session; once ``finished`` granules are recorded, send
    ``signo`` to the whole group, as a terminal's Ctrl-C does."""
    proc = subprocess.Popen([sys.executable, "-m", "helpers.reduce", str(path), "-o", str(out),
                             "-n", jobs, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / RECORDS).glob("*.json"))) >= finished:
            break
        time.sleep(0.01)
    below = descendants(proc.pid)
    os.killpg(proc.pid, signo)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, stdout, stderr, below


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_the_run_with_a_nonzero_exit_and_no_orphans(many_granules, tmp_path, jobs):
    # (the swallowed-interrupt case is tested deterministically below)
    for trial, finished in enumerate((1, 20)):
        out = tmp_path / f"out{trial}"
        rc, stdout, stderr, below = _interrupt_when(many_granules, out, jobs, finished)
        time.sleep(1.0)
        left = alive(below)
        kill_all(below)
        assert rc == 130, (finished, rc, stdout, stderr)
        # The run's last word (a worker still starting may print its own interrupted import).
        assert stderr.strip().splitlines()[-1].startswith("interrupted"), stderr
        assert not left, f"workers left running after Ctrl-C: {left}"
        assert len(list((out / RECORDS).glob("*.json"))) < 150


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_by_a_finalizer_still_stops_the_run(small_sample, tmp_path):
    # Python ignores an exception raised inside __del__ or a weakref callback (it
    # prints "Exception ignored in ..."); a Ctrl-C that lands there must not be lost.
    class InterruptedWhileFinalizing:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)

    def echo(line):
        InterruptedWhileFinalizing()  # collected at once: the interrupt lands in __del__

    files = sorted(small_sample.glob("ATL06_*.h5"))
    with pytest.raises(KeyboardInterrupt):
        reduce_granules(files, tmp_path, progress=False, echo=echo)


def test_killing_the_parent_leaves_no_worker_behind(many_granules, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "helpers.reduce", str(many_granules), "-o",
                             str(tmp_path / "out"), "-n", "2", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    below = []
    while time.monotonic() < deadline and len(below) < 3 and proc.poll() is None:
        below = descendants(proc.pid)
        time.sleep(0.05)
    time.sleep(0.5)
    below = descendants(proc.pid)
    assert proc.poll() is None and below, "the run ended before workers could be seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(below):
        time.sleep(0.1)
    left = alive(below)
    kill_all(below)
    assert not left, f"{len(left)} processes outlived their killed parent"


# --------------------------------------------------------------------------- Dask


def _snapshot(folder):
    return {p.name: {k: h5py.File(p)[k][()] for k in OUTPUT_VARIABLES}
            for p in sorted(folder.glob("*.h5"))}  # fmt: skip


def test_dask_cluster_gives_the_same_outputs(small_sample, tmp_path, reduce_cli):
    from distributed import LocalCluster

    local = tmp_path / "joblib"
    reduce_granules([small_sample], local, n_jobs=2, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        remote = tmp_path / "dask"
        summary = reduce_granules([small_sample], remote, scheduler=cluster.scheduler_address,
                                  progress=False)  # fmt: skip
        assert summary.count("done") == len(list(small_sample.glob("ATL06_*.h5")))
        cli = reduce_cli(small_sample, "-o", tmp_path / "dask_cli", "--scheduler",
                      cluster.scheduler_address, "-q")  # fmt: skip
        assert cli.returncode == 0, cli.stderr
    for folder in (remote, tmp_path / "dask_cli"):
        got, want = _snapshot(folder), _snapshot(local)
        assert got.keys() == want.keys()
        for name in want:
            np.testing.assert_array_equal(got[name]["h_li"], want[name]["h_li"])
            np.testing.assert_array_equal(got[name]["t_year"], want[name]["t_year"])


def test_relative_inputs_work_on_a_dask_cluster(small_sample, tmp_path, reduce_cli):
    from distributed import LocalCluster

    work = tmp_path / "work"
    shutil.copytree(small_sample, work / "in")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        # The workers' working directory is this test's, not the command's.
        result = reduce_cli("in", "-o", "out", "--scheduler", cluster.scheduler_address, "-q",
                            cwd=work)  # fmt: skip
    assert result.returncode == 0, output_of(result)
    n = len(list((work / "in").glob("ATL06_*.h5")))
    assert f"{n} granules: {n} done" in result.stdout


def test_a_connected_client_works_as_the_scheduler(small_sample, tmp_path):
    from distributed import Client, LocalCluster

    files = sorted(small_sample.glob("ATL06_*.h5"))[:2]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        summary = reduce_granules(files, tmp_path, scheduler=client, progress=False)
        assert summary.count("done") == 2
        assert client.status == "running"  # a client we were given is left open
