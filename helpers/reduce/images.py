"""Output files built in reused, page-aligned memory and written past the page cache.

A whole-granule reduction writes about 100 bytes per segment: 1.5 GB for 16 full-size
granules. Built in an ``io.BytesIO`` and written with a plain ``write``, every byte was
copied twice, into freshly allocated memory and then into fresh page-cache pages. Fresh
pages are what made the reducer slow now and then: on a virtual machine whose free pages
the host reclaims (virtio-balloon free page reporting), writing 1.5 GB into the page
cache took 0.4 s of system time when the pages had just been freed and 3.5-4.5 s when
they had been free for a few seconds (measured here; see :mod:`helpers.reduce.memory`).
So:

- :func:`hdf5_image` builds an HDF5 file with h5py in an :class:`Image`: a memory map
  reused by the next file built in the same thread (no new pages once it has grown);
- :func:`write_image` writes it with ``O_DIRECT`` where the operating system and file
  system allow it: the device reads the image where it is, no page-cache page is
  touched and no CPU copies it (1.5 GB: 0.05 s of CPU instead of 0.4-4.5 s, and 0.8-1.1
  s of waiting for the disk here). Elsewhere (macOS, tmpfs, some network file systems)
  it falls back to a plain write. Either way the file holds the same bytes, and a full
  disk is one plain ``OSError``.

The cost: a file written with ``O_DIRECT`` is not in the page cache, so the first read
of it comes from the disk.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import threading
from collections.abc import Callable, Iterator

from helpers.fileio import SeekableRaw

#: Alignment of memory, file offsets and lengths for ``O_DIRECT`` (bytes): a page, the
#: largest logical block size of common devices.
ALIGN = 4096
#: Smaller files are written plainly (``O_DIRECT`` waits for the device on every write).
MIN_DIRECT = 1024 * 1024
#: First capacity of an image (bytes); it doubles as needed and is kept for the next file.
FIRST_CAPACITY = 8 * 1024 * 1024


class Image(SeekableRaw):
    """A growable in-memory file in page-aligned memory, for h5py to write into.

    ``view`` holds the file's bytes; the memory past them up to the next multiple of
    :data:`ALIGN` is zeroed before a direct write. Reuse it with :meth:`reset`.

    Examples
    --------
    >>> image = Image()
    >>> _ = image.write(b"abc"); _ = image.seek(1); image.read(5), bytes(image.view)
    (b'bc', b'abc')
    """

    def __init__(self, capacity: int = FIRST_CAPACITY) -> None:
        super().__init__()
        self._map = mmap.mmap(-1, _aligned(max(capacity, ALIGN)))
        self.size = self._pos = 0

    @property
    def view(self) -> memoryview:
        """The file's bytes (valid until the image is written to or reset again)."""
        return memoryview(self._map)[: self.size]

    def reset(self) -> None:
        """Empty the image, keeping its memory."""
        self.size = self._pos = 0

    def writable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        n = max(0, min(len(out), self.size - self._pos))
        out[:n] = self._map[self._pos : self._pos + n]
        self._pos += n
        return n

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        end = self._pos + len(data)
        self._reserve(end)
        if self._pos > self.size:  # a write past the end: the gap reads as zeros
            self._map[self.size : self._pos] = bytes(self._pos - self.size)
        self._map[self._pos : end] = data
        self._pos, self.size = end, max(self.size, end)
        return len(data)

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        self._reserve(size)
        if size > self.size:
            self._map[self.size : size] = bytes(size - self.size)
        self.size = size
        return size

    def padded(self) -> memoryview:
        """The bytes followed by zeros up to a multiple of :data:`ALIGN` (for ``O_DIRECT``)."""
        stop = _aligned(self.size)
        self._map[self.size : stop] = bytes(stop - self.size)
        return memoryview(self._map)[:stop]

    def _reserve(self, size: int) -> None:
        if size <= len(self._map):
            return
        bigger = mmap.mmap(-1, _aligned(max(size, 2 * len(self._map))))
        bigger[: self.size] = self._map[: self.size]
        self._map.close()
        self._map = bigger


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


_images = threading.local()


@contextlib.contextmanager
def hdf5_image(fill: Callable) -> Iterator[Image]:
    """An HDF5 file built in memory by ``fill(h5py.File)``, in this thread's reused image.

    Parameters
    ----------
    fill : callable
        Receives an open, writable, in-memory ``h5py.File`` and fills it.

    Yields
    ------
    Image
        The finished file (``image.view``), valid inside the ``with`` block only.

    Examples
    --------
    >>> import io, h5py, numpy as np
    >>> with hdf5_image(lambda f: f.create_dataset("h", data=np.arange(3))) as image:
    ...     with h5py.File(io.BytesIO(image.view), "r") as f:
    ...         f["h"][()].tolist()
    [0, 1, 2]
    """
    import h5py

    image = getattr(_images, "free", None) or Image()
    _images.free = None  # a file built inside fill() gets an image of its own
    try:
        image.reset()
        with h5py.File(image, "w") as f:
            fill(f)
        yield image
    finally:
        _images.free = image


def write_image(path: str | os.PathLike, image: Image) -> None:
    """Write an image as a new file at ``path`` (replacing one there), bypassing the page
    cache where the system allows it.

    Raises
    ------
    OSError
        The file cannot be written (a full disk, no permission...).
    """
    if image.size >= MIN_DIRECT and hasattr(os, "O_DIRECT"):
        try:
            _write_direct(path, image)
            return
        except OSError as err:
            if err.errno != errno.EINVAL:  # EINVAL: no O_DIRECT here; anything else is real
                raise
    with open(path, "wb") as f:
        f.write(image.view)


def _write_direct(path: str | os.PathLike, image: Image) -> None:
    """One ``O_DIRECT`` write of the padded image, then the file cut to its size."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o666)
    try:
        data, done = image.padded(), 0
        while done < len(data):
            done += os.write(fd, data[done:])
        os.ftruncate(fd, image.size)
    finally:
        os.close(fd)
