"""The generator of the embedded sample: synthetic ATL06 granules that say they are synthetic.

Nothing outside this subpackage (and :mod:`helpers.sample`, its command line) needs it,
except the notebooks' data access, which makes the sample on first use, and the checks of
products against the planted signals (:mod:`helpers.synthetic.truth`).

- :mod:`helpers.synthetic.orbit`   a circular-orbit model of ICESat-2's reference ground tracks
- :mod:`helpers.synthetic.surface` a Pine-Island-like ice surface with a planted elevation change
- :mod:`helpers.synthetic.granule` one granule's segments: geometry, heights and their flaws
- :mod:`helpers.synthetic.layout`  the HDF5 layout of ATL06 release 006, and all the writing
- :mod:`helpers.synthetic.sample`  which granules a sample holds, generated in parallel
- :mod:`helpers.synthetic.truth`   the planted signals as numbers that products are checked
  against: per-pass biases, crossover differences, noise-free heights, volume change
"""
