"""lon/lat to EPSG:3031 and EPSG:3413 against the polar stereographic formulas, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.projection import (
    EPSG_NORTH,
    EPSG_SOUTH,
    check_epsg,
    epsg_for_latitudes,
    lonlat_to_xy,
    transformer,
)

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


def north_polar_stereographic(lon, lat, true_scale_lat=70.0, central_lon=-45.0):
    """Snyder's ellipsoidal polar stereographic, north aspect (EPSG:3413: 70°N, 45°W down)."""
    e = np.sqrt(FLATTENING * (2 - FLATTENING))

    def t(phi):
        s = np.sin(phi)
        return np.tan(np.pi / 4 - phi / 2) / ((1 - e * s) / (1 + e * s)) ** (e / 2)

    phi_c = np.radians(true_scale_lat)
    m_c = np.cos(phi_c) / np.sqrt(1 - (e * np.sin(phi_c)) ** 2)
    rho = A_M * m_c * t(np.radians(np.asarray(lat))) / t(phi_c)
    lam = np.radians(np.asarray(lon) - central_lon)
    return rho * np.sin(lam), -rho * np.cos(lam)


def test_matches_the_formulas_over_the_arctic():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 10_000), rng.uniform(55, 89.9, 10_000)
    x, y = lonlat_to_xy(lon, lat, epsg=EPSG_NORTH)
    want_x, want_y = north_polar_stereographic(lon, lat)
    np.testing.assert_allclose(x, want_x, atol=1e-3)  # 1 mm
    np.testing.assert_allclose(y, want_y, atol=1e-3)


def test_the_hemisphere_is_that_of_the_most_poleward_point():
    assert epsg_for_latitudes([-75.0, -79.0]) == (EPSG_SOUTH, "")
    assert epsg_for_latitudes([57.5, 58.6]) == (EPSG_NORTH, "")
    epsg, note = epsg_for_latitudes([-3.0, 1.0])
    assert epsg == EPSG_SOUTH and "straddle the equator" in note and "EPSG:3031" in note
    assert epsg_for_latitudes([np.nan, 80.0])[0] == EPSG_NORTH


def test_an_unknown_or_unprojected_code_is_refused():
    assert check_epsg(3413) == 3413
    for bad in (4326, 999999, "abc"):
        with pytest.raises(ValueError, match="EPSG:"):
            check_epsg(bad)


def test_each_thread_gets_its_own_transformer():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(transformer, EPSG_NORTH).result()
        assert pool.submit(transformer, EPSG_NORTH).result() is theirs
    assert transformer(EPSG_NORTH) is not theirs
