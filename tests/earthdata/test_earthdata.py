"""The real data path, offline, at the HTTP boundary: real icepyx/earthaccess/harmony-py code
against NASA's exchanges played from ``tests/support/earthdata_http.py`` (see its docstring).

Each case checks what a learner would see: the files, or exactly one message saying what
happened and what to do — and never a password, a token or the login server's reply.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import responses
from earthdata_http import FakeNasa, fake_credentials

from helpers import access
from helpers.earthdata import errors, order, search
from helpers.earthdata.manifest import MANIFEST_NAME, find_download, write_manifest

#: The real granule served as Harmony's output: the only Antarctic one in ../shared (an
#: NSIDC subset, release 003), served under the 007 name a search returns today.
SERVED = "processed_ATL06_20181015100401_02560110_003_01.h5"
NAME_007 = "ATL06_20181015100401_02560110_007_01.h5"
OUTPUT_007 = "ATL06_20181015100401_02560110_007_01_subsetted.h5"
#: An area and dates around that granule (Thwaites/Pine Island, 15 October 2018).
BBOX = (-108.0, -75.5, -106.0, -74.0)
DATES = ("2018-10-14", "2018-10-16")


@pytest.fixture()
def credentials(monkeypatch, tmp_path):
    """Fake credentials in the environment, an empty home, and a working folder like
    ``notebooks/`` (the test runs there, as a notebook does)."""
    user, password = fake_credentials()
    monkeypatch.setenv("EARTHDATA_USERNAME", user)
    monkeypatch.setenv("EARTHDATA_PASSWORD", password)
    for name in ("NETRC", "IS2_VERSION", "EARTHDATA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return user, password


@pytest.fixture()
def no_credentials(credentials, monkeypatch):
    monkeypatch.delenv("EARTHDATA_USERNAME")
    monkeypatch.delenv("EARTHDATA_PASSWORD")
    return credentials


@pytest.fixture()
def http():
    """HTTP through ``responses``: only what a test installs answers; the rest is offline."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture(autouse=True)
def _fresh_login_state(monkeypatch):
    """earthaccess keeps one login per process; each test starts logged out, polls fast."""
    import earthaccess

    monkeypatch.setattr(earthaccess, "_auth", earthaccess.Auth())
    monkeypatch.setattr(earthaccess, "_store", None)
    monkeypatch.setattr(order, "ORDER_POLL_SECONDS", 0.0)


def _strict(folder, bbox=BBOX, dates=DATES, **kwargs):
    return access.find_granules("earthdata", bbox, dates, folder, strict=True, **kwargs)


def _failure(folder, **kwargs) -> str:
    with pytest.raises(access.DataSourceError) as err:
        _strict(folder, **kwargs)
    message = str(err.value)
    assert "\n" not in message and "To fix:" in message
    return message


def _hosts(rsps) -> set[str]:
    return {call.request.url.split("/")[2] for call in rsps.calls}


def _tiny_granule(path) -> bytes:
    with h5py.File(path, "w") as f:
        f["gt1l/land_ice_segments/h_li"] = np.zeros(3, "f4")
    return path.read_bytes()


# -- the whole path ------------------------------------------------------------------------


def _independent_selection(path, bbox) -> dict[str, np.ndarray]:
    """h_li of the segments the reducer must keep, by a plain re-read of the granule."""
    kept = {}
    with h5py.File(path, "r") as f:
        for beam in ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"):
            if beam not in f:
                continue
            g = f[f"{beam}/land_ice_segments"]
            h, lon, lat = g["h_li"][:], g["longitude"][:], g["latitude"][:]
            keep = (g["atl06_quality_summary"][:] == 0) & (np.abs(h) < 1e4)
            keep &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
            if keep.any():
                kept[beam] = h[keep]
    return kept


