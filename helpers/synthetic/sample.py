"""The embedded sample: deterministic synthetic ATL06 granules over an area.

Run ``python -m helpers.sample --out DIR`` to write the default sample (Pine Island
Glacier, 2018-10-14 to 2020-04-01) into DIR; ``-h`` lists every option.

How the sample is planned
-------------------------
1. Find every reference ground track (RGT) whose pass crosses the area, ascending or
   descending, with the orbit model (:mod:`helpers.synthetic.orbit`). The geometry
   repeats every cycle, so this is done once.
2. Keep a subset of those RGTs (the sample is *thinned*: ``--rgts``), alternating
   descending and ascending passes, longest first; ``--all-rgts`` keeps them all.
3. Take every cycle of each kept RGT whose granule starts within the dates, so that
   repeat tracks remain for elevation change.
4. Write one granule per pass: clipped to the area plus a margin, as an NSIDC spatial
   subset would be, or whole (``--full``).

Planted signals
---------------
Heights follow the model surface of :mod:`helpers.synthetic.surface`, which changes in
time at the planted rate ``surface.planted_dhdt(x, y)``; on top of it every beam of every
pass carries a constant height bias of spread ``--pass-bias-m`` (default 3 cm,
:func:`helpers.synthetic.granule.pass_biases`). Both are recorded by the manifest's
config, so that the products made from a sample can be checked against them
(:mod:`helpers.synthetic.truth`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from helpers import __version__
from helpers.bbox import BBox, wrap_longitude
from helpers.config import PIG_BBOX, PIG_DATES
from helpers.errors import SampleError
from helpers.fileio import atomic_path, locked, prove_writable, remove_partials, writer_tag
from helpers.gpstime import ATLAS_SDP_GPS_EPOCH, utc_to_gps
from helpers.granules import ASCENDING_REGIONS
from helpers.synthetic import orbit
from helpers.synthetic.granule import (
    BEAM_OFFSETS_M,
    PASS_BIAS_SIGMA_M,
    GranulePlan,
    make_granule,
)
from helpers.synthetic.layout import write_granule
from helpers.workers import InterruptGuard, init_worker, worker_count

#: First day of ICESat-2 science data (ATL06 cycle 1 data start on 2018-10-13).
MISSION_START = date(2018, 10, 13)
#: RGTs kept by default: enough for >= 2 million segments in < 200 MB.
DEFAULT_RGTS = 10
#: Name of the file that records a finished sample (written last).
MANIFEST = "sample_manifest.json"
#: Lock file that lets one generator at a time work on a folder.
LOCK = ".sample.lock"
#: Prefix of the hidden folder a generator writes into before moving granules in.
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class GranuleSummary:
    """What was written: where the file is, and its segments per beam."""

    path: Path
    segments: dict[str, int]

    @property
    def total_segments(self) -> int:
        """Segments over all beams."""
        return sum(self.segments.values())


@dataclass(frozen=True)
class SampleConfig:
    """Everything that determines a sample; equal configs give identical files.

    Attributes
    ----------
    bbox : tuple of float
        Area ``[W, S, E, N]`` in degrees.
    start, end : str
        First and last day (ISO dates, inclusive) of granule start times.
    seed : int
        Seed of the noise.
    rgts : int or None
        How many of the crossing RGTs to keep; None keeps all (full density).
    full : bool
        Write whole granules instead of spatial subsets.
    max_granules : int or None
        Keep only the first N granules in time.
    margin_km : float
        Clipped granules reach this far beyond the area (km).
    pass_bias_m : float
        Spread of the height bias planted per pass and beam (m; 0 plants none).
    """

    bbox: tuple[float, float, float, float] = PIG_BBOX
    start: str = PIG_DATES[0]
    end: str = PIG_DATES[1]
    seed: int = 2018
    rgts: int | None = DEFAULT_RGTS
    full: bool = False
    max_granules: int | None = None
    margin_km: float = 5.0
    pass_bias_m: float = PASS_BIAS_SIGMA_M

    def validate(self) -> BBox:
        """Check every field; return the area. Raises SampleError with a one-line reason."""
        try:
            box = BBox.from_sequence(self.bbox)
        except ValueError as err:
            raise SampleError(str(err)) from err
        try:
            first, last = date.fromisoformat(self.start), date.fromisoformat(self.end)
        except ValueError as err:
            raise SampleError(f"dates must be YYYY-MM-DD: {err}") from err
        today = datetime.now(UTC).date()
        if first > last:
            raise SampleError(f"start date {first} is after end date {last}")
        if first < MISSION_START or last > today:
            raise SampleError(
                f"dates {first}..{last} are outside the ICESat-2 mission "
                f"({MISSION_START} to today, {today})"
            )
        if self.rgts is not None and self.rgts < 1:
            raise SampleError(f"--rgts must be at least 1, got {self.rgts}")
        if self.max_granules is not None and self.max_granules < 1:
            raise SampleError(f"--max-granules must be at least 1, got {self.max_granules}")
        if not 0 <= self.margin_km <= 100:
            raise SampleError(f"--margin-km must be within 0-100 km, got {self.margin_km}")
        if not 0 <= self.pass_bias_m <= 1:
            raise SampleError(f"--pass-bias-m must be within 0-1 m, got {self.pass_bias_m}")
        return box


@dataclass(frozen=True)
class Crossing:
    """One RGT's pass over the area (the same in every cycle)."""

    rgt: int
    region: int
    x_start: float
    x_end: float

    @property
    def ascending(self) -> bool:
        """True for a northward pass."""
        return self.region in ASCENDING_REGIONS

    @property
    def length_km(self) -> float:
        """Along-track length over the area (km)."""
        return (self.x_end - self.x_start) / 1e3


