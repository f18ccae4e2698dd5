"""Outputs written to an S3 bucket (``-o s3://bucket/prefix``) keep a local folder's guarantees.

Every test runs against moto's S3 server (a real HTTP server started by the session, with a
fresh bucket per test), and reads what was written back with boto3, never with the code under
test. The reference is always the same granules reduced into a local folder: outputs in the
bucket must equal them, array for array and attribute for attribute.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py
import pytest
from outputs import assert_same_outputs, output_files
from processes import altered_copy, linked_copies, output_of
from s3server import client, download, objects

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.reduce import ReduceOptions, is_finished, reduce_granules
from helpers.reduce.lease import Lease, owner_of
from helpers.reduce.store import open_store
from helpers.workers import available_cpus

#: Keeps some beams of the small sample and none of others.
SMALL_BOX = (-100.0, -75.5, -99.0, -75.0)


def _split(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix


def _granules(folder) -> list:
    return sorted(folder.glob("ATL06_*.h5"))


@pytest.mark.parametrize("fmt, jobs", [("h5", "1"), ("parquet", "2")])
def test_outputs_in_a_bucket_equal_a_local_folder_s_and_records_hold_etags(
    small_sample, s3_bucket, moto_s3, reduce_cli, tmp_path, fmt, jobs
):
    out, local = f"{s3_bucket}/reduced", tmp_path / "local"
    for where in (out, local):  # in the bucket, with joblib's workers too (-n 2)
        done = reduce_cli(small_sample, "-o", where, "-b", *PIG_BBOX, "--format", fmt, "-n",
                          jobs if where == out else "1", "-q")  # fmt: skip
        assert done.returncode == 0, output_of(done)
    n = len(_granules(small_sample))
    assert f"{n} granules: {n} done" in done.stdout
    s3 = client(moto_s3)
    bucket, prefix = _split(out)
    got = download(s3, bucket, prefix, tmp_path / "got")
    assert assert_same_outputs(got, local) > 1000
    stored = objects(s3, bucket, f"{prefix}/")
    # Outputs and records only: no lock, probe or temporary object is left.
    records = {f".reduced/{g.stem}.json" for g in _granules(small_sample)}
    assert {k.removeprefix(f"{prefix}/") for k in stored} == set(output_files(local)) | records
    for granule in _granules(small_sample):
        there = json.loads((got / ".reduced" / f"{granule.stem}.json").read_text())
        here = json.loads((local / ".reduced" / f"{granule.stem}.json").read_text())
        for key in ("input", "options", "outputs", "attrs", "points_kept"):
            assert there[key] == here[key], key
        for name, made in there["output_files"].items():  # the store's ETags, not mtimes
            assert made == {"size": stored[f"{prefix}/{name}"]["Size"],
                            "etag": stored[f"{prefix}/{name}"]["ETag"]}  # fmt: skip
        assert is_finished(out, granule.stem)


def test_credentials_set_after_a_first_run_reach_joblib_s_workers(
    small_sample, s3_bucket, tmp_path, monkeypatch
):
    if available_cpus() < 2:
        pytest.skip("needs 2 CPUs for 2 joblib workers")
    credentials = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    for name in credentials:
        monkeypatch.delenv(name)
    # A first run starts joblib's workers, which joblib keeps, without credentials...
    first = reduce_granules([small_sample], tmp_path / "local", n_jobs=2, progress=False)
    assert first.count("done") == len(_granules(small_sample))
    for name, value in credentials.items():  # ... which are set only now.
        monkeypatch.setenv(name, value)
    summary = reduce_granules([small_sample], f"{s3_bucket}/out", n_jobs=2, progress=False)
    assert summary.count("done") == len(_granules(small_sample)), summary.report()


def test_a_rerun_skips_a_changed_box_or_input_is_refused_and_overwrite_replaces(
    small_sample, s3_bucket, moto_s3, reduce_cli, tmp_path
):
    out, n = f"{s3_bucket}/out", len(_granules(small_sample))
    bucket, _ = _split(out)
    s3 = client(moto_s3)
    assert reduce_cli(small_sample, "-o", out, "-q").returncode == 0
    before = objects(s3, bucket)
    again = reduce_cli(small_sample, "-o", out, "-q")
    assert again.returncode == 0 and f"{n} granules: 0 done, {n} skipped" in again.stdout
    assert objects(s3, bucket) == before  # nothing written again
    refused = reduce_cli(small_sample, "-o", out, "-b", *SMALL_BOX, "-q")
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1, output_of(refused)
    assert "--overwrite" in lines[0] and out in lines[0]
    assert objects(s3, bucket) == before
    # --overwrite with a smaller box: exactly the outputs of a fresh run, none of the old.
    replaced = reduce_cli(small_sample, "-o", out, "-b", *SMALL_BOX, "--overwrite", "-q")
    assert replaced.returncode == 0, output_of(replaced)
    fresh = reduce_cli(small_sample, "-o", tmp_path / "fresh", "-b", *SMALL_BOX, "-q")
    assert fresh.returncode == 0
    assert_same_outputs(download(s3, bucket, "out", tmp_path / "got"), tmp_path / "fresh")
    # Another file of the same name: refused, then replaced with --overwrite.
    other = altered_copy(_granules(small_sample)[0], tmp_path / "altered")
    changed = reduce_cli(other, "-o", out, "-b", *SMALL_BOX, "-q")
    assert changed.returncode == 1 and "come from another file" in changed.stdout
    assert reduce_cli(other, "-o", out, "-b", *SMALL_BOX, "--overwrite", "-q").returncode == 0
    record = json.loads(open_store(out).read_text(f".reduced/{other.stem}.json"))
    assert record["input"]["path"] == str(other)


def test_a_damaged_or_deleted_output_in_the_bucket_is_reduced_again(
    small_sample, small_reduced, s3_bucket, moto_s3, reduce_cli, tmp_path
):
    out = f"{s3_bucket}/out"
    bucket, _ = _split(out)
    s3 = client(moto_s3)
    assert reduce_cli(small_sample, "-o", out, "-b", *PIG_BBOX, "-q").returncode == 0
    keys = sorted(k for k in objects(s3, bucket, "out/ATL06_"))
    s3.delete_object(Bucket=bucket, Key=keys[0])  # the first granule's
    s3.put_object(Bucket=bucket, Key=keys[-1], Body=b"not what was written")  # the last's
    again = reduce_cli(small_sample, "-o", out, "-b", *PIG_BBOX, "-q")
    n = len(_granules(small_sample))
    assert again.returncode == 0 and f"{n} granules: 2 done, {n - 2} skipped" in again.stdout
    assert_same_outputs(download(s3, bucket, "out", tmp_path / "got"), small_reduced)


def _records(s3, bucket: str, prefix: str) -> list[str]:
    return [k for k in objects(s3, bucket, f"{prefix}/.reduced/") if k.endswith(".json")]


def test_a_run_killed_mid_way_leaves_nothing_that_looks_finished(
    small_sample, s3_bucket, moto_s3, reduce_cli, tmp_path
):
    many = tmp_path / "in"
    linked_copies(_granules(small_sample), many, 16)
    out = f"{s3_bucket}/out"
    bucket, prefix = _split(out)
    s3 = client(moto_s3)
    run = subprocess.Popen([sys.executable, "-m", "helpers.reduce", str(many), "-o", out, "-b",
                            *map(str, PIG_BBOX), "--lease", "2", "-q"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_records(s3, bucket, prefix)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    run.kill()
    run.communicate()
    # Whatever is visible is whole, and every record's outputs are there, as written.
    left = objects(s3, bucket, f"{prefix}/")
    for key in (k for k in left if k.endswith(".h5")):
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with h5py.File(io.BytesIO(data)) as f:
            assert f["h_li"].size > 0, key
    finished = _records(s3, bucket, prefix)
    assert 3 <= len(finished) < 16, "the run was not killed mid-way"
    for key in finished:
        assert is_finished(out, key.rsplit("/", 1)[-1].removesuffix(".json"))
    locks = [k for k in left if k.endswith(".lock")]  # the dead run's, if it held one
    again = reduce_cli(many, "-o", out, "-b", *PIG_BBOX, "--lease", "2", "-q")
    assert again.returncode == 0, output_of(again)
    assert f"16 granules: {16 - len(finished)} done, {len(finished)} skipped" in again.stdout
    if locks:  # waited one lease for the dead writer's lock, then took it over
        assert "took over its lock" in again.stdout
    assert not [k for k in objects(s3, bucket, f"{prefix}/") if k.endswith(".lock")]
    reduce_granules([many], tmp_path / "local", ReduceOptions(bbox=BBox(*PIG_BBOX)), n_jobs=2,
                    progress=False)  # fmt: skip
    assert_same_outputs(download(s3, bucket, prefix, tmp_path / "got"), tmp_path / "local")


# --------------------------------------------------------------------------- locks


def test_a_lock_in_a_bucket_waits_for_its_live_holder(s3_bucket):
    store = open_store(f"{s3_bucket}/locks")
    first = Lease(store, "g.lock", 1.0)
    first.acquire()
    second = Lease(store, "g.lock", 1.0)
    taken = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), taken.set()), daemon=True)
    waiter.start()
    try:
        assert not taken.wait(3.0), "taken while its holder was alive and renewing it"
        first.check()  # still ours
    finally:
        first.release()
    assert taken.wait(5.0), "not taken once let go"
    assert not second.notes  # let go, not taken over
    second.check()
    data, _ = store.get("g.lock")
    assert owner_of(data) == second.owner
    second.release()
    assert store.get("g.lock") is None


_HOLDER = """
import sys
from helpers.reduce.lease import Lease, LockLost
from helpers.reduce.store import open_store
from helpers.workers import available_cpus

