"""Bad inputs are named and skipped; interrupted runs leave nothing that looks finished."""

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

from helpers.bbox import BBox
from helpers.granules import BEAMS
from helpers.reduce import OUTPUT_VARIABLES, RECORDS, ReduceOptions, reduce_granules


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "helpers.reduce", *map(str, args)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture()
def mixed_inputs(small_sample, tmp_path):
    """Two good granules and one of each kind of bad input, in one folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    good = sorted(small_sample.glob("ATL06_*.h5"))
    for p in good[:2]:
        shutil.copy(p, folder / p.name)
    # Truncated: the first 100 kB of a granule.
    (folder / "ATL06_20190101000000_00010110_006_01.h5").write_bytes(good[2].read_bytes()[:100_000])
    # Not HDF5 at all.
    (folder / "ATL06_20190102000000_00020110_006_01.h5").write_text("<html>login page</html>")
    # Another product.
    with h5py.File(folder / "ATL03_20190103000000_00030110_006_01.h5", "w") as f:
        f.attrs["short_name"] = np.bytes_("ATL03")
        f.create_group("gt1l/heights")
    # A beam with no valid point: flag every segment of gt1l.
    flagged = folder / good[3].name
    shutil.copy(good[3], flagged)
    with h5py.File(flagged, "r+") as f:
        beam = next(b for b in BEAMS if b in f)
        f[f"{beam}/land_ice_segments/atl06_quality_summary"][...] = 1
    return folder, beam


def test_each_bad_input_gets_one_line_and_the_rest_is_reduced(mixed_inputs, tmp_path):
    folder, flagged_beam = mixed_inputs
    out = tmp_path / "out"
    result = run_cli(folder, "-o", out, "-q")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()

    def lines_about(name):
        return [line for line in lines if name in line]

    truncated = lines_about("00010110")
    assert any("not a readable HDF5 file" in line for line in truncated), truncated
    assert any("not a readable HDF5 file" in line for line in lines_about("00020110"))
    assert any("ATL03" in line and "not an ATL06 granule" in line
               for line in lines_about("ATL03_"))  # fmt: skip
    assert any(f"{flagged_beam}: no valid point" in line for line in lines)
    assert "3 failed" in result.stdout
    # The failures are listed at the end.
    tail = "\n".join(result.stdout.splitlines()[-3:])
    assert tail.count("FAILED") == 3
    # The good granules (and the good beams of the flagged one) were reduced.
    records = [json.loads(p.read_text()) for p in (out / RECORDS).glob("*.json")]
    assert len(records) == 3 and all(r["status"] == "done" for r in records)
    assert len(list(out.glob("*.h5"))) >= 12


def test_empty_intersection_is_a_note_not_a_failure(small_sample, tmp_path):
    granule = sorted(small_sample.glob("ATL06_*.h5"))[0]
    far_away = BBox(10, -70, 20, -65)
    summary = reduce_granules([granule], tmp_path, ReduceOptions(bbox=far_away), progress=False)
    assert summary.count("done") == 1 and not summary.failed
    assert summary.points_kept == 0
    assert not list(tmp_path.glob("*.h5"))
    assert all("no valid point inside the bbox" in n for n in summary.results[0].notes)


def test_missing_file_is_named(tmp_path):
    result = run_cli(tmp_path / "nope_ATL06.h5", "-o", tmp_path / "out", "-q")
    assert result.returncode == 1
    assert "nope_ATL06.h5" in result.stdout and "file not found" in result.stdout


def test_bad_command_line_arguments_fail_in_one_line(small_sample, tmp_path):
    for args in (["-b", "-102", "-74", "-98", "-76"], ["-n", "0"], ["--format", "csv"]):
        result = run_cli(small_sample, "-o", tmp_path / "o", *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
    inverted = run_cli(small_sample, "-o", tmp_path / "o", "-b", "-102", "-74", "-98", "-76")
    assert "inverted" in inverted.stderr
    into_input = run_cli(small_sample, "-o", small_sample)
    assert into_input.returncode == 2 and "holds input granules" in into_input.stderr


@pytest.fixture(scope="module")
def full_granules(tmp_path_factory):
    from helpers.synthetic.sample import SampleConfig, generate_sample

    folder = tmp_path_factory.mktemp("full")
    generate_sample(folder, SampleConfig(full=True, rgts=2, max_granules=3), n_jobs=2,
                    progress=False)  # fmt: skip
    return folder


def _snapshot(folder):
    return {p.name: {k: h5py.File(p)[k][()] for k in OUTPUT_VARIABLES}
            for p in sorted(folder.glob("*.h5"))}  # fmt: skip


def test_a_killed_run_leaves_nothing_that_looks_finished(full_granules, tmp_path):
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
    again = run_cli(full_granules, "-o", out, "-q")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skipped" in again.stdout
    got, want = _snapshot(out), _snapshot(reference)
    assert got.keys() == want.keys()
    for name in want:
        for var in OUTPUT_VARIABLES:
            np.testing.assert_array_equal(got[name][var], want[name][var])
    assert not list(out.glob(".*.partial"))  # the re-run cleaned up the killed run's leftovers


def test_dask_cluster_gives_the_same_outputs(small_sample, tmp_path):
    from distributed import LocalCluster

    local = tmp_path / "joblib"
    reduce_granules([small_sample], local, n_jobs=2, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        remote = tmp_path / "dask"
        summary = reduce_granules([small_sample], remote, scheduler=cluster.scheduler_address,
                                  progress=False)  # fmt: skip
        assert summary.count("done") == len(list(small_sample.glob("ATL06_*.h5")))
        cli = run_cli(small_sample, "-o", tmp_path / "dask_cli", "--scheduler",
                      cluster.scheduler_address, "-q")  # fmt: skip
        assert cli.returncode == 0, cli.stderr
    for folder in (remote, tmp_path / "dask_cli"):
        got, want = _snapshot(folder), _snapshot(local)
        assert got.keys() == want.keys()
        for name in want:
            np.testing.assert_array_equal(got[name]["h_li"], want[name]["h_li"])
            np.testing.assert_array_equal(got[name]["t_year"], want[name]["t_year"])


def test_help_and_console_script():
    result = run_cli("-h")
    assert result.returncode == 0
    for option in ("-o", "-b", "-n", "--format", "--overwrite", "--scheduler", "--force"):
        assert option in result.stdout
    script = shutil.which("readatl06", path=os.path.dirname(sys.executable))
    assert script, "console script readatl06 not installed next to the interpreter"
    assert subprocess.run([script, "-h"], capture_output=True).returncode == 0


def test_a_connected_client_works_as_the_scheduler(small_sample, tmp_path):
    from distributed import Client, LocalCluster

    files = sorted(small_sample.glob("ATL06_*.h5"))[:2]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        summary = reduce_granules(files, tmp_path, scheduler=client, progress=False)
        assert summary.count("done") == 2
        assert client.status == "running"  # a client we were given is left open
