"""Files named by URLs (``s3://bucket/key``, or any fsspec protocol): found, sized and read.

The loader (:mod:`helpers.load`) reads reduced outputs from an object store as it reads them
from a folder; this module is what it needs of the store, through fsspec:

- :func:`is_remote` tells a URL from a path (``file://`` URLs count as paths);
- :func:`find_files` lists the files under a URL prefix (or matching a glob), with their
  sizes, in one listing;
- :func:`fetch` reads a whole file (reduced outputs are small: one GET each), and
  :func:`open_small` opens one for a few small reads (an HDF5 attribute, a Parquet footer);
- :func:`shown` names a URL in messages without credentials or query string.

Credentials come from the environment as fsspec's filesystems find them (for S3: the
``AWS_*`` variables, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL_S3`` for S3-compatible
servers), never from the URL: a URL that carries any is refused.

Examples
--------
>>> is_remote("s3://bucket/reduced"), is_remote("build/reduced"), is_remote("file:///tmp/x")
(True, False, False)
>>> shown("s3://bucket/out/ATL06_x_gt1l.h5?versionId=3")
's3://bucket/out/ATL06_x_gt1l.h5'
"""

from __future__ import annotations

import posixpath
from typing import IO, Any

from helpers.reduce.urls import is_url, redact, secrets_of

#: Bytes fetched at a time by :func:`open_small` (an attribute or a footer needs one or two).
SMALL_BLOCK = 64 * 1024


def is_remote(item: object) -> bool:
    """True for a URL read through fsspec (anything ``scheme://`` but ``file://``)."""
    return is_url(item) and not str(item).lower().startswith("file://")


def shown(url: str) -> str:
    """How messages name a URL: no user name, password, query string or fragment."""
    return redact(url)


def base_name(url: str) -> str:
    """The file name at the end of a URL (``ATL06_x_gt1l.h5``)."""
    return posixpath.basename(shown(url).rstrip("/"))


def _filesystem(url: str) -> tuple[Any, str]:
    """fsspec's filesystem for a URL, and the path within it (ValueError for a URL that
    carries secrets: they belong in the environment)."""
    if secrets_of(url):
        raise ValueError(f"{shown(url)}: give credentials in the environment (or ~/.aws), "
                         "not in the URL")  # fmt: skip
    from fsspec.core import url_to_fs

    return url_to_fs(url, use_listings_cache=False) if url.startswith("s3") else url_to_fs(url)


def find_files(url: str) -> dict[str, int]:
    """``{URL: size in bytes}`` of the files at ``url``: under it when it is a prefix
    (recursively), matching it when it holds ``*``, ``?`` or ``[``, or the file itself.
    Nothing (an empty dict) when nothing is there."""
    fs, path = _filesystem(url)
    if any(c in path for c in "*?["):
        found = fs.glob(path, detail=True)
    else:
        try:
            info = fs.info(path)
        except FileNotFoundError:
            return {}
        found = fs.find(path, detail=True) if info["type"] == "directory" else {path: info}
    expanded: dict[str, Any] = {}
    for name, entry in found.items():  # a glob's folders, searched too
        if entry.get("type") == "directory":
            expanded.update(fs.find(name, detail=True))
        else:
            expanded[name] = entry
    return {fs.unstrip_protocol(name): int(entry.get("size") or 0)
            for name, entry in expanded.items()}  # fmt: skip


def fetch(url: str) -> bytes:
    """The whole file at ``url`` (one GET). Raises OSError (FileNotFoundError...) as fsspec
    does."""
    fs, path = _filesystem(url)
    return fs.cat_file(path)


def open_small(url: str) -> IO[bytes]:
    """A file object on ``url`` that fetches :data:`SMALL_BLOCK` bytes at a time: for
    reading an attribute or a footer without fetching the whole file."""
    fs, path = _filesystem(url)
    return fs.open(path, "rb", block_size=SMALL_BLOCK, cache_type="bytes")
