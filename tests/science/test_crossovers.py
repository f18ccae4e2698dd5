"""Crossovers: against a brute-force search (shapely) and against the sample's planted truth."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from helpers.crossovers import COLUMNS, describe_passes, find_crossovers, pass_ids
from helpers.load import open_reduced
from helpers.synthetic import truth

READ = [*COLUMNS, "s_li"]


def brute_force(points: pd.DataFrame, max_gap_m: float) -> pd.DataFrame:
    """Every crossing of every ascending with every descending pass, by shapely: each pass a
    LineString through its points in time order; heights and times interpolated on the
    segment the crossing lies on. Independent of helpers.crossovers but for its pass ids."""
    from shapely import LineString, get_coordinates

    points = points.assign(pid=pass_ids(points)).sort_values(["pid", "t_year"])
    passes = {pid: g for pid, g in points.groupby("pid")}
    lines = {pid: LineString(g[["x", "y"]].to_numpy()) for pid, g in passes.items()
             if len(g) > 1}  # fmt: skip
    rows = []
    for a in (p for p in lines if p % 2 == 1):
        for d in (p for p in lines if p % 2 == 0):
            hit = lines[a].intersection(lines[d])
            for x, y in get_coordinates(hit):
                ha, ta, ga = _at(passes[a], lines[a], x, y)
                hd, td, gd = _at(passes[d], lines[d], x, y)
                if max(ga, gd) <= max_gap_m:
                    first, second = ((a, ha, ta), (d, hd, td)) if ta <= td else ((d, hd, td),
                                                                                 (a, ha, ta))
                    rows.append({"pass_1": first[0], "pass_2": second[0], "x": x, "y": y,
                                 "dh": second[1] - first[1], "dt": second[2] - first[2]})
    return pd.DataFrame(rows)


def _at(group: pd.DataFrame, line, x: float, y: float) -> tuple[float, float, float]:
    """Height, time and segment length where a pass's line passes through (x, y)."""
    from shapely import Point

    along = line.project(Point(x, y))
    xy = group[["x", "y"]].to_numpy()
    cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    k = min(int(np.searchsorted(cum, along, side="right")) - 1, len(cum) - 2)
    frac = (along - cum[k]) / (cum[k + 1] - cum[k])
    h, t = group["h_li"].to_numpy(float), group["t_year"].to_numpy()
    return ((1 - frac) * h[k] + frac * h[k + 1], (1 - frac) * t[k] + frac * t[k + 1],
            cum[k + 1] - cum[k])  # fmt: skip


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    """Crossings by their two passes (helpers' table gets the pass ids back)."""
    if "pass_1" not in table:
        table = table.assign(
            pass_1=pass_ids(table.rename(columns=lambda c: c.removesuffix("_1")).assign(
                is_asc=table["asc_1"])),
            pass_2=pass_ids(table.rename(columns=lambda c: c.removesuffix("_2")).assign(
                is_asc=table["asc_2"])),
        )  # fmt: skip
    return table.set_index(["pass_1", "pass_2"]).sort_index()


@pytest.fixture(scope="module")
def sample_points(default_reduced) -> pd.DataFrame:
    return open_reduced(default_reduced, columns=READ).compute()


@pytest.fixture(scope="module")
def small_points(sample_points) -> pd.DataFrame:
    """A small piece of the sample that crosses itself: two cycles, two beams."""
    keep = sample_points.cycle.isin([3, 4]) & sample_points.beam.isin(["gt1l", "gt2r"])
    return sample_points[keep].reset_index(drop=True)


def test_the_same_crossings_as_a_brute_force_search(small_points):
    found = find_crossovers(small_points, max_residual_m=np.inf)
    expected = brute_force(small_points, max_gap_m=100.0)
    assert len(expected) >= 50, "the small sample should cross itself"
    found, expected = _keyed(found), _keyed(expected)
    assert found.index.equals(expected.index)
    assert np.hypot(found.x - expected.x, found.y - expected.y).max() < 0.01
    assert np.abs(found.dh - expected.dh).max() < 1e-3  # within 1 mm
    assert np.abs(found.dt - expected.dt).max() < 1e-9


def test_partitions_do_not_change_the_answer(small_points):
    whole = find_crossovers(small_points)
    # Passes cut across partitions at arbitrary rows.
    shuffled = small_points.sample(frac=1.0, random_state=1).reset_index(drop=True)
    cut = find_crossovers(dd.from_pandas(shuffled, npartitions=7))
    pd.testing.assert_frame_equal(_keyed(whole), _keyed(cut), check_exact=False, rtol=0,
                                  atol=1e-9)  # fmt: skip
    assert whole.attrs == cut.attrs


def test_the_loaders_partitions_give_the_same_answer(default_reduced, sample_crossings):
    _, found, _ = sample_crossings  # from open_reduced's default partitions
    files = open_reduced(default_reduced, columns=READ, partition_mb=8)
    assert files.npartitions > 10
    pd.testing.assert_frame_equal(_keyed(found), _keyed(find_crossovers(files)),
                                  check_exact=False, rtol=0, atol=1e-9)  # fmt: skip


