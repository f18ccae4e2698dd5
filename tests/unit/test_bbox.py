"""Bounding boxes, including one across the antimeridian."""

import numpy as np
import pytest

from helpers.bbox import BBox


def test_contains_plain_box():
    box = BBox(-102, -76, -98, -74.5)
    assert box.contains([-100, -103, -100], [-75, -75, -77]).tolist() == [True, False, False]


def test_contains_across_antimeridian():
    ross = BBox(160, -86, -150, -77)
    assert ross.crosses_antimeridian
    lon = np.array([170.0, -170.0, 179.99, -179.99, 0.0, 150.0])
    assert ross.contains(lon, np.full(lon.size, -80.0)).tolist() == [
        True, True, True, True, False, False
    ]  # fmt: skip


@pytest.mark.parametrize("edges, words", [
    ((-102, -74.5, -98, -76), "inverted"),
    ((-190, -76, -98, -74.5), "outside"),
    ((-100, -76, -100, -74.5), "zero width"),
])  # fmt: skip
def test_bad_boxes_say_why(edges, words):
    with pytest.raises(ValueError, match=words):
        BBox(*edges)


def test_expanded_grows_every_side():
    box = BBox(-102, -76, -98, -74.5)
    big = box.expanded(10)
    assert big.west < box.west and big.east > box.east
    assert big.south < box.south and big.north > box.north
    assert box.expanded(0) == box
