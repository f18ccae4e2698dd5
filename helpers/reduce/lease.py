"""One writer at a time on an object store: a lock object held by a lease, renewed while alive.

A local folder has the kernel's locks, released when their holder dies however it dies. An
object store (S3) has none, but it has *conditional writes*: create an object only if it
does not exist (``If-None-Match: *``), replace or delete it only if it is still the version
one read (``If-Match: <ETag>``). A :class:`Lease` builds a lock from them:

- **taking it**: create the lock object if absent. If another writer holds it, watch it:
  its holder renews it every third of its lease (a new version each time), so a lock that
  keeps the *same* version for a whole lease, timed on this machine's own monotonic
  clock, belongs to a writer that is gone (a killed worker, a lost machine). It is then
  replaced conditionally on that very version: of two waiters, only one wins. No clocks of
  two machines are ever compared;
- **holding it**: a thread renews it (a conditional replace on our own version). If the
  replace fails because another writer took the lock over (we stalled for longer than a
  lease), the lease is *lost*: :meth:`Lease.check`, called before anything becomes
  visible, raises :class:`LockLost` and the granule is left to its new holder;
- **letting it go**: delete it, conditionally on our version.

A request that succeeded but whose answer was lost is retried by the client and then fails
its own condition; the lock's body names its writer and the renewal, so such an answer is
recognised as ours.

**Limits.** There is no fencing token across objects: a writer that stalls for longer than a
lease *after* its last check may still write once more over its successor (both write the
same outputs from the same input and options). A holder that hangs but keeps renewing
(its renewal thread alive, its work stuck) holds the lock until it is stopped. A lost
worker's granule waits up to one lease before another worker takes it over.

Examples
--------
>>> body = lock_body("host~1~42~ab12", 30.0, 0)
>>> owner_of(body), json.loads(body)["lease_s"]
('host~1~42~ab12', 30.0)
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from helpers.errors import GranuleError, one_line
from helpers.fileio import writer_tag

log = logging.getLogger(__name__)

#: Seconds a lock lasts without renewal (a lost worker's granule waits this long at most).
DEFAULT_LEASE_S = 30.0
#: Renewals per lease: a holder renews every ``lease / RENEWALS`` seconds.
RENEWALS = 3


class Changed(Exception):
    """An object is not the version a conditional request named (or is gone)."""


class LockLost(GranuleError):
    """Another writer took over a granule's lock while this one held it (it stalled)."""


class ConditionalStore(Protocol):
    """What a lease needs of a store: small objects written only under a condition."""

    def create(self, name: str, data: bytes) -> str:
        """Write ``name`` only if it does not exist; its new version (ETag).
        Raises FileExistsError if it exists."""
        ...

    def get(self, name: str) -> tuple[bytes, str] | None:
        """``(bytes, version)`` of ``name``, or None if it does not exist."""
        ...

    def replace(self, name: str, data: bytes, version: str) -> str:
        """Write ``name`` only if it is still ``version``; its new version.
        Raises :class:`Changed` otherwise."""
        ...

    def delete(self, name: str, version: str) -> None:
        """Delete ``name`` only if it is still ``version``. Raises :class:`Changed` otherwise."""
        ...

    def name_label(self, name: str) -> str:
        """How messages name an object of the store."""
        ...


