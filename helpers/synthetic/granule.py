"""One synthetic ATL06 granule's segments: geometry from the orbit model, heights from the surface.

Everything a real granule has that the tutorial reads is here, including its flaws:
segments flagged by ``atl06_quality_summary`` with worse heights, fill values, rare
height blunders that the flag misses, cloud gaps, ``tide_ocean`` filled over grounded
ice, and beams that are missing altogether. This module only makes numpy arrays;
:mod:`helpers.synthetic.layout` writes them in the layout of a real granule.

Every random draw comes from one generator seeded per granule, in a fixed order: moving
or adding a draw changes every number that follows it, so the sample would change too.

One signal is planted on top of the surface's elevation change: a **per-pass height bias**,
one constant for each pass (RGT and cycle, so each granule) and beam, drawn from a normal
distribution of spread :data:`PASS_BIAS_SIGMA_M` (:func:`pass_biases`). It stands for what
real passes carry as a whole — orbit and pointing errors, a beam's range bias on that day —
and is what crossover analysis measures. It comes from a generator of its own, seeded by
the pass, so the other draws (and so every other number of the sample) are those of a
sample without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from helpers.bbox import BBox, wrap_longitude
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, format_ccsds, gps_to_decimal_year
from helpers.granules import BEAMS, GranuleName, strong_beams
from helpers.projection import lonlat_to_xy
from helpers.synthetic import orbit, surface
from helpers.synthetic.layout import FLOAT32_FILL

#: Along-track posting of ATL06 segments (m).
SEGMENT_SPACING_M = 20.0
#: Nominal cross-track position of each ground track, left of the flight direction (m).
BEAM_OFFSETS_M = {
    "gt1l": 3345.0, "gt1r": 3255.0, "gt2l": 45.0, "gt2r": -45.0, "gt3l": -3255.0,
    "gt3r": -3345.0,
}  # fmt: skip
#: Time stagger between beams at the same segment (s): the spots are staggered along track.
BEAM_TIME_OFFSETS_S = {
    "gt1l": 0.0, "gt1r": 0.35, "gt2l": -0.17, "gt2r": 0.18, "gt3l": -0.06, "gt3r": 0.29,
}  # fmt: skip
#: Standard deviation of repeat-pass pointing about the reference track (m).
REPEAT_POINTING_SIGMA_M = 20.0
#: Largest pointing offset of a pass from the reference track (m).
MAX_POINTING_OFFSET_M = 60.0
#: Spread (standard deviation) of the height bias planted per pass and beam (m).
PASS_BIAS_SIGMA_M = 0.03
#: Last word of the seed of the per-pass biases' own generator (keeps it apart from the rest).
_PASS_BIAS_STREAM = 0xB1A5
#: Across-track slopes difference the surface this far either side of a segment (m).
SLOPE_HALF_WIDTH_M = 10.0

#: Share of segments whose height is a fill value.
FILL_FRACTION = 0.004
#: Share of those fill values that ``atl06_quality_summary`` fails to flag.
UNFLAGGED_FILL_FRACTION = 0.125
#: Share of segments with a height blunder that passes the quality flag.
BLUNDER_FRACTION = 0.0005
#: Size range of the blunders (m, either sign).
BLUNDER_SIZE_M = (20, 300)
#: Share of segments with a blowing-snow confidence other than the fill value.
BLOWING_SNOW_FRACTION = 0.1
#: Range of the half-length of one cloud gap (m): gaps are 0.5-8 km long.
CLOUD_GAP_HALF_LENGTH_M = (250.0, 4000.0)

#: Period of the principal lunar semidiurnal tide, M2 (s; 12.42 h).
M2_TIDE_PERIOD_S = 44714.0
#: Sidereal day (s): the period of the main diurnal tide, K1.
SIDEREAL_DAY_S = 86164.0
#: Period of the Chandler wobble of the Earth's pole, which drives the pole tide (s; 433 days).
CHANDLER_WOBBLE_PERIOD_S = 433 * 86400.0
#: Period of the weather-like dynamic-atmosphere signal (s; 5.3 days).
DAC_PERIOD_S = 5.3 * 86400.0


@dataclass(frozen=True)
class BeamStrength:
    """How good the segments of a strong or a weak beam are.

    Attributes
    ----------
    height_noise_m : float
        Standard deviation of ``h_li`` about the true surface (m).
    flagged_fraction : float
        Share of segments that ``atl06_quality_summary`` flags as a potential problem.
    robust_spread_m : float
        Mean ``h_robust_sprd`` of unflagged segments (m).
    photons : int
        Mean ``n_fit_photons`` of unflagged segments.
    km_between_cloud_gaps : float
        Mean along-track distance from one cloud gap to the next (km).
    """

    height_noise_m: float
    flagged_fraction: float
    robust_spread_m: float
    photons: int
    km_between_cloud_gaps: float


#: The strong beam of each pair: precise, rarely flagged, many photons.
STRONG_BEAM = BeamStrength(0.07, 0.03, 0.1, 150, 250.0)
#: The weak beam (a quarter of the energy): noisier, flagged and interrupted more often.
WEAK_BEAM = BeamStrength(0.12, 0.07, 0.15, 40, 150.0)


@dataclass(frozen=True)
class GranulePlan:
    """What to generate: one pass (RGT and cycle) over one granule region.

    Attributes
    ----------
    rgt, cycle, region : int
        The pass and its granule region.
    x_start, x_end : float
        Along-track span to generate (m from the ascending node).
    clip : BBox or None
        Keep only points inside this box (an NSIDC-style spatial subset); None keeps all.
    missing_beams : tuple of str
        Beams left out of the file, as happens in real granules.
    release : str
        Three-digit release written in the name and metadata.
    pass_bias_sigma_m : float
        Spread of the planted per-pass, per-beam height bias (m; 0: none). See
        :func:`pass_biases`.
    """

    rgt: int
    cycle: int
    region: int
    x_start: float
    x_end: float
    clip: BBox | None = None
    missing_beams: tuple[str, ...] = field(default=())
    release: str = "006"
    pass_bias_sigma_m: float = PASS_BIAS_SIGMA_M

    @property
    def granule_start(self) -> float:
        """``delta_time`` at which the granule's region starts (s)."""
        u0, _ = orbit.region_span(self.region)
        return orbit.node_time(self.rgt, self.cycle) + u0 / (2 * np.pi) * orbit.NODAL_PERIOD_S

    @property
    def granule_end(self) -> float:
        """``delta_time`` at which the granule's region ends (s)."""
        _, u1 = orbit.region_span(self.region)
        return orbit.node_time(self.rgt, self.cycle) + u1 / (2 * np.pi) * orbit.NODAL_PERIOD_S

    @property
    def sc_orient(self) -> int:
        """Spacecraft orientation during the pass (0 backward, 1 forward)."""
        return sc_orient_for_cycle(self.cycle)

    @property
    def name(self) -> GranuleName:
        """The file name, from the granule's start time, RGT, cycle and region."""
        start = np.floor(self.granule_start + ATLAS_SDP_GPS_EPOCH)
        stamp = format_ccsds(start, digits=0)
        return GranuleName(
            product="ATL06",
            start=datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"),
            rgt=self.rgt,
            cycle=self.cycle,
            region=self.region,
            release=self.release,
        )


