"""The real mini-set in ``notebooks/real-data/``: the files NASA delivered, unaltered, small.

The SHA-256 sums below were taken from the files as the public projects shared them; a file
edited, truncated or replaced (or re-saved by a tool) fails here. Where the project's copy of
the originals is at hand (``../shared/data``), the files must also be byte for byte the same.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from conftest import REAL_DATA

from helpers.config import REAL_DATA_FOLDER, REPO_ROOT, real_data_dir

#: name -> (bytes, SHA-256) of every file of the mini-set.
SHIPPED: dict[str, tuple[int, str]] = {
    "processed_ATL06_20181015100401_02560110_003_01.h5": (
        2_545_937, "1414a401f56234bb34d302477fc0d7fb3914839fcd569cccb88e9e6e8e520c58"),
    "processed_ATL06_20190416093911_02770303_002_01.h5": (
        2_868_487, "a6c24c551bd3926f92e4b69c6552a281a22a1b22edb0b9da3b14da77e791327a"),
    "processed_ATL06_20190613193602_11690305_002_01.h5": (
        1_774_155, "57211c63f2af2c3474805ba904c11a858b1f0352f29d86344cced3eb52047d88"),
    "processed_ATL06_20191106230008_06270503_006_01.h5": (
        1_517_207, "43b52527bbdbbf04d8127565ca8d744b948a88b52084ddccdd43176b19917904"),
    "processed_ATL06_20211102121853_06271303_006_01.h5": (
        1_498_380, "8defca54469d32e7193551dca5d4bd89ee929814bdfc57ad12480eaa96bc3618"),
    "processed_ATL11_135803_0311_004_01.h5": (
        3_484_110, "4ffd4e15c31d7d459ea489fa3dc3db9eac62037e112f1d141e1c25e41636d7fe"),
}  # fmt: skip
#: The most the mini-set may weigh (bytes).
MAX_TOTAL_BYTES = 15_000_000
#: The DOI of every product and release in the mini-set: its README must cite each.
DOIS = ("10.5067/ATLAS/ATL06.002", "10.5067/ATLAS/ATL06.003", "10.5067/ATLAS/ATL06.006",
        "10.5067/ATLAS/ATL11.004")  # fmt: skip


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_folder_holds_the_mini_set_its_readme_and_sums_only():
    folder = real_data_dir()
    assert folder == REPO_ROOT / REAL_DATA_FOLDER
    assert sorted(p.name for p in folder.iterdir()) == sorted([*SHIPPED, "README.md",
                                                               "SHA256SUMS"])  # fmt: skip


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_file_is_unaltered(name):
    path = real_data_dir() / name
    size, digest = SHIPPED[name]
    assert path.stat().st_size == size, name
    assert _sha256(path) == digest, f"{name} is not the file NASA delivered"


def test_the_sums_file_agrees_with_the_test():
    lines = (real_data_dir() / "SHA256SUMS").read_text().splitlines()
    listed = dict(reversed(line.split()) for line in lines if line.strip())
    assert listed == {name: digest for name, (_, digest) in SHIPPED.items()}


def test_the_mini_set_weighs_at_most_15_mb():
    total = sum(size for size, _ in SHIPPED.values())
    assert total <= MAX_TOTAL_BYTES, f"{total:,} bytes"


def test_the_readme_describes_and_cites_every_file():
    readme = (real_data_dir() / "README.md").read_text()
    for name, (size, _) in SHIPPED.items():
        assert f"`{name}` | {size:,} |" in readme, f"README's table lacks {name} or its size"
    for doi in DOIS:
        assert doi in readme, f"README does not cite {doi}"
    for words in ("ICESat-2 Science Project Office", "NSIDC", "unaltered"):
        assert words in readme


def test_the_files_are_the_shared_originals_byte_for_byte():
    originals = {p.name: p for folder in (REAL_DATA, REAL_DATA.parent / "atl11-real")
                 if folder.is_dir() for p in folder.glob("*.h5")}  # fmt: skip
    if not set(SHIPPED) <= set(originals):
        pytest.skip(f"the shared originals are not at {REAL_DATA.parent}")
    for name in SHIPPED:
        assert (real_data_dir() / name).read_bytes() == originals[name].read_bytes(), name


def test_git_tracks_rather_than_ignores_the_mini_set():
    git = shutil.which("git")
    inside = git and subprocess.run([git, "rev-parse", "--is-inside-work-tree"], cwd=REPO_ROOT,
                                    capture_output=True, text=True).stdout.strip() == "true"
    if not inside:
        pytest.skip("not a git work tree")
    paths = [f"{REAL_DATA_FOLDER.as_posix()}/{name}" for name in SHIPPED]
    ignored = subprocess.run([git, "check-ignore", "--no-index", *paths], cwd=REPO_ROOT,
                             capture_output=True, text=True).stdout.split()  # fmt: skip
    assert not ignored, f".gitignore hides {ignored}"
