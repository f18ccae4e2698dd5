"""Helpers for the ICESat-2 ATL06 tutorial.

One module per concern:

- :mod:`helpers.config`     data folder, default area and dates
- :mod:`helpers.gpstime`    GPS time, UTC and decimal years (leap seconds, no network)
- :mod:`helpers.granules`   ATL06 file names, beams and granule regions
- :mod:`helpers.orbit`      a circular-orbit model of ICESat-2's reference ground tracks
- :mod:`helpers.surface`    a Pine-Island-like ice surface with a planted elevation change
- :mod:`helpers.atl06_layout` the HDF5 layout of ATL06 release 006 (dtypes, fills, attributes)
- :mod:`helpers.synthetic_granule` one synthetic granule: geometry, heights and their flaws
- :mod:`helpers.sample`     the embedded synthetic sample (``python -m helpers.sample``)
- :mod:`helpers.bbox`       ``[W, S, E, N]`` boxes, across the antimeridian too
- :mod:`helpers.fileio`     atomic writes
- :mod:`helpers.projection` lon/lat to EPSG:3031 with one cached pyproj Transformer
- :mod:`helpers.tracks`     ascending/descending, point by point
- :mod:`helpers.reduce`     the reducer (``python -m helpers.reduce``, ``readatl06``)
- :mod:`helpers.load`       reduced outputs as one lazy dask DataFrame
- :mod:`helpers.render`     datashader maps (``python -m helpers.render``), interactive view, export
- :mod:`helpers.access`     granules from the sample or from NASA via icepyx/earthaccess
- :mod:`helpers.dhdt`       elevation-change rates from repeat tracks
- :mod:`helpers.images`, :mod:`helpers.nbtools`, :mod:`helpers.tutorial`: figures, notebook
  stripping, headless execution of every notebook

Heavy libraries (icepyx, holoviews, distributed) are imported lazily inside the
functions that need them, so ``import helpers`` stays fast.
"""

__version__ = "0.1.0"
