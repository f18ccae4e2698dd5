"""Data access: the offline sample path, credentials handling, and the real (network) path."""

from __future__ import annotations

import socket

import pytest

from helpers import access
from helpers.config import PIG_BBOX


@pytest.fixture()
def no_credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("EARTHDATA_USERNAME", raising=False)
    monkeypatch.delenv("EARTHDATA_PASSWORD", raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc


def test_no_credentials_gives_one_clear_message(no_credentials, tmp_path):
    assert access.earthdata_credentials() is None
    with pytest.raises(access.DataSourceError) as err:
        access.find_granules("earthdata", folder=tmp_path / "earthdata", strict=True)
    message = str(err.value)
    assert "EARTHDATA_USERNAME" in message and "~/.netrc" in message
    assert "IS2_DATA_SOURCE=sample" in message and "\n" not in message


def test_credentials_are_found_but_never_returned(no_credentials, monkeypatch, tmp_path):
    netrc_file = tmp_path / ".netrc"
    netrc_file.write_text(
        f"machine {access.EARTHDATA_NETRC_MACHINE} login someone password example-not-a-secret\n"
    )
    netrc_file.chmod(0o600)
    assert access.earthdata_credentials() == "netrc"
    monkeypatch.setenv("EARTHDATA_USERNAME", "someone")
    monkeypatch.setenv("EARTHDATA_PASSWORD", "example-not-a-secret")
    where = access.require_credentials()
    assert where == "environment" and "example-not-a-secret" not in where


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="unknown data source"):
        access.find_granules("ftp")


def test_sample_for_another_area_goes_to_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("IS2_DATA_DIR", str(tmp_path))
    files = access.find_granules("sample", (-100.5, -75.5, -99.5, -75.0),
                                 ("2019-01-01", "2019-02-15"))  # fmt: skip
    assert files and all(f.parent.parent.name == "samples" for f in files)
    assert not list(tmp_path.glob("ATL06_*.h5"))  # the default sample's folder is untouched


def test_granule_table_and_offline_map(small_sample):
    import matplotlib

    matplotlib.use("Agg")
    files = sorted(small_sample.glob("ATL06_*.h5"))
    table = access.granule_table(files)
    assert len(table) == len(files)
    assert set(table["direction"]) <= {"ascending", "descending"}
    assert (table["segments"] > 0).all()
    ax = access.plot_ground_tracks(files, PIG_BBOX)
    assert ax.get_title() == f"{len(files)} granules over the area"


def _cmr_reachable() -> bool:
    try:
        with socket.create_connection(("cmr.earthdata.nasa.gov", 443), timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.network
def test_real_query_finds_granules_over_pine_island():
    if not _cmr_reachable():
        pytest.skip("NASA CMR is not reachable from this machine (offline): real search not run")
    releases = access.available_releases()
    assert releases, "CMR lists no ATL06 release"
    query = access.earthdata_query(PIG_BBOX, ("2019-01-01", "2019-01-31"))  # the latest release
    assert query.product_version == releases[-1]
    names = query.avail_granules(ids=True)[0]
    assert names and all("ATL06" in n and f"_{releases[-1]}_" in n for n in names)


def test_downloaded_granules_are_reused_for_the_same_query_only(
    no_credentials, small_sample, tmp_path
):
    import shutil

    from helpers.earthdata.manifest import query_folder, write_manifest

    dates = ("2019-01-01", "2019-01-31")
    folder = query_folder(tmp_path / "earthdata", "ATL06", "007", PIG_BBOX, dates)
    folder.mkdir(parents=True)
    granule = sorted(small_sample.glob("ATL06_*.h5"))[0]
    shutil.copy(granule, folder / granule.name)
    write_manifest(folder, "ATL06", "007", PIG_BBOX, dates, [folder / granule.name])
    found = access.find_granules("earthdata", PIG_BBOX, dates, tmp_path / "earthdata")
    assert found == [folder / granule.name]  # no credentials, no network needed
    with pytest.raises(access.DataSourceError, match="No NASA Earthdata credentials"):
        access.find_granules("earthdata", PIG_BBOX, ("2019-01-01", "2019-02-01"),
                             tmp_path / "earthdata", strict=True)  # fmt: skip


def test_downloaded_granules_come_from_one_folder_and_one_pattern(tmp_path, monkeypatch):
    monkeypatch.setenv("IS2_DATA_DIR", str(tmp_path))
    assert access.earthdata_folder() == tmp_path.resolve() / "earthdata"
    assert access.downloaded_granules() == []  # no folder yet: nothing, and no error
    folder = tmp_path / "earthdata"
    folder.mkdir()
    names = ["ATL06_20190101000000_01230510_006_01.h5",
             "processed_ATL06_20181015100401_02560110_003_01.h5",
             "ATL03_20190101000000_01230510_006_01.h5", "order.json"]  # fmt: skip
    for name in names:
        (folder / name).write_bytes(b"")
    assert access.downloaded_granules() == sorted(folder / n for n in names[:2])
    assert access.downloaded_granules(folder) == access.downloaded_granules()