def test_search_order_download_reduce(credentials, http, real_data, tmp_path, capsys):
    from helpers.bbox import BBox
    from helpers.reduce import ReduceOptions, reduce_granules

    served = (real_data / SERVED).read_bytes()
    nasa = FakeNasa(
        credentials,
        releases=("006", "007"),
        granules=[NAME_007],
        outputs={OUTPUT_007: served},
        states=["accepted", "running", "running", "successful"],
    ).install(http)
    files = _strict(tmp_path / "earthdata")

    # The latest release was asked for, over the area and dates, with the user's login.
    query_dir = tmp_path / "earthdata" / "ATL06_007_-108_-75.5_-106_-74_2018-10-14_2018-10-16"
    assert files == [query_dir / OUTPUT_007]  # Harmony's work-item prefix removed
    assert files[0].read_bytes() == served
    fields = nasa.orders[0]["fields"]
    assert nasa.orders[0]["url"].split("/")[3] == "C3564876127-NSIDC_CPRD"  # release 007
    assert {"lat(-75.5:-74.0)", "lon(-108.0:-106.0)"} <= set(fields["subset"])
    assert any(s.startswith('time("2018-10-14T00:00:00":"2018-10-16') for s in fields["subset"])
    assert "Basic " in nasa.token_requests
    # One manifest records the query; icepyx's side file stays out of the working folder.
    manifest = json.loads((query_dir / MANIFEST_NAME).read_text())
    assert (manifest["product"], manifest["release"]) == ("ATL06", "007")
    assert manifest["bbox"] == list(BBOX) and manifest["dates"] == list(DATES)
    assert manifest["files"] == [OUTPUT_007] and manifest["jobs"] == [nasa.job_id]
    assert (query_dir / ".order_restart").is_file()
    assert not list((tmp_path / "notebooks").iterdir())
    printed = capsys.readouterr()
    assert "Waiting for NASA Harmony to subset 1 granules" in printed.out
    assert credentials[1] not in printed.out + printed.err

    # The same query again, even through download_earthdata itself: no second order.
    again = search.earthdata_query(BBOX, DATES)
    assert order.download_earthdata(again, tmp_path / "earthdata") == files
    assert len(nasa.orders) == 1

    out = tmp_path / "reduced"
    summary = reduce_granules(
        files, out, ReduceOptions(bbox=BBox.from_sequence(BBOX)), progress=False
    )
    expected = _independent_selection(files[0], BBOX)
    assert summary.count("done") == 1 and expected
    assert summary.points_kept == sum(h.size for h in expected.values())
    for beam, h_li in expected.items():
        (output,) = out.glob(f"*_{beam}.h5")
        with h5py.File(output, "r") as f:
            np.testing.assert_array_equal(f["h_li"][:], h_li)


def test_same_query_is_reused_offline_and_another_is_not(credentials, http, tmp_path):
    root = tmp_path / "earthdata"
    folder = root / "ATL06_007_-108_-75.5_-106_-74_2018-10-14_2018-10-16"
    folder.mkdir(parents=True)
    _tiny_granule(folder / OUTPUT_007)
    write_manifest(folder, "ATL06", "007", BBOX, DATES, [folder / OUTPUT_007], ["job"])

    assert _strict(root) == [folder / OUTPUT_007]  # no network needed: nothing installed
    assert _strict(root, version="007") == [folder / OUTPUT_007]
    assert not http.calls
    for other in (
        {"dates": ("2018-10-14", "2018-10-17")},
        {"bbox": (-108, -75.5, -106, -74.1)},
        {"version": "006"},
    ):
        assert "Cannot reach NASA's CMR" in _failure(root, **other)
    (folder / OUTPUT_007).unlink()  # a listed file is gone: the download is not reused
    assert find_download(root, "ATL06", BBOX, DATES) is None


def test_granules_without_a_manifest_are_not_taken_for_a_query(credentials, http, tmp_path):
    root = tmp_path / "earthdata"
    (root / "old").mkdir(parents=True)
    _tiny_granule(root / "old" / OUTPUT_007)
    (root / OUTPUT_007).write_bytes((root / "old" / OUTPUT_007).read_bytes())
    assert "Cannot reach" in _failure(root)


# -- releases ------------------------------------------------------------------------------


def test_latest_release_by_default_and_a_pinned_one_on_request(credentials, http, monkeypatch):
    FakeNasa(credentials, releases=("006", "007")).install(http)
    assert search.available_releases() == ["006", "007"]
    assert search.resolve_release() == "007"
    assert search.resolve_release(version=6) == "006"
    monkeypatch.setenv("IS2_VERSION", "6")
    assert search.resolve_release() == "006"
    assert search.resolve_release(version="007") == "007"  # the argument wins


def test_retired_release_names_the_ones_offered(credentials, http, monkeypatch, tmp_path):
    nasa = FakeNasa(credentials, releases=("007",), granules=[NAME_007]).install(http)
    monkeypatch.setenv("IS2_VERSION", "006")
    message = _failure(tmp_path)
    assert message.startswith("ATL06 release 006 is not offered by NASA's CMR")
    assert "releases offered: 007" in message and "IS2_VERSION=007" in message
    assert _hosts(http) == {"cmr.earthdata.nasa.gov"} and not nasa.orders


def test_retired_release_through_icepyx_itself(credentials, http):
    # icepyx raises ValueError("Could not find concept ID ...") when CMR drops a release.
    FakeNasa(credentials, releases=("007",), granules=[NAME_007]).install(http)
    query = search.earthdata_query(BBOX, DATES, version="007")
    query._version = "006"
    del query.__dict__["concept_id"]
    del query._CMRparams
    del query._granules
    with pytest.raises(access.DataSourceError, match=r"release 006 is not offered.*007"):
        search._search_granules(query, BBOX, DATES)


