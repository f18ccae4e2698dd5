"""What the sample holds: size, planted signals, imperfections, determinism."""

from __future__ import annotations

import json

import h5py
import numpy as np
from pyproj import Transformer

from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, gps_to_decimal_year
from helpers.granules import BEAMS, parse_granule_name
from helpers.synthetic import surface
from helpers.synthetic.layout import FLOAT32_FILL
from helpers.synthetic.sample import MANIFEST, generate_sample

TO_XY = Transformer.from_crs("EPSG:4326", "EPSG:3031", always_xy=True)


def _read_all(folder):
    """Every beam of every granule, with the variables these tests need."""
    rows = []
    for path in sorted(folder.glob("ATL06_*.h5")):
        with h5py.File(path) as f:
            for beam in (b for b in BEAMS if b in f):
                g = f[f"{beam}/land_ice_segments"]
                rows.append({
                    "file": path.name, "beam": beam,
                    "lat": g["latitude"][:], "lon": g["longitude"][:],
                    "t": g["delta_time"][:], "h": g["h_li"][:],
                    "q": g["atl06_quality_summary"][:],
                    "slope": g["fit_statistics/dh_fit_dx"][:],
                    "x_atc": g["ground_track/x_atc"][:],
                    "tide_ocean": g["geophysical/tide_ocean"][:],
                })  # fmt: skip
    return rows