def find_crossings(box: BBox, margin_km: float = 0.0, step_m: float = 500.0) -> list[Crossing]:
    """Every RGT pass whose beams cross ``box`` grown by ``margin_km``.

    Returns
    -------
    list of Crossing
        Sorted by RGT, then along-track position; a pass that spans two granule
        regions is split at the boundary, as real granules are.
    """
    # Latitude depends only on the along-track position; longitude is the node
    # longitude plus a function of it. So one track, shifted per RGT, serves all.
    beam_reach_km = max(abs(v) for v in BEAM_OFFSETS_M.values()) / 1e3 + 1.0
    search = box.expanded(margin_km + beam_reach_km)
    x = np.arange(0.0, 2 * np.pi * orbit.TRACK_RADIUS_M, step_m)
    base = orbit.ground_track(1, 1, x)
    band = (base.latitude >= search.south - 0.5) & (base.latitude <= search.north + 0.5)
    x, lat = x[band], base.latitude[band]
    rel_lon = base.longitude[band] - orbit.node_longitude(1)
    bounds = [orbit.region_span(r) for r in range(1, 15)]
    crossings = []
    for rgt in range(1, orbit.N_RGT + 1):
        lon = wrap_longitude(rel_lon + orbit.node_longitude(rgt))
        inside = search.contains(lon, lat)
        if not inside.any():
            continue
        # Runs of consecutive grid points inside the box.
        idx = np.flatnonzero(inside)
        breaks = np.flatnonzero(np.diff(idx) > 1)
        for run in np.split(idx, breaks + 1):
            x0, x1 = x[run[0]] - step_m, x[run[-1]] + step_m
            for region, (u0, u1) in enumerate(bounds, start=1):
                r0, r1 = u0 * orbit.TRACK_RADIUS_M, u1 * orbit.TRACK_RADIUS_M
                lo, hi = max(x0, r0), min(x1, r1)
                if hi > lo:
                    crossings.append(Crossing(rgt, region, float(lo), float(hi)))
    return crossings


def select_crossings(crossings: list[Crossing], count: int | None) -> list[Crossing]:
    """Thin the crossings to ``count`` RGTs: alternate descending/ascending, longest first."""
    if count is None:
        return crossings
    by_rgt: dict[int, list[Crossing]] = {}
    for c in crossings:
        by_rgt.setdefault(c.rgt, []).append(c)

    def rank(rgt: int) -> float:
        return -sum(c.length_km for c in by_rgt[rgt])

    desc = sorted((r for r, cs in by_rgt.items() if not cs[0].ascending), key=rank)
    asc = sorted((r for r, cs in by_rgt.items() if cs[0].ascending), key=rank)
    chosen: list[int] = []
    while len(chosen) < count and (desc or asc):
        for pool in (desc, asc):
            if pool and len(chosen) < count:
                chosen.append(pool.pop(0))
    keep = set(chosen)
    return [c for c in crossings if c.rgt in keep]