def lock_body(owner: str, lease_s: float, beat: int) -> bytes:
    """A lock object's bytes: who holds it, for how long without renewal, which renewal."""
    return json.dumps({"owner": owner, "lease_s": lease_s, "beat": beat,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode()  # fmt: skip


def owner_of(data: bytes) -> str:
    """The writer named in a lock object's bytes (``""`` if it names none)."""
    try:
        return str(json.loads(data).get("owner", ""))
    except (ValueError, AttributeError):
        return ""


def _lease_of(data: bytes, default: float) -> float:
    try:
        return max(float(json.loads(data).get("lease_s", default)), default)
    except (ValueError, AttributeError, TypeError):
        return default


class Held:
    """A lock while it is held: :meth:`check` raises :class:`LockLost` if another writer
    took it over (never, for a local folder's lock: the kernel's cannot be taken over);
    ``notes`` say what happened while taking it."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def check(self) -> None:
        """Raise :class:`LockLost` if the lock is no longer ours (call before writing)."""


@dataclass(frozen=True)
class _Watch:
    """Another writer's lock as first seen in this version: when, and its declared lease."""

    version: str
    since: float
    lease: float


class Lease(Held):
    """An exclusive lock on an object store, held while its holder renews it.

    Parameters
    ----------
    store : ConditionalStore
        Where the lock object lives.
    name : str
        The lock object's name in the store.
    seconds : float
        How long the lock lasts without renewal. A waiter waits at least the lease its
        holder declared, so runs with different settings never cut each other short.

    Examples
    --------
    ``with Lease(store, ".reduced/g.lock", 30.0) as lease: ...; lease.check(); ...``
    """

    def __init__(self, store: ConditionalStore, name: str,
                 seconds: float = DEFAULT_LEASE_S) -> None:  # fmt: skip
        if not seconds > 0:
            raise ValueError(f"a lease must last a positive number of seconds, not {seconds}")
        self.store, self.name, self.seconds = store, name, float(seconds)
        # Seconds between looks at a lock held by another writer.
        self.poll = min(self.seconds / 6, 2.0)
        super().__init__()
        self.owner = f"{writer_tag()}~{secrets.token_hex(4)}"
        self._version = ""
        self._beat = 0
        self._lost = ""
        self._renewed = self._created_at = 0.0  # time.monotonic() before a write of the lock
        self._renewing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting while a live writer holds it; then renew it in a thread.

        Raises
        ------
        GranuleError
            The store cannot be reached or written (one line).
        """
        try:
            self._wait_and_take()
        except OSError as err:
            raise GranuleError(f"cannot take its lock {self.store.name_label(self.name)}: "
                               f"{one_line(err)}") from err  # fmt: skip
        self._thread = threading.Thread(target=self._renew, name=f"lease {self.name}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _wait_and_take(self) -> None:
        watch: _Watch | None = None  # another writer's lock, as last seen
        while not self._take(watch):
            current = self.store.get(self.name)
            if current is None:  # let go meanwhile: try again at once
                watch = None
                continue
            data, version = current
            if owner_of(data) == self.owner:  # our own create, retried after a lost answer
                self._version = version
                self._renewed = self._created_at
                return
            if watch is None or watch.version != version:  # new, or renewed: watch again
                watch = _Watch(version, time.monotonic(), _lease_of(data, self.seconds))
            time.sleep(self.poll)

    def _take(self, watch: _Watch | None) -> bool:
        """Create the lock; or, when the watched version outlived its lease, take it over."""
        body = lock_body(self.owner, self.seconds, 0)
        sent = time.monotonic()  # the lease runs from before the write, to be safe
        if watch is None:
            self._created_at = sent  # (a create whose answer was lost is found ours later)
            try:
                self._version, self._renewed = self.store.create(self.name, body), sent
                return True
            except FileExistsError:
                return False
        stale_for = time.monotonic() - watch.since
        if stale_for < watch.lease:
            return False
        try:
            self._version, self._renewed = self.store.replace(self.name, body, watch.version), sent
        except Changed:
            return False
        self.notes.append(
            f"took over its lock, which its holder had not renewed for {stale_for:.0f} s "
            "(a lost worker?); what that writer left unfinished is replaced"
        )
        log.info("took over %s after %.1f s without renewal", self.name, stale_for)
        return True

    def _renew(self) -> None:
        """Renew the lease every ``seconds / RENEWALS`` until released, or until it is lost."""
        while not self._stop.wait(self.seconds / RENEWALS):
            if not self._renew_now():
                return

    def _renew_now(self) -> bool:
        """Renew once (one writer at a time: the thread, or :meth:`check`); False once the
        lease is lost. A store that cannot be reached is tried again next time, until a
        whole lease has passed since the last renewal."""
        with self._renewing:
            if self._lost:
                return False
            sent = time.monotonic()  # the lease runs from before the write, to be safe
            try:
                if self._renew_once():
                    self._renewed = sent
                    return True
                self._lost = "another writer took it over"
            except Exception as err:  # the store cannot be reached for now: try again
                log.warning("cannot renew %s: %s", self.name, one_line(err))
                if time.monotonic() - self._renewed <= self.seconds:
                    return True
                self._lost = f"it could not be renewed for {self.seconds:g} s"
            return False

    def _renew_once(self) -> bool:
        """One renewal (a new version of the lock); False if the lock is not ours any more."""
        body = lock_body(self.owner, self.seconds, self._beat + 1)
        try:
            self._version = self.store.replace(self.name, body, self._version)
        except Changed:
            current = self.store.get(self.name)
            if current is None or current[0] != body:  # not our own write, retried
                return False
            self._version = current[1]
        self._beat += 1
        return True

    def check(self) -> None:
        """Raise :class:`LockLost` if the lock is no longer ours (call before writing).

        When more than half a lease has passed since the last renewal (this process was
        paused, or its renewals failed), the lock is renewed now first: another writer may
        take over a lock one lease after its last renewal, so a stalled holder finds out
        here, before it writes, instead of from its renewal thread, later.
        """
        if time.monotonic() - self._renewed > self.seconds / 2:
            self._renew_now()
        if self._lost:
            raise LockLost(
                f"its lock {self.store.name_label(self.name)} was lost ({self._lost}: this "
                f"writer stalled for more than its {self.seconds:g} s lease); the granule "
                "is left to the writer that holds it now"
            )

    def release(self) -> None:
        """Stop renewing and delete the lock (if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._lost or not self._version:
            return
        with contextlib.suppress(Changed):  # taken over just now: it is the new holder's
            self.store.delete(self.name, self._version)
