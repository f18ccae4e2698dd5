"""Granule file names, beams and spot numbers."""

from datetime import datetime

import pytest

from helpers.granules import (
    BEAMS,
    GranuleName,
    parse_granule_name,
    region_direction,
    spot_number,
    strong_beams,
)


def test_parse_a_real_name():
    name = parse_granule_name("some/folder/processed_ATL06_20181015100401_02560110_003_01.h5")
    assert name == GranuleName("ATL06", datetime(2018, 10, 15, 10, 4, 1), 256, 1, 10, "003", "01")


def test_name_round_trip():
    text = "ATL06_20190101000000_01230510_006_01"
    assert parse_granule_name(text + ".h5").stem == text
    assert parse_granule_name(text + ".h5").filename == text + ".h5"


@pytest.mark.parametrize(
    "bad, words",
    [
        ("ATL06_2019_01230510_006_01.h5", "not an ICESat-2 granule name"),
        ("ATL06_20191301000000_01230510_006_01.h5", "not a valid UTC time"),
        ("ATL06_20190101000000_14000510_006_01.h5", "RGT 1400"),
        ("ATL06_20190101000000_01230515_006_01.h5", "region 15"),
    ],
)
def test_bad_names_say_why(bad, words):
    with pytest.raises(ValueError, match=words):
        parse_granule_name(bad)


def test_spots_follow_orientation():
    # Backward (0): left beams strong, spots 1..6; forward (1): right beams strong, 6..1.
    assert [spot_number(b, 0) for b in BEAMS] == [1, 2, 3, 4, 5, 6]
    assert [spot_number(b, 1) for b in BEAMS] == [6, 5, 4, 3, 2, 1]
    assert strong_beams(0) == ("gt1l", "gt2l", "gt3l")
    assert strong_beams(1) == ("gt1r", "gt2r", "gt3r")
    with pytest.raises(ValueError):
        strong_beams(2)


def test_real_granules_agree_with_spot_rules(real_data):
    import h5py

    for path in sorted(real_data.glob("*.h5")):
        with h5py.File(path) as f:
            orient = int(f["orbit_info/sc_orient"][0])
            for beam in BEAMS:
                if beam not in f:
                    continue
                attrs = f[beam].attrs
                assert int(attrs["atlas_spot_number"]) == spot_number(beam, orient), path.name
                kind = "strong" if beam in strong_beams(orient) else "weak"
                assert attrs["atlas_beam_type"].decode() == kind, path.name


def test_region_directions_include_the_polar_turns():
    assert [region_direction(r) for r in range(1, 15)] == (
        ["ascending"] * 3 + ["both (polar turn)"] + ["descending"] * 6
        + ["both (polar turn)"] + ["ascending"] * 3
    )  # fmt: skip


def test_granule_table_says_a_polar_turn_holds_both_directions(small_sample, tmp_path):
    import shutil

    from helpers.access import granule_table

    source = sorted(small_sample.glob("ATL06_*.h5"))[0]
    name = parse_granule_name(source)
    polar = tmp_path / source.name.replace(f"{name.cycle:02d}{name.region:02d}_",
                                           f"{name.cycle:02d}11_")  # fmt: skip
    shutil.copy(source, polar)
    assert granule_table([polar])["direction"].tolist() == ["both (polar turn)"]
