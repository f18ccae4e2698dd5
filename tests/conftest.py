"""Shared fixtures, the one command-line runner, and the test layers.

The tests mirror the package: ``unit/`` (the pure utilities), ``reduce/``, ``synthetic/``,
``earthdata/``, ``load_render/``, ``science/`` (dh/dt, crossovers, grids, exports, real
results), ``notebooks/`` (their shape, nbval's runs, the browser, the website) and ``house/``
(layers, packaging, types); ``support/`` holds what several of them share (servers, disks,
processes). Scenario tests are named by the behaviour they check.

Layers, as markers set here from where a test lives: ``unit`` (``tests/unit/`` and the
package's docstring examples: ``pytest -m unit`` runs them in seconds), ``browser`` and
``book`` (set by their modules), ``realdata`` (every test that reads ../shared's granules).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from executed import ExecutedNotebooks

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


@pytest.fixture()
def no_earthdata_login(monkeypatch, tmp_path) -> Path:
    """No NASA Earthdata credentials anywhere (environment, netrc), an empty home (returned),
    and earthaccess logged out."""
    import earthaccess

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("NETRC", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(earthaccess, "_auth", earthaccess.Auth())
    monkeypatch.setattr(earthaccess, "_store", None)
    return home


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


TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Mark the unit layer (``tests/unit/`` and the docstring examples of ``helpers/``), and
    every test that reads the real granules (``-m "not realdata"`` deselects them)."""
    for item in items:
        path = Path(str(item.fspath))
        if path.is_relative_to(TESTS / "unit") or path.is_relative_to(REPO_ROOT / "helpers"):
            item.add_marker(pytest.mark.unit)
        if {"real_data", "reference_granule"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)


# --------------------------------------------------------------------------- executed notebooks


def pytest_configure(config) -> None:
    """Save the notebooks nbval runs, executed, for the website's test (a plugin for the
    whole session: this file's own hooks would see only the tests below ``tests/``)."""
    config.pluginmanager.register(ExecutedNotebooks(config), "executed-notebooks")


# --------------------------------------------------------------------------- command lines

#: The package's command lines: ``python -m MODULE`` -> the function it runs.
COMMANDS = {
    "helpers.reduce": "helpers.reduce.cli:main",
    "helpers.render": "helpers.render:main",
    "helpers.sample": "helpers.sample:main",
    "helpers.rangeserver": "helpers.rangeserver:main",
}


def run_cli(module: str, *args, process: bool = False, cwd: str | os.PathLike | None = None,
            env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:  # fmt: skip
    """Run ``python -m module args`` and return what it did (``returncode``, ``stdout``,
    ``stderr``; text).

    By default the command's ``main`` runs in this process with its output captured (no
    interpreter to start: a second less per run). ``process=True`` starts a new Python,
    for what only a process shows: signals, the interpreter's exit, a crash, a command that
    configures logging (``--debug``), a hang (``timeout``). ``env`` replaces the environment
    for a new process and is added to it in this one.
    """
    argv = [str(a) for a in args]
    if process or module not in COMMANDS:
        full_env = None if env is None else {**os.environ, **env}
        return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True,
                              text=True, cwd=cwd, env=full_env, timeout=timeout)  # fmt: skip
    where, name = COMMANDS[module].split(":")
    main: Callable = getattr(importlib.import_module(where), name)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        if env:
            stack.enter_context(_environment(env))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(argv)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) or done.code is None else 1
    return subprocess.CompletedProcess([module, *argv], code or 0, out.getvalue(),
                                       err.getvalue())  # fmt: skip


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture()
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """The command-line runner, :func:`run_cli`: ``cli("helpers.sample", "--out", ...)``."""
    return run_cli


@pytest.fixture()
def reduce_cli() -> Callable[..., subprocess.CompletedProcess]:
    """:func:`run_cli` of ``helpers.reduce``: ``reduce_cli(folder, "-o", out, "-q")``."""
    return functools.partial(run_cli, "helpers.reduce")


@pytest.fixture(scope="session")
def sample_server(small_sample):
    """The small sample served over HTTP on localhost by a server that honours Range
    requests (:class:`helpers.rangeserver.RangeServer`), for the whole session."""
    from helpers.rangeserver import RangeServer

    with RangeServer(small_sample) as server:
        yield server


@pytest.fixture(scope="session")
def full_three(tmp_path_factory) -> Path:
    """A folder of three whole synthetic granules over Pine Island (two RGTs, regions 10 and
    12), made once per session: for killed runs and whole-granule reads."""
    folder = tmp_path_factory.mktemp("full_three")
    generate_sample(folder, SampleConfig(full=True, rgts=2, max_granules=3), n_jobs=2,
                    progress=False)  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def full_granule(tmp_path_factory) -> Path:
    """One full-size synthetic granule (~45 MB, ~950,000 segments), as
    ``python -m helpers.sample --full --max-granules 1`` writes it; made once per session."""
    folder = tmp_path_factory.mktemp("full_granule")
    generate_sample(folder, SampleConfig(full=True, max_granules=1), n_jobs=1, progress=False)
    (granule,) = folder.glob("ATL06_*.h5")
    return granule


# --------------------------------------------------------------------------- S3 (moto)


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server on 127.0.0.1 for the whole session; its endpoint URL."""
    from s3server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture()
def s3_bucket(moto_s3, monkeypatch, tmp_path) -> str:
    """A fresh, empty bucket on moto's server, and dummy credentials and its endpoint in the
    environment (s3fs's cached filesystems forgotten before and after): ``s3://<bucket>``."""
    import uuid

    import s3fs
    from s3server import AWS_UNSET, client, s3_environment

    for name, value in s3_environment(moto_s3, tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in AWS_UNSET:
        monkeypatch.delenv(name, raising=False)
    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client(moto_s3).create_bucket(Bucket=bucket)
    yield f"s3://{bucket}"
    s3fs.S3FileSystem.clear_instance_cache()
