"""Granules read from URLs and open file objects by byte ranges (issue 12), on real servers.

Every remote case runs against a server started here: :class:`helpers.rangeserver.RangeServer`
(HTTP, honours Range requests, counts what it sends), a tiny HTTP server that ignores Range,
a closed port, and moto's S3 server. The reference is always the same granule reduced from
its local path: remote outputs must equal it, array for array and attribute for attribute.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import sys
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
from outputs import assert_same_outputs, attributes, output_files
from processes import altered_copy, output_of

from helpers.bbox import BBox
from helpers.granules import BEAMS
from helpers.rangeserver import RangeServer
from helpers.reduce import RECORDS, ReduceOptions, reduce_granule, reduce_granules

#: Keeps some beams of the small sample and none of others (area-aware reads of parts).
SMALL_BOX = BBox(-100.0, -75.5, -99.0, -75.0)
#: Keeps about 10 % of every track of a full-size synthetic granule (bench/bench_reduce.py).
TENTH_BOX = BBox(-115.0, -77.0, -85.0, -74.0)
#: The design's goal for a box keeping ~10 %: bytes transferred / file bytes.
MAX_FRACTION_SENT = 0.2
#: A granule name that no server here holds.
ABSENT = "ATL06_20190101000000_09990210_006_01.h5"


def record(folder: Path, stem: str) -> dict:
    return json.loads((folder / RECORDS / f"{stem}.json").read_text())


def segments_in(granule: Path) -> int:
    """Land-ice segments of every beam of a granule, read directly."""
    with h5py.File(granule) as f:
        return sum(f[f"{b}/land_ice_segments/h_li"].size for b in BEAMS if b in f)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snapshot(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in output_files(folder).values()}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def granules(small_sample) -> list[Path]:
    return sorted(small_sample.glob("ATL06_*.h5"))


@pytest.fixture(scope="module")
def pair(granules) -> list[Path]:
    """Two granules of the sample with points inside SMALL_BOX (the others have none)."""
    return granules[::2]


@pytest.fixture(scope="module")
def local(small_sample, granules, tmp_path_factory) -> dict[str, Path]:
    """The sample reduced from its files: ``"whole"`` without a box, ``"box"`` with SMALL_BOX."""
    made = {}
    for key, bbox in (("whole", None), ("box", SMALL_BOX)):
        out = tmp_path_factory.mktemp(f"local_{key}")
        summary = reduce_granules(granules, out, ReduceOptions(bbox=bbox), progress=False)
        assert summary.count("done") == len(granules) and summary.points_kept > 0
        kept = [r.points_kept for r in summary.results]  # in the order of the names
        assert kept[0] > 0 and kept[2] > 0, f"the pair keeps no point with {bbox}"
        made[key] = out
    return made


@pytest.fixture(scope="module")
def full_server(full_granule):
    with RangeServer(full_granule.parent) as server:
        yield server


@pytest.fixture(scope="module")
def full_local(full_granule, tmp_path_factory) -> Path:
    """The full-size granule reduced from its file with TENTH_BOX."""
    out = tmp_path_factory.mktemp("full_local")
    assert reduce_granule(full_granule, out, ReduceOptions(bbox=TENTH_BOX)).status == "done"
    return out


def urls(server: RangeServer, paths) -> list[str]:
    return [server.url_for(p.name) for p in paths]


# --------------------------------------------------------------------------- HTTP


@pytest.mark.parametrize("key", ["whole", "box"])
def test_urls_give_the_outputs_of_local_files(sample_server, granules, local, key, tmp_path):
    bbox = SMALL_BOX if key == "box" else None
    summary = reduce_granules(urls(sample_server, granules), tmp_path, ReduceOptions(bbox=bbox),
                              progress=False)  # fmt: skip
    assert summary.count("done") == len(granules), summary.report()
    assert assert_same_outputs(tmp_path, local[key]) > 0
    for granule, result in zip(granules, summary.results, strict=True):
        assert result.source == sample_server.url_for(granule.name)
        assert result.requests > 0 and result.bytes_fetched > 0
        remote, here = record(tmp_path, granule.stem), record(local[key], granule.stem)
        assert remote["input"]["path"] == result.source and remote["input"]["version"]
        assert remote["input"]["size"] == granule.stat().st_size
        assert remote["outputs"] == here["outputs"] and remote["attrs"] == here["attrs"]
        assert remote["points_read"] == here["points_read"]


def test_a_full_size_granule_with_a_box_transfers_a_fraction_of_it(
    full_granule, full_server, full_local, tmp_path
):
    full_server.reset()
    result = reduce_granule(full_server.url_for(full_granule.name), tmp_path,
                            ReduceOptions(bbox=TENTH_BOX))  # fmt: skip
    sent = full_server.stats()
    assert result.status == "done", result.reason
    kept = assert_same_outputs(tmp_path, full_local)
    assert 0.05 < kept / segments_in(full_granule) < 0.2  # the box keeps about a tenth
    size = full_granule.stat().st_size
    assert sent["bytes"] < MAX_FRACTION_SENT * size, f"sent {sent['bytes'] / size:.2f}x the file"
    assert result.bytes_fetched == sent["bytes"]
    assert result.requests == sent["requests"] + sent["heads"]


def test_unreachable_and_missing_urls_fail_alone_in_one_line(sample_server, granules, tmp_path):
    good = sample_server.url_for(granules[0].name)
    refused = f"http://127.0.0.1:{closed_port()}/{granules[1].name}"
    missing = sample_server.url_for(ABSENT)
    echoed: list[str] = []
    summary = reduce_granules([good, refused, missing], tmp_path, progress=False,
                              echo=echoed.append)  # fmt: skip
    by_source = {r.source: r for r in summary.results}
    assert by_source[good].status == "done" and output_files(tmp_path)
    for url, why in ((refused, "connect"), (missing, "HTTP 404")):
        result = by_source[url]
        assert result.status == "failed" and why in result.reason, result.reason
        assert "\n" not in result.reason and not result.outputs
        assert not (tmp_path / RECORDS / f"{Path(url).stem}.json").exists()
        name = Path(url).name
        assert [line for line in echoed if name in line] == [f"{name}: FAILED: {result.reason}"]
        assert f"FAILED {url}: {result.reason}" in summary.report().splitlines()


class _IgnoresRange(BaseHTTPRequestHandler):
    """Answers every GET with the whole file (200), as a server without Range support."""

    protocol_version = "HTTP/1.1"
    root = Path()

    def log_message(self, format, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._whole(send_body=False)

    def do_GET(self) -> None:
        self._whole(send_body=True)

    def _whole(self, send_body: bool) -> None:
        body = (self.root / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def test_a_server_that_ignores_range_requests_fails_clearly(granules, tmp_path):
    handler = type("Handler", (_IgnoresRange,), {"root": granules[0].parent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{granules[0].name}"
        result = reduce_granule(url, tmp_path, ReduceOptions(bbox=SMALL_BOX))
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == "failed"
    assert "ignores Range requests" in result.reason and url in result.reason
    assert "\n" not in result.reason
    assert not output_files(tmp_path) and not list((tmp_path / RECORDS).glob("*.json"))


def test_a_client_that_goes_away_mid_answer_is_counted_not_printed(tmp_path, capfd):
    # A killed worker drops its connections: the server must not print a traceback for it.
    (tmp_path / "big.h5").write_bytes(os.urandom(4_000_000))
    with RangeServer(tmp_path, connection_mbps=1.0) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(f"GET /big.h5 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            assert conn.recv(1024).startswith(b"HTTP/1.1 200")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for _ in range(200):  # the server notices at its next write (1 MB/s: within 0.1 s)
            if server.stats().get("dropped"):
                break
            threading.Event().wait(0.05)
        assert server.stats()["dropped"] == 1
    assert "Traceback" not in capfd.readouterr().err


def test_credentials_in_urls_reach_no_record_output_or_message(
    sample_server, granules, pair, local, tmp_path, capfd
):
    def with_secrets(url: str) -> str:
        return url.replace("http://", "http://user:secret@", 1) + "?token=SECRET"

    good = [with_secrets(u) for u in urls(sample_server, pair)]
    bad = [with_secrets(sample_server.url_for(ABSENT)),
           with_secrets(f"http://127.0.0.1:{closed_port()}/{granules[1].name}")]  # fmt: skip
    echoed: list[str] = []
    # The progress bar is on (it writes to stderr, which is checked too).
    summary = reduce_granules([*good, *bad], tmp_path, ReduceOptions(bbox=SMALL_BOX),
                              echo=echoed.append)  # fmt: skip
    assert summary.count("done") == 2 and summary.count("failed") == 2, summary.report()
    assert_same_outputs(tmp_path, local["box"], stems=[g.stem for g in pair])
    assert record(tmp_path, pair[0].stem)["input"]["path"] == sample_server.url_for(pair[0].name)
    captured = capfd.readouterr()
    shown = [summary.report(), *echoed, captured.out, captured.err,
             *(repr(asdict(r)) for r in summary.results)]  # fmt: skip
    for path in tmp_path.rglob("*"):
        if path.is_file():
            shown.append(path.read_bytes().decode("latin-1"))
            if path.suffix == ".h5":
                with h5py.File(path) as f:
                    shown += [repr(attributes(f)), *(repr(attributes(f[v])) for v in f)]
    leaks = [text[:200] for text in shown if "secret" in text.lower()]
    assert not leaks, leaks


def test_a_rerun_skips_urls_and_a_changed_file_is_refused_until_overwrite(
    granules, local, tmp_path
):
    served = tmp_path / "served"
    served.mkdir()
    granule = served / granules[0].name
    granule.write_bytes(granules[0].read_bytes())
    out = tmp_path / "out"
    with RangeServer(served) as server:
        url = server.url_for(granule.name)
        assert reduce_granule(url, out).status == "done"
        assert_same_outputs(out, local["whole"], stems=[granule.stem])
        before = snapshot(out)
        server.reset()
        again = reduce_granule(url, out)
        assert again.status == "skipped", again.reason
        # One request for one byte (with the ETag) tells the granule is unchanged.
        assert (server.stats()["requests"], server.stats()["bytes"]) == (1, 1)
        # The server now holds another file of that name (heights 100 m higher).
        altered_copy(granules[0], served)
        changed = reduce_granule(url, out)
        assert changed.status == "failed" and "--overwrite" in changed.reason, changed.reason
        assert f"the server's version of {url} changed" in changed.reason
        assert snapshot(out) == before  # nothing replaced, nothing removed
        redone = reduce_granule(url, out, ReduceOptions(overwrite=True))
        assert redone.status == "done", redone.reason
        for name, path in output_files(out).items():
            with h5py.File(path) as new, h5py.File(local["whole"] / name) as old:
                np.testing.assert_allclose(new["h_li"][()], old["h_li"][()] + 100.0, atol=1e-2)
        # Touched only: the server states another version (ETag, Last-Modified) -> refused too.
        os.utime(granule, ns=(granule.stat().st_atime_ns, granule.stat().st_mtime_ns + 10**9))
        assert reduce_granule(url, out).status == "failed"


def test_file_objects_give_the_outputs_of_local_files(
    sample_server, granules, pair, local, tmp_path
):
    import fsspec

    options = ReduceOptions(bbox=SMALL_BOX)
    one = tmp_path / "one_by_one"
    with fsspec.open(sample_server.url_for(pair[0].name)).open() as remote, \
            open(pair[1], "rb") as plain:  # fmt: skip
        sample_server.reset()
        over_http = reduce_granule(remote, one, options)
        assert over_http.status == "done", over_http.reason
        assert over_http.source == sample_server.url_for(pair[0].name)
        assert over_http.bytes_fetched == sample_server.stats()["bytes"] > 0  # a RangeReader
        from_disk = reduce_granule(plain, one, options)
        assert from_disk.status == "done" and from_disk.requests == 0, from_disk.reason
        assert not plain.closed  # the caller's to close
    assert_same_outputs(one, local["box"], stems=[g.stem for g in pair])
    many = tmp_path / "many"
    with fsspec.open(sample_server.url_for(granules[1].name)).open() as remote, \
            open(granules[2], "rb") as plain:  # fmt: skip
        inputs = [remote, sample_server.url_for(granules[0].name), plain, granules[3]]
        summary = reduce_granules(inputs, many, options, n_jobs=2, progress=False)
    assert summary.count("done") == 4, summary.report()
    assert_same_outputs(many, local["box"])


def test_an_earthaccess_file_object_is_read_by_byte_ranges(sample_server, pair, local, tmp_path):
    # earthaccess.open() gives EarthAccessFile objects: a proxy around an fsspec file (opened
    # with 4 MB "background" blocks) that also carries the search result. The real class is
    # wrapped around a file of the local server; the reducer must read through its filesystem
    # by byte ranges, not through the proxy's read-ahead cache.
    import fsspec
    from earthaccess.store import EarthAccessFile

    url = sample_server.url_for(pair[0].name)
    with fsspec.open(url, cache_type="background", block_size=4 << 20).open() as f:
        proxy = EarthAccessFile(f, granule=None)
        sample_server.reset()
        result = reduce_granule(proxy, tmp_path, ReduceOptions(bbox=SMALL_BOX))
    assert result.status == "done", result.reason
    assert result.source == url
    assert 0 < result.bytes_fetched == sample_server.stats()["bytes"] < pair[0].stat().st_size
    assert_same_outputs(tmp_path, local["box"], stems=[pair[0].stem])


def test_urls_on_a_dask_cluster_of_processes(sample_server, granules, local, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        summary = reduce_granules(urls(sample_server, granules), tmp_path,
                                  ReduceOptions(bbox=SMALL_BOX),
                                  scheduler=cluster.scheduler_address, progress=False)  # fmt: skip
    assert summary.count("done") == len(granules), summary.report()
    assert all(r.requests > 0 for r in summary.results)
    assert_same_outputs(tmp_path, local["box"])


def test_the_command_line_reduces_urls(sample_server, pair, local, tmp_path, reduce_cli):
    box = [str(v) for v in SMALL_BOX.as_list()]
    two = urls(sample_server, pair)
    done = reduce_cli(*two, "-o", tmp_path / "good", "-b", *box, "-q")
    assert done.returncode == 0, output_of(done)
    assert "2 done" in done.stdout
    assert_same_outputs(tmp_path / "good", local["box"], stems=[g.stem for g in pair])
    missing = sample_server.url_for(ABSENT)
    one_bad = reduce_cli(two[0], missing, "-o", tmp_path / "bad", "-b", *box, "-q")
    assert one_bad.returncode == 1, output_of(one_bad)  # a granule failed, the rest is done
    shown = output_of(one_bad)
    assert "2 granules: 1 done, 0 skipped (already finished), 1 failed" in shown
    reason = f"cannot open {missing}: HTTP 404 Not Found"
    named = [line for line in shown.splitlines() if ABSENT in line]
    assert named == [f"{ABSENT}: FAILED: {reason}", f"FAILED {missing}: {reason}"], shown
    assert "Traceback" not in shown


def test_real_granules_over_http_equal_local(real_data, tmp_path):
    """NASA's own files (other releases, a subset, missing beams) read by byte ranges."""
    files = sorted(real_data.glob("*.h5"))
    with RangeServer(real_data) as server:
        for bbox in (None, TENTH_BOX):
            out = tmp_path / ("box" if bbox else "whole")
            options = ReduceOptions(bbox=bbox)
            here = reduce_granules(files, out / "local", options, progress=False)
            there = reduce_granules(urls(server, files), out / "http", options, progress=False)
            statuses = [(Path(r.source).name, r.status, r.reason) for r in here.results]
            assert [(Path(r.source).name, r.status, r.reason.replace(server.url_for(""), ""))
                    for r in there.results] == statuses  # fmt: skip
            assert here.count("done") >= 3, here.report()
            assert_same_outputs(out / "http", out / "local")