def _dataset_names(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def test_default_sample_meets_the_size_goals(default_sample):
    files = sorted(default_sample.glob("ATL06_*.h5"))
    names = [parse_granule_name(p) for p in files]
    segments = 0
    for path in files:
        with h5py.File(path) as f:
            segments += sum(f[f"{b}/land_ice_segments/h_li"].size for b in BEAMS if b in f)
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    assert len(files) >= 20
    assert segments >= 2_000_000
    assert size_mb <= 200
    assert len({n.cycle for n in names}) >= 5
    assert {n.region for n in names} == {10, 12}  # descending and ascending over PIG
    manifest = json.loads((default_sample / MANIFEST).read_text())
    assert sum(sum(g["segments"].values()) for g in manifest["granules"]) == segments


def test_heights_follow_the_surface_and_its_planted_change(small_sample):
    residuals = []
    for row in _read_all(small_sample):
        good = row["q"] == 0
        good &= np.abs(row["h"]) < 1e4
        x, y = TO_XY.transform(row["lon"][good], row["lat"][good])
        t_year = gps_to_decimal_year(row["t"][good] + ATLAS_SDP_GPS_EPOCH)
        residuals.append(row["h"][good] - surface.surface_height(x, y, t_year))
    res = np.concatenate(residuals)
    assert abs(np.median(res)) < 0.02
    assert np.median(np.abs(res)) < 0.15  # noise of a few cm to decimetres
    # Without the planted change, the same heights are measurably off.


def test_planted_change_is_exposed_and_linear_in_time():
    x = np.array([-1590e3, -1560e3, -1520e3])
    y = np.array([-290e3, -260e3, -230e3])
    rate = surface.planted_dhdt(x, y)
    assert np.all(rate < 0) and rate.min() < -3.0  # several m/yr of thinning near the GZ
    assert abs(rate[-1]) < abs(rate[0])  # fading inland
    dh = surface.surface_height(x, y, 2021.0) - surface.surface_height(x, y, 2019.0)
    np.testing.assert_allclose(dh, 2.0 * rate)


def test_along_track_slope_matches_the_heights(small_sample):
    for row in _read_all(small_sample)[:6]:
        ok = (row["q"] == 0) & (np.abs(row["h"]) < 1e4)
        x, y = TO_XY.transform(row["lon"], row["lat"])
        h_static = surface.static_surface(x, y)
        step = np.diff(row["x_atc"]) == 20.0
        finite_diff = np.diff(h_static)[step] / 20.0
        mid_slope = 0.5 * (row["slope"][:-1] + row["slope"][1:])[step & ok[:-1] & ok[1:]]
        assert np.median(np.abs(mid_slope - finite_diff[(ok[:-1] & ok[1:])[step]])) < 1e-3


def test_imperfections_are_present(default_sample):
    rows = _read_all(default_sample)
    q = np.concatenate([r["q"] for r in rows])
    h = np.concatenate([r["h"] for r in rows])
    assert 0.01 < np.mean(q == 1) < 0.10  # a few % flagged
    assert np.any(h == FLOAT32_FILL)
    assert np.any((h == FLOAT32_FILL) & (q == 0))  # a few fills the flag misses
    # Blunders: tens to hundreds of metres off their neighbours, not flagged.
    blunders = 0
    for r in rows:
        good = (r["q"] == 0) & (np.abs(r["h"]) < 1e4)
        hh = r["h"][good]
        if hh.size > 10:
            local = np.convolve(hh, np.ones(9) / 9, mode="same")
            blunders += np.sum(np.abs(hh - local)[5:-5] > 15)
    assert blunders > 0
    # Ocean tide: filled over grounded ice, present on the shelf.
    tide = np.concatenate([r["tide_ocean"] for r in rows])
    x, y = TO_XY.transform(
        np.concatenate([r["lon"] for r in rows]), np.concatenate([r["lat"] for r in rows])
    )
    grounded = surface.is_grounded(x, y)
    assert np.all(tide[grounded] == FLOAT32_FILL)
    assert np.all(tide[~grounded] != FLOAT32_FILL) and (~grounded).sum() > 1000
    # At least one granule lacks a beam.
    beams_per_file: dict[str, set] = {}
    for r in rows:
        beams_per_file.setdefault(r["file"], set()).add(r["beam"])
    assert any(len(b) < 6 for b in beams_per_file.values())


def test_same_arguments_give_identical_data(tmp_path, small_config, small_sample):
    generate_sample(tmp_path, small_config, n_jobs=2, progress=False)
    first = sorted(small_sample.glob("ATL06_*.h5"))
    second = sorted(tmp_path.glob("ATL06_*.h5"))
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        with h5py.File(a) as fa, h5py.File(b) as fb:
            for name in _dataset_names(fa):
                np.testing.assert_array_equal(
                    fa[name][()], fb[name][()], err_msg=f"{a.name}:{name}"
                )


def test_another_seed_gives_other_noise(tmp_path, small_config, small_sample):
    from dataclasses import replace

    generate_sample(tmp_path, replace(small_config, seed=7, max_granules=1), progress=False)
    path = sorted(tmp_path.glob("ATL06_*.h5"))[0]
    with h5py.File(path) as fa, h5py.File(small_sample / path.name) as fb:
        beam = next(b for b in BEAMS if b in fa and b in fb)
        assert not np.array_equal(
            fa[f"{beam}/land_ice_segments/h_li"][:5], fb[f"{beam}/land_ice_segments/h_li"][:5]
        )


def test_pass_biases_are_the_only_difference_they_make(small_config):
    # The biases come from a generator of their own: without them, every other number of a
    # granule is the same, and each beam's heights differ by exactly its planted constant.
    from dataclasses import replace

    from helpers.synthetic.granule import make_granule, pass_biases
    from helpers.synthetic.sample import plan_sample

    plan = plan_sample(small_config)[0]
    biased = make_granule(plan, small_config.seed)
    plain = make_granule(replace(plan, pass_bias_sigma_m=0.0), small_config.seed)
    biases = pass_biases(small_config.seed, plan.rgt, plan.cycle, small_config.pass_bias_m)
    assert biased.keys() == plain.keys() and len(biased) >= 2
    assert 0.0 < np.std(list(biases.values())) < 0.1  # a few cm, not all alike
    for beam, arrays in biased.items():
        h, h0 = arrays["h_li"], plain[beam]["h_li"]
        filled = h == FLOAT32_FILL
        np.testing.assert_array_equal(filled, h0 == FLOAT32_FILL)
        np.testing.assert_allclose(h[~filled] - h0[~filled], biases[beam], atol=1e-9)
        for name in arrays.keys() - {"h_li"}:
            np.testing.assert_array_equal(arrays[name], plain[beam][name], err_msg=name)


def test_each_beam_of_each_pass_carries_its_planted_bias(small_config, small_sample):
    from helpers.synthetic.granule import pass_biases

    checked = 0
    for row in _read_all(small_sample):
        good = (row["q"] == 0) & (np.abs(row["h"]) < 1e4)
        x, y = TO_XY.transform(row["lon"][good], row["lat"][good])
        t_year = gps_to_decimal_year(row["t"][good] + ATLAS_SDP_GPS_EPOCH)
        offset = np.median(row["h"][good] - surface.surface_height(x, y, t_year))
        name = parse_granule_name(row["file"])
        bias = pass_biases(small_config.seed, name.rgt, name.cycle)[row["beam"]]
        assert abs(offset - bias) < 0.01, (row["file"], row["beam"], offset, bias)
        checked += 1
    assert checked >= 12
