"""Where a run's outputs go: a local folder or an object store, behind one small interface.

The reducer's guarantees hold in both (:mod:`helpers.reduce.outputs` says what they are);
only how each store keeps them differs:

=====================  ===============================  ======================================
                       :class:`LocalFolder`             :class:`ObjectStore` (``s3://``)
=====================  ===============================  ======================================
visible when complete  temporary name, then a rename    one PUT per object (atomic on S3)
what a record keeps    size and mtime of every output   size and ETag of every output
one writer at a time   the kernel's lock (``flock``)    a lock object held by a lease
                                                        (:mod:`helpers.reduce.lease`)
a dead writer's lock   released by the kernel           expires one lease after its last
                                                        renewal
=====================  ===============================  ======================================

:func:`open_store` takes what a user gives as the output folder: a path, a ``file://`` URL or
an ``s3://bucket/prefix`` URL (an S3-compatible server through ``AWS_ENDPOINT_URL_S3``). It
refuses, in one line, a URL of another scheme (those stores' conditional writes are not
supported here), a URL that carries credentials, a query or a fragment (credentials come from
the environment: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``~/.aws``, an instance
role), and a string that looks like a URL but is not one (``s3:/bucket``, which would
otherwise become a local folder named ``s3:``). Stores are named by :attr:`Store.label`: a
path, or the URL without secrets (:func:`~helpers.reduce.urls.redact`). A worker is given
:attr:`Store.where` and opens the store itself, with its own credentials.

Examples
--------
>>> import tempfile
>>> store = open_store(tempfile.mkdtemp())
>>> store.prepare("a")
>>> store.write_text("a/b.json", "{}")
>>> store.read_text("a/b.json"), store.read_text("a/none.json")
('{}', None)
>>> open_store("s3:/bucket/out")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: s3:/bucket/out looks like a URL but is not one: ...
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from helpers.fileio import atomic_path, locked, prove_writable, remove_partials, writer_tag
from helpers.reduce.lease import DEFAULT_LEASE_S, Changed, Held, Lease
from helpers.reduce.urls import is_url, parse_url, redact, secrets_of

#: URL schemes of object stores that outputs can be written to.
OBJECT_STORES = ("s3",)
#: ``name:`` at the start of a string (two letters or more: not a Windows drive).
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


class Store:
    """A place for outputs and records: files (objects) named by relative ``a/b`` names.

    Attributes
    ----------
    label : str
        How messages name the store: its path, or its URL without secrets.
    where : str or pathlib.Path
        What :func:`open_store` takes to open it again (in a worker): no secret in it.
    """

    label: str
    where: str | Path

    def name_label(self, name: str) -> str:
        """How messages name one object of the store."""
        return f"{self.label}/{name}"

    def read_text(self, name: str) -> str | None:
        """The text of ``name``; None if it does not exist (in a folder: or cannot be
        read). Other errors of an object store are raised."""
        raise NotImplementedError

    def read_texts(self, folder: str, suffix: str) -> dict[str, str]:
        """``{file name: text}`` of the files directly in ``folder`` whose names end with
        ``suffix`` (those that cannot be read are left out)."""
        raise NotImplementedError

    def write_text(self, name: str, text: str) -> None:
        """Write ``name`` whole, atomically (readers see the old text or the new one)."""
        raise NotImplementedError

    def staged(self, name: str) -> contextlib.AbstractContextManager[Path]:
        """A local path to write ``name`` to; it becomes ``name``, whole, when the block
        ends without an error, and nothing of it is left otherwise."""
        raise NotImplementedError

    def stamps(self, names: list[str]) -> dict[str, dict]:
        """What identifies the present version of each of ``names`` (size and mtime, or
        size and ETag); names that do not exist are left out."""
        raise NotImplementedError

    def find(self, prefix: str, pattern: re.Pattern) -> list[str]:
        """Names of the top-level files that start with ``prefix`` and match ``pattern``."""
        raise NotImplementedError

    def remove(self, name: str) -> None:
        """Delete ``name`` (nothing if it does not exist)."""
        raise NotImplementedError

    def lock(
        self, name: str, lease: float = DEFAULT_LEASE_S
    ) -> contextlib.AbstractContextManager[Held]:
        """Hold the exclusive lock ``name`` while inside (``lease``: for object stores)."""
        raise NotImplementedError

    def prepare(self, folder: str) -> None:
        """Make sure files can be written in ``folder`` of the store."""

    def prove_writable(self) -> None:
        """Raise OSError (or another error of the store) unless outputs can be written."""
        raise NotImplementedError

    def clear_leftovers(self) -> int:
        """Delete what interrupted writers left (temporary files); how many were removed."""
        return 0


class LocalFolder(Store):
    """A folder on a local (or shared) file system: temporary names, renames, ``flock``."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.label = str(self.folder)
        self.where = self.folder

    def read_text(self, name: str) -> str | None:
        try:
            return (self.folder / name).read_text()
        except (OSError, ValueError):
            return None

    def read_texts(self, folder: str, suffix: str) -> dict[str, str]:
        texts = {}
        for path in sorted((self.folder / folder).glob(f"*{suffix}")):
            with contextlib.suppress(OSError, ValueError):
                texts[path.name] = path.read_text()
        return texts

    def write_text(self, name: str, text: str) -> None:
        with atomic_path(self.folder / name) as tmp:
            tmp.write_text(text)

    def staged(self, name: str) -> contextlib.AbstractContextManager[Path]:
        return atomic_path(self.folder / name)

    def stamps(self, names: list[str]) -> dict[str, dict]:
        found = {}
        for name in names:
            with contextlib.suppress(OSError):
                info = (self.folder / name).stat()
                found[name] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
        return found

    def find(self, prefix: str, pattern: re.Pattern) -> list[str]:
        import glob

        return sorted(p.name for p in self.folder.glob(f"{glob.escape(prefix)}*")
                      if pattern.fullmatch(p.name))  # fmt: skip

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder / name)

    @contextlib.contextmanager
    def lock(self, name: str, lease: float = DEFAULT_LEASE_S) -> Iterator[Held]:
        with locked(self.folder / name):
            yield Held()

    def prepare(self, folder: str) -> None:
        (self.folder / folder).mkdir(parents=True, exist_ok=True)

    def prove_writable(self) -> None:
        prove_writable(self.folder)

    def clear_leftovers(self) -> int:
        return remove_partials(self.folder)


