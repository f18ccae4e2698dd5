"""The reading layer: chunk decoding against h5py, the latitude search against numpy, and
area-aware reads against whole reads (the same outputs, value for value, fewer bytes)."""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.granules import parse_granule_name
from helpers.reduce import OUTPUT_VARIABLES, ReduceOptions, reduce_granule
from helpers.reduce.reading import (
    Column,
    NotMonotonic,
    latitude_band,
    pad_and_merge,
    rows_in_box,
)

# --------------------------------------------------------------------------- Column

LAYOUTS = {  # name -> create_dataset keywords
    "deflate f8": dict(dtype="<f8", chunks=(100,), compression="gzip"),
    "deflate+shuffle i1": dict(dtype="i1", chunks=(100,), compression="gzip", shuffle=True),
    "deflate+shuffle i4": dict(dtype="<i4", chunks=(100,), compression="gzip", shuffle=True),
    "shuffle only f4": dict(dtype="<f4", chunks=(100,), shuffle=True),
    "big-endian f4": dict(dtype=">f4", chunks=(100,), compression="gzip", shuffle=True),
    "chunked, no filter": dict(dtype="<f8", chunks=(64,)),
    "contiguous": dict(dtype="<f8"),
    "fletcher32 (h5py path)": dict(dtype="<f4", chunks=(100,), compression="gzip",
                                   fletcher32=True),
    "lzf (h5py path)": dict(dtype="<f4", chunks=(100,), compression="lzf"),
}  # fmt: skip


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_column_reads_what_h5py_reads(tmp_path, layout):
    rng = np.random.default_rng(1)
    values = (rng.normal(size=1234) * 100).astype(LAYOUTS[layout]["dtype"])
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=values, **LAYOUTS[layout])
    with h5py.File(path) as f:
        column = Column(f["v"])
        whole = column.read()
        assert whole.dtype == f["v"].dtype
        np.testing.assert_array_equal(whole, f["v"][()])
        ranges = [(0, 3), (99, 101), (150, 160), (1230, 1234)]
        np.testing.assert_array_equal(
            column.read_ranges(ranges), np.concatenate([values[a:b] for a, b in ranges])
        )
        assert column.chunks_read > 0 and column.bytes_read > 0


def test_a_chunk_never_written_reads_as_the_fill_value(tmp_path):
    path = tmp_path / "sparse.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("v", shape=(250,), dtype="f4", chunks=(100,), fillvalue=-9.0,
                              compression="gzip", shuffle=True)  # fmt: skip
        ds[:50] = 1.0
    with h5py.File(path) as f:
        np.testing.assert_array_equal(Column(f["v"]).read(), f["v"][()])


def test_a_corrupt_chunk_is_named(tmp_path):
    from helpers.reduce.reading import LayoutError

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("v", data=np.arange(300.0), chunks=(100,), compression="gzip")
        offset = f["v"].id.get_chunk_info(1).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 10 : offset + 60] = b"\xff" * 50
    path.write_bytes(bytes(data))
    with h5py.File(path) as f, pytest.raises(LayoutError, match="/v: chunk 1 cannot be decoded"):
        Column(f["v"]).read()


# --------------------------------------------------------------------------- searching


def _column(tmp_path, values, chunk):
    f = h5py.File(tmp_path / "lat.h5", "w")
    f.create_dataset("lat", data=values, chunks=(chunk,), maxshape=(None,), compression="gzip")
    return f, Column(f["lat"], keep=True)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    chunk=st.integers(1, 64),
    steps=st.lists(st.sampled_from([0.0, 0.1, 0.5, 2.0]), min_size=1, max_size=400),
    bounds=st.tuples(st.floats(-10, 60), st.floats(0, 30)),
    descending=st.booleans(),
    near_at=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_latitude_band_is_numpys_searchsorted(tmp_path_factory, n, chunk, steps, bounds,
                                              descending, near_at):  # fmt: skip
    lat = np.cumsum(np.resize(steps, n))  # monotonic, with repeats
    lat = lat[::-1].copy() if descending else lat
    south, north = bounds[0], bounds[0] + bounds[1]
    inside = np.flatnonzero((lat >= south) & (lat <= north))
    f, column = _column(tmp_path_factory.mktemp("s"), lat, chunk)
    with f:
        # No hint; a hint from a beam elsewhere; a hint with the wrong direction.
        for near in (None, (near_at[0], near_at[1], not descending),
                     (near_at[0], near_at[1], descending)):  # fmt: skip
            try:
                lo, hi = latitude_band(Column(column.id, keep=True), south, north, near)
            except NotMonotonic:
                assert near is not None and near[2] == descending and np.ptp(lat) > 0
                continue
            if inside.size:
                assert (lo, hi) == (inside[0], inside[-1] + 1)
            else:
                assert lo == hi


