"""Bad inputs: each is named in one line, and the rest of the run is reduced.

Files that are not HDF5, are truncated or are another product; malformed but valid HDF5
granules (each fails in one line that names what is wrong); a missing file, a symlink loop,
a folder without granules; and bad arguments (an inverted box, west and east swapped, an
output folder that holds the inputs), refused before anything is written. A box that misses
every track is a note, not a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
from processes import output_of

from helpers.bbox import BBox
from helpers.granules import BEAMS
from helpers.reduce import RECORDS, ReduceOptions, reduce_granules

LIS = "gt1l/land_ice_segments"


def failed_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAILED")]


# --------------------------------------------------------------------------- not a granule


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


def test_each_bad_input_gets_one_line_and_the_rest_is_reduced(mixed_inputs, tmp_path, reduce_cli):
    folder, flagged_beam = mixed_inputs
    out = tmp_path / "out"
    result = reduce_cli(folder, "-o", out, "-q")
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


def test_missing_file_is_named(tmp_path, reduce_cli):
    result = reduce_cli(tmp_path / "nope_ATL06.h5", "-o", tmp_path / "out", "-q")
    assert result.returncode == 1
    assert "nope_ATL06.h5" in result.stdout and "file not found" in result.stdout


def test_bad_command_line_arguments_fail_in_one_line(small_sample, tmp_path, reduce_cli):
    for args in (["-b", "-102", "-74", "-98", "-76"], ["-n", "0"], ["--format", "csv"]):
        result = reduce_cli(small_sample, "-o", tmp_path / "o", *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
    inverted = reduce_cli(small_sample, "-o", tmp_path / "o", "-b", "-102", "-74", "-98", "-76")
    assert "inverted" in inverted.stderr
    into_input = reduce_cli(small_sample, "-o", small_sample)
    assert into_input.returncode == 2 and "holds input granules" in into_input.stderr



# --------------------------------------------------------------------------- malformed HDF5


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
                                                             tmp_path, reduce_cli):  # fmt: skip
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
    result = reduce_cli(folder, "-o", tmp_path / "out", "-q")
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
def test_a_malformed_granule_is_named_and_the_rest_go_on(malformed, tmp_path, jobs, reduce_cli):
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


def test_a_symlink_loop_is_one_named_failure(small_sample, tmp_path, reduce_cli):
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


def test_west_and_east_swapped_is_refused_not_read_as_a_huge_box(small_sample, tmp_path,
                                                                   reduce_cli, cli):  # fmt: skip
    swapped = ("-98", "-76", "-102", "-74.5")
    result = reduce_cli(small_sample, "-o", tmp_path / "out", "-b", *swapped, "-q")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "W S E N" in lines[0] and "356" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
    sample = cli("helpers.sample", "--out", tmp_path / "s", "--bbox", *swapped, "-q")
    assert sample.returncode == 2 and "W S E N" in sample.stderr, output_of(sample)
    # A real box across the antimeridian (W > E, 20° wide) is still taken.
    ross = reduce_cli(small_sample, "-o", tmp_path / "ross", "-b", "170", "-80", "-170", "-78",
                      "-q")  # fmt: skip
    assert ross.returncode == 0, output_of(ross)


def test_a_folder_without_granules_is_an_error(tmp_path, reduce_cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no granules here")
    result = reduce_cli(empty, "-o", tmp_path / "out", "-q")
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no granules" in lines[0] and str(empty) in lines[0]


def test_negative_numbers_of_any_spelling_are_box_values(small_sample, tmp_path, reduce_cli):
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


# --------------------------------------------------------------------------- the command line


def test_help_and_console_script(reduce_cli):
    result = reduce_cli("-h")
    assert result.returncode == 0
    for option in ("-o", "-b", "-n", "--format", "--overwrite", "--scheduler", "--force"):
        assert option in result.stdout
    script = shutil.which("readatl06", path=os.path.dirname(sys.executable))
    assert script, "console script readatl06 not installed next to the interpreter"
    assert subprocess.run([script, "-h"], capture_output=True).returncode == 0