class ObjectStore(Store):
    """A prefix of an S3 bucket, through fsspec (s3fs): one PUT per object, ETags, leases.

    Credentials and endpoint come from the environment (botocore's usual chain), never
    from the URL. Listings are never cached: other workers write to the same prefix.
    """

    def __init__(self, url: str) -> None:
        parts = parse_url(url)
        self.scheme, self.label = parts.scheme, parts.label.rstrip("/")
        self.where = self.label
        prefix = unquote(parts.path).strip("/")
        self.root = f"{parts.host}/{prefix}" if prefix else parts.host

    @functools.cached_property
    def fs(self) -> Any:
        """The fsspec filesystem (made on first use: s3fs is slow to import)."""
        import fsspec

        _check_conditional_writes()
        return fsspec.filesystem(self.scheme, use_listings_cache=False)

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def read_text(self, name: str) -> str | None:
        try:
            return self.fs.cat_file(self._path(name)).decode()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            return None

    def read_texts(self, folder: str, suffix: str) -> dict[str, str]:
        try:
            listed = self.fs.ls(self._path(folder), detail=False)
        except FileNotFoundError:
            return {}
        wanted = sorted(p for p in listed if p.endswith(suffix))
        found = self.fs.cat(wanted, on_error="omit") if wanted else {}
        texts = {}
        for path in wanted:
            with contextlib.suppress(KeyError, UnicodeDecodeError):
                texts[path.rsplit("/", 1)[-1]] = found[path].decode()
        return texts

    def write_text(self, name: str, text: str) -> None:
        self.fs.pipe_file(self._path(name), text.encode())

    @contextlib.contextmanager
    def staged(self, name: str) -> Iterator[Path]:
        handle, where = tempfile.mkstemp(prefix=".reduce-", suffix=f"-{Path(name).name}")
        os.close(handle)
        tmp = Path(where)
        try:
            yield tmp
            self.fs.pipe_file(self._path(name), tmp.read_bytes())  # one PUT: whole, or nothing
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def stamps(self, names: list[str]) -> dict[str, dict]:
        if not names:
            return {}
        # Character by character, as S3 lists keys by prefix: one listing for all.
        prefix = os.path.commonprefix(names)  # noqa: RUF071
        folder, _, start = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        found = self.fs.find(base, prefix=start, detail=True)
        stamps = {}
        for path, info in found.items():
            name = path[len(self.root) + 1 :]
            if name in names:
                stamps[name] = {"size": int(info["size"]), "etag": _etag(info)}
        return stamps

    def find(self, prefix: str, pattern: re.Pattern) -> list[str]:
        found = self.fs.find(self.root, prefix=prefix)
        names = (p[len(self.root) + 1 :] for p in found)
        return sorted(n for n in names if "/" not in n and pattern.fullmatch(n))

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(name))

    @contextlib.contextmanager
    def lock(self, name: str, lease: float = DEFAULT_LEASE_S) -> Iterator[Held]:
        with Lease(self, name, lease) as held:
            yield held

    def prove_writable(self) -> None:
        probe = f".write-test-{writer_tag()}~{secrets.token_hex(4)}"
        self.fs.pipe_file(self._path(probe), b"")
        self.fs.rm_file(self._path(probe))

    # ----------------------------------------------------------- conditional writes (leases)

    def create(self, name: str, data: bytes) -> str:
        """Write ``name`` only if it does not exist (``If-None-Match: *``); its ETag."""
        try:
            answer = self.fs.pipe_file(self._path(name), data, IfNoneMatch="*")
        except OSError as err:
            if _s3_code(err) in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise FileExistsError(self.name_label(name)) from None
            raise
        return str(answer["ETag"])

    def get(self, name: str) -> tuple[bytes, str] | None:
        """``(bytes, ETag)`` of ``name`` from one GET, or None if it does not exist."""
        from fsspec.asyn import sync

        bucket, key, _ = self.fs.split_path(self._path(name))
        try:
            return sync(self.fs.loop, self._get, bucket, key)
        except FileNotFoundError:
            return None

    async def _get(self, bucket: str, key: str) -> tuple[bytes, str]:
        answer = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
        body = answer["Body"]
        try:
            data = await body.read()
        finally:
            body.close()
        return data, str(answer["ETag"])

    def replace(self, name: str, data: bytes, version: str) -> str:
        """Write ``name`` only if it is still ``version`` (``If-Match``); its new ETag."""
        try:
            answer = self.fs.pipe_file(self._path(name), data, IfMatch=version)
        except OSError as err:
            _raise_changed(err)
            raise
        return str(answer["ETag"])

    def delete(self, name: str, version: str) -> None:
        """Delete ``name`` only if it is still ``version`` (``If-Match``)."""
        bucket, key, _ = self.fs.split_path(self._path(name))
        try:
            self.fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=version)
        except OSError as err:
            _raise_changed(err)
            raise


