"""Worker processes that fit the machine and never outlive their run.

Three things every parallel run here needs (the reducer with joblib, the sample
generator):

- how many workers: no more than the CPUs this process may use (a container or a batch
  job often gets fewer than the machine has) and no more than there is work;
- workers that die with their parent: a killed parent must not leave joblib's workers
  running, holding memory, for minutes (and that leave Ctrl-C to the parent);
- a Ctrl-C that is never lost: Python drops an exception raised inside a finalizer or a
  weakref callback ("Exception ignored in ..."), so an interrupt that lands there would
  let the run go on and exit 0. :class:`InterruptGuard` remembers it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from helpers.errors import DEBUG_ENV, debug_logging

#: Linux prctl option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1.

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(requested: int, tasks: int) -> int:
    """Workers to start: ``requested``, capped by the available CPUs and by ``tasks``.

    Parameters
    ----------
    requested : int
        What the user asked for (``-n``); at least 1.
    tasks : int
        How many independent pieces of work there are.

    Examples
    --------
    >>> worker_count(1000, 1)
    1
    """
    return max(1, min(requested, available_cpus(), tasks))


def init_worker(parent: int | None = None, environment: str = "") -> None:
    """Set up a worker process (joblib's ``initializer``): it dies with its parent, and
    leaves Ctrl-C to the parent.

    On Linux the kernel sends SIGTERM to the worker when its parent dies, however it
    dies (even SIGKILL). SIGINT is ignored: a terminal's Ctrl-C reaches every process of
    the group, and it is the parent that stops the run and its workers.

    Parameters
    ----------
    parent : int, optional
        The parent's pid as the parent saw it (``os.getpid()`` there). If the parent
        died before this ran, this process exits at once.
    environment : str, optional
        :func:`environment_fingerprint` of the parent when it started the workers. Not
        used here: joblib reuses its workers only for the same ``initargs``, so workers
        that started under another environment (other credentials) are not reused.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.environ.get(DEBUG_ENV):  # the parent runs with --debug
        debug_logging()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if parent is not None and os.getppid() != parent:  # orphaned already
        os._exit(1)


def environment_fingerprint() -> str:
    """A digest of this process's environment variables (no value can be read back from it).

    Workers inherit the environment when they start; joblib keeps its workers between runs,
    so a run passes this among its initializer's arguments to get fresh workers whenever
    the environment (credentials, endpoints) changed since they started.

    Examples
    --------
    >>> len(environment_fingerprint())
    16
    """
    import hashlib

    return hashlib.sha256(repr(sorted(os.environ.items())).encode()).hexdigest()[:16]


class InterruptGuard:
    """Remember SIGINT (Ctrl-C) and SIGTERM during a run, even when Python drops them.

    Use as a context manager in the main thread; elsewhere it does nothing. The handler
    raises KeyboardInterrupt as Python's own does, and also sets a flag; :meth:`check`
    raises again if that first exception was swallowed. On leaving, the previous
    handlers come back, and a remembered interrupt is raised.

    Examples
    --------
    >>> with InterruptGuard() as guard:
    ...     guard.check()  # raises KeyboardInterrupt once a signal has arrived
    """

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def check(self) -> None:
        """Raise KeyboardInterrupt if an interrupt arrived (whether or not it was raised)."""
        if self.interrupted:
            raise KeyboardInterrupt("interrupted")

    def __exit__(self, kind, value, traceback) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if kind is None:
            self.check()