def test_the_search_reads_few_chunks(tmp_path):
    lat = np.linspace(-50.0, -79.0, 170_000)  # one beam of a whole region-10 granule
    f, column = _column(tmp_path, lat, 10_000)
    with f:
        lo, hi = latitude_band(column, -76.0, -74.5)
        inside = np.flatnonzero((lat >= -76.0) & (lat <= -74.5))
        assert (lo, hi) == (inside[0], inside[-1] + 1)
        assert column.chunks_read <= 6, column.chunks_read  # of 17


def test_latitude_out_of_order_is_noticed_and_read_whole(tmp_path):
    lat = np.concatenate([np.linspace(-60, -88, 500), np.linspace(-88, -60, 500)])  # a turn
    lon = np.linspace(0, 10, lat.size)
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f.create_dataset("lat", data=lat, chunks=(50,), compression="gzip")
        f.create_dataset("lon", data=lon, chunks=(50,), compression="gzip")
        box = BBox(0, -75, 10, -70)
        with pytest.raises(NotMonotonic):
            latitude_band(Column(f["lat"], keep=True), box.south, box.north)
        ranges = rows_in_box(Column(f["lat"], keep=True), Column(f["lon"]), box, monotonic=True)
        want = np.flatnonzero(box.contains(lon, lat))
        assert np.concatenate([np.arange(a, b) for a, b in ranges]).tolist() == want.tolist()
        assert len(ranges) == 2  # down and back up through the box


