"""Shared fixtures: small synthetic samples made once per test session, and the real granules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.config import REPO_ROOT
from helpers.synthetic.sample import SampleConfig, generate_sample

#: Real NASA granules for compatibility tests (the shared originals; a few of them also ship,
#: unaltered, as the tutorial's real mini-set in notebooks/real-data/).
REAL_DATA = Path(
    os.environ.get("IS2_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "atl06-real")
)
REFERENCE_GRANULE = "ATL06_20230816161508_08782002_006_02.h5"

# Never let astropy reach for the network (leap-second or IERS tables) in tests.
os.environ.setdefault("ASTROPY_SKIP_CONFIG_UPDATE", "1")


@pytest.fixture(scope="session", autouse=True)
def _astropy_offline():
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real ATL06 granules; skips the test where it is absent."""
    if not REAL_DATA.is_dir() or not any(REAL_DATA.glob("*.h5")):
        pytest.skip(f"real ATL06 granules not found at {REAL_DATA} (../shared/data/atl06-real)")
    return REAL_DATA


@pytest.fixture(scope="session")
def reference_granule(real_data) -> Path:
    """The real v006 granule whose layout the synthetic sample copies."""
    path = real_data / REFERENCE_GRANULE
    if not path.is_file():
        pytest.skip(f"reference granule {REFERENCE_GRANULE} not found in {real_data}")
    return path


@pytest.fixture(scope="session")
def default_sample(tmp_path_factory) -> Path:
    """The default sample (as ``make sample`` writes it), generated once per session."""
    folder = tmp_path_factory.mktemp("default_sample")
    generate_sample(folder, SampleConfig(), n_jobs=2, progress=False)
    return folder


@pytest.fixture(scope="session")
def small_config() -> SampleConfig:
    """A quick sample: two RGTs over Pine Island Glacier, a few granules."""
    return SampleConfig(rgts=2, max_granules=4)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory, small_config) -> Path:
    """A few synthetic granules, generated once per session."""
    folder = tmp_path_factory.mktemp("small_sample")
    generate_sample(folder, small_config, n_jobs=1, progress=False)
    return folder


def _reduce_into(folder: Path, sample: Path) -> Path:
    from helpers.bbox import BBox
    from helpers.config import PIG_BBOX
    from helpers.reduce import ReduceOptions, reduce_granules

    reduce_granules([sample], folder, ReduceOptions(bbox=BBox(*PIG_BBOX)), n_jobs=2,
                    progress=False)  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def small_reduced(tmp_path_factory, small_sample) -> Path:
    """The small sample reduced to the Pine Island box (HDF5 per granule and beam)."""
    return _reduce_into(tmp_path_factory.mktemp("small_reduced"), small_sample)


@pytest.fixture(scope="session")
def default_reduced(tmp_path_factory, default_sample) -> Path:
    """The default sample reduced to the Pine Island box, as notebook 3 reduces it."""
    return _reduce_into(tmp_path_factory.mktemp("default_reduced"), default_sample)


def pytest_collection_modifyitems(config, items):
    """Mark every test that reads the real granules, so ``-m "not realdata"`` deselects them."""
    for item in items:
        if {"real_data", "reference_granule"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def sample_server(small_sample):
    """The small sample served over HTTP on localhost by a server that honours Range
    requests (:class:`helpers.rangeserver.RangeServer`), for the whole session."""
    from helpers.rangeserver import RangeServer

    with RangeServer(small_sample) as server:
        yield server


@pytest.fixture(scope="session")
def full_granule(tmp_path_factory) -> Path:
    """One full-size synthetic granule (~45 MB, ~950,000 segments), as
    ``python -m helpers.sample --full --max-granules 1`` writes it; made once per session."""
    folder = tmp_path_factory.mktemp("full_granule")
    generate_sample(folder, SampleConfig(full=True, max_granules=1), n_jobs=1, progress=False)
    (granule,) = folder.glob("ATL06_*.h5")
    return granule
