"""Granules from URLs against faulty and hostile servers, and granules that break the rules.

Every case runs against a real server on this machine: :class:`helpers.rangeserver.RangeServer`
(honest, Range and If-Match honoured) or ``hostile_http.HostileServer`` (stalls, lies,
redirects in a loop, fails once, swaps the file mid-read). Outputs are checked against an
independent h5py re-read of the input (:func:`kept_by_rereading`).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from hostile_http import HostileServer
from processes import altered_copy, linked_copies, output_of

from helpers.bbox import BBox
from helpers.granules import BEAMS
from helpers.rangeserver import RangeServer
from helpers.reduce import RECORDS, ReduceOptions, reduce_granule, reduce_granules
from helpers.reduce.reading import BoxSearch, Column

#: Keeps some beams of the small sample's first and third granules (as tests/reduce/test_remote.py).
SMALL_BOX = BBox(-100.0, -75.5, -99.0, -75.0)
#: Keeps about 10 % of every track of a full-size synthetic granule.
TENTH_BOX = BBox(-115.0, -77.0, -85.0, -74.0)
#: What a run that hangs is given before the test calls it a hang (work of a few seconds).
HANG_S = 120


# --------------------------------------------------------------------------- re-reading


def kept_by_rereading(granule: Path, box: BBox | None) -> dict[str, np.ndarray]:
    """``{beam: h_li of the kept segments}``, read directly with h5py (no helpers code)."""
    kept = {}
    with h5py.File(granule) as f:
        for beam in BEAMS:
            if f"{beam}/land_ice_segments" not in f:
                continue
            g = f[f"{beam}/land_ice_segments"]
            lat, lon, h = g["latitude"][()], g["longitude"][()], g["h_li"][()]
            keep = (g["atl06_quality_summary"][()] == 0) & (np.abs(h) < 10_000)
            if box is not None:
                keep &= (lat >= box.south) & (lat <= box.north)
                keep &= (lon >= box.west) & (lon <= box.east)
            if keep.any():
                kept[beam] = h[keep]
    return kept


def assert_outputs_are(folder: Path, granule: Path, box: BBox | None) -> int:
    """The h5 outputs of ``granule`` in ``folder`` hold exactly what re-reading keeps."""
    want = kept_by_rereading(granule, box)
    stem = granule.name.removesuffix(".h5")
    got = {p.name.removeprefix(f"{stem}_").removesuffix(".h5"): p
           for p in folder.glob(f"{stem}_gt*.h5")}  # fmt: skip
    assert sorted(got) == sorted(want)
    for beam, h in want.items():
        with h5py.File(got[beam]) as out:
            np.testing.assert_array_equal(out["h_li"][()], h, err_msg=beam)
    return sum(h.size for h in want.values())


def every_text(folder: Path) -> str:
    """Everything the reducer wrote into an output folder that a person could read: records,
    output attributes (file and dataset), Parquet metadata."""
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".json" or path.suffix == ".lock":
            texts.append(path.read_text(errors="replace"))
        elif path.suffix == ".parquet":
            metadata = pq.read_schema(path).metadata or {}
            texts += [f"{k!r}={v!r}" for k, v in metadata.items()]
        elif path.suffix == ".h5":
            with h5py.File(path) as f:
                texts += [f"{k}={v!r}" for k, v in f.attrs.items()]
                for name in f:
                    texts += [f"{k}={v!r}" for k, v in f[name].attrs.items()]
    return "\n".join(texts)


def never_hangs(run, *args) -> subprocess.CompletedProcess:
    """``run(*args)`` in a process of its own (a hang there must fail the test, not stop it)."""
    try:
        return run(*args, process=True, timeout=HANG_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m helpers.reduce did not finish within {HANG_S} s (a hang)")


@pytest.fixture(scope="module")
def granules(small_sample) -> list[Path]:
    return sorted(small_sample.glob("ATL06_*.h5"))


@pytest.fixture(scope="module")
def in_box(granules) -> Path:
    """A sample granule with points inside SMALL_BOX."""
    found = [g for g in granules if kept_by_rereading(g, SMALL_BOX)]
    assert found, "no sample granule has points in SMALL_BOX"
    return found[0]


def damaged_copy(granule: Path, folder: Path, box: BBox, name: str) -> Path:
    """A copy of a granule, named ``name``, whose h_li chunk holding its first segment in
    ``box`` is garbled (so that a box read must decode it, and fails)."""
    copy = folder / name
    shutil.copy(granule, copy)
    with h5py.File(copy) as f:
        for beam in BEAMS:
            g = f.get(f"{beam}/land_ice_segments")
            if g is None:
                continue
            lat, lon = g["latitude"][()], g["longitude"][()]
            inside = np.flatnonzero(box.contains(lon, lat))
            if inside.size:
                dataset = g["h_li"]
                k = inside[0] // dataset.chunks[0]
                info = dataset.id.get_chunk_info_by_coord((k * dataset.chunks[0],))
                break
        else:
            raise AssertionError(f"{granule.name} has no point in the box")
    with open(copy, "r+b") as raw:
        raw.seek(info.byte_offset + info.size // 3)
        raw.write(bytes(range(256)) * max(1, info.size // 1024))
    return copy


# --------------------------------------------------------------------------- 1. deadlock


@pytest.fixture(scope="module")
def twelve(in_box, tmp_path_factory) -> tuple[Path, list[str], list[str]]:
    """A folder of 12 granules with points in the box: 6 with a damaged h_li chunk there."""
    folder = tmp_path_factory.mktemp("twelve")
    good = [p.name for p in linked_copies([in_box], folder, 6)]
    damaged = []
    for i in range(6):
        name = f"ATL06_20190202{i:06d}_{700 + i:04d}0310_006_01.h5"
        damaged.append(damaged_copy(in_box, folder, SMALL_BOX, name).name)
    return folder, good, damaged


def test_damaged_granules_over_http_with_one_job_never_hang(twelve, tmp_path, reduce_cli):
    """Item 1: 6 damaged and 6 good granules by URL, ``-n 1`` (a reader thread), 3 runs."""
    folder, good, damaged = twelve
    box = [str(v) for v in SMALL_BOX.as_list()]
    with RangeServer(folder) as server:
        urls = [server.url_for(n) for n in sorted(good + damaged)]
        for run in range(3):
            done = never_hangs(reduce_cli, *urls, "-o", tmp_path / f"out{run}", "-b", *box,
                               "-n", "1", "-q")  # fmt: skip
            shown = output_of(done)
            assert done.returncode == 1, shown
            assert "12 granules: 6 done, 0 skipped (already finished), 6 failed" in shown
            failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
            names = sorted(line.split()[1].rsplit("/", 1)[1].rstrip(":") for line in failed)
            assert names == damaged, failed
            assert all("cannot be decoded" in line for line in failed), failed
    for name in good:
        assert_outputs_are(tmp_path / "out0", folder / name, SMALL_BOX)


CYCLES_SCRIPT = """
import sys
import h5py
from helpers.bbox import BBox
from helpers.reduce import ReduceOptions, reduce_granule