# --------------------------------------------------------------------------- S3 (moto)

#: The bucket that the moto server holds for these tests.
BUCKET = "atl06-test"


@pytest.fixture(scope="module")
def s3_endpoint(pair, full_granule):
    """moto's S3 server on 127.0.0.1, with a bucket holding two sample granules and the
    full-size one (uploaded with boto3, not with the code under test)."""
    pytest.importorskip("moto.server", reason="moto's server mode cannot be imported (pip "
                        "install 'moto[server]'): the S3 tests need it")  # fmt: skip
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = closed_port()  # free now; a port of our own works with every moto 5
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing",
                              aws_secret_access_key="testing")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        for path in [*pair, full_granule]:
            client.upload_file(str(path), BUCKET, f"atl06/{path.name}")
        yield endpoint
    finally:
        server.stop()


@pytest.fixture()
def s3(s3_endpoint, monkeypatch, tmp_path):
    """Dummy credentials and the moto endpoint in the environment; s3fs's cached
    filesystems (made with an earlier environment) forgotten before and after."""
    import s3fs

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3_endpoint,
                        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                        }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    s3fs.S3FileSystem.clear_instance_cache()
    yield f"s3://{BUCKET}/atl06"
    s3fs.S3FileSystem.clear_instance_cache()


def test_s3_urls_give_the_outputs_of_local_files(s3, pair, local, tmp_path):
    wanted = [f"{s3}/{g.name}" for g in pair]
    missing = f"{s3}/{ABSENT}"
    echoed: list[str] = []
    summary = reduce_granules([*wanted, missing], tmp_path, ReduceOptions(bbox=SMALL_BOX),
                              progress=False, echo=echoed.append)  # fmt: skip
    by_source = {r.source: r for r in summary.results}
    assert [by_source[u].status for u in wanted] == ["done", "done"], summary.report()
    assert by_source[missing].status == "failed"
    assert by_source[missing].reason == f"cannot open {missing}: not found"
    named = [line for line in echoed if ABSENT in line]
    assert named == [f"{ABSENT}: FAILED: {by_source[missing].reason}"]
    assert_same_outputs(tmp_path, local["box"], stems=[g.stem for g in pair])
    assert record(tmp_path, pair[0].stem)["input"]["version"]  # the ETag


