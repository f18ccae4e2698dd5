"""Workers lost mid-run (SIGKILL): every granule still ends done exactly once, with the outputs
of a one-process run, whether the workers are joblib's or a real Dask cluster's.

The cluster is what a cloud run looks like, on one machine: ``dask scheduler`` and two
``dask worker`` processes started from the command line, each in its own working and
temporary folder, sharing no output folder; inputs are URLs served by
:class:`helpers.rangeserver.RangeServer` (with an emulated round trip, so that a granule takes
long enough to be caught half-way); outputs go to moto's S3 server. One worker is killed the
moment it takes a granule's lock; the scheduler sends that granule to the other worker, which
waits one lease for the dead worker's lock, takes it over, and replaces what was left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from outputs import assert_same_outputs
from processes import descendants, kill_all, linked_copies
from s3server import client, download, objects

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.rangeserver import RangeServer
from helpers.reduce import RECORDS, ReduceOptions, is_finished, reduce_granules
from helpers.reduce.lease import owner_of
from helpers.workers import available_cpus

#: The ``dask`` command of this environment.
DASK = Path(sys.executable).with_name("dask")
#: Seconds a granule's lock lasts without renewal in these tests (the default is 30).
LEASE_S = 2.0


def _granules(folder) -> list[Path]:
    return sorted(folder.glob("ATL06_*.h5"))


# --------------------------------------------------------------------------- joblib


def test_a_joblib_worker_killed_mid_run_leaves_no_gap_and_no_duplicate(small_sample, tmp_path):
    if available_cpus() < 2:
        pytest.skip("needs 2 CPUs for 2 joblib workers")
    many = tmp_path / "in"
    linked_copies(_granules(small_sample), many, 24)
    out, box = tmp_path / "out", [str(v) for v in PIG_BBOX]
    run = subprocess.Popen([sys.executable, "-m", "helpers.reduce", str(many), "-o", str(out),
                            "-b", *box, "-n", "2", "-q"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list((out / RECORDS).glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = [p for p in descendants(run.pid) if "LokyProcess" in " ".join(_cmdline(p))]
    assert workers, "no joblib worker to kill"
    os.kill(workers[0].pid, signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=120)
    kill_all(workers)
    assert run.returncode == 0, stdout + stderr
    assert "24 granules: 24 done, 0 skipped (already finished), 0 failed" in stdout, stdout
    assert "a worker process died" in stdout and "go to new workers" in stdout
    assert not list(out.glob(".*.partial"))
    reduce_granules([many], tmp_path / "one", ReduceOptions(bbox=BBox(*PIG_BBOX)), n_jobs=1,
                    progress=False)  # fmt: skip
    assert assert_same_outputs(out, tmp_path / "one") > 0


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:
        return []


# --------------------------------------------------------------------------- Dask


def _start(args: list[str], folder: Path, env: dict[str, str]) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "log.txt", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([str(DASK), *args], cwd=folder, env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip


@pytest.fixture()
def cluster(tmp_path, s3_bucket):
    """A scheduler and two workers (no nanny: a killed worker stays dead), each started with
    the ``dask`` command in a folder of its own, with its own TMPDIR; (address, workers)."""
    from distributed import Client

    if not DASK.exists():
        pytest.skip(f"no dask command at {DASK}")
    started: list[subprocess.Popen] = []
    try:
        where = tmp_path / "scheduler"
        started.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(where / "s.json")],
                              where, dict(os.environ)))  # fmt: skip
        address = _address(where / "s.json", started[0])
        for name in ("w1", "w2"):
            home = tmp_path / name
            (home / "tmp").mkdir(parents=True)
            env = {**os.environ, "TMPDIR": str(home / "tmp")}
            args = ["worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                    "--no-dashboard", "--host", "127.0.0.1", "--local-directory",
                    str(home / "dask")]  # fmt: skip
            started.append(_start(args, home, env))
        with Client(address, timeout=30) as probe:
            probe.wait_for_workers(2, timeout=60)
        yield address, started[1:]
    finally:
        for process in started:
            process.kill()
            process.wait(timeout=30)


def _address(scheduler_file: Path, scheduler: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and scheduler.poll() is None:
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise AssertionError("the dask scheduler did not start")


def _kill_when_it_holds_a_lock(s3, bucket: str, prefix: str, victim: subprocess.Popen,
                               after: int) -> str:  # fmt: skip
    """SIGKILL ``victim`` as soon as it holds a granule's lock in the bucket, once ``after``
    granules are finished; that granule."""
    deadline = time.monotonic() + 90
    seen: set[str] = set()
    while time.monotonic() < deadline:
        keys = objects(s3, bucket, f"{prefix}/{RECORDS}/")
        if sum(k.endswith(".json") for k in keys) < after:
            seen.update(keys)  # locks taken before then are not the one
            time.sleep(0.01)
            continue
        for key in keys:
            if not key.endswith(".lock") or key in seen:
                continue
            seen.add(key)
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                continue
            if owner_of(body).split("~")[2] == str(victim.pid):  # host~ns~pid~token
                os.kill(victim.pid, signal.SIGKILL)
                return key.rsplit("/", 1)[-1].removesuffix(".lock")
        time.sleep(0.01)
    raise AssertionError("the worker to kill never held a lock")


def test_a_dask_cluster_that_loses_a_worker_does_every_granule_once(
    small_sample, s3_bucket, moto_s3, cluster, tmp_path
):
    address, (victim, survivor) = cluster
    granules = linked_copies(_granules(small_sample), tmp_path / "in", 12)
    options = ReduceOptions(bbox=BBox(*PIG_BBOX), lease=LEASE_S)
    reduce_granules(granules, tmp_path / "one", options, n_jobs=1, progress=False)
    s3, out = client(moto_s3), f"{s3_bucket}/cluster"
    bucket = s3_bucket.removeprefix("s3://")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    finished: dict = {}
    with RangeServer(tmp_path / "in", latency=0.01) as server:
        urls = [server.url_for(g.name) for g in granules]
        started = time.monotonic()
        run = threading.Thread(target=lambda: finished.update(summary=reduce_granules(
            urls, out, options, scheduler=address, progress=False)), daemon=True)  # fmt: skip
        run.start()
        killed = _kill_when_it_holds_a_lock(s3, bucket, "cluster", victim, after=3)
        run.join(timeout=180)
        seconds = time.monotonic() - started
    summary = finished["summary"]
    by_source = {r.source: r for r in summary.results}
    retried = [r for r in summary.results if any("took over its lock" in n for n in r.notes)]
    print(f"\n{summary.report()}\nkilled while reducing {killed}; retried: "
          f"{[r.source.rsplit('/', 1)[-1] for r in retried]}; {seconds:.1f} s")
    assert victim.wait(timeout=30) == -signal.SIGKILL and survivor.poll() is None
    # Every granule once, done; the killed worker's granule taken over after its lease.
    assert sorted(by_source) == sorted(urls) and len(summary.results) == len(urls)
    assert summary.count("done") == len(urls), summary.report()
    assert [r.source for r in retried] == [server.url_for(f"{killed}.h5")]
    # Each record written exactly once (one version in a versioned bucket), by this run.
    runs = set()
    for granule in granules:
        key = f"cluster/{RECORDS}/{granule.stem}.json"
        versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
        assert len(versions) == 1, f"{granule.stem}: its record was written {len(versions)} times"
        assert is_finished(out, granule.stem)
        runs.add(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["run"])
    assert len(runs) == 1 and runs != {""}
    assert not [k for k in objects(s3, bucket, "cluster/") if k.endswith(".lock")]
    got = download(s3, bucket, "cluster", tmp_path / "got")
    assert assert_same_outputs(got, tmp_path / "one") > 0