url, local, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
options = ReduceOptions(bbox=BBox(-100.0, -75.5, -99.0, -75.0), read_ahead=True)
for i in range(n):
    holder = {{"file": h5py.File(local)}}
    holder["self"] = holder  # a cycle holding an open file, as notebook code makes them
    del holder
    result = reduce_granule(url, f"{{out}}/{{i}}", options)
    assert result.status == "done", result.reason
print("finished", n)
"""


def test_reference_cycles_holding_h5py_files_never_hang_a_url_read(in_box, tmp_path):
    """Item 1, from Python: garbage collection of h5py objects while a URL is read."""
    script = tmp_path / "cycles.py"
    script.write_text(textwrap.dedent(CYCLES_SCRIPT.format()))
    with RangeServer(in_box.parent) as server:
        try:
            ran = subprocess.run([sys.executable, str(script), server.url_for(in_box.name),
                                  str(in_box), str(tmp_path / "out"), "40"],
                                 capture_output=True, text=True, timeout=HANG_S)  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail(f"40 reductions did not finish within {HANG_S} s (a deadlock)")
    assert ran.returncode == 0 and "finished 40" in ran.stdout, ran.stderr[-2000:]


# --------------------------------------------------------------------------- 2, 3. names


#: Passwords holding each character that needs percent-encoding in a URL, and others.
PASSWORDS = [f"pa{c}ss-Q7secret{i}" for i, c in enumerate("/?#@:% '")]


def test_no_password_or_token_reaches_any_line_record_output_or_log(
    granules, in_box, tmp_path, caplog, reduce_cli
):
    """Item 2: passwords with / ? # @ : % space ' and query tokens, from Python and from
    the command line: 0 leaks, and every input either done or failed in one line."""
    served = tmp_path / "served"
    names = [p.name for p in linked_copies([in_box], served, len(PASSWORDS) + 1)]
    secrets = ["Q7secret", "leakyuser", "TOKEN"]  # in every password, user and token
    with RangeServer(served) as server:
        host = server.url.removeprefix("http://")
        urls = [f"http://leakyuser:{pw}@{host}/{name}?token=TOKEN{i}x#frag"
                for i, (pw, name) in enumerate(zip(PASSWORDS, names, strict=False))]  # fmt: skip
        urls.append(f"{server.url}/{names[-1]}?X-Amz-Signature=TOKEN{len(names) - 1}x")
        echoed: list[str] = []
        caplog.set_level("DEBUG")
        summary = reduce_granules(urls, tmp_path / "py", ReduceOptions(bbox=SMALL_BOX),
                                  progress=False, echo=echoed.append)  # fmt: skip
        cli = reduce_cli(*urls, "-o", tmp_path / "cli", "-b", *map(str, SMALL_BOX.as_list()),
                         "--format", "parquet", "-q")  # fmt: skip
    shown = "\n".join([*echoed, summary.report(), *(json.dumps(asdict(r)) for r in summary.results),
                       caplog.text, output_of(cli), every_text(tmp_path / "py"),
                       every_text(tmp_path / "cli")])  # fmt: skip
    leaks = [s for s in secrets if s in shown]
    assert not leaks, leaks
    # valid: the passwords with @ : % space ' and the URL without one; refused: / ? #
    assert (summary.count("done"), summary.count("failed")) == (6, 3), summary.report()
    assert len(list((tmp_path / "cli").glob("*.parquet"))) == 6
    for result in summary.results:
        assert result.status in ("done", "failed") and "\n" not in result.reason


def test_one_malformed_url_fails_alone_and_the_others_are_reduced(in_box, tmp_path, reduce_cli):
    """Item 3: ``http://[::1/x.h5`` is one named failure; the local granule is reduced."""
    bad = "http://[::1/x.h5?t=SECRET7"
    ran = reduce_cli(bad, in_box, "-o", tmp_path / "out", "-q")
    shown = output_of(ran)
    assert ran.returncode == 1, shown
    assert "2 granules: 1 done, 0 skipped (already finished), 1 failed" in shown
    assert "FAILED http://(invalid URL): cannot reduce http://(invalid URL): not a valid URL " \
           "(Invalid IPv6 URL)" in shown  # fmt: skip
    assert "SECRET7" not in shown + every_text(tmp_path / "out")
    result = reduce_granule(bad, tmp_path / "py")
    assert (result.status, result.source) == ("failed", "http://(invalid URL)")
    assert "SECRET7" not in json.dumps(asdict(result))


