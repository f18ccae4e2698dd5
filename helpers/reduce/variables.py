"""What a reduced output holds: its variables, where each comes from, and its dtype.

This is the one place that names the reducer's output columns; the loader
(:mod:`helpers.load`) builds its schema from here, and a test checks that the files the
reducer writes carry exactly these names and dtypes.
"""

from __future__ import annotations

from helpers.projection import EPSG_SOUTH

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
#: Variables computed by the reducer, with their units and meaning.
DERIVED_VARIABLES: dict[str, tuple[str, str]] = {
    "x": ("meters", f"polar stereographic easting, EPSG:{EPSG_SOUTH}"),
    "y": ("meters", f"polar stereographic northing, EPSG:{EPSG_SOUTH}"),
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
#: Heights beyond this magnitude are fill values or nonsense (m).
MAX_ABS_HEIGHT_M = 10_000.0
