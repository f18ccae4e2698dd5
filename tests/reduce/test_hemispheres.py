"""Both hemispheres: northern granules in EPSG:3413, southern in EPSG:3031 (or a forced code),
each output says which; the loader refuses to mix them; maps name the code on their axes."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from pyproj import Transformer

from helpers.granules import BEAMS
from helpers.load import epsg_of, open_reduced
from helpers.reduce import ReduceOptions, reduce_granules


@pytest.fixture(scope="module")
def northern(tmp_path_factory):
    """Two synthetic granules over Greenland (regions 3 and 5)."""
    from helpers.synthetic.sample import SampleConfig, generate_sample

    folder = tmp_path_factory.mktemp("north")
    config = SampleConfig(bbox=(-50, 70, -40, 72), start="2019-04-01", end="2019-04-02",
                          rgts=None, max_granules=2)  # fmt: skip
    generate_sample(folder, config, n_jobs=1, progress=False)
    return folder


def _xy_match_pyproj(out_file, epsg):
    with h5py.File(out_file) as out:
        assert out.attrs["epsg"] == epsg
        assert out["x"].attrs["description"] == f"polar stereographic easting, EPSG:{epsg}"
        assert out["y"].attrs["description"] == f"polar stereographic northing, EPSG:{epsg}"
        x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(out["lon"][()],
                                                                          out["lat"][()])
        np.testing.assert_allclose(out["x"][()], x, rtol=0, atol=1e-3)  # 1 mm
        np.testing.assert_allclose(out["y"][()], y, rtol=0, atol=1e-3)


def test_northern_granules_go_to_3413(northern, tmp_path):
    summary = reduce_granules([northern], tmp_path, progress=False)
    assert summary.count("done") == 2 and summary.points_kept > 1000
    files = sorted(tmp_path.glob("*_gt*.h5"))
    assert files
    for path in files:
        _xy_match_pyproj(path, 3413)


def test_a_forced_code_applies_to_every_granule(northern, small_sample, tmp_path, reduce_cli):
    south = sorted(small_sample.glob("ATL06_*.h5"))[0]
    result = reduce_cli(northern, south, "-o", tmp_path, "--epsg", "3413", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(tmp_path.glob("*_gt*.h5"))
    assert any(south.stem in p.name for p in files)
    for path in files:
        _xy_match_pyproj(path, 3413)
    assert epsg_of(open_reduced(tmp_path)) == 3413
    for bad in ("4326", "99999"):
        refused = reduce_cli(south, "-o", tmp_path / "x", "--epsg", bad)
        assert refused.returncode == 2 and f"EPSG:{bad}" in refused.stderr
        assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) <= 3


def test_the_loader_refuses_two_projections(northern, small_sample, tmp_path):
    reduce_granules([northern], tmp_path / "north", progress=False)
    reduce_granules([sorted(small_sample.glob("ATL06_*.h5"))[0]], tmp_path / "south",
                    ReduceOptions(fmt="parquet"), progress=False)  # fmt: skip
    assert epsg_of(open_reduced(tmp_path / "north")) == 3413
    assert epsg_of(open_reduced(tmp_path / "south")) == 3031
    both = open_reduced(tmp_path)  # lazy: nothing read yet
    with pytest.raises(ValueError, match=r"different projections: EPSG:3413 \(.+_gt.+\.h5\) "
                                         r"and EPSG:3031 \(.+\.parquet\)"):  # fmt: skip
        both.compute()


def test_map_axes_name_the_code(northern, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import render

    reduce_granules([northern], tmp_path, progress=False)
    df = open_reduced(tmp_path, columns=["x", "y", "h_li", "is_asc"])
    result = render.render_map(df[df.is_asc], "h_li")  # a derived frame keeps the code
    ax = plt.gcf().axes[0]
    assert result.epsg == 3413
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (km, EPSG:3413)", "y (km, EPSG:3413)")
    plt.close("all")


def test_a_granule_that_straddles_the_equator_is_projected_whole(real_data, tmp_path):
    """A real region-14 granule (24-25 degrees S) moved north by 24.3 degrees."""
    granule = real_data / "ATL06_20181013235645_02340114_209_01.h5"
    moved = tmp_path / "in" / granule.name
    moved.parent.mkdir()
    shutil.copy(granule, moved)
    moved.chmod(0o644)
    with h5py.File(moved, "r+") as f:
        for beam in BEAMS:
            lat = f[f"{beam}/land_ice_segments/latitude"]
            lat[...] = lat[()] + 24.3
        span = [f[f"{b}/land_ice_segments/latitude"][()] for b in BEAMS]
    low, high = min(s.min() for s in span), max(s.max() for s in span)
    assert low < 0 < high and abs(low) > abs(high)  # mostly south
    summary = reduce_granules([moved], tmp_path / "out", progress=False)
    [result] = summary.results
    assert result.status == "done"
    assert any("straddle the equator" in n and "EPSG:3031" in n for n in result.notes)
    outputs = sorted((tmp_path / "out").glob("*.h5"))
    assert outputs
    for path in outputs:
        _xy_match_pyproj(path, 3031)
