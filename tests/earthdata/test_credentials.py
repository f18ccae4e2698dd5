"""One credentials module (helpers.credentials) for the search and the reducer's URLs.

Before, the reducer had its own copy with other rules; each case below behaved
differently on the two paths. Now both ask :func:`helpers.credentials.earthdata_credentials`
and log in with :func:`helpers.credentials.logged_in_earthaccess`. Nothing here reaches a
NASA server: without the network, a path that gets as far as a login says it cannot reach
Earthdata Login, which is how a test tells "credentials found" from "none".
"""

from __future__ import annotations

import platform

import pytest

from helpers import access, credentials
from helpers.errors import CredentialsError
from helpers.reduce import reduce_granule

#: An Earthdata HTTPS address (never reached: no network here, or no login).
EARTHDATA_HTTPS = (
    "https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/"
    "ATLAS/ATL06/006/2019/01/01/ATL06_20190101001723_00540210_006_01.h5"
)
ENTRY = f"machine {credentials.EARTHDATA_LOGIN_HOST} login someone password Not-a-Secret-9\n"


@pytest.fixture()
def home(no_earthdata_login):
    """No credentials anywhere, an empty home, and earthaccess logged out."""
    return no_earthdata_login


def _reduce_reason(tmp_path) -> str:
    result = reduce_granule(EARTHDATA_HTTPS, tmp_path / "out")
    assert result.status == "failed" and "\n" not in result.reason
    return result.reason


def test_a_token_alone_is_credentials_for_the_search_and_the_reducer(home, monkeypatch, tmp_path):
    """Before: the reducer took EARTHDATA_TOKEN, the search said "no credentials"."""
    monkeypatch.setenv("EARTHDATA_TOKEN", "not-a-real-token")
    assert credentials.earthdata_credentials() == "environment"
    assert credentials.require_credentials() == "environment"
    assert credentials.source_label("environment") == "the environment (EARTHDATA_TOKEN)"
    # earthaccess takes a token without asking a server: the reducer is logged in, and
    # fails only because NASA's server cannot be reached from here.
    reason = _reduce_reason(tmp_path)
    assert "needs a login" not in reason and reason.startswith(f"cannot open {EARTHDATA_HTTPS}")


def test_a_netrc_without_the_earthdata_entry_is_no_credentials_on_both_paths(home, tmp_path):
    """Before: the reducer took any netrc file as enough, then failed inside earthaccess."""
    (home / ".netrc").write_text("machine example.org login a password b\n")
    (home / ".netrc").chmod(0o600)
    assert credentials.earthdata_credentials() is None
    with pytest.raises(CredentialsError, match="No NASA Earthdata credentials found"):
        credentials.require_credentials()
    assert _reduce_reason(tmp_path).startswith(
        f"cannot open {EARTHDATA_HTTPS}: NASA Earthdata needs a login: set EARTHDATA_USERNAME"
    )


def test_a_netrc_open_to_others_is_refused_on_both_paths(home, tmp_path):
    """Before: the reducer used it; the search refused it."""
    (home / ".netrc").write_text(ENTRY)
    (home / ".netrc").chmod(0o644)
    with pytest.raises(CredentialsError, match=r"other users may read it \(mode 644\)"):
        credentials.earthdata_credentials()
    reason = _reduce_reason(tmp_path)
    assert "~/.netrc cannot be used: other users may read it (mode 644)" in reason
    assert "chmod 600 ~/.netrc" in reason and "Not-a-Secret-9" not in reason


def test_windows_reads_underscore_netrc_on_both_paths(home, monkeypatch, tmp_path):
    """Before: the reducer looked for ~/.netrc only (Windows' is ~/_netrc)."""
    monkeypatch.setattr(platform, "system", lambda: "Windows")
    (home / "_netrc").write_text(ENTRY)
    (home / "_netrc").chmod(0o600)
    assert credentials.netrc_path() == home / "_netrc"
    assert credentials.netrc_label() == "~/_netrc"
    assert credentials.earthdata_credentials() == "netrc"
    # Found: the login is tried (and cannot reach NASA from here), not "needs a login".
    reason = _reduce_reason(tmp_path)
    assert "needs a login" not in reason, reason
    assert "Cannot reach NASA Earthdata Login" in reason or "refused" in reason, reason


def test_no_credentials_at_all_is_the_same_error_everywhere(home, tmp_path):
    with pytest.raises(CredentialsError) as raised:
        credentials.require_credentials()
    assert raised.value.fix.startswith("set both environment variables")
    with pytest.raises(access.DataSourceError, match="No NASA Earthdata credentials found"):
        access.find_granules("earthdata", folder=tmp_path / "earthdata", strict=True)
    assert "NASA Earthdata needs a login" in _reduce_reason(tmp_path)


def test_the_login_quiets_earthaccess_one_way_and_restores_it():
    import logging

    logger = logging.getLogger("earthaccess")
    before = logger.level
    with credentials.quiet_earthaccess():
        assert not logger.isEnabledFor(logging.CRITICAL)
    assert logger.level == before