def test_zero_results(credentials, http, tmp_path):
    nasa = FakeNasa(credentials, granules=[]).install(http)
    message = _failure(tmp_path)
    assert message.startswith(
        "NASA's CMR has no ATL06 release 007 granules over [W, S, E, N] = "
        "[-108, -75.5, -106, -74] from 2018-10-14 to 2018-10-16."
    )
    assert "widen the area or the dates" in message and not nasa.orders


# -- orders --------------------------------------------------------------------------------


def test_failed_order(credentials, http, tmp_path):
    nasa = FakeNasa(
        credentials,
        granules=[NAME_007],
        states=["running", "failed"],
        job_errors=["Service request failed with an unknown error"],
    ).install(http)
    message = _failure(tmp_path)
    assert message.startswith(
        f"NASA Harmony could not complete order {nasa.job_id} (status "
        "failed: Service request failed with an unknown error)"
    )
    assert not list(tmp_path.rglob("*.h5")) and not list(tmp_path.rglob(MANIFEST_NAME))


def test_order_finished_with_errors_is_not_used(credentials, http, tmp_path):
    FakeNasa(
        credentials,
        granules=[NAME_007, NAME_007.replace("0256", "0257")],
        outputs={OUTPUT_007: b"x"},
        states=["running", "complete_with_errors"],
        job_errors=["No data found that matched the subset constraints"],
    ).install(http)
    message = _failure(tmp_path)
    assert "status complete_with_errors: No data found" in message
    assert not list(tmp_path.rglob("*.h5"))


def test_paused_order_downloads_nothing(credentials, http, tmp_path):
    # Above 300 granules Harmony previews a few, then pauses: those few must not be taken.
    nasa = FakeNasa(
        credentials,
        granules=[NAME_007],
        outputs={OUTPUT_007: b"preview"},
        states=["previewing", "previewing", "paused"],
        num_input_granules=412,
    ).install(http)
    message = _failure(tmp_path)
    assert message.startswith(f"NASA Harmony paused order {nasa.job_id} for 412 granules")
    assert "fewer than 300 granules" in message
    assert not list(tmp_path.rglob("*.h5")) and not list(tmp_path.rglob(MANIFEST_NAME))
    assert not [c for c in http.calls if "service-results" in c.request.url]


def test_partial_download_is_never_silent(credentials, http, tmp_path):
    second = NAME_007.replace("02560110", "02570110")
    FakeNasa(
        credentials,
        granules=[NAME_007, second],
        outputs={OUTPUT_007: _tiny_granule(tmp_path / "tiny.h5")},
    ).install(http)
    message = _failure(tmp_path / "earthdata")
    assert "Only 1 of the 2 granules found were downloaded" in message
    assert "downloaded_granules(" in message
    (folder,) = (tmp_path / "earthdata").iterdir()
    assert access.downloaded_granules(folder) == [folder / OUTPUT_007]
    assert not (folder / MANIFEST_NAME).exists()
    assert find_download(tmp_path / "earthdata", "ATL06", BBOX, DATES) is None


def test_download_that_is_not_hdf5_counts_as_missing(credentials, http, tmp_path):
    FakeNasa(
        credentials, granules=[NAME_007], outputs={OUTPUT_007: b"<html>Earthdata Login</html>"}
    ).install(http)
    message = _failure(tmp_path)
    assert "none of the 1 granules found was downloaded" in message
    assert "1 downloaded files were not HDF5 and were removed" in message
    assert not list(tmp_path.rglob("*.h5"))


# -- credentials and network ---------------------------------------------------------------


def test_refused_login_shows_no_server_text_or_secret(credentials, http, tmp_path, capsys, caplog):
    _, password = credentials
    nasa = FakeNasa(("someone-else", "other"), granules=[NAME_007]).install(http)
    message = _failure(tmp_path)
    assert message.startswith(
        "NASA Earthdata Login refused the credentials from the "
        "environment (EARTHDATA_USERNAME, EARTHDATA_PASSWORD)."
    )
    printed = capsys.readouterr()
    shown = message + printed.out + printed.err + caplog.text
    assert password not in shown and "Invalid user credentials" not in shown
    assert "invalid_credentials" not in shown and nasa.token_requests and not nasa.orders


def test_harmony_refusing_the_login_is_a_refusal_too(credentials, http, tmp_path):
    nasa = FakeNasa(credentials, granules=[NAME_007], harmony_authorized=False).install(http)
    message = _failure(tmp_path)
    assert message.startswith("NASA Harmony refused the credentials from the environment")
    assert credentials[1] not in message and not nasa.orders


