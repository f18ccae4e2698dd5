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
(a URL without ``user:password@``, query string or fragment; an ambiguous URL names
nothing of itself, see :mod:`helpers.reduce.urls`), and every message about it is also
cleared of its secrets (:meth:`Source.censor`). Its outputs are named after its file
name, which for a URL must not hold a ``/`` or ``\\`` once decoded. Its record's identity
is, for a path, size and modification time
(:func:`~helpers.reduce.outputs.input_identity`); for a URL or an fsspec file, the
redacted URL, the size and the version the server states (``ETag``, else
``Last-Modified``), so a granule replaced on the server is never taken for finished: as
for a changed local file, a re-run refuses its old outputs unless ``overwrite``. The
request that learns them also brings the file's first 64 KiB, and pins the version for
the rest of the read (:mod:`helpers.reduce.transport`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers.credentials import logged_in_earthaccess
from helpers.errors import (
    CredentialsError,
    DataSourceError,
    InvalidUrl,
    NoCredentials,
    SourceError,
)
from helpers.reduce.outputs import input_identity
from helpers.reduce.remote import BLOCK_SIZE, RangeReader
from helpers.reduce.transport import (
    DEFAULT_TIMEOUT_S,
    FsspecTransport,
    HttpTransport,
    S3Transport,
    Transport,
    hide_in_logs,
)
from helpers.reduce.urls import (
    censor,
    is_url,
    parse_url,
    redact,
    scrub,
    secrets_of,
    url_file_name,
)

#: URL schemes read by byte ranges.
REMOTE_SCHEMES = ("https", "http", "s3")
#: Host-name endings of NASA Earthdata's data servers (read with an Earthdata login).
EARTHDATA_HOSTS = (".earthdatacloud.nasa.gov", ".earthdata.nasa.gov")
#: Bucket-name beginnings of NASA's S3 buckets -> earthaccess's name of their data centre.
EARTHDATA_BUCKETS = {"nsidc-cumulus-": "NSIDC"}

__all__ = ["SourceError", "as_source", "is_file_object", "is_url", "source_label",
           "source_name"]  # fmt: skip


def is_file_object(item: object) -> bool:
    """True for an open file object (it can ``read`` and ``seek``), as h5py takes them."""
    return hasattr(item, "read") and hasattr(item, "seek")


def source_name(item: Any) -> str:
    """The file name of an input, after which its outputs are named (``""`` if none, or if
    a URL's name cannot name files safely).

    Examples
    --------
    >>> source_name("https://host/a/ATL06_x.h5?sig=1"), source_name(Path("/d/ATL06_y.h5"))
    ('ATL06_x.h5', 'ATL06_y.h5')
    >>> source_name("http://host/..%2F..%2FATL06_z.h5")
    ''
    """
    if is_url(item):
        try:
            return url_file_name(item)
        except InvalidUrl:
            return ""
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
    >>> source_label("https://me:secret@host/g.h5?token=1")
    'https://host/g.h5'
    >>> source_label("http://me:pa/ss@host/g.h5")
    'http://(invalid URL)'
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


def _earthaccess(label: str):
    """The earthaccess module, logged in (an earlier login, else now from the environment or
    a netrc file, never interactively: :func:`helpers.credentials.logged_in_earthaccess`).

    Raises
    ------
    SourceError
        No usable credentials, no network, or the login refused (one line naming the URL).
    """
    try:
        return logged_in_earthaccess()
    except NoCredentials as err:
        raise SourceError(
            f"cannot open {label}: NASA Earthdata needs a login: set EARTHDATA_USERNAME and "
            "EARTHDATA_PASSWORD (or EARTHDATA_TOKEN), or add the Earthdata login to ~/.netrc, "
            "or call earthaccess.login() first"
        ) from err
    except CredentialsError as err:  # a netrc file that cannot be used
        raise SourceError(f"cannot open {label}: NASA Earthdata needs a login, and "
                          f"{err.what} To fix: {err.fix}") from err  # fmt: skip
    except DataSourceError as err:  # no network, or the credentials refused
        raise SourceError(f"cannot open {label}: {err.what}") from err


def transport_for(url: str, timeout: float = DEFAULT_TIMEOUT_S) -> Transport:
    """The :class:`~helpers.reduce.transport.Transport` that reads ``url``, with
    credentials as the module says.

    Raises
    ------
    SourceError
        An invalid URL, an unsupported scheme, or no Earthdata login where one is needed.
    """
    try:
        parts = parse_url(url)
    except InvalidUrl as err:
        raise SourceError(f"cannot open {err}") from None
    label = parts.label
    if parts.scheme not in REMOTE_SCHEMES:
        raise SourceError(f"cannot open {label}: {parts.scheme}:// is not read here "
                          "(give a path, or an https://, http:// or s3:// URL)")  # fmt: skip
    if parts.scheme in ("http", "https"):
        headers = None
        if parts.scheme == "https" and parts.host.endswith(EARTHDATA_HOSTS):
            session = _earthaccess(label).get_requests_https_session()
            headers = {k: v for k, v in session.headers.items() if k == "Authorization"}
        return HttpTransport(url, label, timeout, headers=headers)
    daac = next((d for p, d in EARTHDATA_BUCKETS.items() if parts.host.startswith(p)), None)
    credentials = None
    if daac is not None:
        found = _earthaccess(label).get_s3_credentials(daac=daac)
        credentials = {"key": found["accessKeyId"], "secret": found["secretAccessKey"],
                       "token": found["sessionToken"]}  # fmt: skip
    return S3Transport(url, label, timeout, credentials=credentials)


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
        self.transport: Transport | None = None

    @property
    def requests(self) -> int:
        """Requests made over the network so far (0 for local files)."""
        return self.transport.requests if self.transport is not None else 0

    @property
    def bytes_fetched(self) -> int:
        """Bytes received over the network so far (0 for local files)."""
        return self.transport.bytes_fetched if self.transport is not None else 0

    def identity(self, head: bool = True) -> dict:
        """What identifies the input in a record (raises OSError or SourceError).

        ``head``: for a remote file, also fetch its first 64 KiB with the request that
        learns its size and version (what a read needs first; a re-run that skips the
        granule needs only one byte)."""
        return input_identity(Path(self.item))

    def censor(self, text: str) -> str:
        """``text`` with no URL credentials, query strings or secrets of this input."""
        return text

    def check_name(self) -> None:
        """Raise SourceError saying why the input's name cannot name outputs, if it knows."""

    @contextlib.contextmanager
    def opened(self) -> Iterator[Any]:
        """What to give h5py: a path or a file object (closed afterwards if made here)."""
        yield Path(self.item)

    def close(self) -> None:
        """Let go of connections."""
        if self.transport is not None:
            self.transport.close()


class RemoteSource(Source):
    """An input read by byte ranges through a transport (made by :meth:`_transport`)."""

    _facts = None

    def _transport(self) -> Transport:
        raise NotImplementedError

    def _open(self, head: bool = True):
        """The remote file's facts (one request, which also brings its first bytes)."""
        if self._facts is None:
            self.transport = self.transport or self._transport()
            self._facts = self.transport.open(BLOCK_SIZE if head else 1)
        return self._facts

    def identity(self, head: bool = True) -> dict:
        facts = self._open(head)
        return {"path": self.label, "name": self.name, "size": facts.size,
                "version": facts.version}  # fmt: skip

    @contextlib.contextmanager
    def opened(self) -> Iterator[RangeReader]:
        facts = self._open()
        transport = self.transport
        assert transport is not None  # made by _open
        self.reader = RangeReader(transport, facts.size, facts.head)
        try:
            yield self.reader
            transport.verify()
        finally:
            self.reader.close()
            self.reader = None


class UrlSource(RemoteSource):
    """An ``https://``, ``http://`` or ``s3://`` URL, read by byte ranges."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(url)
        self.timeout = timeout
        self._secrets = secrets_of(url)
        hide_in_logs(self._secrets)

    def censor(self, text: str) -> str:
        # The known secrets first, while the URL is whole in the text; then any URL left.
        return scrub(censor(text, self._secrets))

    def check_name(self) -> None:
        try:
            url_file_name(self.item)
        except InvalidUrl as err:
            raise SourceError(f"cannot reduce {err}") from None

    def _transport(self) -> Transport:
        self.check_name()  # a name that cannot name outputs: refused before any request
        return transport_for(self.item, self.timeout)


class FileObjectSource(RemoteSource):
    """An open binary file object, read in this process (by byte ranges when it is an
    fsspec file)."""

    def __init__(self, fo: Any) -> None:
        super().__init__(fo)
        fs, path = getattr(fo, "fs", None), getattr(fo, "path", None)
        self._remote = (fs, path) if fs is not None and isinstance(path, str) else None

    def censor(self, text: str) -> str:
        return scrub(text)

    def _transport(self) -> Transport:
        assert self._remote is not None  # only fsspec files are read by byte ranges
        fs, path = self._remote
        details = getattr(self.item, "details", None)
        facts = details if isinstance(details, dict) else None
        return FsspecTransport(fs, path, self.label, facts=facts)

    def identity(self, head: bool = True) -> dict:
        if self._remote is not None:
            return super().identity(head)
        identity: dict[str, str | int] = {"path": self.label, "name": self.name}
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
        with super().opened() as reader:
            yield reader


def as_source(item: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Source:
    """The :class:`Source` for a path, a URL or an open file object.

    Examples
    --------
    >>> source = as_source("https://user:secret@host/data/ATL06_x.h5?token=abc")
    >>> source.name, source.label
    ('ATL06_x.h5', 'https://host/data/ATL06_x.h5')
    """
    if is_url(item):
        return UrlSource(item, timeout)
    if is_file_object(item):
        return FileObjectSource(item)
    return Source(Path(item))