def sc_orient_for_cycle(cycle: int) -> int:
    """Spacecraft orientation used by the sample: forward (1) in odd cycles, else backward (0).

    The real spacecraft flips about twice a year; this simple rule keeps both
    orientations in any multi-cycle sample.

    Examples
    --------
    >>> sc_orient_for_cycle(3), sc_orient_for_cycle(4)
    (1, 0)
    """
    return 1 if cycle % 2 else 0


@dataclass(frozen=True)
class BeamTrack:
    """Where one beam's segments lie.

    The stretch of the pass inside the clip box, plus one segment either side (so that
    slopes at its ends are centred differences).

    Attributes
    ----------
    segment_id : numpy.ndarray
        Segment numbers (int64); ``x_atc`` is ``segment_id`` times the 20 m posting.
    x_atc : numpy.ndarray
        Along-track distance from the ascending node (m).
    y_nominal : float
        Cross-track position of the beam in this pass (m, left of the flight direction).
    latitude, longitude : numpy.ndarray
        Degrees (WGS84).
    delta_time : numpy.ndarray
        GPS seconds since 2018-01-01.
    azimuth : numpy.ndarray
        Direction of flight, degrees clockwise from north, in [0, 360).
    inside : numpy.ndarray
        True for segments inside the clip box (all True without a clip).
    x, y : numpy.ndarray
        EPSG:3031 coordinates (m).
    t_year : numpy.ndarray
        UTC decimal year.
    """

    segment_id: np.ndarray
    x_atc: np.ndarray
    y_nominal: float
    latitude: np.ndarray
    longitude: np.ndarray
    delta_time: np.ndarray
    azimuth: np.ndarray
    inside: np.ndarray
    x: np.ndarray
    y: np.ndarray
    t_year: np.ndarray