def test_s3_rerun_skips_and_a_replaced_object_is_refused(s3, s3_endpoint, pair, tmp_path):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    key = f"rerun/{pair[0].name}"
    client.upload_file(str(pair[0]), BUCKET, key)
    url = f"s3://{BUCKET}/{key}"
    out = tmp_path / "out"
    assert reduce_granule(url, out).status == "done"
    assert reduce_granule(url, out).status == "skipped"
    # The same key now holds another file (heights 100 m higher): not taken for finished.
    client.upload_file(str(altered_copy(pair[0], tmp_path / "altered")), BUCKET, key)
    changed = reduce_granule(url, out)
    assert changed.status == "failed" and f"version of {url} changed" in changed.reason
    assert reduce_granule(url, out, ReduceOptions(overwrite=True)).status == "done"


def test_s3_full_size_granule_with_a_box(s3, full_granule, full_local, tmp_path):
    result = reduce_granule(f"{s3}/{full_granule.name}", tmp_path, ReduceOptions(bbox=TENTH_BOX))
    assert result.status == "done", result.reason
    assert assert_same_outputs(tmp_path, full_local) > 0
    assert 0 < result.bytes_fetched < MAX_FRACTION_SENT * full_granule.stat().st_size


# --------------------------------------------------------------------------- NASA Earthdata