def test_no_network(credentials, http, tmp_path):
    message = _failure(tmp_path)
    assert message.startswith("Cannot reach NASA's CMR catalogue (no network?).")
    assert "connect to the internet" in message


def test_no_credentials_is_found_before_any_request(no_credentials, http, tmp_path):
    FakeNasa(fake_credentials(), granules=[NAME_007]).install(http)
    assert access.earthdata_credentials() is None
    message = _failure(tmp_path)
    assert "No NASA Earthdata credentials found" in message
    assert "EARTHDATA_USERNAME" in message and "~/.netrc" in message and "chmod 600" in message
    assert "IS2_DATA_SOURCE=sample" in message and not http.calls


def test_netrc_readable_by_others_is_refused(no_credentials, http, tmp_path, monkeypatch):
    user, password = no_credentials
    netrc_file = tmp_path / "home" / ".netrc"
    netrc_file.write_text(f"machine urs.earthdata.nasa.gov login {user} password {password}\n")
    netrc_file.chmod(0o644)
    message = _failure(tmp_path)
    assert message.startswith("~/.netrc cannot be used: other users may read it (mode 644)")
    assert "chmod 600 ~/.netrc" in message and password not in message and not http.calls
    netrc_file.write_text(f"macine urs.earthdata.nasa.gov login {user} password x\n")  # typo
    netrc_file.chmod(0o600)
    assert "line 1 is not valid netrc syntax" in _failure(tmp_path)


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_a_netrc_that_is_not_utf8_is_one_line(no_credentials, http, tmp_path, capsys, encoding,
                                              default_sample, monkeypatch):  # fmt: skip
    """What PowerShell's ``>`` writes (UTF-16), or Latin-1 with an accented password."""
    monkeypatch.setenv("IS2_DATA_DIR", str(default_sample))
    user, _ = no_credentials
    password = "pässwörd-9"
    netrc_file = tmp_path / "home" / ".netrc"
    text = f"machine urs.earthdata.nasa.gov login {user} password {password}\n"
    netrc_file.write_bytes(text.encode(encoding))
    netrc_file.chmod(0o600)
    message = _failure(tmp_path)
    assert message.startswith("~/.netrc cannot be used: it is not UTF-8 text"), message
    assert "save it as UTF-8" in message and password not in message and not http.calls
    # Not strict: one line, then the embedded sample (what notebook 1 does).
    found = access.find_granules("earthdata", BBOX, DATES, tmp_path / "real")
    printed = capsys.readouterr()
    assert found == access.find_granules("sample", BBOX, DATES)
    assert "Traceback" not in printed.out + printed.err
    assert "not UTF-8 text" in printed.out + printed.err and password not in printed.out


def test_netrc_named_by_NETRC_is_used_for_the_login(no_credentials, http, tmp_path, monkeypatch):
    user, password = no_credentials
    netrc_file = tmp_path / "elsewhere.netrc"
    netrc_file.write_text(f"machine urs.earthdata.nasa.gov login {user} password {password}\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc_file))
    assert access.earthdata_credentials() == "netrc"
    FakeNasa(no_credentials).install(http)
    from helpers.credentials import earthdata_login

    assert earthdata_login().authenticated
    netrc_file.chmod(0o640)
    assert str(netrc_file) in _failure(tmp_path)


# -- notebooks' behaviour: one line, then the sample ---------------------------------------


def test_failing_source_prints_one_line_and_gives_the_sample(
    credentials, http, capsys, default_sample, monkeypatch
):
    monkeypatch.setenv("IS2_DATA_DIR", str(default_sample))
    files = access.find_granules("earthdata", folder=default_sample / "no-downloads")
    assert files == access.find_granules("sample")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Real data not used: Cannot reach NASA's CMR catalogue")
    assert "Continuing with the embedded synthetic sample; for real data, connect" in lines[0]


def test_every_message_is_one_line_with_a_fix():
    made = [
        errors.no_network("NASA's CMR catalogue"),
        errors.unknown_release("ATL06", "006", ["007"]),
        errors.no_granules("ATL06", "007", BBOX, DATES),
        errors.search_refused("bad\nbox"),
        errors.no_credentials("~/.netrc"),
        errors.netrc_unreadable("~/.netrc", "it is a folder", "point NETRC at a file"),
        errors.login_refused("~/.netrc"),
        errors.order_failed("job", "failed", "a\nb"),
        errors.order_paused("job", 412),
        errors.partial_download("job", 1, 2, "/tmp/x"),
        errors.partial_download("job", 0, 2, "/tmp/x", bad=2),
    ]
    for err in made:
        for text in (str(err), err.fallback_message()):
            assert "\n" not in text and err.what in text and err.fix in text
        assert err.what.endswith(".") and not err.fix.endswith(".")