def beam_track(plan: GranulePlan, beam: str, pass_offset_m: float) -> BeamTrack | None:
    """The segments of one beam over the plan's span, or None when none is inside the clip.

    Parameters
    ----------
    plan : GranulePlan
    beam : str
        Ground track, e.g. ``"gt2l"``.
    pass_offset_m : float
        Cross-track pointing offset of this pass from the reference track (m).
    """
    first = int(np.ceil(plan.x_start / SEGMENT_SPACING_M))
    last = int(np.floor(plan.x_end / SEGMENT_SPACING_M))
    segment_id = np.arange(first, last + 1, dtype=np.int64)
    x_atc = segment_id * SEGMENT_SPACING_M
    y_nominal = BEAM_OFFSETS_M[beam] + pass_offset_m
    track = orbit.ground_track(plan.rgt, plan.cycle, x_atc, cross_track_m=y_nominal)
    inside = np.ones(x_atc.size, dtype=bool)
    if plan.clip is not None:
        inside &= plan.clip.contains(track.longitude, track.latitude)
    if not inside.any():
        return None
    idx = np.flatnonzero(inside)
    kept = slice(max(idx[0] - 1, 0), min(idx[-1] + 2, x_atc.size))
    lat, lon = track.latitude[kept], track.longitude[kept]
    delta_time = track.delta_time[kept] + BEAM_TIME_OFFSETS_S[beam]
    x, y = lonlat_to_xy(lon, lat)
    return BeamTrack(
        segment_id=segment_id[kept],
        x_atc=x_atc[kept],
        y_nominal=y_nominal,
        latitude=lat,
        longitude=lon,
        delta_time=delta_time,
        azimuth=track.azimuth[kept],
        inside=inside[kept],
        x=x,
        y=y,
        t_year=gps_to_decimal_year(delta_time + ATLAS_SDP_GPS_EPOCH),
    )