# --------------------------------------------------------------------------- 4. traversal


def test_a_url_whose_name_decodes_to_a_path_writes_nothing_outside_the_output_folder(
    in_box, tmp_path, reduce_cli
):
    """Item 4: ``..%2F..%2F<name>`` is refused before any request; --overwrite's cleanup
    touches nothing above the output folder."""
    out = tmp_path / "a" / "b" / "out"
    out.parent.mkdir(parents=True)
    decoys = [tmp_path / f"{in_box.stem}_gt1l.h5", tmp_path / "a" / f"{in_box.stem}.parquet"]
    for decoy in decoys:
        decoy.parent.mkdir(parents=True, exist_ok=True)
        decoy.write_bytes(b"not mine")
    before = sorted(p for p in tmp_path.rglob("*") if out not in p.parents and p != out)
    with RangeServer(in_box.parent) as server:
        for name in (f"..%2F..%2F{in_box.name}", f"..%5C..%5C{in_box.name}", "%2E%2E"):
            for extra in ([], ["--overwrite"]):
                ran = reduce_cli(f"{server.url}/{name}", "-o", out, "-q", *extra)
                assert ran.returncode == 1, output_of(ran)
                assert "could be written outside the output folder" in ran.stdout or \
                    "no file name" in ran.stdout, ran.stdout  # fmt: skip
        assert server.stats()["requests"] + server.stats()["heads"] == 0
    after = sorted(p for p in tmp_path.rglob("*") if out not in p.parents and p != out)
    assert after == before and all(d.read_bytes() == b"not mine" for d in decoys)
    assert not [p for p in out.iterdir() if p.name != RECORDS]


