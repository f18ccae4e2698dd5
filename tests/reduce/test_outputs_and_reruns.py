"""What an output folder holds: nothing mixed, nothing skipped that should not be.

Runs into a folder that already holds outputs (another box or format is refused unless
``--overwrite``, which leaves nothing old behind; a second input of the same name is never
skipped); writing errors and full disks; temporary names across PID namespaces; a damaged
output noticed and redone on re-run; a run killed with SIGKILL leaves nothing that looks
finished, and a re-run finishes the job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from processes import (
    altered_copy,
    fill_disk,
    linked_copies,
    output_of,
    tmpfs,
)

from helpers.fileio import atomic_path
from helpers.load import find_reduced, open_reduced
from helpers.reduce import OUTPUT_VARIABLES, RECORDS, ReduceOptions, reduce_granules

#: A box that keeps some beams of the small sample and none of others.
SMALL_BOX = (-100.0, -75.5, -99.0, -75.0)



def points(folder, columns=("lon", "lat")):
    return open_reduced(folder, columns=list(columns)).compute()


def test_overwrite_with_a_smaller_box_or_another_format_leaves_no_old_output(
    small_sample, tmp_path, reduce_cli
):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert reduce_cli(small_sample, "-o", out, "-q").returncode == 0
    again = reduce_cli(small_sample, "-o", out, "-b", *SMALL_BOX, "--overwrite", "-q")
    assert again.returncode == 0, output_of(again)
    assert reduce_cli(small_sample, "-o", fresh, "-b", *SMALL_BOX, "-q").returncode == 0
    got, want = points(out), points(fresh)
    assert len(want) > 1000
    assert len(got) == len(want)
    west, south, east, north = SMALL_BOX
    assert got.lon.between(west, east).all() and got.lat.between(south, north).all()
    # Parquet over HDF5: every point once, in Parquet only.
    parquet = reduce_cli(small_sample, "-o", out, "-b", *SMALL_BOX, "--format", "parquet",
                         "--overwrite", "-q")  # fmt: skip
    assert parquet.returncode == 0, output_of(parquet)
    assert {p.suffix for p in find_reduced(out)} == {".parquet"}
    assert len(points(out)) == len(want)


def test_a_changed_box_or_format_without_overwrite_is_refused(small_sample, tmp_path, reduce_cli):
    out = tmp_path / "out"
    assert reduce_cli(small_sample, "-o", out, "-q").returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    for args in (["-b", *SMALL_BOX], ["--format", "parquet"]):
        result = reduce_cli(small_sample, "-o", out, *args, "-q")
        assert result.returncode == 2, (args, output_of(result))
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "--overwrite" in lines[0], result.stderr
        assert "skipped" not in result.stdout
    after = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing removed


def test_a_second_input_with_the_same_name_is_never_skipped(small_sample, tmp_path, reduce_cli):
    granule = sorted(small_sample.glob("ATL06_*.h5"))[0]
    first = tmp_path / "a" / granule.name
    first.parent.mkdir()
    shutil.copy(granule, first)
    other = altered_copy(granule, tmp_path / "b")  # same name, other heights
    same = tmp_path / "c" / granule.name
    same.parent.mkdir()
    shutil.copy(granule, same)  # same name, same content
    # In one run: the second cannot share the folder, and says why.
    out = tmp_path / "one_run"
    both = reduce_cli(first, other, "-o", out, "-q")
    assert both.returncode == 1
    failed = [line for line in both.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and str(other) in failed[0] and str(first) in failed[0], both.stdout
    # A plain copy is the same granule: reduced once.
    copies = reduce_cli(first, same, "-o", tmp_path / "copies", "-q")
    assert copies.returncode == 0 and "1 done, 1 skipped" in copies.stdout, output_of(copies)
    # In two runs: the second is refused, and replaces the first with --overwrite.
    out = tmp_path / "two_runs"
    assert reduce_cli(first, "-o", out, "-q").returncode == 0
    h_first = points(out, ["h_li"]).h_li.to_numpy()
    second = reduce_cli(other, "-o", out, "-q")
    assert second.returncode == 1 and "skipped" not in second.stdout.splitlines()[-2]
    assert "--overwrite" in second.stdout and str(other) in second.stdout
    replaced = reduce_cli(other, "-o", out, "--overwrite", "-q")
    assert replaced.returncode == 0, output_of(replaced)
    h_other = points(out, ["h_li"]).h_li.to_numpy()
    np.testing.assert_allclose(np.sort(h_other), np.sort(h_first) + 100.0, atol=1e-2)


def test_a_damaged_output_is_noticed_and_redone_on_rerun(small_sample, tmp_path):
    out = tmp_path / "out"
    for fmt in ("h5", "parquet"):
        options = ReduceOptions(fmt=fmt, overwrite=True)
        reduce_granules([small_sample], out, options, progress=False)
        want = len(points(out))
        victims = find_reduced(out)[:2]
        with open(victims[0], "r+b") as f:  # truncated
            f.truncate(victims[0].stat().st_size // 2)
        with open(victims[1], "r+b") as f:  # bytes overwritten in the middle, same size
            f.seek(victims[1].stat().st_size // 2)
            f.write(b"\xff" * 64)
        again = reduce_granules([small_sample], out, ReduceOptions(fmt=fmt), progress=False)
        assert again.count("done") == len({v.name.split("_gt")[0].removesuffix(".parquet")
                                           for v in victims}), fmt  # fmt: skip
        assert not again.failed
        assert len(points(out)) == want


def test_an_output_folder_that_cannot_be_written_is_named_once(small_sample, tmp_path, reduce_cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for outdir in (blocker, blocker / "below"):
        result = reduce_cli(small_sample, "-o", outdir, "-q")
        assert result.returncode == 2, output_of(result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write" in lines[0] and str(blocker) in lines[0]
        assert "read error" not in output_of(result)
    with tmpfs(tmp_path / "ro", read_only=True) as read_only:
        result = reduce_cli(small_sample, "-o", read_only, "-q")
        assert result.returncode == 2, output_of(result)
        assert "cannot write" in result.stderr and "Read-only file system" in result.stderr
        assert "read error" not in output_of(result)


def test_a_full_disk_is_a_writing_error_and_nothing_counts_as_kept(small_sample, tmp_path,
                                                                     reduce_cli):  # fmt: skip
    with tmpfs(tmp_path / "disk") as disk:
        out = disk / "out"
        out.mkdir()
        fill_disk(disk)
        result = reduce_cli(small_sample, "-o", out, "-q")
        assert result.returncode == 1, output_of(result)  # not a crash (139 = SIGSEGV)
        assert "Traceback" not in output_of(result)
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
        assert len(failed) == len(list(small_sample.glob("ATL06_*.h5")))
        for line in failed:
            assert "cannot write" in line and "No space left on device" in line, line
            assert "read error" not in line
        assert " 0 kept" in result.stdout
        assert not [p for p in out.rglob("*") if p.is_file() and p.suffix != ".lock"]


def test_temporary_names_differ_between_writers_with_the_same_pid(tmp_path):
    target = tmp_path / "x.h5"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_bytes(b"1")
        second.write_bytes(b"2")
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: PID namespaces not tried")
    code = ("import os, sys; from helpers.fileio import atomic_path\n"
            "with atomic_path(sys.argv[1]) as t:\n"
            "    t.write_text('x'); print(os.getpid(), t.name)\n")  # fmt: skip
    names = []
    for _ in range(2):
        run = subprocess.run(["unshare", "-p", "-f", "--mount-proc", sys.executable, "-c", code,
                              str(target)], capture_output=True, text=True)  # fmt: skip
        if run.returncode != 0 and "Operation not permitted" in run.stderr:
            pytest.skip(f"PID namespaces not permitted here: {run.stderr.strip()}")
        assert run.returncode == 0, run.stderr
        pid, name = run.stdout.split()
        assert pid == "1"  # the same pid in both namespaces, as in two containers
        names.append(name)
    assert names[0] != names[1]


def test_reducers_in_separate_pid_namespaces_share_a_folder(small_sample, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: PID namespaces not tried")
    inputs = linked_copies(sorted(small_sample.glob("ATL06_*.h5")), tmp_path / "in", 12)
    out = tmp_path / "out"
    command = ["unshare", "-p", "-f", "--mount-proc", sys.executable, "-m", "helpers.reduce",
               str(inputs[0].parent), "-o", str(out), "--overwrite", "-q"]  # fmt: skip
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=os.getcwd()) for _ in range(3)]  # fmt: skip
    results = [(*p.communicate(timeout=300), p.returncode) for p in runs]
    for stdout, stderr, rc in results:
        if rc != 0 and "Operation not permitted" in stderr:
            pytest.skip(f"PID namespaces not permitted here: {stderr.strip()}")
        assert rc == 0, stdout + stderr
        assert "read error" not in stdout + stderr
    records = list((out / RECORDS).glob("*.json"))
    assert len(records) == len(inputs)
    for record in records:
        for name in json.loads(record.read_text())["outputs"]:
            with h5py.File(out / name) as f:
                assert f["h_li"].size > 0
    assert not list(out.glob(".*.partial"))


@pytest.fixture(scope="module")
def full_granules(full_three):
    return full_three


def _snapshot(folder):
    return {p.name: {k: h5py.File(p)[k][()] for k in OUTPUT_VARIABLES}
            for p in sorted(folder.glob("*.h5"))}  # fmt: skip


def test_a_killed_run_leaves_nothing_that_looks_finished(full_granules, tmp_path, reduce_cli):
    reference = tmp_path / "reference"
    reduce_granules([full_granules], reference, progress=False)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "helpers.reduce", str(full_granules),
                             "-o", str(out), "-q"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    # Kill it hard while it is writing (a partial file exists) and some work remains.
    while time.monotonic() < deadline and proc.poll() is None:
        if list(out.glob(".*.partial")):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    # Every record lists complete outputs; nothing else claims to be finished.
    for record in (out / RECORDS).glob("*.json"):
        for name in json.loads(record.read_text())["outputs"]:
            with h5py.File(out / name) as f:
                assert set(f) == set(OUTPUT_VARIABLES)
    finished = {p.stem for p in (out / RECORDS).glob("*.json")}
    assert len(finished) < 3
    # A re-run finishes the job and gives exactly the outputs of an uninterrupted run.
    again = reduce_cli(full_granules, "-o", out, "-q")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skipped" in again.stdout
    got, want = _snapshot(out), _snapshot(reference)
    assert got.keys() == want.keys()
    for name in want:
        for var in OUTPUT_VARIABLES:
            np.testing.assert_array_equal(got[name][var], want[name][var])
    assert not list(out.glob(".*.partial"))  # the re-run cleaned up the killed run's leftovers
