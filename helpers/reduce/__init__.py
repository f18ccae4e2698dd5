"""Reduce ATL06 granules to simple per-beam files: ``python -m helpers.reduce``.

For each granule, read once with h5py, and for each beam keep a segment if and only if
``atl06_quality_summary == 0``, ``|h_li| < 10 km`` (this drops fill values) and it lies
inside the bounding box. Add GPS time, UTC decimal year, polar stereographic x/y and an
ascending flag; write one file per granule and beam, ``<granule stem>_<beam>.h5``, with
flat 1-D datasets (or one Parquet file per granule with a ``beam`` column).

Expected problems (a file that is not HDF5, another product, missing beams, nothing in
the box) are reported in one line naming the file, and the other granules go on.
Outputs go to a folder or an S3 bucket (``-o s3://bucket/prefix``) and become visible only
when complete (a rename, or one PUT); a small record in ``OUTDIR/.reduced/`` marks a
granule as finished, so re-runs skip it unless asked to overwrite, and a run killed
half-way leaves nothing a re-run would take for finished. One writer at a time works on a
granule, and a lost worker's granules are reduced again elsewhere.

Inputs are paths, URLs (``https://``, ``s3://``: read by byte ranges, only what the box
needs, never downloaded whole) or open file objects such as ``earthaccess.open()`` gives.

The package by concern, from the lowest layer up:

- :mod:`helpers.reduce.variables` what an output holds (names, sources, dtypes)
- :mod:`helpers.reduce.reading`   reading a beam by HDF5 chunk: whole, or only what a box needs
- :mod:`helpers.reduce.urls`      URLs parsed once, named without secrets, never trusted for a
  file name
- :mod:`helpers.reduce.transport` byte ranges of one remote file (HTTP, S3, fsspec): timeouts,
  retries, checked answers, the file's version pinned, h5py's lock respected
- :mod:`helpers.reduce.remote`    reading over the network by byte ranges, cached for HDF5
- :mod:`helpers.reduce.options`   what a caller asks: :class:`ReduceOptions`, what records keep
- :mod:`helpers.reduce.result`    what the reducer answers: :class:`GranuleResult` and its status
- :mod:`helpers.reduce.lease`     one writer at a time on an object store: a lock object
  held by a lease, renewed while its holder lives
- :mod:`helpers.reduce.store`     where outputs go: a local folder or an S3 bucket, behind
  one interface (atomic writes, stamps, listings, locks)
- :mod:`helpers.reduce.memory`    freed memory kept in the process, for the next beam
- :mod:`helpers.reduce.images`    output files built in reused aligned memory, written past the
  page cache
- :mod:`helpers.reduce.outputs`   writing outputs atomically, and the "finished" records
- :mod:`helpers.reduce.sources`   what is read: a path, a URL or a file object; its name,
  identity and credentials
- :mod:`helpers.reduce.atl06file` opening and checking an ATL06 file: its metadata as a typed
  record, its beams
- :mod:`helpers.reduce.strategy`  how the beams are read: by box, prefetched, read ahead
- :mod:`helpers.reduce.beam`      the science of one beam: filters and derived variables
- :mod:`helpers.reduce.policy`    skip, refuse, reduce or replace; failure records
- :mod:`helpers.reduce.granule`   one granule, input to outputs: the steps above in order
- :mod:`helpers.reduce.overlap`   the granules of one process in turn, remote ones a few at a
  time
- :mod:`helpers.reduce.run`       many granules: inputs, joblib or Dask, the run summary
- :mod:`helpers.reduce.cli`       the command line
"""

from helpers.errors import GranuleError
from helpers.reduce.beam import reduce_beam
from helpers.reduce.cli import main
from helpers.reduce.granule import reduce_granule
from helpers.reduce.options import ReduceOptions
from helpers.reduce.outputs import RECORDS, is_finished
from helpers.reduce.result import GranuleResult
from helpers.reduce.run import RunSummary, find_inputs, reduce_granules
from helpers.reduce.strategy import read_beam
from helpers.reduce.variables import (
    ABSENT_VALUES,
    COPIED_VARIABLES,
    CORE_VARIABLES,
    DERIVED_VARIABLES,
    MAX_ABS_HEIGHT_M,
    OUTPUT_DTYPES,
    OUTPUT_VARIABLES,
)

__all__ = [
    "ABSENT_VALUES",
    "COPIED_VARIABLES",
    "CORE_VARIABLES",
    "DERIVED_VARIABLES",
    "MAX_ABS_HEIGHT_M",
    "OUTPUT_DTYPES",
    "OUTPUT_VARIABLES",
    "RECORDS",
    "GranuleError",
    "GranuleResult",
    "ReduceOptions",
    "RunSummary",
    "find_inputs",
    "is_finished",
    "main",
    "read_beam",
    "reduce_beam",
    "reduce_granule",
    "reduce_granules",
]
