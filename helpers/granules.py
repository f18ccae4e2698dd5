"""ATL06 granule names, beams and granule regions.

A granule is one orbit segment of one product: ``ATL06_YYYYMMDDhhmmss_ttttccrr_vvv_ee.h5``
holds the UTC start time, the reference ground track (RGT) ``tttt``, the 91-day cycle
``cc``, the granule region ``rr`` (1-14 along each orbit), the release ``vvv`` and the
version ``ee``. NSIDC subsets keep the name, with a ``processed_`` prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

#: The six ground tracks, three pairs of a left and a right beam.
BEAMS: tuple[str, ...] = ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r")

#: Latitude bounds of the 14 granule regions along one orbit (degrees, in orbit order),
#: starting at the ascending equator crossing. Regions 10 (descending), 11 (south polar)
#: and 12 (ascending) cover Antarctica.
REGION_LATITUDES: dict[int, tuple[float, float]] = {
    1: (0.0, 27.0), 2: (27.0, 59.5), 3: (59.5, 80.0), 4: (80.0, 80.0),
    5: (80.0, 59.5), 6: (59.5, 27.0), 7: (27.0, 0.0), 8: (0.0, -27.0),
    9: (-27.0, -50.0), 10: (-50.0, -79.0), 11: (-79.0, -79.0), 12: (-79.0, -50.0),
    13: (-50.0, -27.0), 14: (-27.0, 0.0),
}  # fmt: skip

#: Regions flown northward (the ascending half of the orbit, polar regions 4 and 11 excepted).
ASCENDING_REGIONS: tuple[int, ...] = (1, 2, 3, 12, 13, 14)

#: The polar turns (north 4, south 11), where a track turns back: latitude rises then falls
#: (or the reverse) within a granule, so it is not monotonic along a beam, and a granule of
#: these regions holds both directions.
POLAR_TURN_REGIONS: tuple[int, ...] = tuple(
    r for r, (start, end) in REGION_LATITUDES.items() if start == end
)

_NAME = re.compile(
    r"^(?P<prefix>processed_)?(?P<product>ATL\d\d)_(?P<time>\d{14})_"
    r"(?P<rgt>\d{4})(?P<cycle>\d{2})(?P<region>\d{2})_(?P<release>\d{3})_(?P<version>\d{2})"
    r"(?P<suffix>.*)$"
)


@dataclass(frozen=True)
class GranuleName:
    """The parts of an ICESat-2 granule file name.

    Attributes
    ----------
    product : str
        Short name, e.g. ``"ATL06"``.
    start : datetime
        UTC start time of the granule (to the second).
    rgt : int
        Reference ground track, 1-1387.
    cycle : int
        91-day repeat cycle, from 1.
    region : int
        Granule region, 1-14.
    release : str
        Three-digit processing release, e.g. ``"006"``.
    version : str
        Two-digit version of the file within the release, e.g. ``"01"``.

    Examples
    --------
    >>> name = GranuleName("ATL06", datetime(2019, 1, 1), rgt=123, cycle=5, region=10)
    >>> name.filename
    'ATL06_20190101000000_01230510_006_01.h5'
    >>> name.is_ascending_region  # region 10 is flown southward
    False
    """

    product: str
    start: datetime
    rgt: int
    cycle: int
    region: int
    release: str = "006"
    version: str = "01"

    @property
    def stem(self) -> str:
        """The name without folder or ``.h5``, e.g. ``ATL06_20190101000000_01230510_006_01``."""
        return (
            f"{self.product}_{self.start:%Y%m%d%H%M%S}_"
            f"{self.rgt:04d}{self.cycle:02d}{self.region:02d}_{self.release}_{self.version}"
        )

    @property
    def filename(self) -> str:
        """The file name, ``<stem>.h5``."""
        return self.stem + ".h5"

    @property
    def is_ascending_region(self) -> bool:
        """True for regions crossed northward (1-3 and 12-14), False otherwise."""
        return self.region in ASCENDING_REGIONS


def region_direction(region: int) -> str:
    """Which way a granule region is flown: ``"ascending"``, ``"descending"`` or, for the
    polar turns (regions 4 and 11), ``"both (polar turn)"``.

    Examples
    --------
    >>> [region_direction(r) for r in (10, 11, 12)]
    ['descending', 'both (polar turn)', 'ascending']
    """
    if region in POLAR_TURN_REGIONS:
        return "both (polar turn)"
    return "ascending" if region in ASCENDING_REGIONS else "descending"


def parse_granule_name(name: str | Path) -> GranuleName:
    """Parse an ICESat-2 granule file name (a path is fine; its folder is ignored).

    Parameters
    ----------
    name : str or pathlib.Path
        E.g. ``"ATL06_20181015100401_02560110_003_01.h5"`` or a ``processed_`` subset name.

    Returns
    -------
    GranuleName

    Raises
    ------
    ValueError
        If the name does not follow the convention; the message says which part is off.

    Examples
    --------
    >>> name = parse_granule_name("data/ATL06_20230816161508_08782002_006_02.h5")
    >>> name.rgt, name.cycle, name.region, name.release, name.version
    (878, 20, 2, '006', '02')
    >>> name.start.isoformat()
    '2023-08-16T16:15:08'
    >>> parse_granule_name("processed_ATL06_20181015100401_02560110_003_01.h5").stem
    'ATL06_20181015100401_02560110_003_01'
    """
    base = Path(name).name
    match = _NAME.match(base)
    if match is None:
        raise ValueError(
            f"{base!r} is not an ICESat-2 granule name: expected "
            "ATLxx_YYYYMMDDhhmmss_ttttccrr_vvv_ee.h5 (time, RGT, cycle, region, release, version)"
        )
    parts = match.groupdict()
    try:
        start = datetime.strptime(parts["time"], "%Y%m%d%H%M%S")
    except ValueError as err:
        raise ValueError(f"{base!r}: {parts['time']!r} is not a valid UTC time") from err
    rgt, cycle, region = int(parts["rgt"]), int(parts["cycle"]), int(parts["region"])
    if not 1 <= rgt <= 1387:
        raise ValueError(f"{base!r}: RGT {rgt} is outside 1-1387")
    if not 1 <= region <= 14:
        raise ValueError(f"{base!r}: granule region {region} is outside 1-14")
    return GranuleName(
        product=parts["product"],
        start=start,
        rgt=rgt,
        cycle=cycle,
        region=region,
        release=parts["release"],
        version=parts["version"],
    )


def beam_pair(beam: str) -> int:
    """Pair number (1, 2 or 3) of a ground track name.

    Parameters
    ----------
    beam : str
        One of :data:`BEAMS`, e.g. ``"gt2l"``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For anything but a ground track name.

    Examples
    --------
    >>> [beam_pair(b) for b in BEAMS]
    [1, 1, 2, 2, 3, 3]
    """
    if beam not in BEAMS:
        raise ValueError(f"{beam!r} is not an ATL06 ground track; expected one of {BEAMS}")
    return int(beam[2])


def strong_beams(sc_orient: int) -> tuple[str, ...]:
    """The three strong beams for a spacecraft orientation.

    Parameters
    ----------
    sc_orient : int
        ``orbit_info/sc_orient``: 0 backward (left beams strong), 1 forward (right beams
        strong). 2 (transition) has no defined strong beams.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        For any other orientation.

    Examples
    --------
    >>> strong_beams(0)
    ('gt1l', 'gt2l', 'gt3l')
    >>> strong_beams(1)
    ('gt1r', 'gt2r', 'gt3r')
    """
    if sc_orient == 0:
        return ("gt1l", "gt2l", "gt3l")
    if sc_orient == 1:
        return ("gt1r", "gt2r", "gt3r")
    raise ValueError(f"sc_orient {sc_orient} has no strong/weak assignment (0 or 1 expected)")


def spot_number(beam: str, sc_orient: int) -> int:
    """ATLAS spot number (1-6) of a ground track: gt1l..gt3r are 1..6 backward, 6..1 forward.

    Parameters
    ----------
    beam : str
        One of :data:`BEAMS`.
    sc_orient : int
        ``orbit_info/sc_orient``: 0 (backward) or 1 (forward).

    Returns
    -------
    int
        As the beam group's ``atlas_spot_number`` attribute says.

    Raises
    ------
    ValueError
        For an unknown beam or another orientation.

    Examples
    --------
    >>> [spot_number(b, 0) for b in BEAMS], [spot_number(b, 1) for b in BEAMS]
    ([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
    """
    index = BEAMS.index(beam) if beam in BEAMS else beam_pair(beam)
    if sc_orient == 0:
        return index + 1
    if sc_orient == 1:
        return 6 - index
    raise ValueError(f"sc_orient {sc_orient} has no spot assignment (0 or 1 expected)")
