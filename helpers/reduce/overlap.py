"""Reducing the granules of one process in turn, remote ones a few at a time.

A granule read over the network waits for it most of the time: h5py reads the file's
metadata one request after the other, and the box search a few batches more (see
:mod:`helpers.reduce.remote`). Reducing two or three such granules at once, in threads,
fills those waits with another granule's work. h5py's global lock still lets one thread
at a time into the HDF5 library, and a thread reading metadata over the network holds it
while it waits (:mod:`helpers.reduce.transport`), so the others wait for h5py then; but
their batches of chunks, fetched outside h5py, their decoding, filtering and writing go
on meanwhile. Measured on 16 full-size granules with a box keeping 10 % of each, over an
emulated 20 ms / 25 MB/s link: 16.4 s one at a time, 10.7 s two at a time, 9.6 s three
(``bench/bench_reduce.py``, case (c)).

Local files are reduced one after the other, as before (their reading already overlaps
with the rest through the reader thread of :mod:`helpers.reduce.strategy`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from helpers.reduce.granule import reduce_granule
from helpers.reduce.options import ReduceOptions
from helpers.reduce.result import GranuleResult
from helpers.reduce.sources import is_url
from helpers.reduce.store import Store

#: Remote granules reduced at once with a box (each holds a few MB), and without one
#: (each holds up to two decoded beams and its outputs, about 200 MB for a full granule).
AT_ONCE_BOX, AT_ONCE_WHOLE = 3, 2

Reduce = Callable[..., GranuleResult]


def at_once(options: ReduceOptions) -> int:
    """How many remote granules one process reduces at once with these options.

    Examples
    --------
    >>> at_once(ReduceOptions())
    2
    """
    return AT_ONCE_BOX if options.bbox is not None else AT_ONCE_WHOLE


def reduce_in_turn(items: Iterable, outdir: str | os.PathLike | Store, options: ReduceOptions,
                   reduce: Reduce = reduce_granule) -> Iterator[GranuleResult]:  # fmt: skip
    """The result of ``reduce(item, outdir, options)`` for every item, in this process:
    local paths (and file objects) one after the other, then URLs :func:`at_once` at a
    time, in threads, in the order they finish.

    Closing the iterator (or an interrupt while it waits) cancels the URLs not started and
    waits for those running (each is bounded by the network timeouts).

    Examples
    --------
    >>> fake = lambda item, outdir, options: GranuleResult(source=str(item), status="done")
    >>> items = ["b.h5", "http://host/x.h5", "http://host/y.h5"]
    >>> sorted(r.source for r in reduce_in_turn(items, ".", ReduceOptions(), fake))
    ['b.h5', 'http://host/x.h5', 'http://host/y.h5']
    """
    items = list(items)
    urls = [item for item in items if is_url(item)]
    for item in items:
        if not is_url(item):
            yield reduce(item, outdir, options)
    if len(urls) < 2:
        yield from (reduce(url, outdir, options) for url in urls)
        return
    yield from _overlapped(urls, outdir, options, reduce, at_once(options))


def _overlapped(urls: list[str], outdir: str | os.PathLike | Store, options: ReduceOptions,
                reduce: Reduce, n: int) -> Iterator[GranuleResult]:  # fmt: skip
    """Results of the URLs, ``n`` at a time in threads, in the order they finish."""
    todo = iter(urls)
    running: set[Future] = set()
    with ThreadPoolExecutor(n, thread_name_prefix="atl06-granule") as pool:
        try:
            while True:
                while len(running) < n and (url := next(todo, None)) is not None:
                    running.add(pool.submit(reduce, url, outdir, options))
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()
