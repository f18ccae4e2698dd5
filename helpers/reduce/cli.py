"""The reducer's command line: ``python -m helpers.reduce`` (also installed as ``readatl06``)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence

from helpers.bbox import BBox
from helpers.errors import debug_logging
from helpers.fileio import PARTIAL_SUFFIX
from helpers.reduce.lease import DEFAULT_LEASE_S
from helpers.reduce.options import ReduceOptions
from helpers.reduce.outputs import RECORDS
from helpers.reduce.policy import FAILURES, read_failure
from helpers.reduce.run import RunSummary, reduce_granules
from helpers.reduce.sources import source_name
from helpers.reduce.store import Store, open_store
from helpers.reduce.transport import ATTEMPTS, DEFAULT_TIMEOUT_S


class NumberArgumentParser(argparse.ArgumentParser):
    """An argument parser that reads ``-inf``, ``-1e3`` or ``-.5`` as numbers, not options.

    argparse takes an argument for an option when it starts with ``-`` and is not a
    plain negative number (``-5``, ``-5.0``); so ``-b -102 -76 -98 -inf`` would fail with
    "expected 4 arguments". Our options are all letters, so nothing else starts with ``-``
    and a digit, a dot, ``inf`` or ``nan``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
        )


#: What ``-h`` says the command does.
DESCRIPTION = (
    "Reduce ATL06 granules: keep segments with atl06_quality_summary == 0, "
    "|h_li| < 10 km and inside the bounding box; add GPS time (t_gps), UTC decimal "
    "year (t_year), polar stereographic x/y (EPSG:3031 south, 3413 north) and an ascending "
    "flag (is_asc); write one file per "
    "granule and beam, <granule>_<beam>.h5 (or one Parquet file per granule). "
    "Finished granules are skipped on re-runs; broken files are named and skipped; "
    "an output folder holding outputs made with another box or format is refused "
    "unless --overwrite. Outputs may go to a local folder or an S3 bucket (s3://...)."
)


def _parser() -> argparse.ArgumentParser:
    parser = NumberArgumentParser(
        prog="python -m helpers.reduce",
        description=DESCRIPTION,
        epilog="Example: python -m helpers.reduce data/ -o build/reduced "
        "-b -102 -76 -98 -74.5 -n 2",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILES_OR_DIRS",
        help="ATL06 granules, folders of them (*.h5), glob patterns, or URLs "
        "(https://..., s3://...) read by byte ranges without downloading: only what the "
        "box needs. NASA's https and s3 links use your Earthdata login "
        "(EARTHDATA_USERNAME/EARTHDATA_PASSWORD or ~/.netrc); s3:// of NASA's buckets "
        "works only inside AWS us-west-2",
    )
    _add_outdir(parser)
    parser.add_argument(
        "-b",
        "--bbox",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        help="keep points inside this box (degrees); W > E crosses the "
        "antimeridian. Default: keep everything",
    )
    parser.add_argument(
        "-n",
        "--jobs",
        type=int,
        default=1,
        help="granules reduced in parallel on this machine (default 1; at most one per "
        "available CPU)",
    )
    parser.add_argument(
        "--format",
        choices=("h5", "parquet"),
        default="h5",
        help="h5: one HDF5 file per granule and beam (default); parquet: one "
        "Parquet file per granule with a beam column",
    )
    _add_epsg(parser)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="redo granules that are already finished, replacing all their old outputs",
    )
    _add_scheduler(parser)
    _add_timeout(parser)
    _add_lease(parser)
    parser.add_argument(
        "--force", action="store_true", help="allow writing into a folder that holds input granules"
    )
    _add_verbosity(parser)
    return parser  # fmt: skip


def _add_scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster at ADDRESS "
        "(e.g. tcp://127.0.0.1:8786) instead of local processes; with workers on other "
        "machines, write to a bucket (-o s3://...). A lost worker's granules are reduced "
        "again by the others",
    )


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true",
                        help="print the package's log, with the traceback of every error "
                        "nobody expected (always kept in OUTDIR/.reduced/failures/)")


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"for URLs: seconds to wait for a connection, or for the next bytes of an "
        f"answer, before trying again ({ATTEMPTS} tries in all; default {DEFAULT_TIMEOUT_S:g})",
    )


def _add_outdir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--outdir",
        required=True,
        metavar="FOLDER_OR_URL",
        help="output folder, or s3://bucket/prefix to write into an S3 bucket (credentials "
        "from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws or an instance role, never "
        "from the URL; AWS_ENDPOINT_URL_S3 for an S3-compatible server). Either way an "
        "output appears only when complete, and records in .reduced/ let re-runs skip "
        "finished granules",
    )


def _add_lease(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE_S,
        metavar="SECONDS",
        help="for s3:// outputs: a granule's lock lasts this long unless its writer renews "
        "it (every third of it); a lost worker's granules are taken over by others after at "
        f"most this long (default {DEFAULT_LEASE_S:g}). Local folders use the kernel's locks",
    )


def _add_epsg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--epsg",
        type=int,
        metavar="CODE",
        help="project x/y to this EPSG code for every granule. Default: per granule, "
        "3031 (Antarctic polar stereographic) south of the equator, 3413 (NSIDC north polar "
        "stereographic) north of it",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 when every granule succeeded, else 1 (2: usage).

    Exits with 2 and one line for what is wrong before any granule is reduced (arguments,
    no granules, an output folder that cannot be written or holds outputs made with other
    options, an unreachable scheduler), and with 130 when interrupted (Ctrl-C).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.debug:
        debug_logging()
    try:
        bbox = BBox.from_sequence(args.bbox) if args.bbox else None
        options = ReduceOptions(bbox=bbox, fmt=args.format, overwrite=args.overwrite,
                                epsg=args.epsg, timeout=args.timeout,
                                lease=args.lease)  # fmt: skip
        if args.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
        summary = reduce_granules(
            args.inputs, args.outdir, options, n_jobs=args.jobs, scheduler=args.scheduler,
            progress=not args.quiet, force_input_dir=args.force,
        )  # fmt: skip
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"interrupted: unfinished granules carry no record; re-run to finish "
                         f"(temporary *{PARTIAL_SUFFIX} files are ignored)\n")  # fmt: skip
    print(summary.report())
    store = open_store(args.outdir)
    traced = unexpected_failures(store, summary)
    if traced and not args.debug:
        print(f"{traced} of the failures were errors nobody expected (a bug?): their tracebacks "
              f"are in {store.name_label(f'{RECORDS}/{FAILURES}')}/ (or run again with --debug)")
    return 1 if summary.failed else 0


def unexpected_failures(outdir: str | os.PathLike | Store, summary: RunSummary) -> int:
    """How many failed granules left a traceback in their failure record."""
    store = open_store(outdir)
    count = 0
    for result in summary.failed:
        stem = source_name(result.source).removesuffix(".h5")
        try:
            count += bool(stem and read_failure(store, stem).get("traceback"))
        except Exception:  # the store cannot be read now: the summary has said enough
            continue
    return count