#: Addresses in NASA's cloud (HTTPS and S3, as NSIDC names them); never reached by these tests.
EARTHDATA_HTTPS = (
    "https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/"
    "ATLAS/ATL06/006/2019/01/01/ATL06_20190101001723_00540210_006_01.h5"
)
EARTHDATA_S3 = (
    "s3://nsidc-cumulus-prod-protected/ATLAS/ATL06/006/2019/01/02/"
    "ATL06_20190102184312_00810210_006_01.h5"
)

_SOCKETS: list[tuple] = []
_HOOKED: list = []
_WATCHING = threading.Event()


def _watch_sockets(event: str, args: tuple) -> None:
    """An audit hook: note every address looked up or connected to while watching."""
    if _WATCHING.is_set() and event in ("socket.getaddrinfo", "socket.connect"):
        _SOCKETS.append((event, args[0] if event == "socket.getaddrinfo" else args[1]))


def test_earthdata_urls_without_a_login_fail_in_one_line_offline(
    no_earthdata_login, granules, tmp_path, capfd
):
    if not _HOOKED:  # an audit hook cannot be removed: added once per process
        sys.addaudithook(_watch_sockets)
        _HOOKED.append(_watch_sockets)
    echoed: list[str] = []
    _WATCHING.set()
    try:
        summary = reduce_granules([EARTHDATA_HTTPS, EARTHDATA_S3, granules[0]], tmp_path,
                                  progress=False, echo=echoed.append)  # fmt: skip
    finally:
        _WATCHING.clear()
    remote = [h for _, h in _SOCKETS if not str(h).startswith(("127.", "localhost", "::1"))]
    assert not remote, f"the network was touched: {remote}"
    by_source = {r.source: r for r in summary.results}
    assert by_source[str(granules[0])].status == "done"
    for url in (EARTHDATA_HTTPS, EARTHDATA_S3):
        reason = by_source[url].reason
        assert by_source[url].status == "failed" and "\n" not in reason
        assert reason.startswith(f"cannot open {url}: NASA Earthdata needs a login")
        assert "EARTHDATA_USERNAME" in reason and "earthaccess.login()" in reason
        assert f"{Path(url).name}: FAILED: {reason}" in echoed
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.network
def test_a_granule_in_nasa_s_cloud_equals_its_local_copy(reference_granule, tmp_path):
    """The reference granule read from NASA's cloud over HTTPS equals the local copy."""
    import earthaccess

    from helpers.credentials import earthdata_credentials

    strategy = earthdata_credentials()
    if strategy is None:
        pytest.skip("no NASA Earthdata credentials (EARTHDATA_USERNAME/PASSWORD or ~/.netrc)")
    try:
        socket.create_connection(("cmr.earthdata.nasa.gov", 443), timeout=3).close()
    except OSError:
        pytest.skip("NASA Earthdata is not reachable from this machine (offline)")
    earthaccess.login(strategy=strategy)
    found = earthaccess.search_data(short_name="ATL06", granule_name=reference_granule.name)
    links = [u for g in found for u in g.data_links(access="external") if u.endswith(".h5")]
    assert links, f"NASA's catalogue has no HTTPS link for {reference_granule.name}"
    assert reduce_granule(reference_granule, tmp_path / "local").status == "done"
    result = reduce_granule(links[0], tmp_path / "cloud")
    assert result.status == "done", result.reason
    assert assert_same_outputs(tmp_path / "cloud", tmp_path / "local") > 0
