"""Atomic file writes and file locks: a finished name only ever holds a finished file.

Temporary names carry the writer's host, PID namespace, process id and a random token,
so writers that share a folder never pick the same one: not on two machines, and not in
two containers on one machine, where every process may be PID 1. HDF5 files are built in
memory and written in one plain write, so a full disk is one clean ``OSError``, never an
HDF5 library error at close time (which can crash the interpreter).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

#: Suffix of files being written; a run that is killed leaves at most these behind.
PARTIAL_SUFFIX = ".partial"
#: Leftovers written elsewhere (another host or PID namespace) are removed after this long.
FOREIGN_PARTIAL_AGE_S = 3600.0


class SeekableRaw(io.RawIOBase):
    """A raw binary file of ``size`` bytes with a position ``_pos``: the seeking and
    telling its subclasses share (they add ``readinto``, and ``write`` if writable).

    Examples
    --------
    >>> class Zeros(SeekableRaw):
    ...     size, _pos = 10, 0
    >>> f = Zeros(); f.seek(-3, io.SEEK_END), f.seek(1, io.SEEK_CUR), f.tell()
    (7, 8, 8)
    """

    size: int
    _pos: int

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos


def _pid_namespace() -> str:
    """An id of this process's PID namespace (Linux), or ``"0"`` where there is none."""
    try:
        return re.sub(r"\D", "", os.readlink("/proc/self/ns/pid")) or "0"
    except OSError:
        return "0"


def writer_tag() -> str:
    """``host~namespace~pid``: who writes, as it appears in temporary names."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
    return f"{host}~{_pid_namespace()}~{os.getpid()}"


def prove_writable(folder: str | os.PathLike) -> None:
    """Create ``folder`` if needed and prove that files can be written there, leaving
    nothing behind (a probe file with a name no other writer uses is written, then removed).

    Raises
    ------
    OSError
        The folder cannot be created or written (read-only, a regular file, full...).

    Examples
    --------
    >>> import tempfile
    >>> prove_writable(Path(tempfile.mkdtemp()) / "new")
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-test-{writer_tag()}~{secrets.token_hex(4)}"
    probe.write_bytes(b"")
    probe.unlink()


def partial_name(final: str | os.PathLike) -> Path:
    """A fresh temporary path beside ``final``: ``.<name>.<host~ns~pid>~<token>.partial``."""
    final = Path(final)
    return final.with_name(f".{final.name}.{writer_tag()}~{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    On any exception the temporary file is removed and ``final`` is left untouched,
    so a crash, Ctrl-C or a full disk never leaves a truncated file under the real name.

    Parameters
    ----------
    final : path-like
        Where the finished file must end up.
    """
    final = Path(final)
    tmp = partial_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def hdf5_bytes(fill) -> memoryview:
    """The bytes of an HDF5 file built in memory by ``fill(h5py.File)``.

    Parameters
    ----------
    fill : callable
        Receives an open, writable, in-memory ``h5py.File`` and fills it.

    Returns
    -------
    memoryview
        The whole file, ready to be written with one plain write.
    """
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        fill(f)
    return buffer.getbuffer()


def write_h5_atomically(final: str | os.PathLike, fill) -> Path:
    """Build an HDF5 file in memory with ``fill(h5py.File)``, then write it atomically.

    Parameters
    ----------
    final : path-like
        Where the file must end up.
    fill : callable
        Receives an open, writable, in-memory ``h5py.File`` and fills it.

    Returns
    -------
    pathlib.Path
        ``final``.

    Raises
    ------
    OSError
        If the bytes cannot be written (e.g. a full disk); nothing is left behind.
    """
    data = hdf5_bytes(fill)
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def _writer_alive(path: Path) -> bool:
    """True unless the writer named in ``path`` is known to be gone (or it is old)."""
    match = re.search(r"\.([^.]*)~(\d+)~(\d+)~[0-9a-f]+" + re.escape(PARTIAL_SUFFIX) + "$",
                      path.name)  # fmt: skip
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if match is None or writer_tag().rsplit("~", 1)[0] != f"{match[1]}~{match[2]}":
        # Old-style name, or written on another host / in another PID namespace: we
        # cannot ask that process, so only its age tells.
        return age < FOREIGN_PARTIAL_AGE_S
    pid = int(match[3])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partials(folder: str | os.PathLike) -> int:
    """Delete leftovers of interrupted writes in ``folder``; return how many were removed.

    Files still being written by a live process on this machine (same PID namespace) are
    left alone, and so are recent ones written elsewhere.
    """
    removed = 0
    for path in Path(folder).glob(f".*{PARTIAL_SUFFIX}"):
        if _writer_alive(path):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


@contextlib.contextmanager
def locked(path: str | os.PathLike, on_wait=None) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) while inside.

    The lock is the kernel's (``flock``): released when its holder exits, even if it is
    killed, and seen across containers sharing the folder. Where the file system does
    not support locks, the block runs unlocked.

    Parameters
    ----------
    path : path-like
        The lock file.
    on_wait : callable, optional
        Called once (no arguments) if another process holds the lock and we must wait.
    """
    import fcntl

    with open(path, "a") as handle:
        held = True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system (some network or FUSE ones)
            held = False
        try:
            yield
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)
