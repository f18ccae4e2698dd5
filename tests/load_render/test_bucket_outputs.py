"""The loader and the renderer read reduced outputs from an S3 bucket (moto's server) as they
read them from a folder: the same frame, the same map, the same errors naming the URL."""

from __future__ import annotations

import pandas as pd
import pytest
from s3server import client

from helpers.bbox import BBox
from helpers.config import PIG_BBOX
from helpers.load import epsg_of, find_reduced, open_reduced, read_file
from helpers.reduce import OUTPUT_VARIABLES, ReduceOptions, reduce_granules

COLUMNS = [*OUTPUT_VARIABLES, "beam", "rgt", "cycle"]


@pytest.mark.parametrize("fmt", ["h5", "parquet"])
def test_a_bucket_s_outputs_load_as_a_folder_s(small_sample, s3_bucket, tmp_path, fmt):
    options = ReduceOptions(bbox=BBox(*PIG_BBOX), fmt=fmt)
    out = f"{s3_bucket}/reduced"
    for where in (out, tmp_path / "local"):
        summary = reduce_granules([small_sample], where, options, progress=False)
        assert summary.count("done") == len(summary.results)
    remote = open_reduced(out, columns=COLUMNS, partition_mb=0.5)
    local = open_reduced(tmp_path / "local", columns=COLUMNS, partition_mb=0.5)
    assert remote.npartitions == local.npartitions > 1
    got, want = remote.compute(), local.compute()
    assert len(got) > 10_000
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert epsg_of(remote) == epsg_of(local) == 3031
    files, here = find_reduced(out), find_reduced(tmp_path / "local")
    assert [str(f).rsplit("/", 1)[-1] for f in files] == [p.name for p in here]
    assert all(str(f).startswith(f"{out}/ATL06_") for f in files)  # no record, lock or hidden file
    one = read_file(files[0], ["h_li", "beam"])
    assert len(one) > 0
    assert find_reduced(files[0]) == [files[0]]  # a file named on its own
    assert len(open_reduced(files[0], columns=["h_li"]).compute()) == len(one)


def test_the_renderer_draws_a_bucket_s_outputs(small_sample, s3_bucket, tmp_path, cli):
    out = f"{s3_bucket}/reduced"
    options = ReduceOptions(bbox=BBox(*PIG_BBOX))
    reduce_granules([small_sample], out, options, progress=False)
    reduce_granules([small_sample], tmp_path / "local", options, progress=False)
    drawn = {}
    for key, where in (("bucket", out), ("local", tmp_path / "local")):
        result = cli("helpers.render", where, "--png", tmp_path / f"{key}.png", "--size", "100")
        assert result.returncode == 0, result.stderr
        drawn[key] = result.stdout.split(" points")[0]
    assert drawn["bucket"] == drawn["local"] and (tmp_path / "bucket.png").stat().st_size > 0


def test_a_bucket_without_outputs_or_a_damaged_one_is_named(
    small_sample, s3_bucket, moto_s3, cli, tmp_path
):
    empty = f"{s3_bucket}/nothing-here"
    with pytest.raises(FileNotFoundError, match=f"no reduced outputs .* in {empty}"):
        open_reduced(empty)
    result = cli("helpers.render", empty, "--png", tmp_path / "map.png")
    assert result.returncode == 2 and empty in result.stderr
    out = f"{s3_bucket}/reduced"
    reduce_granules([small_sample], out, ReduceOptions(bbox=BBox(*PIG_BBOX)), progress=False)
    victim = find_reduced(out)[1]
    bucket, _, key = victim.removeprefix("s3://").partition("/")
    client(moto_s3).put_object(Bucket=bucket, Key=key, Body=b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(ValueError, match=f"{victim}: cannot read this reduced output"):
        open_reduced(out).compute()
