"""Keeping the memory the reducer frees in the process, so that the next beam reuses it.

Reducing a granule allocates and frees the same few hundred MB, beam after beam: arrays of
one to a few MB each. By default glibc's ``malloc`` gives such blocks back to the kernel:
blocks above a threshold (which adapts, up to 32 MiB) are unmapped when freed, and free
memory at the top of the heap beyond twice that threshold is trimmed. Every page taken
back from the kernel later costs a page fault, and the kernel must clear it first. In a
virtual machine whose free pages the host reclaims (virtio-balloon free page reporting,
as on the machine these benchmarks ran on), a page that has been free for a few seconds
costs the host a fault as well: measured here, touching 1.5 GB of such memory took
0.6-2 s of system time, and whether a page was still backed depended on timing, which
made the same run fast or slow (``bench/bench_reduce.py``, "the bimodal case").

:func:`keep_freed_memory` fixes glibc's thresholds for this process (``mallopt``):
blocks up to :data:`MMAP_THRESHOLD` come from the heap, and up to :data:`TRIM_THRESHOLD`
of free memory stays at its top. A reduction then faults in its working set once
(about 40 k minor faults for 16 full-size granules instead of about 190 k). The cost is
that a process keeps up to ``TRIM_THRESHOLD`` more memory than it uses after a run.
"""

from __future__ import annotations

import ctypes
import functools
import platform

#: Blocks at least this large (bytes) are mapped on their own (glibc's own upper bound for
#: its adaptive threshold, 32 MiB on 64-bit systems).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the top of the heap beyond this (bytes) is given back to the kernel.
TRIM_THRESHOLD = 128 * 1024 * 1024
#: ``mallopt`` parameters (``malloc.h``).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3

@functools.cache  # once per process (two threads racing set the same values twice: harmless)
def keep_freed_memory() -> bool:
    """Set glibc's ``malloc`` thresholds for this process (once; later calls do nothing).

    Returns
    -------
    bool
        True if the thresholds are set (Linux with glibc), False elsewhere.

    Examples
    --------
    >>> keep_freed_memory() == keep_freed_memory()
    True
    """
    return _set_thresholds()


def _set_thresholds() -> bool:
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    # glibc's options: other C libraries (musl...) have no such thresholds.
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mmap first: setting any threshold turns glibc's adaptive thresholds off.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
