"""lon/lat to EPSG:3031 against the polar stereographic formulas written out by hand."""

from __future__ import annotations

import numpy as np

from helpers.projection import EPSG_SOUTH, lonlat_to_xy, transformer

# WGS 84, and EPSG:3031's latitude of true scale (71°S).
A_M = 6378137.0
FLATTENING = 1 / 298.257223563
TRUE_SCALE_LAT = -71.0


def south_polar_stereographic(lon, lat):
    """Snyder's ellipsoidal polar stereographic, south aspect, standard parallel 71°S (m)."""
    e = np.sqrt(FLATTENING * (2 - FLATTENING))

    def t(phi):  # phi: southern latitude as a positive angle (radians)
        s = np.sin(phi)
        return np.tan(np.pi / 4 - phi / 2) / ((1 - e * s) / (1 + e * s)) ** (e / 2)

    phi_c = np.radians(-TRUE_SCALE_LAT)
    m_c = np.cos(phi_c) / np.sqrt(1 - (e * np.sin(phi_c)) ** 2)
    rho = A_M * m_c * t(np.radians(-np.asarray(lat))) / t(phi_c)
    lam = np.radians(lon)
    return rho * np.sin(lam), rho * np.cos(lam)


def test_matches_the_formulas_over_antarctica():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 10_000), rng.uniform(-89.9, -60, 10_000)
    x, y = lonlat_to_xy(lon, lat)
    want_x, want_y = south_polar_stereographic(lon, lat)
    np.testing.assert_allclose(x, want_x, atol=1e-3)  # 1 mm
    np.testing.assert_allclose(y, want_y, atol=1e-3)


def test_the_transformer_is_built_once_however_it_is_asked_for():
    assert transformer() is transformer(EPSG_SOUTH) is transformer(epsg=EPSG_SOUTH)
