"""The command line: help, bad arguments, re-runs, full granules."""

from __future__ import annotations

import h5py
import pytest

from helpers.granules import BEAMS


def test_help_explains_every_option(cli):
    out = cli("helpers.sample", "-h")
    assert out.returncode == 0
    for option in (
        "--out",
        "--bbox",
        "--start",
        "--end",
        "--seed",
        "--rgts",
        "--all-rgts",
        "--full",
        "--max-granules",
        "--margin-km",
        "--jobs",
        "--force",
    ):
        assert option in out.stdout
    assert "SYNTHETIC" in out.stdout


@pytest.mark.parametrize("args, words", [
    (["--bbox", "-102", "-74.5", "-98", "-76"], "inverted"),
    (["--start", "2017-01-01", "--end", "2017-06-01"], "outside the ICESat-2 mission"),
    (["--start", "2019-06-01", "--end", "2019-01-01"], "after end date"),
    (["--end", "2999-01-01"], "outside the ICESat-2 mission"),
])  # fmt: skip
def test_bad_arguments_fail_in_one_line_and_write_nothing(tmp_path, args, words, cli):
    out_dir = tmp_path / "out"
    result = cli("helpers.sample", "--out", str(out_dir), *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_unwritable_output_folder_fails_cleanly(tmp_path, cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = cli("helpers.sample", "--out", str(blocker / "sample"), "--max-granules", "1", "-q")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to output folder" in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_rerun_is_a_no_op_and_full_granules_are_big(tmp_path, cli):
    args = ("--out", str(tmp_path), "--full", "--max-granules", "1", "--rgts", "1", "-q")
    first = cli("helpers.sample", *args)
    assert first.returncode == 0, first.stderr
    assert "wrote 1 synthetic granules" in first.stdout
    files = list(tmp_path.glob("ATL06_*.h5"))
    assert len(files) == 1
    with h5py.File(files[0]) as f:
        sizes = [f[f"{b}/land_ice_segments/h_li"].size for b in BEAMS if b in f]
    assert max(sizes) > 100_000  # a whole granule, not a subset
    mtime = files[0].stat().st_mtime_ns
    second = cli("helpers.sample", *args)
    assert second.returncode == 0 and "already complete" in second.stdout
    assert files[0].stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".*partial"))