def test_pad_and_merge_never_adds_a_chunk():
    rng = np.random.default_rng(3)
    for _ in range(200):
        cuts = np.sort(rng.choice(1000, size=2 * rng.integers(1, 6), replace=False))
        ranges = [(int(a), int(b)) for a, b in cuts.reshape(-1, 2)]
        merged = pad_and_merge(ranges, 1000, 50)
        chunks = {k for a, b in merged for k in range(a // 50, (b - 1) // 50 + 1)}
        padded = [(max(a - 1, 0), min(b + 1, 1000)) for a, b in ranges]
        wanted = {k for a, b in padded for k in range(a // 50, (b - 1) // 50 + 1)}
        assert chunks == wanted
        covered = {i for a, b in merged for i in range(a, b)}
        assert covered >= {i for a, b in padded for i in range(a, b)}


# --------------------------------------------------------------------------- whole granules


@pytest.fixture(scope="module")
def full_granules(full_three, tmp_path_factory):
    """Whole synthetic granules: two over Pine Island (regions 10, 12), one polar turn (11)."""
    from helpers.synthetic.sample import SampleConfig, generate_sample

    folder = tmp_path_factory.mktemp("polar")
    polar = SampleConfig(bbox=(0, -87.5, 30, -86), start="2019-04-01", end="2019-04-01",
                         rgts=None, full=True, max_granules=1)  # fmt: skip
    generate_sample(folder, polar, n_jobs=1, progress=False)
    files = sorted(full_three.glob("ATL06_*.h5"))[:2] + sorted(folder.glob("ATL06_*.h5"))
    assert {parse_granule_name(p).region for p in files} == {10, 11, 12}
    return files


BOXES = {
    "pine island": PIG_BBOX,
    "a sliver (one chunk or less)": (-101.0, -75.3, -99.0, -75.25),
    "polar turn": (0.0, -88.0, 40.0, -85.0),
    "across the antimeridian": (170.0, -80.0, -170.0, -70.0),
    "nothing": (10.0, -60.0, 20.0, -55.0),
}


def _snapshot(folder):
    return {p.name: {k: h5py.File(p)[k][()] for k in OUTPUT_VARIABLES}
            for p in sorted(folder.glob("*.h5"))}  # fmt: skip


@pytest.mark.parametrize("box", list(BOXES))
def test_area_reads_and_read_ahead_give_the_outputs_of_a_whole_read(full_granules, tmp_path, box):
    bbox = BBox(*BOXES[box])
    runs = {
        "whole": ReduceOptions(bbox=bbox, area_reads=False),
        "area": ReduceOptions(bbox=bbox),
        "area + read ahead": ReduceOptions(bbox=bbox, read_ahead=True),
    }
    got, results = {}, {}
    for name, options in runs.items():
        out = tmp_path / name.replace(" ", "_")
        results[name] = [reduce_granule(p, out, options) for p in full_granules]
        assert all(r.status == "done" for r in results[name]), results[name]
        got[name] = _snapshot(out)
    want = got.pop("whole")
    for name, outputs in got.items():
        assert outputs.keys() == want.keys(), name
        for file, arrays in want.items():
            for var in OUTPUT_VARIABLES:
                np.testing.assert_array_equal(outputs[file][var], arrays[var], err_msg=(name, var))
    # The same counts, and (where the box keeps little) fewer stored bytes read.
    for whole, area in zip(results["whole"], results["area"], strict=True):
        assert (area.points_read, area.points_kept) == (whole.points_read, whole.points_kept)
        assert area.bytes_read <= whole.bytes_read
    if box != "polar turn":
        assert sum(r.bytes_read for r in results["area"]) < 0.5 * sum(
            r.bytes_read for r in results["whole"]
        )


def test_without_a_box_read_ahead_gives_the_same_outputs(full_granules, tmp_path):
    for ahead in (False, True):
        for path in full_granules[:2]:
            result = reduce_granule(path, tmp_path / str(ahead), ReduceOptions(read_ahead=ahead))
            assert result.status == "done"
    one, two = _snapshot(tmp_path / "False"), _snapshot(tmp_path / "True")
    assert one.keys() == two.keys() and len(one) > 6
    for file, arrays in one.items():
        for var in OUTPUT_VARIABLES:
            np.testing.assert_array_equal(two[file][var], arrays[var], err_msg=var)


class CountingFile(io.FileIO):
    """A file object that counts the bytes h5py reads through it."""

    bytes_read = 0

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.bytes_read += n or 0
        return n


def test_chunks_fetched_elsewhere_are_read_without_touching_the_file(full_granules):
    from helpers.reduce.reading import BeamColumns, BoxSearch, pad_and_merge

    path = full_granules[0]
    with CountingFile(path) as raw_file, h5py.File(raw_file, "r") as f:
        beam = next(b for b in ("gt1l", "gt1r", "gt2l") if b in f)
        columns = BeamColumns.open(f[beam], beam)
        lat = columns.columns["lat"]
        rows = pad_and_merge(BoxSearch(BBox(*PIG_BBOX), True).rows(lat, columns.columns["lon"]),
                             columns.size, lat.chunk_len)  # fmt: skip
        plan = columns.plan(rows)
        assert plan and all(k < columns.columns[n].n_chunks for n, k in plan)
        # Fetch every planned chunk's bytes at once, here with plain reads of the file.
        with open(path, "rb") as plain:
            for name, k in plan:
                offset, size, mask = columns.columns[name].locate(k)
                plain.seek(offset)
                columns.columns[name].supply(k, plain.read(size), mask)
        before = raw_file.bytes_read
        got = columns.read(rows)
        assert raw_file.bytes_read - before < 10_000  # metadata at most, no chunk data
    with h5py.File(path) as f:
        lis = f[f"{beam}/land_ice_segments"]
        index = np.concatenate([np.arange(a, b) for a, b in rows])
        np.testing.assert_array_equal(got["h_li"], lis["h_li"][()][index])
        np.testing.assert_array_equal(got["q_flag"], lis["atl06_quality_summary"][()][index])


def test_area_reads_on_real_granules_give_the_outputs_of_a_whole_read(real_data, tmp_path):
    for granule in sorted(real_data.glob("*.h5")):
        with h5py.File(granule) as f:
            lat = np.concatenate([f[f"{b}/land_ice_segments/latitude"][()]
                                  for b in ("gt1l", "gt1r", "gt2l") if b in f])  # fmt: skip
        low, high = np.quantile(lat, [0.3, 0.6])
        bbox = BBox(-180.0, float(low), 180.0, float(high))
        for name, area in (("whole", False), ("area", True)):
            result = reduce_granule(granule, tmp_path / name, ReduceOptions(bbox=bbox,
                                                                           area_reads=area))
            assert result.status == "done", result
    want, got = _snapshot(tmp_path / "whole"), _snapshot(tmp_path / "area")
    assert got.keys() == want.keys() and len(want) >= 8
    for file, arrays in want.items():
        for var in OUTPUT_VARIABLES:
            np.testing.assert_array_equal(got[file][var], arrays[var], err_msg=(file, var))


def test_how_a_granule_is_read_is_not_an_option_that_makes_outputs_differ(full_granules,
                                                                           tmp_path):  # fmt: skip
    granule, bbox = full_granules[0], BBox(*PIG_BBOX)
    first = reduce_granule(granule, tmp_path, ReduceOptions(bbox=bbox, area_reads=False))
    assert first.status == "done"
    for options in (ReduceOptions(bbox=bbox), ReduceOptions(bbox=bbox, read_ahead=True)):
        assert reduce_granule(granule, tmp_path, options).status == "skipped"
    other = reduce_granule(granule, tmp_path, ReduceOptions(bbox=bbox, epsg=3413))
    assert other.status == "failed" and "other options" in other.reason


def test_one_job_runs_read_ahead_and_workers_do_not(monkeypatch, tmp_path):
    """read_ahead=None lets the run decide: a reader thread only in a one-process run."""
    from helpers.reduce import run

    seen = []
    monkeypatch.setattr(run, "reduce_granule", lambda p, out, options: seen.append(options))
    list(run._results([tmp_path / "a.h5"], tmp_path, ReduceOptions(), 1, None, 1.0))
    list(run._results([tmp_path / "a.h5"], tmp_path, ReduceOptions(read_ahead=False), 1, None, 1))
    assert [o.read_ahead for o in seen] == [True, False]
    assert ReduceOptions().read_ahead is None  # workers and direct calls: no extra thread
