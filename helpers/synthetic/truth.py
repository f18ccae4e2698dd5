"""What a sample's products must recover: its planted signals, as numbers to compare with.

The sample's heights are ``surface.surface_height(x, y, t) + bias(pass, beam) + noise``
(:mod:`helpers.synthetic.surface`, :func:`helpers.synthetic.granule.pass_biases`), so:

- at a crossover of passes 1 and 2, the expected height difference is
  ``bias_2 - bias_1 + planted_dhdt(x, y) * (t_2 - t_1)`` (:func:`expected_crossover_dh`);
- without the noise, a point's height would be :func:`true_heights`;
- the grounded ice of an area loses :func:`planted_volume_change` km³ a year, integrated on
  the ellipsoid in longitude and latitude (independently of any map projection).

The biases need the sample's seed and spread, which its manifest records
(:func:`sample_config`; a sample made before biases were planted has none).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.synthetic import surface
from helpers.synthetic.granule import pass_biases
from helpers.synthetic.sample import MANIFEST, SampleConfig

#: WGS 84 semi-major axis (m) and flattening, for areas on the ellipsoid.
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563


def sample_config(folder: str | os.PathLike) -> SampleConfig:
    """The config that made the sample in ``folder``, from its manifest.

    A sample made before per-pass biases were planted gets ``pass_bias_m=0``.

    Raises
    ------
    FileNotFoundError
        If the folder has no sample manifest (real granules, or no sample yet).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no synthetic sample ({MANIFEST} missing)")
    made = json.loads(path.read_text()).get("config", {})
    made.setdefault("pass_bias_m", 0.0)
    made["bbox"] = tuple(made["bbox"])
    known = SampleConfig.__dataclass_fields__
    return SampleConfig(**{k: v for k, v in made.items() if k in known})


def planted_biases(config: SampleConfig, rgt, cycle, beam) -> np.ndarray:
    """The height bias planted in each (RGT, cycle, beam) given, element by element (m).

    Parameters
    ----------
    config : SampleConfig
        The sample's config (seed and ``pass_bias_m``), e.g. from :func:`sample_config`.
    rgt, cycle : array_like of int
    beam : array_like of str

    Returns
    -------
    numpy.ndarray of float64
    """
    keys = pd.DataFrame({"rgt": np.asarray(rgt, dtype=np.int64),
                         "cycle": np.asarray(cycle, dtype=np.int64),
                         "beam": np.asarray(beam, dtype=object)})  # fmt: skip
    table = {}
    for rgt_i, cycle_i in keys[["rgt", "cycle"]].drop_duplicates().itertuples(index=False):
        for b, value in pass_biases(config.seed, rgt_i, cycle_i, config.pass_bias_m).items():
            table[(rgt_i, cycle_i, b)] = value
    return np.array([table[k] for k in keys.itertuples(index=False, name=None)], dtype=float)


def expected_crossover_dh(xovers: pd.DataFrame, config: SampleConfig) -> np.ndarray:
    """What each crossover's ``dh`` would be without noise (m).

    Parameters
    ----------
    xovers : pandas.DataFrame
        :func:`helpers.crossovers.find_crossovers` on the sample's reduced points.
    config : SampleConfig

    Returns
    -------
    numpy.ndarray
        ``bias_2 - bias_1 + planted_dhdt(x, y) * (t_2 - t_1)``.
    """
    b1 = planted_biases(config, xovers["rgt_1"], xovers["cycle_1"], xovers["beam_1"])
    b2 = planted_biases(config, xovers["rgt_2"], xovers["cycle_2"], xovers["beam_2"])
    rate = surface.planted_dhdt(xovers["x"], xovers["y"])
    return b2 - b1 + rate * (xovers["t_2"].to_numpy() - xovers["t_1"].to_numpy())


def true_heights(points: pd.DataFrame, config: SampleConfig) -> np.ndarray:
    """Each reduced point's height without its noise: surface at its place and time, plus
    its pass's bias (m).

    Parameters
    ----------
    points : pandas.DataFrame
        With ``x``, ``y`` (EPSG:3031, m), ``t_year``, ``rgt``, ``cycle`` and ``beam``.
    config : SampleConfig
    """
    bias = planted_biases(config, points["rgt"], points["cycle"], points["beam"])
    return surface.surface_height(points["x"], points["y"], points["t_year"]) + bias


def _cell_areas_km2(lat_edges: np.ndarray, dlon_deg: float) -> np.ndarray:
    """Areas of longitude-latitude cells on the WGS 84 ellipsoid between latitude edges (km²).

    Uses the authalic-latitude formula for the area of an ellipsoidal zone, exact for any
    cell size.
    """
    e = np.sqrt(WGS84_F * (2 - WGS84_F))
    s = np.sin(np.radians(lat_edges))
    q = (1 - e**2) * (s / (1 - e**2 * s**2) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))
    return np.abs(np.diff(q)) * WGS84_A**2 / 2 * np.radians(dlon_deg) / 1e6


def planted_volume_change(
    bbox: Sequence[float], step_deg: float = 0.005, grounded_only: bool = True
) -> float:
    """Volume change of the grounded ice in a box, from the planted rate (km³/yr).

    Integrates ``surface.planted_dhdt`` over a fine longitude-latitude grid, each cell with
    its area on the WGS 84 ellipsoid; cells count as grounded by ``surface.is_grounded``
    at their centre.

    Parameters
    ----------
    bbox : sequence of float
        ``[W, S, E, N]`` in degrees (W < E).
    step_deg : float
        Grid step (degrees).
    grounded_only : bool
        False: the floating shelf counts too.

    Returns
    -------
    float
        Negative for a loss.
    """
    from helpers.projection import lonlat_to_xy

    west, south, east, north = (float(v) for v in bbox)
    n_lon = max(round((east - west) / step_deg), 1)
    n_lat = max(round((north - south) / step_deg), 1)
    lon = west + (np.arange(n_lon) + 0.5) * (east - west) / n_lon
    lat_edges = np.linspace(south, north, n_lat + 1)
    areas = _cell_areas_km2(lat_edges, (east - west) / n_lon)
    lon2, lat2 = np.meshgrid(lon, 0.5 * (lat_edges[1:] + lat_edges[:-1]))
    x, y = lonlat_to_xy(lon2.ravel(), lat2.ravel())
    rate_km = surface.planted_dhdt(x, y) / 1e3
    if grounded_only:
        rate_km = np.where(surface.is_grounded(x, y), rate_km, 0.0)
    return float(np.sum(rate_km.reshape(lon2.shape) * areas[:, None]))