# --------------------------------------------------------------------------- 5. versions


@pytest.mark.parametrize("honours_if_match", [True, False])
def test_a_file_changed_on_the_server_during_a_read_fails_instead_of_mixing(
    in_box, tmp_path, honours_if_match
):
    """Item 5: same size and offsets, new contents after a few requests."""
    other = altered_copy(in_box, tmp_path / "other")
    assert other.stat().st_size == in_box.stat().st_size
    with HostileServer(in_box.parent, "swap", after=2, other=other,
                       honour_if_match=honours_if_match) as server:  # fmt: skip
        result = reduce_granule(server.url_for(in_box.name), tmp_path / "out",
                                ReduceOptions(bbox=SMALL_BOX))  # fmt: skip
    assert result.status == "failed"
    assert "changed on the server while it was read" in result.reason, result.reason
    assert not list((tmp_path / "out").glob("ATL06_*")) and not list(
        (tmp_path / "out" / RECORDS).glob("*.json")
    )


def test_a_file_that_does_not_change_is_read_whole_by_the_same_server(in_box, tmp_path):
    """The control for the test above: the swap comes after the read, so nothing mixes."""
    other = altered_copy(in_box, tmp_path / "other")
    with HostileServer(in_box.parent, "swap", after=10_000, other=other) as server:
        result = reduce_granule(server.url_for(in_box.name), tmp_path / "out",
                                ReduceOptions(bbox=SMALL_BOX))  # fmt: skip
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", in_box, SMALL_BOX) > 0


# --------------------------------------------------------------------------- 6, 9. latitude


def _rewrite(dataset: h5py.Dataset, values: np.ndarray) -> None:
    dataset[...] = values.astype(dataset.dtype)


