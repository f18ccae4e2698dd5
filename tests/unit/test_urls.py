"""URLs: named without secrets whatever they hold, and never trusted to name a file."""

from __future__ import annotations

import pytest

from helpers.errors import InvalidUrl
from helpers.reduce.sources import as_source
from helpers.reduce.transport import parse_content_range
from helpers.reduce.urls import parse_url, redact, secrets_of, url_file_name

HOST = "data.example.org"


@pytest.mark.parametrize("char", list("/?#@:% '"))
def test_no_part_of_a_password_survives_redaction_whatever_it_holds(char):
    password = f"pa{char}ss-Zq9secret"
    url = f"https://someuser:{password}@{HOST}/atl06/ATL06_x.h5?token=Tok3nValue#frag"
    label = redact(url)
    assert "Zq9secret" not in label and "someuser" not in label and "Tok3nValue" not in label
    assert label in (f"https://{HOST}/atl06/ATL06_x.h5", "https://(invalid URL)")
    message = as_source(url).censor(f"cannot open {url}: refused")
    assert "Zq9secret" not in message and "Tok3nValue" not in message


@pytest.mark.parametrize("url", [
    "http://[::1/x.h5?t=SECRET",  # a malformed IPv6 host
    "http://user:pa/ss@host/x.h5",  # a password holding an unencoded "/"
    "http://us/er@host/x.h5",  # an "@" in the path
    "http://ho st/x.h5",  # a space in the host
    "not a url",
])  # fmt: skip
def test_ambiguous_or_malformed_urls_are_refused_and_named_without_their_text(url):
    with pytest.raises(InvalidUrl) as refused:
        parse_url(url)
    assert "SECRET" not in str(refused.value) and "pa/ss" not in str(refused.value)
    assert redact(url).endswith("(invalid URL)")


def test_ports_ipv6_and_case_are_kept_as_they_identify_the_server():
    assert parse_url("HTTPS://Host.Example:8443/a/B.h5").label == "https://host.example:8443/a/B.h5"
    assert parse_url("http://[::1]:8080/g.h5").label == "http://[::1]:8080/g.h5"
    assert parse_url("s3://bucket-name/key/x.h5").host == "bucket-name"


@pytest.mark.parametrize("name", ["..%2F..%2Fx.h5", "..%5Cx.h5", "%2E%2E", "a%00b.h5", ""])
def test_a_file_name_that_decodes_to_a_path_is_refused(name):
    with pytest.raises(InvalidUrl):
        url_file_name(f"https://{HOST}/dir/{name}")


def test_a_percent_encoded_file_name_is_decoded():
    assert url_file_name(f"https://{HOST}/d/ATL06%20copy.h5?sig=1") == "ATL06 copy.h5"


def test_query_values_are_secrets_but_their_names_are_not():
    found = secrets_of(f"https://{HOST}/g.h5?X-Amz-Signature=abcd1234&token=efgh5678")
    assert "abcd1234" in found and "efgh5678" in found
    assert "token" not in found and "X-Amz-Signature" not in found


@pytest.mark.parametrize("header, expected", [
    ("bytes 0-99/1000", (0, 100, 1000)),
    ("bytes 5-5/6", (5, 6, 6)),
    ("bytes */0", (None, None, 0)),
    ("bytes 0-99/*", (0, 100, None)),
    ("items 0-99/1000", (None, None, None)),
    (None, (None, None, None)),
])  # fmt: skip
def test_content_range_is_read_as_servers_write_it(header, expected):
    assert parse_content_range(header) == expected