lease = Lease(open_store(sys.argv[1]), "g.lock", float(sys.argv[2]))
lease.acquire()
print("held", flush=True)
sys.stdin.readline()  # the test says when to go on
try:
    lease.check()
    print("still held", flush=True)
except LockLost as err:
    print("lost:", err, flush=True)
lease.release()
"""


def test_a_stalled_holder_loses_its_lock_to_a_waiter_and_knows_it(s3_bucket):
    where, lease_s = f"{s3_bucket}/locks", 1.5
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, where, str(lease_s)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)  # frozen: it renews no more
        store = open_store(where)
        mine = Lease(store, "g.lock", lease_s)
        started = time.monotonic()
        mine.acquire()
        waited = time.monotonic() - started
        os.kill(holder.pid, signal.SIGCONT)
        holder.stdin.write("\n")
        holder.stdin.flush()
        said = holder.stdout.readline()
        holder.wait(timeout=30)
    finally:
        holder.kill()
    assert waited >= lease_s and mine.notes and "took over its lock" in mine.notes[0]
    assert said.startswith("lost:") and "left to the writer that holds it now" in said, said
    data, _ = store.get("g.lock")  # the stalled writer let go of nothing of ours
    assert owner_of(data) == mine.owner
    mine.check()
    mine.release()


# --------------------------------------------------------------------------- refused places


@pytest.mark.parametrize(
    "outdir, says",
    [
        ("s3:/bucket/out", "looks like a URL but is not one"),
        ("s3:bucket", "looks like a URL but is not one"),
        ("gs://bucket/out", "cannot be written to gs://"),
        ("s3://DUMMYKEYID:SECRETVALUE@bucket/out", "must not carry credentials"),
        ("s3://bucket/out?X-Amz-Signature=SECRETVALUE", "must not carry credentials"),
    ],
)
def test_an_output_place_that_is_no_folder_or_bucket_is_refused(
    small_sample, reduce_cli, tmp_path, outdir, says
):
    result = reduce_cli(small_sample, "-o", outdir, "-q", cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, output_of(result)
    assert says in lines[0]
    assert "SECRETVALUE" not in output_of(result) and "DUMMYKEYID" not in output_of(result)
    assert not list(tmp_path.iterdir())  # no local folder named "s3:" or anything else


def test_a_url_made_into_a_path_is_refused(small_sample, tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="looks like a URL made into a path"):
        reduce_granules([small_sample], Path("s3://bucket/out"), progress=False)
    assert not list(tmp_path.iterdir())


def test_a_bucket_that_does_not_exist_is_refused_before_any_work(
    small_sample, s3_bucket, reduce_cli, tmp_path
):
    result = reduce_cli(small_sample, "-o", "s3://no-such-bucket-here/out", "-q", cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, output_of(result)
    assert "cannot write to s3://no-such-bucket-here/out" in lines[0]
    assert "bucket does not exist" in lines[0]


def test_credentials_reach_no_output_record_or_message_and_failures_are_recorded(
    small_sample, s3_bucket, moto_s3, reduce_cli, tmp_path, monkeypatch
):
    import s3fs

    key, secret = "DUMMYKEYID0123", "dummy/secret+0123456789"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    s3fs.S3FileSystem.clear_instance_cache()
    good, broken = _granules(small_sample)[0], tmp_path / "broken" / _granules(small_sample)[1].name
    broken.parent.mkdir()
    broken.write_bytes(_granules(small_sample)[1].read_bytes()[:5000])  # truncated
    out = f"{s3_bucket}/out"
    result = reduce_cli(good, broken, "-o", out, "--debug")
    assert result.returncode == 1 and "1 done" in result.stdout and "1 failed" in result.stdout
    bucket, _ = _split(out)
    got = download(client(moto_s3), bucket, "out", tmp_path / "got")
    failure = json.loads((got / ".reduced" / "failures" / f"{broken.stem}.json").read_text())
    assert failure["source"] == str(broken) and failure["reason"]
    everything = [output_of(result)] + [p.read_bytes().decode("latin-1")
                                        for p in got.rglob("*") if p.is_file()]  # fmt: skip
    for text in everything:
        assert key not in text and secret not in text and "dummy/secret" not in text
    # Fixed (the granule itself under that name), it is done and its failure record goes.
    shutil.copy(_granules(small_sample)[1], broken)
    assert reduce_cli(broken, "-o", out, "-q").returncode == 0
    assert open_store(out).read_text(f".reduced/failures/{broken.stem}.json") is None


# ------------------------------------------------------------------ what a lost writer leaves


def test_what_a_dead_writer_left_is_taken_over_and_replaced(
    small_sample, small_reduced, s3_bucket, moto_s3, tmp_path
):
    from helpers.reduce import reduce_granule
    from helpers.reduce.lease import lock_body

    granule = _granules(small_sample)[1]  # it has no gt3 beam
    stem, out = granule.stem, f"{s3_bucket}/out"
    bucket, _ = _split(out)
    s3 = client(moto_s3)
    # A writer killed half-way through: its lock, an output of another version, an output
    # that this reduction will not write, and no record.
    s3.put_object(Bucket=bucket, Key=f"out/.reduced/{stem}.lock",
                  Body=lock_body("elsewhere~1~999~dead", 1.0, 0))  # fmt: skip
    s3.put_object(Bucket=bucket, Key=f"out/{stem}_gt1l.h5",
                  Body=(small_reduced / f"{_granules(small_sample)[0].stem}_gt1l.h5").read_bytes())
    s3.put_object(Bucket=bucket, Key=f"out/{stem}_gt3r.h5", Body=b"left by the dead writer")
    started = time.monotonic()
    result = reduce_granule(granule, out, ReduceOptions(bbox=BBox(*PIG_BBOX), lease=1.0))
    assert result.status == "done", result.reason
    assert time.monotonic() - started >= 1.0 and "took over its lock" in result.notes[0]
    got = download(s3, bucket, "out", tmp_path / "got")
    want = tmp_path / "want"
    want.mkdir()
    for path in small_reduced.glob(f"{stem}_*.h5"):
        shutil.copy(path, want)
    assert_same_outputs(got, want)  # gt1l replaced, gt3r gone
    assert not [k for k in objects(s3, bucket) if k.endswith(".lock")]


def test_a_granule_finished_by_a_lost_worker_of_this_run_counts_as_done_once(
    small_sample, s3_bucket, moto_s3
):
    from helpers.reduce import reduce_granule

    granule, out = _granules(small_sample)[0], f"{s3_bucket}/out"
    bucket, _ = _split(out)
    s3 = client(moto_s3)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    options = ReduceOptions(bbox=BBox(*PIG_BBOX))
    first = reduce_granule(granule, out, options, run="run-1")
    before = objects(s3, bucket)
    # Its worker was lost before it reported: the scheduler runs the task again.
    again = reduce_granule(granule, out, options, run="run-1")
    assert again.status == "done" and again.points_kept == first.points_kept > 0
    assert again.outputs == first.outputs and "lost before it reported" in again.notes[-1]
    assert objects(s3, bucket) == before  # nothing written again
    key = f"out/.reduced/{granule.stem}.json"
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1
    # Another run finds it finished: skipped, as ever.
    assert reduce_granule(granule, out, options, run="run-2").status == "skipped"