def _etag(info: dict) -> str:
    return str(info.get("ETag") or info.get("etag") or "").strip('"')


def _s3_code(err: BaseException) -> str:
    """The S3 error code behind an error s3fs translated (``""`` if none)."""
    cause = err.__cause__ or err.__context__
    response = getattr(cause, "response", None) or getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _raise_changed(err: OSError) -> None:
    """Raise :class:`Changed` if ``err`` says a condition failed or the object is gone."""
    if isinstance(err, FileNotFoundError) or _s3_code(err) in (
        "PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey",
    ):  # fmt: skip
        raise Changed(str(err)) from None


@functools.cache
def _check_conditional_writes() -> None:
    """Raise RuntimeError unless this botocore sends S3's conditional writes (an older one
    would silently drop them, and two writers could then hold one lock)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    put = model.operation_model("PutObject").input_shape.members
    delete = model.operation_model("DeleteObject").input_shape.members
    if not ({"IfNoneMatch", "IfMatch"} <= set(put) and "IfMatch" in delete):
        raise RuntimeError("this botocore cannot make S3's conditional writes (If-None-Match, "
                           "If-Match), which outputs in a bucket need: upgrade botocore/s3fs")


def open_store(where: str | os.PathLike | Store) -> Store:
    """The :class:`Store` for an output folder: a path, a ``file://`` URL or an ``s3://`` URL.

    Raises
    ------
    ValueError
        A URL of another scheme, a URL with credentials, a query or a fragment, an invalid
        URL, or a string that looks like a URL but is not one (one line, no secret in it).

    Examples
    --------
    >>> open_store("s3://my-bucket/reduced/").label
    's3://my-bucket/reduced'
    >>> open_store("s3://KEY:SECRET@my-bucket/out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: s3://my-bucket/out: an output URL must not carry credentials, ...
    """
    if isinstance(where, Store):
        return where
    if isinstance(where, os.PathLike):
        if not os.path.isabs(where) and _URL_LIKE.match(os.fspath(where)):
            raise ValueError(f"{os.fspath(where)} looks like a URL made into a path (a path "
                             "keeps one slash of '//'): give the URL as a string, or an "
                             "absolute path for a local folder")  # fmt: skip
        return LocalFolder(where)
    text = str(where)
    if text.startswith("file://"):
        return LocalFolder(unquote(text.removeprefix("file://")))
    if is_url(text):
        label = redact(text)
        parts = parse_url(text)  # InvalidUrl (a ValueError) names it without secrets
        if secrets_of(text):
            raise ValueError(f"{label}: an output URL must not carry credentials, a query or "
                             "a fragment: give credentials in the environment "
                             "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or ~/.aws")  # fmt: skip
        if parts.scheme not in OBJECT_STORES:
            raise ValueError(f"{label}: outputs cannot be written to {parts.scheme}:// "
                             "(give a folder, or an s3://bucket/prefix URL)")  # fmt: skip
        return ObjectStore(text)
    if _URL_LIKE.match(text):
        raise ValueError(f"{text} looks like a URL but is not one: write s3://bucket/prefix, "
                         f"or ./{text} for a local folder whose name holds a colon")
    return LocalFolder(text)


__all__ = ["Changed", "Held", "LocalFolder", "ObjectStore", "Store", "open_store"]
