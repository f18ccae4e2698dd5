"""Malformed but valid HDF5 granules: each fails in one line that names what is wrong, and the
other granules of the run are reduced (issue #15, item 7, the reading side)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from helpers.reduce import reduce_granules

LIS = "gt1l/land_ice_segments"


def _replace(f: h5py.File, path: str, data) -> None:
    del f[path]
    f.create_dataset(path, data=data)


BREAKAGES = {  # name -> (how to break a copy of the reference granule, expected reason)
    "h_li shorter than latitude": (
        lambda f: _replace(f, f"{LIS}/h_li", f[f"{LIS}/h_li"][:-7]),
        "gt1l/land_ice_segments/h_li has 1092 values but latitude has 1099 (truncated?)",
    ),
    "empty orbit_info/rgt": (
        lambda f: _replace(f, "orbit_info/rgt", np.zeros(0, "i2")),
        "orbit_info/rgt is empty (shape (0,))",
    ),
    "text h_li": (
        lambda f: _replace(f, f"{LIS}/h_li", np.full(1099, b"12.5")),
        "gt1l/land_ice_segments/h_li holds text, not numbers",
    ),
    "text orbit_info/cycle_number": (
        lambda f: _replace(f, "orbit_info/cycle_number", np.array([b"20"])),
        "orbit_info/cycle_number holds text, not a number",
    ),
    "2-D delta_time": (
        lambda f: _replace(f, f"{LIS}/delta_time", f[f"{LIS}/delta_time"][:1098].reshape(2, -1)),
        "gt1l/land_ice_segments/delta_time has shape (2, 549), not one value per segment",
    ),
    "latitude is a group": (
        lambda f: (f.__delitem__(f"{LIS}/latitude"), f.create_group(f"{LIS}/latitude")),
        "gt1l/land_ice_segments/latitude is a group, not a dataset",
    ),
    "no core variable in one beam": (
        lambda f: f.__delitem__("gt2r/land_ice_segments/atl06_quality_summary"),
        "missing core variable(s) gt2r: atl06_quality_summary: cannot reduce this granule",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_malformed_granule_fails_in_one_precise_line(reference_granule, tmp_path, breakage):
    damage, reason = BREAKAGES[breakage]
    bad = tmp_path / reference_granule.name
    shutil.copy(reference_granule, bad)
    bad.chmod(0o644)
    with h5py.File(bad, "r+") as f:
        damage(f)
    summary = reduce_granules([bad], tmp_path / "out", progress=False)
    [failed] = summary.failed
    assert failed.reason == reason


def test_malformed_granules_are_named_and_the_others_reduce(reference_granule, real_data,
                                                             tmp_path):  # fmt: skip
    folder = tmp_path / "in"
    folder.mkdir()
    good = real_data / "ATL06_20230816234629_08822013_006_01.h5"
    shutil.copy(good, folder / good.name)
    for i, (damage, _) in enumerate(BREAKAGES.values()):
        # Same granule, another (valid) name for each breakage.
        bad = folder / reference_granule.name.replace("_006_02", f"_006_{i + 10:02d}")
        shutil.copy(reference_granule, bad)
        bad.chmod(0o644)
        with h5py.File(bad, "r+") as f:
            damage(f)
    result = subprocess.run([sys.executable, "-m", "helpers.reduce", str(folder), "-o",
                             str(tmp_path / "out"), "-q"], capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    assert f"{len(BREAKAGES)} failed" in result.stdout
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failures) == len(BREAKAGES)
    for (_, reason), line in zip(BREAKAGES.values(), sorted(failures), strict=True):
        assert line.endswith(reason), line
    assert list((tmp_path / "out").glob(f"{good.stem}_gt1*.h5"))


def test_rgt_found_nowhere_is_named(reference_granule, tmp_path):
    renamed = tmp_path / "my granule.h5"  # a name that does not follow the convention
    shutil.copy(reference_granule, renamed)
    renamed.chmod(0o644)
    with h5py.File(renamed, "r+") as f:
        del f["orbit_info/rgt"]
    [failed] = reduce_granules([renamed], tmp_path / "out", progress=False).failed
    assert failed.reason == (
        "orbit_info/rgt absent, and the file name does not give it "
        "(not ATL06_<time>_<rgt><cycle><region>_<release>_...)"
    )
