"""What the reducer is given to read: a path, a URL or an open file object.

- a **path**: h5py opens the file itself, as always;
- a **URL** (``https://``, ``http://``, ``s3://``): read through fsspec by byte ranges
  (:class:`~helpers.reduce.remote.RangeReader`), never downloaded whole;
- an **open binary file object**: an fsspec file, such as those ``earthaccess.open()``
  returns, is read again from its filesystem and path by a ``RangeReader`` (its own cache
  of 4 MB blocks or more would fetch far more than a box needs), so the caller's
  authenticated filesystem is reused and no credential passes through this code; any
  other file object (``open(path, "rb")``, an ``io.BytesIO`` given a ``name``) goes to
  h5py as it is. File objects are read in the calling process only.

**Credentials** are never arguments. ``https://`` URLs on NASA Earthdata's hosts
(:data:`EARTHDATA_HOSTS`) are read with earthaccess's session: the one of an earlier
``earthaccess.login()`` in this process, or a login now from ``EARTHDATA_USERNAME`` and
``EARTHDATA_PASSWORD`` (or ``EARTHDATA_TOKEN``) or a netrc file, never by asking (so a
worker process logs in on its own, from its environment). Other hosts are read without
credentials. ``s3://`` URLs in NASA's buckets (:data:`EARTHDATA_BUCKETS`) get earthaccess's
temporary S3 credentials, which work only inside AWS ``us-west-2``; other buckets use the
usual AWS chain (environment, ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL_S3`` for
S3-compatible servers).

**Names and identity.** An input is named in records and messages by :func:`source_label`
(a URL without ``user:password@`` or query string). Its outputs are named after its file
name. Its record's identity is, for a path, size and modification time
(:func:`~helpers.reduce.outputs.input_identity`); for a URL or an fsspec file, the
redacted URL, the size and the version the server states (``ETag``, else
``Last-Modified``), so a granule replaced on the server is never taken for finished: as
for a changed local file, a re-run refuses its old outputs unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from helpers.reduce.outputs import input_identity
from helpers.reduce.remote import RangeReader, SourceError, describe, redact, scrub

#: URL schemes read through fsspec.
REMOTE_SCHEMES = ("https", "http", "s3")
#: Host-name endings of NASA Earthdata's data servers (read with an Earthdata login).
EARTHDATA_HOSTS = (".earthdatacloud.nasa.gov", ".earthdata.nasa.gov")
#: Bucket-name beginnings of NASA's S3 buckets -> earthaccess's name of their data centre.
EARTHDATA_BUCKETS = {"nsidc-cumulus-": "NSIDC"}

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(item: object) -> bool:
    """True for a string that starts with a URL scheme (``https://``, ``s3://``, ...).

    Examples
    --------
    >>> is_url("s3://bucket/g.h5"), is_url("data/g.h5")
    (True, False)
    """
    return isinstance(item, str) and bool(_URL.match(item))


def is_file_object(item: object) -> bool:
    """True for an open file object (it can ``read`` and ``seek``), as h5py takes them."""
    return hasattr(item, "read") and hasattr(item, "seek")


def source_name(item: Any) -> str:
    """The file name of an input, after which its outputs are named (``""`` if none).

    Examples
    --------
    >>> source_name("https://host/a/ATL06_x.h5?sig=1"), source_name(Path("/d/ATL06_y.h5"))
    ('ATL06_x.h5', 'ATL06_y.h5')
    """
    if is_url(item):
        return unquote(posixpath.basename(urlsplit(item).path))
    if is_file_object(item):
        where = getattr(item, "path", None) or getattr(item, "name", None)
        if not isinstance(where, str | os.PathLike):
            return ""
        return posixpath.basename(os.fspath(where).replace("\\", "/").split("?", 1)[0])
    return Path(item).name


def source_label(item: Any) -> str:
    """How records and messages name an input: its path, or its URL with no secrets.

    Examples
    --------
    >>> source_label("https://me:pw@host/g.h5?token=1")
    'https://host/g.h5'
    """
    if is_url(item):
        return redact(item)
    if is_file_object(item):
        fs, path = getattr(item, "fs", None), getattr(item, "path", None)
        if fs is not None and isinstance(path, str):
            return redact(fs.unstrip_protocol(path))
        name = getattr(item, "name", None)
        if isinstance(name, str | os.PathLike):
            return scrub(os.fspath(name))
        return f"<{type(item).__name__} without a name>"
    return str(item)


# --------------------------------------------------------------------------- credentials


def earthdata_strategy() -> str | None:
    """Where an Earthdata login would take its credentials from (earthaccess's strategy
    name), or None: ``"environment"`` (a token, or a user name and password), ``"netrc"``
    (a netrc file exists: ``$NETRC`` or ``~/.netrc``). Never reads the secrets."""
    env = os.environ
    if env.get("EARTHDATA_TOKEN") or (env.get("EARTHDATA_USERNAME") and
                                      env.get("EARTHDATA_PASSWORD")):  # fmt: skip
        return "environment"
    netrc = Path(env["NETRC"]) if env.get("NETRC") else Path.home() / ".netrc"
    return "netrc" if netrc.is_file() else None


def _earthaccess(label: str):
    """The earthaccess module, logged in (now if need be, never interactively)."""
    import earthaccess

    if earthaccess.__auth__.authenticated and earthaccess.__store__ is not None:
        return earthaccess
    strategy = earthdata_strategy()
    if strategy is None:
        raise SourceError(
            f"cannot open {label}: NASA Earthdata needs a login: set EARTHDATA_USERNAME and "
            "EARTHDATA_PASSWORD (or EARTHDATA_TOKEN), or add the Earthdata login to ~/.netrc, "
            "or call earthaccess.login() first"
        )
    logger = logging.getLogger("earthaccess")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # it would log the server's reply to a login
    try:
        auth = earthaccess.login(strategy=strategy)
    except Exception as err:  # no network, refused, a netrc without the entry...
        raise SourceError(f"cannot open {label}: Earthdata login with the credentials of the "
                          f"{strategy} failed: {describe(err)}") from None  # fmt: skip
    finally:
        logger.setLevel(level)
    if not auth.authenticated or earthaccess.__store__ is None:
        raise SourceError(f"cannot open {label}: NASA Earthdata refused the login with the "
                          f"credentials of the {strategy}")  # fmt: skip
    return earthaccess


def filesystem_for(url: str) -> tuple[Any, str]:
    """The fsspec filesystem that reads ``url`` (with credentials as the module says) and
    the file's path on it.

    Raises
    ------
    SourceError
        An unsupported scheme, or no Earthdata login where one is needed.
    """
    import fsspec

    parts, label = urlsplit(url), redact(url)
    scheme = parts.scheme.lower()
    if scheme not in REMOTE_SCHEMES:
        raise SourceError(f"cannot open {label}: {scheme}:// is not read here "
                          "(give a path, or an https://, http:// or s3:// URL)")  # fmt: skip
    if scheme in ("http", "https"):
        if scheme == "https" and (parts.hostname or "").lower().endswith(EARTHDATA_HOSTS):
            return _earthaccess(label).get_fsspec_https_session(), url
        return fsspec.filesystem(scheme), url
    path = f"{parts.netloc}{parts.path}"
    daac = next((d for p, d in EARTHDATA_BUCKETS.items() if parts.netloc.startswith(p)), None)
    if daac is not None:
        return _earthaccess(label).get_s3_filesystem(daac=daac), path
    return fsspec.filesystem("s3"), path


def _version(info: dict) -> str:
    """What a server says identifies this version of a file: ETag, else the modification time."""
    for key in ("ETag", "etag", "Last-Modified", "LastModified", "last_modified", "mtime"):
        if info.get(key) is not None:
            return str(info[key]).strip('"')
    return ""


# --------------------------------------------------------------------------- sources


class Source:
    """One input of the reducer: its name, its label, its identity and how h5py opens it.

    Use :func:`as_source` to make one. While :meth:`opened` is in use, ``reader`` is the
    :class:`~helpers.reduce.remote.RangeReader` that reads it remotely (None for local
    files, which h5py reads itself).
    """

    def __init__(self, item: Any) -> None:
        self.item = item
        self.name = source_name(item)
        self.label = source_label(item)
        self.reader: RangeReader | None = None
        self.requests = 0
        self.bytes_fetched = 0

    def identity(self) -> dict:
        """What identifies the input in a record (raises OSError or SourceError)."""
        return input_identity(Path(self.item))

    @contextlib.contextmanager
    def opened(self) -> Iterator[Any]:
        """What to give h5py: a path or a file object (closed afterwards if made here)."""
        yield Path(self.item)

    @contextlib.contextmanager
    def _reading(self, fs, path: str, size: int) -> Iterator[RangeReader]:
        self.reader = RangeReader(fs, path, size, self.label)
        try:
            yield self.reader
        finally:
            self.requests += self.reader.requests
            self.bytes_fetched += self.reader.bytes_fetched
            self.reader.close()
            self.reader = None


class UrlSource(Source):
    """An ``https://``, ``http://`` or ``s3://`` URL, read by byte ranges."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._found: tuple[Any, str, dict] | None = None

    def _find(self) -> tuple[Any, str, dict]:
        """Filesystem, path and the server's facts about the file (one request, kept)."""
        if self._found is None:
            fs, path = filesystem_for(self.item)
            try:
                info = fs.info(path)
            except Exception as err:  # aiohttp, botocore, OSError...: one line each
                raise SourceError(f"cannot open {self.label}: {describe(err)}") from None
            finally:
                self.requests += 1
            if info.get("size") is None:
                raise SourceError(f"cannot read {self.label} by byte ranges: the server does "
                                  "not give its size; download it first")  # fmt: skip
            self._found = (fs, path, info)
        return self._found

    def identity(self) -> dict:
        info = self._find()[2]
        return {"path": self.label, "name": self.name, "size": int(info["size"]),
                "version": _version(info)}  # fmt: skip

    @contextlib.contextmanager
    def opened(self) -> Iterator[RangeReader]:
        fs, path, info = self._find()
        with self._reading(fs, path, info["size"]) as reader:
            yield reader


class FileObjectSource(Source):
    """An open binary file object, read in this process."""

    def __init__(self, fo: Any) -> None:
        super().__init__(fo)
        fs, path = getattr(fo, "fs", None), getattr(fo, "path", None)
        self._remote = (fs, path) if fs is not None and isinstance(path, str) else None
        self._facts: dict | None = None

    def _info(self) -> dict:
        """What the file's filesystem says about it (from the open file when it kept it)."""
        if self._facts is None:
            details = getattr(self.item, "details", None)
            if isinstance(details, dict) and details.get("size") is not None:
                self._facts = details
                return details
            fs, path = self._remote
            try:
                self._facts = fs.info(path)
            except Exception as err:
                raise SourceError(f"cannot open {self.label}: {describe(err)}") from None
            finally:
                self.requests += 1
        return self._facts

    def identity(self) -> dict:
        if self._remote is not None:
            info = self._info()
            return {"path": self.label, "name": self.name, "size": int(info["size"]),
                    "version": _version(info)}  # fmt: skip
        identity = {"path": self.label, "name": self.name}
        try:
            stat = os.fstat(self.item.fileno())
        except (AttributeError, OSError, ValueError):  # io.BytesIO and the like
            position = self.item.tell()
            identity["size"] = self.item.seek(0, os.SEEK_END)
            self.item.seek(position)
        else:
            identity.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        return identity

    @contextlib.contextmanager
    def opened(self) -> Iterator[Any]:
        if self._remote is None:
            yield self.item  # the caller's to close
            return
        with self._reading(*self._remote, int(self._info()["size"])) as reader:
            yield reader


def as_source(item: Any) -> Source:
    """The :class:`Source` for a path, a URL or an open file object.

    Examples
    --------
    >>> source = as_source("https://user:secret@host/data/ATL06_x.h5?token=abc")
    >>> source.name, source.label
    ('ATL06_x.h5', 'https://host/data/ATL06_x.h5')
    """
    if is_url(item):
        return UrlSource(item)
    if is_file_object(item):
        return FileObjectSource(item)
    return Source(Path(item))
