"""Helpers for the ICESat-2 ATL06 tutorial, by layer.

Pure utilities (numpy in, numpy out; they import nothing above them):

- :mod:`helpers.config`     data and output folders, the real mini-set, the default area and dates
- :mod:`helpers.gpstime`    GPS time, UTC and decimal years (leap seconds, no network)
- :mod:`helpers.granules`   ATL06 file names, beams and granule regions
- :mod:`helpers.bbox`       ``[W, S, E, N]`` boxes, across the antimeridian too
- :mod:`helpers.projection` lon/lat to polar stereographic: EPSG:3031 south, 3413 north
- :mod:`helpers.tracks`     ascending/descending, point by point
- :mod:`helpers.fileio`     atomic writes, temporary names unique across hosts, file locks
- :mod:`helpers.workers`    worker counts capped by the CPUs, workers that die with their
  parent, a Ctrl-C that is never lost
- :mod:`helpers.errors`     the package's one error family, one-line messages, tracebacks kept
  (a logger per module under ``helpers``; nothing printed unless asked)
- :mod:`helpers.credentials` NASA Earthdata credentials and the login, for the search and the
  reducer alike

The reducer and the loader (they import only the utilities; the loader takes its schema
from :mod:`helpers.reduce.variables`):

- :mod:`helpers.reduce`     the reducer (``python -m helpers.reduce``, ``readatl06``): one
  granule in :mod:`~helpers.reduce.granule`, read by HDF5 chunk in
  :mod:`~helpers.reduce.reading`, many in :mod:`~helpers.reduce.run`; paths, URLs and
  file objects in :mod:`~helpers.reduce.sources`, read by byte ranges in
  :mod:`~helpers.reduce.remote` through :mod:`~helpers.reduce.transport` (timeouts,
  retries, checked answers, the version pinned); URLs named without secrets in
  :mod:`~helpers.reduce.urls`; outputs to a folder or an S3 bucket through
  :mod:`~helpers.reduce.store`, one writer per granule (a lease on S3,
  :mod:`~helpers.reduce.lease`)
- :mod:`helpers.load`       reduced outputs as one lazy dask DataFrame, from folders or from an
  object store (``s3://``), read through :mod:`helpers.urlfiles` (files named by URLs, found,
  sized and fetched with fsspec)

The faces (what the notebooks call):

- :mod:`helpers.access`     granules from the sample or from NASA via icepyx/earthaccess
- :mod:`helpers.earthdata`  the real path behind it: releases, credentials, Harmony orders,
  downloads checked and recorded for reuse, one message for every failure
- :mod:`helpers.render`     datashader maps (``python -m helpers.render``), interactive view, export
- :mod:`helpers.dhdt`       elevation-change rates from repeat tracks
- :mod:`helpers.repeatpair` height change between two passes of one RGT, segment by
  segment, the across-track slope corrected
- :mod:`helpers.atl11`      NASA's ATL11: heights per reference point and cycle, dh/dt per point
- :mod:`helpers.crossovers` where ascending and descending tracks cross, and their height
  differences, out of core on a Dask DataFrame
- :mod:`helpers.repeat`     every along-track bin's plane-plus-trend fit at once (vectorised)
- :mod:`helpers.grid`       dh/dt on a regular grid, its uncertainty counting passes, grounded
  or floating
- :mod:`helpers.volume`     volume change of an area from the grid, with true (k²) areas
- :mod:`helpers.export`     files GIS tools open: GeoParquet, GeoPackage, CF NetCDF, COG
- :mod:`helpers.sample`     the embedded sample's command line (``python -m helpers.sample``)
- :mod:`helpers.estimate`   what reducing a cycle of a continent costs, scaled by segments from
  the measured end-to-end rate (``bench/results/end_to_end.json``)
- :mod:`helpers.notebook`   notebook plumbing: terminal commands run with the kernel's
  environment, a quiet Dask shutdown
- :mod:`helpers.rangeserver` a local HTTP server that honours Range requests, as cloud
  stores do (``python -m helpers.rangeserver``): remote reads shown, tested, measured

Apart:

- :mod:`helpers.synthetic`  the generator of the synthetic sample (orbit, surface, layout)
- :mod:`helpers.devtools`   repository tooling: figures for ``images/``, notebook stripping,
  headless execution of every notebook, the tutorial's website (``make book``)

Heavy libraries (icepyx, holoviews, distributed) are imported lazily inside the
functions that need them, so ``import helpers`` stays fast.
"""

import logging as _logging

__version__ = "0.1.0"

# The package logs under "helpers" (a logger per module); nothing is printed unless the
# application configures logging (the command lines' --debug does).
_logging.getLogger("helpers").addHandler(_logging.NullHandler())