def surface_and_slopes(track: BeamTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True surface height (m) under the segments, and its along- and across-track slopes.

    The across-track slope differences the surface ``SLOPE_HALF_WIDTH_M`` either side of
    the track, measured in projected metres scaled back to ground metres. A beam of a
    single segment has zero slopes.

    Returns
    -------
    h_true, dh_dx, dh_dy : numpy.ndarray
        Height (m above WGS84) and slopes (m/m; across-track positive to the left).
    """
    x, y, t_year = track.x, track.y, track.t_year
    n = x.size
    h_true = surface.surface_height(x, y, t_year)
    if n < 2:
        return h_true, np.zeros(n), np.zeros(n)
    dh_dx = np.gradient(h_true, track.x_atc)
    dx, dy = np.gradient(x), np.gradient(y)
    step = np.hypot(dx, dy)
    scale = step / SEGMENT_SPACING_M  # projection scale factor
    left_x, left_y = -dy / step, dx / step
    d = SLOPE_HALF_WIDTH_M * scale
    h_left = surface.surface_height(x + d * left_x, y + d * left_y, t_year)
    h_right = surface.surface_height(x - d * left_x, y - d * left_y, t_year)
    return h_true, dh_dx, (h_left - h_right) / (2 * SLOPE_HALF_WIDTH_M)


def fit_heights(
    rng: np.random.Generator, h_true: np.ndarray, strength: BeamStrength
) -> dict[str, np.ndarray]:
    """Measured heights and fit statistics: precise where good, worse where flagged.

    Also plants the flaws a reader must handle: fill values (a few unflagged) and rare
    blunders that pass the quality flag.

    Returns
    -------
    dict of str to numpy.ndarray
        ``h_li``, ``h_li_sigma``, ``atl06_quality_summary``, ``h_robust_sprd``,
        ``snr_significance``, ``signal_selection_source`` and ``n_fit_photons``.
    """
    n = h_true.size
    quality = (rng.random(n) < strength.flagged_fraction).astype(np.int8)
    bad = quality == 1
    n_bad = bad.sum()
    h_li = h_true + rng.normal(0.0, strength.height_noise_m, n)
    h_li[bad] += rng.normal(0.0, 2.5, n_bad)
    h_li_sigma = strength.height_noise_m * np.exp(rng.normal(0.0, 0.25, n))
    h_li_sigma[bad] = rng.uniform(0.5, 3.0, n_bad)
    h_robust_sprd = np.abs(rng.normal(strength.robust_spread_m, 0.04, n))
    h_robust_sprd[bad] = rng.uniform(0.5, 5.0, n_bad)
    snr_significance = rng.exponential(0.002, n)
    snr_significance[bad] = rng.uniform(0.02, 0.2, n_bad)
    signal_selection_source = np.zeros(n, dtype=np.int8)
    signal_selection_source[bad] = rng.choice(np.array([1, 2, 3], dtype=np.int8), n_bad)
    n_fit_photons = rng.poisson(strength.photons, n).astype(np.int32)
    n_fit_photons[bad] = rng.poisson(12, n_bad)
    _plant_fills_and_blunders(rng, h_li, h_li_sigma, quality)
    return {
        "h_li": h_li,
        "h_li_sigma": h_li_sigma,
        "atl06_quality_summary": quality,
        "h_robust_sprd": np.round(h_robust_sprd, 3),
        "snr_significance": np.round(snr_significance, 4),
        "signal_selection_source": signal_selection_source,
        "n_fit_photons": n_fit_photons,
    }


def _plant_fills_and_blunders(
    rng: np.random.Generator, h_li: np.ndarray, h_li_sigma: np.ndarray, quality: np.ndarray
) -> None:
    """Fill values, mostly flagged, and blunders of tens to hundreds of metres (in place)."""
    n = h_li.size
    filled = rng.random(n) < FILL_FRACTION
    h_li[filled] = FLOAT32_FILL
    h_li_sigma[filled] = FLOAT32_FILL
    quality[filled] = (rng.random(filled.sum()) > UNFLAGGED_FILL_FRACTION).astype(np.int8)
    blunder = (rng.random(n) < BLUNDER_FRACTION) & ~filled
    n_blunders = blunder.sum()
    sign = rng.choice([-1.0, 1.0], n_blunders)
    h_li[blunder] += sign * rng.uniform(*BLUNDER_SIZE_M, n_blunders)


def corrections(track: BeamTrack) -> dict[str, np.ndarray]:
    """Geophysical corrections (m): smooth functions of time and place.

    Tides follow the M2 (semidiurnal) and K1 (diurnal) periods, the pole tide the
    Chandler wobble; ``tide_ocean`` is filled over grounded ice, as in real granules.

    Returns
    -------
    dict of str to numpy.ndarray
        ``dac``, ``tide_earth``, ``tide_load``, ``tide_ocean`` and ``tide_pole``.
    """
    t_rel = track.delta_time - orbit.FIRST_NODE_DELTA_TIME
    semidiurnal = 2 * np.pi * t_rel / M2_TIDE_PERIOD_S
    diurnal = 2 * np.pi * t_rel / SIDEREAL_DAY_S
    lon_rad = np.radians(track.longitude)
    tide_ocean = 0.9 * np.sin(semidiurnal + lon_rad) + 0.4 * np.cos(diurnal + 0.5)
    tide_ocean[surface.is_grounded(track.x, track.y)] = FLOAT32_FILL
    return {
        "dac": 0.08 * np.sin(2 * np.pi * t_rel / DAC_PERIOD_S + lon_rad),
        "tide_earth": 0.25 * np.sin(semidiurnal + 2 * lon_rad) + 0.08 * np.cos(diurnal + lon_rad),
        "tide_load": 0.03 * np.sin(semidiurnal + 2 * lon_rad + 1.0),
        "tide_ocean": tide_ocean,
        "tide_pole": 0.004 + 0.001 * np.sin(2 * np.pi * t_rel / CHANDLER_WOBBLE_PERIOD_S),
    }


def _blowing_snow_confidence(rng: np.random.Generator, n: int) -> np.ndarray:
    """``bsnow_conf``: the fill value (127) except on a few segments."""
    bsnow_conf = np.full(n, 127, dtype=np.int8)
    blowing = rng.random(n) < BLOWING_SNOW_FRACTION
    bsnow_conf[blowing] = rng.integers(-1, 5, blowing.sum())
    return bsnow_conf


def _cloud_gaps(rng: np.random.Generator, x: np.ndarray, strength: BeamStrength) -> np.ndarray:
    """Mask that keeps segments outside a few random cloud gaps (0.5-8 km each)."""
    keep = np.ones(x.size, dtype=bool)
    if x.size == 0:
        return keep
    length_km = (x[-1] - x[0]) / 1e3
    n_gaps = rng.poisson(length_km / strength.km_between_cloud_gaps)
    for _ in range(n_gaps):
        center = rng.uniform(x[0], x[-1])
        half = rng.uniform(*CLOUD_GAP_HALF_LENGTH_M)
        keep &= np.abs(x - center) > half
    return keep


def pass_biases(seed: int, rgt: int, cycle: int,
                sigma_m: float = PASS_BIAS_SIGMA_M) -> dict[str, float]:  # fmt: skip
    """The height bias planted in every beam of one pass (m), by beam name.

    One draw per beam of :data:`helpers.granules.BEAMS`, from a generator seeded by the
    sample's seed, the RGT and the cycle only: the same pass gets the same biases in every
    granule region and whatever else the sample holds, and a spread of 0 plants none.

    Parameters
    ----------
    seed : int
        The sample's seed (:class:`helpers.synthetic.sample.SampleConfig`).
    rgt, cycle : int
        The pass.
    sigma_m : float
        Spread of the biases (m).

    Returns
    -------
    dict of str to float
        ``{"gt1l": ..., ..., "gt3r": ...}``, added to every height of that beam.

    Examples
    --------
    >>> biases = pass_biases(2018, rgt=271, cycle=3)
    >>> sorted(biases) == sorted(BEAMS), all(abs(b) < 0.2 for b in biases.values())
    (True, True)
    >>> all(b == 0 for b in pass_biases(2018, 271, 3, sigma_m=0.0).values())
    True
    """
    entropy = [int(seed), int(rgt), int(cycle), 0, _PASS_BIAS_STREAM]
    draws = np.random.default_rng(np.random.SeedSequence(entropy)).standard_normal(len(BEAMS))
    return {beam: float(sigma_m * d) for beam, d in zip(BEAMS, draws, strict=True)}


def beam_segments(
    plan: GranulePlan, beam: str, pass_offset_m: float, rng: np.random.Generator,
    bias_m: float = 0.0,
) -> dict[str, np.ndarray] | None:
    """All per-segment variables of one beam, or None when the beam has no segment.

    Parameters
    ----------
    plan : GranulePlan
    beam : str
        Ground track, e.g. ``"gt2l"``.
    pass_offset_m : float
        Cross-track pointing offset of this pass from the reference track (m).
    rng : numpy.random.Generator
        Source of noise (seeded per granule so that the sample is reproducible).
    bias_m : float
        Height bias of this beam in this pass (m), added to every height (see
        :func:`pass_biases`).

    Returns
    -------
    dict of str to numpy.ndarray or None
        Arrays by short name (as :data:`helpers.synthetic.layout.SEGMENT_VARIABLES`
        names them), all the same length.
    """
    track = beam_track(plan, beam, pass_offset_m)
    if track is None:
        return None
    strength = STRONG_BEAM if beam in strong_beams(plan.sc_orient) else WEAK_BEAM
    n = track.x_atc.size
    h_true, dh_dx, dh_dy = surface_and_slopes(track)
    heights = fit_heights(rng, h_true + bias_m, strength)
    bsnow_conf = _blowing_snow_confidence(rng, n)
    # Cloud gaps, then the clip: what remains is what a subset order would return.
    keep = track.inside & _cloud_gaps(rng, track.x_atc, strength)
    if not keep.any():
        return None
    arrays = {
        "delta_time": track.delta_time,
        "latitude": track.latitude,
        "longitude": track.longitude,
        "segment_id": track.segment_id,
        **heights,
        **corrections(track),
        "bsnow_conf": bsnow_conf,
        "x_atc": track.x_atc,
        "seg_azimuth": wrap_longitude(track.azimuth),
        # The last draws, in this order: y_atc, sigma_geo_h, then the slope noise.
        "y_atc": track.y_nominal + rng.normal(0.0, 2.0, n),
        "sigma_geo_h": np.round(0.03 + rng.exponential(0.01, n), 4),
        "dh_fit_dx": dh_dx + rng.normal(0.0, 2e-4, n),
        "dh_fit_dy": dh_dy + rng.normal(0.0, 1e-3, n),
    }
    return {k: v[keep] for k, v in arrays.items()}


def _rng(seed: int, plan: GranulePlan) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, plan.rgt, plan.cycle, plan.region]))


def make_granule(plan: GranulePlan, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Per-beam arrays of one granule (beams without any segment are left out).

    Parameters
    ----------
    plan : GranulePlan
        The pass, region and span to generate.
    seed : int
        Seed of the noise; with the plan it fixes every number of the granule.

    Returns
    -------
    dict of str to dict
        :func:`beam_segments` of each beam present, by beam name (``"gt1l"``, ...).
    """
    rng = _rng(seed, plan)
    offset = rng.normal(0.0, REPEAT_POINTING_SIGMA_M)
    pass_offset = float(np.clip(offset, -MAX_POINTING_OFFSET_M, MAX_POINTING_OFFSET_M))
    biases = pass_biases(seed, plan.rgt, plan.cycle, plan.pass_bias_sigma_m)
    beams = {}
    for beam in BEAMS:
        # Drawn even for missing beams, so that the other beams' numbers do not change.
        arrays = beam_segments(plan, beam, pass_offset, rng, bias_m=biases[beam])
        if arrays is not None and beam not in plan.missing_beams:
            beams[beam] = arrays
    return beams
