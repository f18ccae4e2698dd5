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


def remove_partials(folder: str | os.PathLike) -> int:
    """Delete leftovers of interrupted writes in ``folder``; return how many were removed."""
    removed = 0
    for path in Path(folder).glob(f".*{PARTIAL_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
