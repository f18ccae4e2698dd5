"""Issue #15, what the reducer is given: bad granules, odd paths and odd arguments.

Items 6 (west and east swapped), 7 (malformed but valid HDF5), 8 (a symlink loop),
17 (relative paths with a Dask scheduler) and 21 (a folder without granules, ``-inf``).
"""

from __future__ import annotations

import json
import os
import shutil

import h5py
import numpy as np
import pytest
from attack_support import output_of, run_module

from helpers.granules import BEAMS
from helpers.reduce import RECORDS


def reduce_cli(*args, **kwargs):
    return run_module("helpers.reduce", *args, **kwargs)


def failed_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAILED")]


def _first_beam(f: h5py.File) -> str:
    return next(b for b in BEAMS if b in f)


def _short_h_li(path):
    with h5py.File(path, "r+") as f:
        group = f[f"{_first_beam(f)}/land_ice_segments"]
        h = group["h_li"][()]
        del group["h_li"]
        group["h_li"] = h[: h.size // 2]


def _empty_rgt(path):
    with h5py.File(path, "r+") as f:
        del f["orbit_info/rgt"]
        f.create_dataset("orbit_info/rgt", shape=(0,), dtype="i2")


def _text_h_li(path):
    with h5py.File(path, "r+") as f:
        group = f[f"{_first_beam(f)}/land_ice_segments"]
        n = group["h_li"].size
        del group["h_li"]
        group["h_li"] = np.array([b"high"] * n)


@pytest.fixture()
def malformed(small_sample, tmp_path):
    """Two good granules and three malformed but valid HDF5 ones, in one folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    granules = sorted(small_sample.glob("ATL06_*.h5"))
    for p in granules[:2]:
        shutil.copy(p, folder / p.name)
    bad = {}
    for i, damage in enumerate((_short_h_li, _empty_rgt, _text_h_li)):
        name = f"ATL06_2019010{i + 1}000000_0{i + 1}000310_006_01.h5"
        shutil.copy(granules[2], folder / name)
        damage(folder / name)
        bad[name] = damage.__name__
    return folder, bad


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_malformed_granule_is_named_and_the_rest_go_on(malformed, tmp_path, jobs):  # item 7
    folder, bad = malformed
    out = tmp_path / "out"
    result = reduce_cli(folder, "-o", out, "-n", jobs, "-q")
    assert result.returncode == 1, output_of(result)
    assert "Traceback" not in output_of(result)
    lines = failed_lines(result)
    assert len(lines) == len(bad), result.stdout
    for name in bad:
        assert sum(name in line for line in lines) == 1, (name, lines)
    done = [json.loads(p.read_text()) for p in (out / RECORDS).glob("*.json")]
    assert len(done) == 2 and all(r["status"] == "done" for r in done)


def test_a_symlink_loop_is_one_named_failure(small_sample, tmp_path):  # item 8
    folder = tmp_path / "in"
    folder.mkdir()
    good = sorted(small_sample.glob("ATL06_*.h5"))[0]
    shutil.copy(good, folder / good.name)
    loop = folder / "ATL06_20190101000000_00010310_006_01.h5"
    os.symlink(loop.name, loop)  # points at itself
    for inputs in ([loop, folder / good.name], [folder]):
        result = reduce_cli(*inputs, "-o", tmp_path / "out", "--overwrite", "-q")
        assert result.returncode == 1, output_of(result)
        assert "Traceback" not in output_of(result)
        lines = failed_lines(result)
        assert len(lines) == 1 and loop.name in lines[0], result.stdout
        assert "1 done" in result.stdout


def test_west_and_east_swapped_is_refused_not_read_as_a_huge_box(small_sample, tmp_path):
    # item 6
    swapped = ("-98", "-76", "-102", "-74.5")
    result = reduce_cli(small_sample, "-o", tmp_path / "out", "-b", *swapped, "-q")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "W S E N" in lines[0] and "356" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
    sample = run_module("helpers.sample", "--out", tmp_path / "s", "--bbox", *swapped, "-q")
    assert sample.returncode == 2 and "W S E N" in sample.stderr, output_of(sample)
    # A real box across the antimeridian (W > E, 20° wide) is still taken.
    ross = reduce_cli(small_sample, "-o", tmp_path / "ross", "-b", "170", "-80", "-170", "-78",
                      "-q")  # fmt: skip
    assert ross.returncode == 0, output_of(ross)


def test_relative_inputs_work_on_a_dask_cluster(small_sample, tmp_path):  # item 17
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


def test_a_folder_without_granules_is_an_error(tmp_path):  # item 21
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no granules here")
    result = reduce_cli(empty, "-o", tmp_path / "out", "-q")
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no granules" in lines[0] and str(empty) in lines[0]


def test_negative_numbers_of_any_spelling_are_box_values(small_sample, tmp_path):  # item 21
    infinite = reduce_cli(small_sample, "-o", tmp_path / "a", "-b", "-102", "-76", "-98", "-inf")
    assert infinite.returncode == 2
    assert "expected 4 arguments" not in infinite.stderr
    assert "-inf" in infinite.stderr and "outside" in infinite.stderr, infinite.stderr
    exponent = reduce_cli(small_sample, "-o", tmp_path / "b", "-b", "-1.02e2", "-76", "-98",
                          "-74.5", "-q")  # fmt: skip
    assert exponent.returncode == 0, output_of(exponent)
    plain = reduce_cli(small_sample, "-o", tmp_path / "c", "-b", "-102", "-76", "-98", "-74.5",
                       "-q")  # fmt: skip
    assert exponent.stdout.splitlines()[-1].split(" in ")[0] == \
        plain.stdout.splitlines()[-1].split(" in ")[0]  # fmt: skip
