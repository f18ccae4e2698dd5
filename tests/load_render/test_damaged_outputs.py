"""Reading outputs back: odd names, damaged files, PNG paths.

Outputs renamed by a user still load with their granule fields; truncated or corrupt
outputs are named by the loader and by ``render`` in one line; ``render`` says which PNG it
wrote (a path without ``.png`` gets one) and names an unwritable path.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from processes import output_of

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.load import ReducedFileError, find_reduced, open_reduced
from helpers.reduce import ReduceOptions, reduce_granules

COLUMNS = ["h_li", "beam", "rgt", "cycle"]


@pytest.fixture(scope="module")
def outputs(small_sample, tmp_path_factory):
    """The small sample reduced twice: HDF5 per beam, and Parquet per granule."""
    base = tmp_path_factory.mktemp("outputs")
    for fmt in ("h5", "parquet"):
        reduce_granules([small_sample], base / fmt, ReduceOptions(bbox=BBox(*PIG_BBOX), fmt=fmt),
                        progress=False)  # fmt: skip
    return base


def test_outputs_renamed_by_a_user_still_load_with_their_granule_fields(outputs, tmp_path):

    folder = tmp_path / "mine"
    folder.mkdir()
    h5 = next(p for p in find_reduced(outputs / "h5") if not p.name.endswith("_gt1l.h5"))
    parquet = find_reduced(outputs / "parquet")[0]
    shutil.copy(h5, folder / "my run (été)_gt1l.h5")  # a beam name that is not its beam
    shutil.copy(parquet, folder / "Pine Island – copy.parquet")
    got = open_reduced(folder, columns=COLUMNS).compute()
    want = open_reduced([h5, parquet], columns=COLUMNS).compute()
    assert len(got) == len(want) > 0
    for column in COLUMNS:
        np.testing.assert_array_equal(
            np.sort(got[column].astype(str).to_numpy()),
            np.sort(want[column].astype(str).to_numpy()),
            column,
        )


def _damage(folder, tmp_path):
    """A copy of ``folder`` whose first output is truncated to half its size."""
    copy = tmp_path / f"damaged_{folder.name}"
    shutil.copytree(folder, copy)
    victim = find_reduced(copy)[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return copy, victim


@pytest.mark.parametrize("fmt", ["h5", "parquet"])
def test_a_damaged_output_is_named_by_the_loader(outputs, tmp_path, fmt):
    folder, victim = _damage(outputs / fmt, tmp_path)
    with pytest.raises(ReducedFileError, match=victim.name) as err:
        open_reduced(folder, columns=["x", "y", "h_li"]).compute()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["h5", "parquet"])
def test_render_names_a_damaged_output_in_one_line(outputs, tmp_path, fmt, cli):
    folder, victim = _damage(outputs / fmt, tmp_path)
    result = cli("helpers.render", folder, "--png", tmp_path / "map.png")
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and victim.name in lines[0], result.stderr
    assert not (tmp_path / "map.png").exists()


def test_render_reports_the_png_it_really_wrote(outputs, tmp_path, cli):
    result = cli("helpers.render", outputs / "h5", "--png", tmp_path / "maps" / "heights")
    assert result.returncode == 0, output_of(result)
    written = tmp_path / "maps" / "heights.png"
    assert written.is_file() and written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.stdout.strip().endswith(f"into {written}")
    assert sorted(p.name for p in written.parent.iterdir()) == ["heights.png"]


def test_render_to_an_unwritable_path_fails_in_one_line(outputs, tmp_path, cli):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = cli("helpers.render", outputs / "h5", "--png", blocker / "map.png")
    assert result.returncode == 2, output_of(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and str(blocker) in lines[0], lines