def plan_sample(config: SampleConfig) -> list[GranulePlan]:
    """The granules a config asks for, in time order (validates the config first)."""
    box = config.validate()
    crossings = select_crossings(find_crossings(box, config.margin_km), config.rgts)
    t_first = utc_to_gps(config.start)[()] - ATLAS_SDP_GPS_EPOCH
    t_last = utc_to_gps(config.end)[()] + 86400.0 - ATLAS_SDP_GPS_EPOCH
    first_cycle = max(1, int((t_first - orbit.FIRST_NODE_DELTA_TIME) // orbit.CYCLE_S) + 1)
    last_cycle = int((t_last - orbit.FIRST_NODE_DELTA_TIME) // orbit.CYCLE_S) + 1
    clip = None if config.full else box.expanded(config.margin_km)
    plans = []
    for cycle in range(first_cycle, last_cycle + 1):
        for c in crossings:
            if config.full:
                u0, u1 = orbit.region_span(c.region)
                x0, x1 = u0 * orbit.TRACK_RADIUS_M, u1 * orbit.TRACK_RADIUS_M
            else:
                x0, x1 = c.x_start, c.x_end
            plan = GranulePlan(c.rgt, cycle, c.region, x0, x1, clip=clip,
                               pass_bias_sigma_m=config.pass_bias_m)  # fmt: skip
            if t_first <= plan.granule_start < t_last:
                plans.append(plan)
    plans.sort(key=lambda p: p.granule_start)
    # Merge passes split into several crossings of the same region (rare: an area
    # crossed twice by one pass) into one granule.
    merged: dict[tuple[int, int, int], GranulePlan] = {}
    for p in plans:
        key = (p.rgt, p.cycle, p.region)
        if key in merged:
            old = merged[key]
            p = replace(old, x_start=min(old.x_start, p.x_start), x_end=max(old.x_end, p.x_end))
        merged[key] = p
    plans = sorted(merged.values(), key=lambda p: p.granule_start)
    if config.max_granules is not None:
        plans = plans[: config.max_granules]
    # Real granules sometimes lack beams: the second granule lacks its third pair.
    if len(plans) > 1:
        plans[1] = replace(plans[1], missing_beams=("gt3l", "gt3r"))
    return plans


def make_and_write_granule(plan: GranulePlan, seed: int, folder: Path) -> GranuleSummary:
    """Generate one granule and write it atomically into ``folder`` (one parallel job).

    Returns
    -------
    GranuleSummary
        The file and its segment count per beam.
    """
    beams = make_granule(plan, seed)
    path = write_granule(plan, beams, folder)
    return GranuleSummary(path=path, segments={b: a["h_li"].size for b, a in beams.items()})


def _check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove we can write there, leaving nothing behind."""
    try:
        prove_writable(folder)
    except OSError as err:
        raise SampleError(f"cannot write to output folder {folder}: {err.strerror}") from err


def _read_manifest(folder: Path) -> dict | None:
    """The folder's manifest if it lists a complete sample (every file there), else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    granules = manifest.get("granules", [])
    if not isinstance(granules, list) or not granules:
        return None
    if not all((folder / Path(str(g.get("file", ""))).name).is_file() for g in granules):
        return None
    return manifest


def _manifest_matches(folder: Path, config: SampleConfig) -> bool:
    """True when the folder holds exactly this sample (same config and version), complete."""
    manifest = _read_manifest(folder)
    wanted = json.loads(json.dumps(asdict(config)))  # tuples become lists, as in the file
    return (
        manifest is not None
        and manifest.get("config") == wanted
        and manifest.get("version") == __version__
    )


def sample_lock(folder: str | os.PathLike, on_wait=None):
    """Context manager: hold the folder's generator lock (one generator at a time).

    Parameters
    ----------
    folder : path-like
        The sample folder (must exist and be writable: the lock is a file in it).
    on_wait : callable, optional
        Called once if another process holds the lock and we wait for it.
    """
    return locked(Path(folder) / LOCK, on_wait=on_wait)


def sample_files(folder: str | os.PathLike) -> list[Path]:
    """The granules of the sample recorded in ``folder``'s manifest (empty if none)."""
    folder = Path(folder)
    try:
        entries = json.loads((folder / MANIFEST).read_text()).get("granules", [])
    except (OSError, ValueError):
        return []
    return sorted(folder / Path(e["file"]).name for e in entries)


def _same_area(manifest: dict, config: SampleConfig) -> bool:
    made = manifest.get("config", {})
    return (made.get("bbox"), made.get("start"), made.get("end")) == (
        [float(v) for v in config.bbox], config.start, config.end,
    )  # fmt: skip


def _usable_sample(folder: Path, config: SampleConfig) -> list[Path] | None:
    """A reader's view: the folder's complete sample if it is of the area and dates asked.

    Whatever else made it (other RGTs, whole granules, another seed or version of this
    package), it is used as it is. A complete sample of another area or other dates is
    an error: a reader never replaces a sample.
    """
    manifest = _read_manifest(folder)
    if manifest is None:
        return None
    if not _same_area(manifest, config):
        made = manifest.get("config", {})
        raise SampleError(
            f"{folder} holds a sample of another area or other dates (bbox {made.get('bbox')}, "
            f"{made.get('start')} to {made.get('end')}): ask for those, or use another folder"
        )
    return sample_files(folder)


def _say_waiting(folder: Path):
    def say() -> None:
        print(f"waiting for another process that is generating the sample in {folder} ...",
              flush=True)  # fmt: skip

    return say


def ensure_sample(folder: str | os.PathLike, config: SampleConfig | None = None) -> list[Path]:
    """The sample's granules for a reader: the folder's own, else generated once.

    A complete sample of the same area and dates is used whatever its other options
    (an instructor may have made it with ``--all-rgts``, or with another version); it is
    never deleted. Otherwise the sample is generated, one generator at a time: a reader
    that finds another process generating waits for it and then uses its sample.

    Parameters
    ----------
    folder : path-like
        The sample folder (possibly shared by many users).
    config : SampleConfig, optional
        What to generate if there is nothing usable; defaults to the classic sample.

    Returns
    -------
    list of pathlib.Path
        The granules, sorted.

    Raises
    ------
    SampleError
        If the folder holds a sample of another area or dates, or cannot be written
        when a sample must be made.
    """
    config = config or SampleConfig()
    folder = Path(folder)
    files = _usable_sample(folder, config)
    if files is not None:
        return files
    _check_writable(folder)
    with sample_lock(folder, on_wait=_say_waiting(folder)):
        files = _usable_sample(folder, config)  # made by the generator we waited for?
        if files is None:
            config = _config_of_broken_sample(folder, config)
            _generate_locked(folder, config, _plans_or_error(config), 2, progress=False)
    return sample_files(folder)


def _config_of_broken_sample(folder: Path, config: SampleConfig) -> SampleConfig:
    """The config of a sample of this area whose files went missing, to make it again
    as it was (an instructor's ``--all-rgts`` sample stays one); else ``config``."""
    try:
        made = json.loads((folder / MANIFEST).read_text()).get("config", {})
        fields: dict[str, Any] = {k: tuple(v) if k == "bbox" else v for k, v in made.items()}
        previous = SampleConfig(**fields)
    except (OSError, ValueError, TypeError, AttributeError):
        return config
    same = (list(previous.bbox), previous.start, previous.end) == (
        [float(v) for v in config.bbox], config.start, config.end,
    )  # fmt: skip
    return previous if same else config


def _plans_or_error(config: SampleConfig) -> list[GranulePlan]:
    plans = plan_sample(config)
    if not plans:
        raise SampleError(
            f"no ICESat-2 pass crosses the area {list(config.bbox)} between {config.start} "
            f"and {config.end} (ground tracks reach about 88° S and N): nothing to generate"
        )
    return plans


def generate_sample(
    folder: str | os.PathLike,
    config: SampleConfig | None = None,
    n_jobs: int = 2,
    force: bool = False,
    progress: bool = True,
) -> list[GranuleSummary]:
    """Write the sample a config describes into ``folder``.

    The granules are generated beside the folder's current content (in a hidden staging
    folder), then moved in one by one (each rename atomic) and the manifest
    (``sample_manifest.json``) is replaced last; granules of a previous sample that the
    new one does not have are deleted only then. One generator at a time works on a
    folder (a lock file): a second one waits, and does nothing if the first made the
    same sample. When the folder holds this sample already, nothing is regenerated
    unless ``force``.

    Parameters
    ----------
    folder : path-like
        Output folder (created if missing).
    config : SampleConfig, optional
        Defaults to the classic Pine Island Glacier sample.
    n_jobs : int
        Granules generated in parallel (processes), at most one per available CPU.
    force : bool
        Regenerate even if the folder already holds this sample.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of GranuleSummary
        One per granule written (empty when the sample was already complete).

    Raises
    ------
    SampleError
        For a config that asks for nothing, ``n_jobs < 1``, or a folder that cannot be
        written (a full disk included); the folder's previous sample is then untouched.
    """
    config = config or SampleConfig()
    plans = _plans_or_error(config)
    if n_jobs < 1:
        raise SampleError(f"--jobs must be at least 1, got {n_jobs}")
    folder = Path(folder)
    if not force and _manifest_matches(folder, config):
        return []  # complete already (the folder may even be a shared, read-only copy)
    _check_writable(folder)
    with sample_lock(folder, on_wait=_say_waiting(folder)):
        if not force and _manifest_matches(folder, config):
            return []  # made by the generator we waited for
        return _generate_locked(folder, config, plans, n_jobs, progress)


def _generate_locked(folder: Path, config: SampleConfig, plans, n_jobs: int,
                     progress: bool) -> list[GranuleSummary]:  # fmt: skip
    """Generate into a staging folder, then swap in (the caller holds the lock)."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    remove_partials(folder)
    for stale in folder.glob(f"{STAGING_PREFIX}*"):  # left by a generator that was killed
        shutil.rmtree(stale, ignore_errors=True)
    staging = folder / f"{STAGING_PREFIX}{writer_tag()}"
    staging.mkdir()
    try:
        with InterruptGuard() as guard:
            summaries = _make_granules(plans, config.seed, staging, n_jobs, progress, guard)
        return _swap_in(folder, staging, config, summaries)
    except OSError as err:
        raise SampleError(f"cannot write the sample into {folder}: {err.strerror or err}") from err
    except TerminatedWorkerError as err:
        raise SampleError(
            f"a process generating the sample into {folder} died (out of memory?)"
        ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_granules(plans, seed: int, folder: Path, n_jobs: int, progress: bool,
                   guard: InterruptGuard) -> list[GranuleSummary]:  # fmt: skip
    """Generate and write every planned granule into ``folder``, in parallel if asked."""
    from tqdm.auto import tqdm

    n_workers = worker_count(n_jobs, len(plans))
    bar = tqdm(total=len(plans), desc="synthetic granules", unit="granule",
               disable=not progress)  # fmt: skip
    try:
        if n_workers == 1:
            done = (make_and_write_granule(plan, seed, folder) for plan in plans)
            summaries = _collect(done, bar, guard)
        else:
            summaries = _in_workers(plans, seed, folder, n_workers, bar, guard)
    finally:
        bar.close()
    return sorted(summaries, key=lambda s: s.path.name)


def _collect(done, bar, guard: InterruptGuard) -> list[GranuleSummary]:
    summaries = []
    for summary in done:
        summaries.append(summary)
        bar.update()
        guard.check()  # an interrupt that Python swallowed stops the run here
    return summaries


def _in_workers(plans, seed: int, folder: Path, n_workers: int, bar,
                guard: InterruptGuard) -> list[GranuleSummary]:  # fmt: skip
    """The granules made by a pool of worker processes of this run's own.

    The pool is always shut down before this returns, waiting for its workers: when one
    granule fails (a full disk), the others not yet started are cancelled and those running
    finish, so that no worker is killed in the middle of writing (a worker killed while it
    holds one of the pool's locks leaves semaphores behind, which loky's resource tracker
    then reports after our one-line error). Ctrl-C stops the workers at once.
    """
    from concurrent.futures import as_completed

    from joblib.externals.loky import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=n_workers, initializer=init_worker,
                               initargs=(os.getpid(),))  # fmt: skip
    futures = [pool.submit(make_and_write_granule, plan, seed, folder) for plan in plans]
    try:
        return _collect((f.result() for f in as_completed(futures)), bar, guard)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, kill_workers=True)
        raise
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)


def _swap_in(folder: Path, staging: Path, config: SampleConfig,
             summaries: list[GranuleSummary]) -> list[GranuleSummary]:  # fmt: skip
    """Move staged granules into ``folder``, then the manifest, then drop old granules."""
    previous = {p.name for p in sample_files(folder)}
    placed = []
    for summary in summaries:
        target = folder / summary.path.name
        os.replace(summary.path, target)  # atomic: a reader sees the old file or the new
        placed.append(replace(summary, path=target))
    manifest = {
        "version": __version__,
        "config": asdict(config),
        "note": "Synthetic ATL06 granules made by helpers.sample; not NASA data.",
        "granules": [{"file": s.path.name, "segments": s.segments} for s in placed],
    }
    with atomic_path(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    for name in previous - {s.path.name for s in placed}:
        if name.startswith("ATL06_") and name.endswith(".h5"):  # never outside the sample
            (folder / name).unlink(missing_ok=True)
    return placed
