"""Helpers for the ICESat-2 ATL06 tutorial.

One module per concern:

- :mod:`helpers.config`     data folder, default area and dates
- :mod:`helpers.gpstime`    GPS time, UTC and decimal years (leap seconds, no network)
- :mod:`helpers.granules`   ATL06 file names, beams and granule regions
- :mod:`helpers.orbit`      a circular-orbit model of ICESat-2's reference ground tracks
- :mod:`helpers.surface`    a Pine-Island-like ice surface with a planted elevation change
- :mod:`helpers.atl06_layout` the HDF5 layout of ATL06 release 006 (dtypes, fills, attributes)
- :mod:`helpers.sample`     the embedded synthetic sample (``python -m helpers.sample``)

Heavy libraries (icepyx, holoviews, distributed) are imported lazily inside the
functions that need them, so ``import helpers`` stays fast.
"""

__version__ = "0.1.0"
