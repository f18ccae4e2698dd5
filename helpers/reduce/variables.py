"""What a reduced output holds: its variables, where each comes from, and its dtype.

This is the one place that names the reducer's output columns; the loader
(:mod:`helpers.load`) builds its schema from here, and a test checks that the files the
reducer writes carry exactly these names and dtypes.

Every output has every column, whatever the granule held. A granule must have the
:data:`CORE_VARIABLES`; any other copied variable it lacks (variable-subsetted orders
often carry only a handful) is written with :data:`ABSENT_VALUES`: NaN for the float
columns, and 127 for the int8 flags ``s_fg`` and ``f_sn``, which keep their ATL06 dtype (127
is ATL06's int8 fill value, ``bsnow_conf``'s ``_FillValue``; no valid flag takes it). So one
schema holds for every output, and the loader reads them all alike.
"""

from __future__ import annotations

import math

#: What a granule's outputs are named after its stem (a regular expression): one HDF5 file
#: per beam, or one Parquet file. The reducer and the loader both go by it.
OUTPUT_NAME_SUFFIX = r"(_gt[123][lr]\.h5|\.parquet)"

#: Output name -> path below ``gtXY/land_ice_segments`` (names of the original tutorial).
COPIED_VARIABLES: dict[str, str] = {
    "lat": "latitude",
    "lon": "longitude",
    "h_li": "h_li",
    "s_li": "h_li_sigma",
    "t_dt": "delta_time",
    "q_flag": "atl06_quality_summary",
    "s_fg": "fit_statistics/signal_selection_source",
    "snr": "fit_statistics/snr_significance",
    "h_rb": "fit_statistics/h_robust_sprd",
    "dac": "geophysical/dac",
    "f_sn": "geophysical/bsnow_conf",
    "dh_fit_dx": "fit_statistics/dh_fit_dx",
    "tide_earth": "geophysical/tide_earth",
    "tide_load": "geophysical/tide_load",
    "tide_ocean": "geophysical/tide_ocean",
    "tide_pole": "geophysical/tide_pole",
}
#: Copied variables a granule must have: without them no point can be placed or filtered.
CORE_VARIABLES: tuple[str, ...] = ("lat", "lon", "h_li", "t_dt", "q_flag")
#: Variables computed by the reducer: units and meaning (``{epsg}``: the output's EPSG code).
DERIVED_VARIABLES: dict[str, tuple[str, str]] = {
    "x": ("meters", "polar stereographic easting, EPSG:{epsg}"),
    "y": ("meters", "polar stereographic northing, EPSG:{epsg}"),
    "t_gps": ("seconds since 1980-01-06T00:00:00Z", "GPS time: atlas_sdp_gps_epoch + delta_time"),
    "t_year": ("years", "UTC decimal year (leap seconds handled)"),
    "is_asc": ("1", "true where latitude increases with time (ascending)"),
}
#: Every output variable, in file order.
OUTPUT_VARIABLES: tuple[str, ...] = (*COPIED_VARIABLES, *DERIVED_VARIABLES)
#: numpy dtype of every output variable (those of ATL06 for the copied ones).
OUTPUT_DTYPES: dict[str, str] = {
    "lat": "f8", "lon": "f8", "h_li": "f4", "s_li": "f4", "t_dt": "f8", "q_flag": "i1",
    "s_fg": "i1", "snr": "f4", "h_rb": "f4", "dac": "f4", "f_sn": "i1", "dh_fit_dx": "f4",
    "tide_earth": "f4", "tide_load": "f4", "tide_ocean": "f4", "tide_pole": "f4",
    "x": "f8", "y": "f8", "t_gps": "f8", "t_year": "f8", "is_asc": "bool",
}  # fmt: skip
#: ATL06's fill value for int8 variables (``bsnow_conf``'s ``_FillValue``).
INT8_FILL = 127
#: What an optional variable absent from a granule is written as, per output name.
ABSENT_VALUES: dict[str, float] = {
    name: (INT8_FILL if OUTPUT_DTYPES[name] == "i1" else math.nan)
    for name in COPIED_VARIABLES
    if name not in CORE_VARIABLES
}
#: Heights beyond this magnitude are fill values or nonsense (m).
MAX_ABS_HEIGHT_M = 10_000.0


def derived_attrs(name: str, epsg: int) -> tuple[str, str]:
    """Units and description of a derived variable in an output projected to ``epsg``.

    Parameters
    ----------
    name : str
        One of :data:`DERIVED_VARIABLES`.
    epsg : int
        EPSG code of the output's x/y.

    Returns
    -------
    (str, str)

    Examples
    --------
    >>> derived_attrs("x", 3413)
    ('meters', 'polar stereographic easting, EPSG:3413')
    """
    units, description = DERIVED_VARIABLES[name]
    return units, description.format(epsg=epsg)
