"""Ascending/descending classification, point by point."""

import numpy as np

from helpers.synthetic import orbit
from helpers.tracks import is_ascending


def test_ascending_and_descending_passes():
    t = np.arange(100.0)
    assert is_ascending(np.linspace(-80, -70, 100), t).all()
    assert not is_ascending(np.linspace(-70, -80, 100), t).any()


def test_last_point_of_an_ascending_pass_is_ascending():
    # The original tutorial split at argmax(|lat|) and marked this point descending.
    lat = np.linspace(-79, -60, 50)
    flags = is_ascending(lat, np.arange(50.0))
    assert flags[-1] and flags[0]


def test_polar_turn_splits_at_the_southernmost_point():
    u0, u1 = orbit.region_span(11)  # the south polar region: down to ~88 S and back
    x = np.arange(u0 * orbit.TRACK_RADIUS_M, u1 * orbit.TRACK_RADIUS_M, 20.0)
    track = orbit.ground_track(500, 3, x)
    flags = is_ascending(track.latitude, track.delta_time)
    turn = np.argmin(track.latitude)
    assert not flags[: turn - 1].any()
    assert flags[turn + 1 :].all()


def test_order_of_points_does_not_matter():
    rng = np.random.default_rng(1)
    lat = np.concatenate([np.linspace(-70, -85, 60), np.linspace(-85, -72, 40)[1:]])
    t = np.arange(lat.size, dtype=float)
    shuffle = rng.permutation(lat.size)
    np.testing.assert_array_equal(
        is_ascending(lat[shuffle], t[shuffle]), is_ascending(lat, t)[shuffle]
    )


def test_lone_point_uses_the_fallback():
    assert is_ascending([-75.0], [1.0], fallback=True).tolist() == [True]
    assert is_ascending([-75.0], [1.0]).tolist() == [False]
