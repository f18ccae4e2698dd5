"""Atomic file writes: a finished name only ever holds a finished file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: Suffix of files being written; a run that is killed leaves at most these behind.
PARTIAL_SUFFIX = ".partial"


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
    tmp = final.with_name(f".{final.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _writer_alive(path: Path) -> bool:
    """True if the process that was writing ``path`` (pid in its name) still runs here."""
    try:
        pid = int(path.name.removesuffix(PARTIAL_SUFFIX).rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return False
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

    Files still being written by a live process on this machine are left alone.
    """
    removed = 0
    for path in Path(folder).glob(f".*{PARTIAL_SUFFIX}"):
        if _writer_alive(path):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
