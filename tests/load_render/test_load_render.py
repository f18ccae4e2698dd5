"""Lazy loading of reduced outputs and datashader maps, against eager numpy computations."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.granules import parse_granule_name
from helpers.load import find_reduced, open_reduced, read_eagerly
from helpers.reduce import OUTPUT_VARIABLES, ReduceOptions, reduce_granules
from helpers.render import aggregate, ascending_descending, export, interactive_map


@pytest.fixture(scope="module")
def reduced(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("reduced_for_loading")
    reduce_granules([small_sample], out, ReduceOptions(bbox=BBox(*PIG_BBOX)), progress=False)
    return out


def eager_frame(files, columns):
    """Straightforward re-read with h5py, for comparison."""
    frames = []
    for path in files:
        with h5py.File(path) as f:
            data = {c: f[c][()] for c in columns if c in f}
        stem, beam = path.stem.rsplit("_", 1)
        name = parse_granule_name(stem)
        n = len(next(iter(data.values())))
        data |= {"beam": [beam] * n, "rgt": [name.rgt] * n, "cycle": [name.cycle] * n}
        frames.append(pd.DataFrame(data))
    return pd.concat(frames, ignore_index=True)


def test_lazy_frame_matches_an_eager_read(reduced):
    columns = [*OUTPUT_VARIABLES, "beam", "rgt", "cycle"]
    lazy = open_reduced(reduced, columns=columns, partition_mb=0.5)
    assert lazy.npartitions > 3
    got = lazy.compute().reset_index(drop=True)
    want = eager_frame(find_reduced(reduced), columns)
    assert len(got) == len(want) > 10_000
    for c in OUTPUT_VARIABLES:
        np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
    assert (got["beam"].astype(str).to_numpy() == want["beam"].to_numpy()).all()
    assert (got["rgt"].to_numpy() == want["rgt"].to_numpy()).all()
    assert (got["cycle"].to_numpy() == want["cycle"].to_numpy()).all()


def test_nothing_is_read_at_open_time(reduced, monkeypatch):
    import pyarrow.parquet as pq

    def forbidden(*args, **kwargs):
        raise AssertionError("a file was read while opening")

    monkeypatch.setattr(h5py, "File", forbidden)
    monkeypatch.setattr(pq, "read_table", forbidden)
    monkeypatch.setattr(pq, "read_schema", forbidden)
    df = open_reduced(reduced, columns=["x", "y", "h_li"])
    assert list(df.columns) == ["x", "y", "h_li"]
    with pytest.raises(AssertionError, match="was read"):
        df.h_li.sum().compute(scheduler="sync")


def test_files_with_only_some_variables_open_for_those(tmp_path):
    path = tmp_path / "ATL06_20190101000000_01230510_006_01_gt1l.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["y"], f["h_li"] = np.arange(3.0), np.arange(3.0), np.ones(3, "f4")
    df = open_reduced(tmp_path, columns=["x", "y", "h_li"]).compute()
    assert len(df) == 3
    with pytest.raises(KeyError, match="has no column t_year"):
        open_reduced(tmp_path, columns=["x", "t_year"]).compute()
    with pytest.raises(ValueError, match="unknown column"):
        open_reduced(tmp_path, columns=["x", "elevation"])
    with pytest.raises(FileNotFoundError):
        open_reduced(tmp_path / "empty")


def test_parquet_outputs_load_the_same(small_sample, reduced, tmp_path):
    reduce_granules([small_sample], tmp_path,
                    ReduceOptions(bbox=BBox(*PIG_BBOX), fmt="parquet"), progress=False)  # fmt: skip
    cols = ["x", "y", "h_li", "t_year", "beam", "rgt", "cycle"]
    a = open_reduced(tmp_path, columns=cols).compute()
    b = open_reduced(reduced, columns=cols).compute()
    key = ["rgt", "cycle", "beam", "t_year"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_map_equals_a_numpy_histogram_mean(reduced):
    df = open_reduced(reduced, columns=["x", "y", "h_li"])
    x_range, y_range = (-1.68e6, -1.49e6), (-3.6e5, -2.1e5)
    result = aggregate(df, "h_li", "mean", 300, 200, x_range, y_range)
    pts = df.compute()
    inside = pts.x.between(*x_range) & pts.y.between(*y_range)
    pts = pts[inside]
    edges = (np.linspace(*x_range, 301), np.linspace(*y_range, 201))
    total, _, _ = np.histogram2d(pts.x, pts.y, bins=edges, weights=pts.h_li.astype("f8"))
    count, _, _ = np.histogram2d(pts.x, pts.y, bins=edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (total / count).T  # datashader grids are (y, x)
    grid = result.grid.values
    assert result.points == len(pts)
    assert np.array_equal(np.isnan(grid), np.isnan(expected))
    np.testing.assert_allclose(grid[~np.isnan(grid)], expected[~np.isnan(expected)], rtol=1e-5)


def test_eager_reference_approach_gives_the_same_points(reduced):
    files = find_reduced(reduced)
    eager = read_eagerly(files, ["x", "y", "h_li"]).compute()
    lazy = open_reduced(reduced, columns=["x", "y", "h_li"]).compute()
    np.testing.assert_allclose(eager["h_li"].to_numpy(), lazy["h_li"].to_numpy())


def test_render_command_line(reduced, tmp_path, cli):
    png = tmp_path / "map.png"
    result = cli("helpers.render", reduced, "--column", "h_li", "--png", png)
    assert result.returncode == 0, result.stderr
    n = len(open_reduced(reduced, columns=["x"]))
    assert f"drew {n:,} points" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = cli("helpers.render", tmp_path / "none", "--png", png)
    assert bad.returncode == 2 and "no reduced outputs" in bad.stderr


def test_side_by_side_export_and_interactive(reduced, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    df = open_reduced(reduced, columns=["x", "y", "h_li", "is_asc"])
    fig = ascending_descending(df, png=tmp_path / "ad.png")
    assert len(fig.axes) == 4  # two maps, two colour bars
    assert (tmp_path / "ad.png").stat().st_size > 10_000
    small = df[df.h_li > 300]
    export(small, tmp_path / "points.csv")
    back = pd.read_csv(tmp_path / "points.csv")
    assert len(back) == len(small) > 1000
    export(df, tmp_path / "points_parquet")
    assert len(pd.read_parquet(tmp_path / "points_parquet")) == len(df)
    view = interactive_map(df)
    assert view is not None


def test_render_debug_prints_the_traceback_its_one_line_hides(reduced, tmp_path, cli):
    png = tmp_path / "map.png"
    plain = cli("helpers.render", reduced, "--column", "no_such", "--png", png, process=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr, plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1, plain.stderr
    debug = cli("helpers.render", reduced, "--column", "no_such", "--png", png, "--debug",
                process=True)  # fmt: skip
    assert debug.returncode == 2, debug.stderr
    assert "Traceback" in debug.stderr, debug.stderr
    assert "ValueError: unknown column" in debug.stderr, debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip(), debug.stderr