def _chunk_the_search_never_reads(granule: Path, beam: str, box: BBox) -> int:
    """A latitude chunk of ``beam`` that a box search (monotonic latitude) does not read."""
    with h5py.File(granule) as f:
        g = f[f"{beam}/land_ice_segments"]
        lat, lon = Column(g["latitude"], keep=True), Column(g["longitude"], keep=True)
        BoxSearch(box, monotonic=True).rows(lat, lon)
        unread = sorted(set(range(lat.n_chunks)) - set(lat._cache))
    assert unread, "the search read every chunk: no place to hide points"
    return unread[len(unread) // 2]


def test_latitude_out_of_order_in_an_unread_chunk_loses_no_point_locally(full_granule, tmp_path):
    """Item 6: a chunk that a box search never reads holds points inside the box (a file
    breaking ATL06's rule); a local read with a box keeps them, as a whole read does."""
    k = _chunk_the_search_never_reads(full_granule, "gt1l", TENTH_BOX)
    crafted = tmp_path / full_granule.name
    shutil.copy(full_granule, crafted)
    with h5py.File(crafted, "r+") as f:
        g = f["gt1l/land_ice_segments"]
        lat, lon, q = g["latitude"][()], g["longitude"][()], g["atl06_quality_summary"][()]
        rows = np.arange(k * 10_000, min((k + 1) * 10_000, lat.size))
        rows = rows[(q[rows] == 0) & (np.abs(g["h_li"][()][rows]) < 1e4)][100:326]
        lat[rows], lon[rows] = -75.5, -100.0  # inside TENTH_BOX, out of order
        _rewrite(g["latitude"], lat)
        _rewrite(g["longitude"], lon)
    result = reduce_granule(crafted, tmp_path / "out", ReduceOptions(bbox=TENTH_BOX))
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", crafted, TENTH_BOX) == result.points_kept
    with h5py.File(tmp_path / "out" / f"{crafted.stem}_gt1l.h5") as out:
        assert np.count_nonzero(out["lat"][()] == -75.5) == rows.size == 226


@pytest.mark.parametrize("where", ["local", "http"])
def test_nan_latitude_with_a_box_is_reduced_like_the_rest(in_box, tmp_path, where):
    """Item 9: NaN latitudes (first, middle and last segment of every beam) and a box."""
    crafted = tmp_path / "in" / in_box.name
    crafted.parent.mkdir()
    shutil.copy(in_box, crafted)
    with h5py.File(crafted, "r+") as f:
        for beam in BEAMS:
            if f"{beam}/land_ice_segments" in f:
                lat = f[f"{beam}/land_ice_segments/latitude"][()]
                lat[[0, lat.size // 2, -1]] = np.nan
                _rewrite(f[f"{beam}/land_ice_segments/latitude"], lat)
    if where == "local":
        result = reduce_granule(crafted, tmp_path / "out", ReduceOptions(bbox=SMALL_BOX))
    else:
        with RangeServer(crafted.parent) as server:
            result = reduce_granule(server.url_for(crafted.name), tmp_path / "out",
                                    ReduceOptions(bbox=SMALL_BOX))  # fmt: skip
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", crafted, SMALL_BOX) == result.points_kept > 0


# --------------------------------------------------------------------------- 7, 8, 11, 12


def test_a_server_that_never_answers_times_out_with_the_url_named(in_box, tmp_path, reduce_cli):
    """Item 7: ``--timeout 1``: 3 tries, then one line naming the URL and what timed out."""
    with HostileServer(in_box.parent, "stall") as server:
        url = server.url_for(in_box.name)
        started = time.monotonic()
        ran = reduce_cli(url, "-o", tmp_path / "out", "--timeout", "1", "-q")
        took = time.monotonic() - started
    assert ran.returncode == 1, output_of(ran)
    assert f"FAILED {url}: cannot open {url}: no answer within 1 s (tried 3 times)" in ran.stdout
    assert took < 30, f"{took:.1f} s for 3 tries of 1 s"
    assert server.gets == 3


def test_a_server_that_ignores_range_and_offers_20_gb_is_refused_after_its_headers(
    in_box, tmp_path
):
    """Item 8: the status and Content-Length are checked before a byte of the body is read."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with HostileServer(in_box.parent, "no_range_huge") as server:
        result = reduce_granule(server.url_for(in_box.name), tmp_path / "out")
        time.sleep(0.3)  # what the server still manages to send once the client hung up
        sent = server.sent
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert result.status == "failed"
    assert "the server ignores Range requests" in result.reason
    assert "20,000,000,000 bytes" in result.reason, result.reason
    assert sent < 32 * 2**20, f"{sent:,} bytes sent before the client hung up"
    assert peak_after - peak_before < 200 * 2**20


def test_one_503_on_a_chunk_is_retried(in_box, tmp_path):
    """Item 11: a transient failure of one request does not fail the granule."""
    reference = tmp_path / "reference"
    assert reduce_granule(in_box, reference).status == "done"
    with HostileServer(in_box.parent, "fail_once", at=2, status=503) as server:
        result = reduce_granule(server.url_for(in_box.name), tmp_path / "out")
        assert server.failed == 1
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", in_box, None) > 0


def test_an_etag_that_changes_on_every_answer_says_so_and_what_to_do(in_box, tmp_path):
    """Item 12: the message names the changing version and says how to proceed."""
    with HostileServer(in_box.parent, "etag_per_response") as server:
        result = reduce_granule(server.url_for(in_box.name), tmp_path / "out")
    assert result.status == "failed"
    assert "changed on the server while it was read" in result.reason
    assert "ETag" in result.reason and "download the file" in result.reason, result.reason


def test_a_new_version_between_runs_is_refused_with_what_to_do(in_box, tmp_path):
    """Item 12: a re-run after the server's version changed says so (not "another file")."""
    served = tmp_path / "served"
    served.mkdir()
    granule = served / in_box.name
    shutil.copy(in_box, granule)
    with RangeServer(served) as server:
        url = server.url_for(granule.name)
        assert reduce_granule(url, tmp_path / "out").status == "done"
        os.utime(granule, ns=(granule.stat().st_atime_ns, granule.stat().st_mtime_ns + 10**9))
        again = reduce_granule(url, tmp_path / "out")
    assert again.status == "failed"
    assert f"the server's version of {url} changed since its outputs" in again.reason
    assert "use --overwrite to reduce it again" in again.reason
    assert "another file" not in again.reason


def test_a_redirect_loop_is_named_as_one(in_box, tmp_path):
    """Item 12: not "HTTP 0"."""
    with HostileServer(in_box.parent, "redirect_loop") as server:
        url = server.url_for(in_box.name)
        result = reduce_granule(url, tmp_path / "out")
    assert result.reason == f"cannot open {url}: more than 10 redirects (a redirect loop?)"


def _refilter(granule: Path, folder: Path, make_plist) -> Path:
    """A copy of a granule whose every beam's h_li is stored with another filter pipeline."""
    copy = folder / granule.name
    folder.mkdir(exist_ok=True)
    shutil.copy(granule, copy)
    with h5py.File(copy, "r+") as f:
        for beam in BEAMS:
            if f"{beam}/land_ice_segments" not in f:
                continue
            g = f[f"{beam}/land_ice_segments"]
            values, attrs = g["h_li"][()], dict(g["h_li"].attrs)
            del g["h_li"]
            space = h5py.h5s.create_simple(values.shape, (h5py.h5s.UNLIMITED,))
            dsid = h5py.h5d.create(g.id, b"h_li", h5py.h5t.IEEE_F32LE, space,
                                   dcpl=make_plist(values.size))  # fmt: skip
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, values)
            for key, value in attrs.items():
                if key not in ("DIMENSION_LIST",):
                    g["h_li"].attrs[key] = value
    return copy


def _deflate_then_shuffle(n: int):
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((min(n, 10_000),))
    plist.set_deflate(6)
    plist.set_shuffle()  # after deflate: the pipeline's order is the calls' order
    return plist


def _tiny_chunks(n: int):
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((1,))
    return plist


@pytest.mark.parametrize("where", ["local", "http"])
def test_chunks_deflated_then_shuffled_are_read_by_h5py(in_box, tmp_path, where):
    """Item 12: a pipeline this code does not decode is left to h5py, not called corrupt."""
    crafted = _refilter(in_box, tmp_path / "in", _deflate_then_shuffle)
    with h5py.File(crafted) as f:
        filters = f["gt1l/land_ice_segments/h_li"].id.get_create_plist()
        assert [filters.get_filter(i)[0] for i in range(2)] == [1, 2]  # deflate, shuffle
    source = crafted
    with RangeServer(crafted.parent) as server:
        if where == "http":
            source = server.url_for(crafted.name)
        result = reduce_granule(source, tmp_path / "out", ReduceOptions(bbox=SMALL_BOX))
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", crafted, SMALL_BOX) > 0


@pytest.mark.parametrize("where", ["local", "http"])
def test_datasets_in_chunks_of_one_value_are_read_whole(in_box, tmp_path, where):
    """Item 13: one read of the dataset, not one request (or decode) per value."""
    crafted = _refilter(in_box, tmp_path / "in", _tiny_chunks)
    with h5py.File(crafted) as f:
        dataset = f["gt1l/land_ice_segments/h_li"]
        assert dataset.chunks == (1,)
        segments = dataset.size
        column = Column(dataset)
        np.testing.assert_array_equal(column.read(), dataset[()])
        assert column.chunks_read == 1  # one read of the whole dataset, not one per value
    with RangeServer(crafted.parent) as server:
        source = server.url_for(crafted.name) if where == "http" else crafted
        result = reduce_granule(source, tmp_path / "out", ReduceOptions(bbox=SMALL_BOX))
    assert result.status == "done", result.reason
    assert assert_outputs_are(tmp_path / "out", crafted, SMALL_BOX) > 0
    if where == "http":  # the tiny chunks come through 64 KiB blocks, not one by one
        assert result.requests < segments / 20, (result.requests, segments)


def test_render_never_advises_deleting_a_folder_and_says_when_there_is_nothing_to_draw(
    in_box, tmp_path, cli
):
    """Item 12: a folder matched by a glob is searched; outputs with no rows are one line."""
    out = tmp_path / "out"
    assert reduce_granule(in_box, out, ReduceOptions(bbox=SMALL_BOX)).status == "done"
    (out / "looks_like_gt1l.h5").mkdir()  # a folder with an output's name
    drawn = cli("helpers.render", f"{out}/*.h5", "--png", tmp_path / "map.png")
    assert drawn.returncode == 0, output_of(drawn)
    assert "delete" not in output_of(drawn)
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in out.glob("ATL06_*_gt*.h5"):
        with h5py.File(path) as src, h5py.File(empty / path.name, "w") as dst:
            for name in src:
                dst.create_dataset(name, data=src[name][:0])
            dst.attrs.update(dict(src.attrs))
    nothing = cli("helpers.render", empty, "--png", tmp_path / "none.png")
    assert nothing.returncode == 2
    assert nothing.stderr.strip().endswith("no points to draw: the reduced outputs hold no rows "
                                           "(every point was filtered out, or the box missed "
                                           "the tracks)"), nothing.stderr  # fmt: skip
    assert "Traceback" not in output_of(nothing)
