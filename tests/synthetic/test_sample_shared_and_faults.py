"""One sample shared by many: never deleted by a reader, generated once, full disks named.

A sample made with other options is used, not replaced; a generator that waited for another
does not redo its work; readers never miss a file while the sample is regenerated; many
attendees on one empty folder wait for one generator; a full disk, ``--jobs 0`` or an area
no track crosses each stop the generator in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import h5py
import pytest
from processes import output_of, tmpfs

from helpers import access
from helpers.synthetic.sample import (
    MANIFEST,
    SampleConfig,
    SampleError,
    generate_sample,
    sample_files,
    sample_lock,
)

#: A small area and a few weeks: five granules, quick to generate.
AREA = (-100.5, -75.5, -99.5, -75.0)
DATES = ("2019-01-01", "2019-02-15")


def inodes(folder):
    return {p.name: p.stat().st_ino for p in sorted(folder.glob("ATL06_*.h5"))}


def test_a_reader_uses_a_sample_made_with_other_options_and_never_deletes_it(tmp_path):
    # an instructor's sample (here one RGT instead of the default ten)
    folder = tmp_path / "shared"
    instructors = SampleConfig(bbox=AREA, start=DATES[0], end=DATES[1], rgts=1)
    generate_sample(folder, instructors, n_jobs=1, progress=False)
    made = inodes(folder)
    assert made
    files = access.find_granules("sample", AREA, DATES, folder=folder)
    assert [f.name for f in files] == sorted(made) and inodes(folder) == made
    # Made by another version of this package: still used as it is.
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["version"] = "0.0.1"
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert access.find_granules("sample", AREA, DATES, folder=folder) == files
    assert inodes(folder) == made
    # A sample of another area is not this one: a clear error, and nothing deleted.
    with pytest.raises(SampleError, match="another area or other dates"):
        access.find_granules("sample", (-102, -76, -98, -74.5), DATES, folder=folder)
    assert inodes(folder) == made


def test_a_generator_that_waited_for_another_does_not_redo_its_work(tmp_path, small_config):

    folder = tmp_path / "s"
    generate_sample(folder, small_config, n_jobs=1, progress=False)
    manifest = (folder / MANIFEST).read_text()
    made = inodes(folder)
    (folder / MANIFEST).unlink()  # how the folder looks while another generator finishes
    results = {}

    def second_generator():
        results["written"] = generate_sample(folder, small_config, n_jobs=1, progress=False)

    with sample_lock(folder):  # the first generator holds the lock
        thread = threading.Thread(target=second_generator)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "the second generator did not wait for the first"
        (folder / MANIFEST).write_text(manifest)  # the first one finishes
    thread.join(120)
    assert results["written"] == []
    assert inodes(folder) == made


def test_readers_never_miss_a_file_while_the_sample_is_regenerated(tmp_path, small_config):
    # a forced regeneration (same names) while others read the sample
    folder = tmp_path / "s"
    generate_sample(folder, small_config, n_jobs=1, progress=False)
    errors, reads = [], 0
    regenerate = threading.Thread(
        target=generate_sample,
        args=(folder, small_config),
        kwargs={"n_jobs": 1, "force": True, "progress": False},
    )
    regenerate.start()
    while regenerate.is_alive() or reads == 0:
        for path in sample_files(folder):
            try:
                with h5py.File(path, "r") as f:
                    f["orbit_info/rgt"][0]
                reads += 1
            except OSError as err:
                errors.append(f"{path.name}: {err}")
    regenerate.join()
    assert not errors, errors[:3]
    assert reads > 0 and not list(folder.glob(".*staging*"))


def test_attendees_on_one_empty_folder_wait_for_one_generator(tmp_path):
    folder = tmp_path / "shared"
    code = ("import json, sys; from helpers import access\n"
            f"files = access.find_granules('sample', {AREA!r}, {DATES!r}, folder=sys.argv[1])\n"
            "print(json.dumps({f.name: f.stat().st_ino for f in files}))\n")  # fmt: skip
    attendees = [subprocess.Popen([sys.executable, "-c", code, str(folder)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]  # fmt: skip
    seen = []
    for p in attendees:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        seen.append(json.loads(out.strip().splitlines()[-1]))  # after "waiting for ..."
    # Everyone got the same files, written once: nobody regenerated what another made.
    assert seen[0] and all(s == seen[0] for s in seen)
    assert inodes(folder) == seen[0]


def test_a_full_disk_stops_the_generator_with_one_line(tmp_path, cli):
    with tmpfs(tmp_path / "disk", size="1m") as disk:
        # a new process, so that what loky's resource tracker prints at exit is seen too
        result = cli("helpers.sample", "--out", disk / "s", "--rgts", "1",
                     "--max-granules", "4", "--jobs", "2", "-q", process=True)  # fmt: skip
        assert result.returncode == 2, output_of(result)  # not -11 (SIGSEGV)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], result.stderr
        assert "Traceback" not in output_of(result)
        left = [p.name for p in (disk / "s").rglob("*") if not p.name.endswith(".lock")]
        assert not left, left


@pytest.mark.parametrize("args, words", [
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--bbox", "0", "89", "10", "90"], "no ICESat-2 pass"),
])  # fmt: skip
def test_impossible_requests_fail_in_one_line(tmp_path, args, words, cli):
    result = cli("helpers.sample", "--out", tmp_path / "s", *args, "-q")
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "already complete" not in result.stdout