def _two_tracks(gap_at: int | None = None, blunder_at: int | None = None) -> pd.DataFrame:
    """An ascending track along y = x and a descending one along y = -x + 1000, 20 m apart
    points, heights a plane in x; the crossing is at (500, 500)."""
    s = np.arange(0.0, 1000.0, 20.0 / np.sqrt(2))
    asc = pd.DataFrame({"x": s, "y": s, "t_year": 2020.0 + s * 1e-9, "is_asc": True,
                        "cycle": 3, "rgt": 10})  # fmt: skip
    desc = pd.DataFrame({"x": s, "y": 1000.0 - s, "t_year": 2020.5 + s * 1e-9,
                         "is_asc": False, "cycle": 5, "rgt": 20})  # fmt: skip
    asc["h_li"], desc["h_li"] = 100.0 + 0.01 * asc.x, 102.0 + 0.01 * desc.x
    if gap_at is not None:
        asc = asc[np.abs(asc.x - 500.0) > gap_at]
    if blunder_at is not None:
        desc.loc[np.argmin(np.abs(desc.x - 500.0)), "h_li"] += blunder_at
    both = pd.concat([asc, desc], ignore_index=True).assign(beam="gt2l")
    return both.astype({"h_li": "f4", "cycle": "i1", "rgt": "i2"})


def test_a_known_crossing_and_the_refusals():
    found = find_crossovers(_two_tracks())
    assert len(found) == 1
    row = found.iloc[0]
    assert row.x == pytest.approx(500.0) and row.y == pytest.approx(500.0)
    assert row.h_1 == pytest.approx(105.0, abs=1e-4) and row.dh == pytest.approx(2.0, abs=1e-4)
    assert (row.cycle_1, row.rgt_1, bool(row.asc_1)) == (3, 10, True)
    assert row.angle == pytest.approx(90.0)
    assert row["dt"] == pytest.approx(0.5)
    # A 300 m gap on one pass at the crossing: refused, and counted; accepted if asked.
    gap = find_crossovers(_two_tracks(gap_at=100))
    assert gap.empty and gap.attrs["gap"] == 1
    wide = find_crossovers(_two_tracks(gap_at=100), max_gap_m=400.0)
    assert len(wide) == 1 and wide.gap_1.iloc[0] == pytest.approx(300.0, abs=15.0)
    assert wide.dh.iloc[0] == pytest.approx(2.0, abs=1e-4)  # linear surface: still exact
    # A 50 m blunder beside the crossing: refused unless asked to keep it.
    blunder = find_crossovers(_two_tracks(blunder_at=50.0))
    assert blunder.empty and blunder.attrs["blunder"] == 1
    assert len(find_crossovers(_two_tracks(blunder_at=50.0), max_residual_m=np.inf)) == 1


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="cycle"):
        find_crossovers(_two_tracks().drop(columns="cycle"))


def test_pass_ids_round_trip():
    frame = pd.DataFrame({"rgt": [1, 1387, 271], "cycle": [1, 30, 3],
                          "beam": ["gt1l", "gt3r", "gt2r"], "is_asc": [True, False, True]})
    pd.testing.assert_frame_equal(describe_passes(pass_ids(frame)), frame,
                                  check_dtype=False)  # fmt: skip


@pytest.fixture(scope="module")
def sample_crossings(default_reduced, default_sample, sample_points):
    found = find_crossovers(open_reduced(default_reduced, columns=READ))
    return sample_points, found, truth.sample_config(default_sample)


def test_the_sample_crossovers_recover_the_planted_biases_and_change(sample_crossings):
    points, found, config = sample_crossings
    assert config.pass_bias_m > 0
    error = found.dh - truth.expected_crossover_dh(found, config)
    assert len(found) > 5000
    # Each crossing's dh carries the noise of its four segments: its spread is that noise
    # (h_li_sigma), not a method error; the mean is the planted difference.
    assert abs(error.mean()) < 0.005
    assert 0.8 < np.sqrt(np.mean((error / found.sigma_dh) ** 2)) < 1.2
    # The same points without their noise: the method itself is exact to millimetres.
    noiseless = points.assign(h_li=truth.true_heights(points, config).astype("f4"))
    exact = find_crossovers(noiseless)
    exact_error = exact.dh - truth.expected_crossover_dh(exact, config)
    assert len(exact) == len(found) + found.attrs["blunder"]
    assert np.sqrt(np.mean(exact_error**2)) < 0.002 and np.abs(exact_error).max() < 0.01


def test_without_planted_biases_the_biases_are_not_found(sample_crossings):
    # The check can fail: the planted biases really are in the crossovers' dh.
    _, found, config = sample_crossings
    from dataclasses import replace

    unbiased = truth.expected_crossover_dh(found, replace(config, pass_bias_m=0.0))
    with_biases = truth.expected_crossover_dh(found, config)
    misfit = np.sqrt(np.mean((found.dh - unbiased) ** 2))
    fit = np.sqrt(np.mean((found.dh - with_biases) ** 2))
    assert misfit**2 - fit**2 > 0.5 * 2 * config.pass_bias_m**2
