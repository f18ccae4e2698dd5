"""The embedded sample's command line: ``python -m helpers.sample`` (also ``atl06-sample``).

Writes deterministic synthetic ATL06 granules over an area into a folder; the generator
itself lives in :mod:`helpers.synthetic` (planning in :mod:`helpers.synthetic.sample`).
This module also re-exports what the rest of the package and the notebooks use:
:class:`SampleConfig`, :func:`generate_sample` and :func:`sample_files`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from helpers.config import PIG_BBOX, PIG_DATES, data_dir
from helpers.fileio import remove_partials
from helpers.reduce.cli import NumberArgumentParser
from helpers.synthetic.sample import (
    DEFAULT_RGTS,
    MANIFEST,
    SampleConfig,
    SampleError,
    generate_sample,
    sample_files,
)
from helpers.workers import available_cpus

__all__ = ["MANIFEST", "SampleConfig", "SampleError", "generate_sample", "main", "sample_files"]


def _parser() -> argparse.ArgumentParser:
    """The command line's options, in the order ``-h`` lists them."""
    parser = NumberArgumentParser(
        prog="python -m helpers.sample",
        description=(
            "Write deterministic, schema-faithful SYNTHETIC ATL06 (release 006) granules "
            "over an area: one per reference-ground-track pass and cycle, clipped to the "
            "area like an NSIDC spatial subset. Every file says in its root attributes that "
            "it is synthetic, not NASA data. The default is a thinned sample of Pine Island "
            "Glacier (a subset of the crossing RGTs, every cycle of each)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_where_and_when(parser)
    _add_density(parser)
    _add_run_control(parser)
    return parser


def _add_where_and_when(parser: argparse.ArgumentParser) -> None:
    """Output folder, area, dates and seed: what the sample holds."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: $IS2_DATA_DIR, else data/ in the repo)",
    )
    parser.add_argument(
        "--bbox",
        "-b",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        default=list(PIG_BBOX),
        help="area in degrees; W > E crosses the antimeridian",
    )
    parser.add_argument("--start", default=PIG_DATES[0], help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", default=PIG_DATES[1], help="last day (YYYY-MM-DD), inclusive")
    parser.add_argument("--seed", type=int, default=SampleConfig.seed, help="noise seed")
    parser.add_argument(
        "--pass-bias-m",
        type=float,
        default=SampleConfig.pass_bias_m,
        help="spread of the height bias planted per pass and beam (m; 0: none)",
    )


def _add_density(parser: argparse.ArgumentParser) -> None:
    """How many passes, how much of each granule and how far beyond the area."""
    density = parser.add_mutually_exclusive_group()
    density.add_argument(
        "--rgts",
        type=int,
        default=DEFAULT_RGTS,
        help="how many crossing RGTs to keep (thinned sample)",
    )
    density.add_argument(
        "--all-rgts", action="store_true", help="keep every crossing RGT (full density: ~5x bigger)"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="write whole granules (100k+ segments per beam), not subsets",
    )
    parser.add_argument(
        "--max-granules", type=int, default=None, help="write only the first N granules in time"
    )
    parser.add_argument(
        "--margin-km",
        type=float,
        default=SampleConfig.margin_km,
        help="subsets reach this far beyond the area (km)",
    )


def _add_run_control(parser: argparse.ArgumentParser) -> None:
    """Parallel jobs, regeneration and progress display: how the run goes, not what it makes."""
    parser.add_argument(
        "--jobs",
        "-n",
        type=int,
        default=min(2, available_cpus()),
        help="granules generated in parallel",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="regenerate even if the folder already holds this sample",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: generate the sample the options describe.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        Exit status: 0 when the sample is complete (written now or before).

    Examples
    --------
    >>> main(["--out", "data", "--max-granules", "2", "-q"])  # doctest: +SKIP
    """
    parser = _parser()
    args = parser.parse_args(argv)
    folder = args.out if args.out is not None else data_dir()
    config = SampleConfig(
        bbox=tuple(args.bbox),
        start=args.start,
        end=args.end,
        seed=args.seed,
        rgts=None if args.all_rgts else args.rgts,
        full=args.full,
        max_granules=args.max_granules,
        margin_km=args.margin_km,
        pass_bias_m=args.pass_bias_m,
    )
    started = time.perf_counter()
    try:
        summaries = generate_sample(
            folder, config, n_jobs=args.jobs, force=args.force, progress=not args.quiet
        )
    except SampleError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    except KeyboardInterrupt:
        remove_partials(folder)
        parser.exit(130, "interrupted: no partial granule was left behind\n")
    elapsed = time.perf_counter() - started
    if not summaries:
        print(f"{folder}: sample already complete (use --force to regenerate)")
        return 0
    segments = sum(s.total_segments for s in summaries)
    size = sum(s.path.stat().st_size for s in summaries) / 1e6
    print(
        f"wrote {len(summaries)} synthetic granules, {segments:,} segments, {size:.0f} MB "
        f"to {folder} in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
