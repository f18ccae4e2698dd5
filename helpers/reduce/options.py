"""What a caller asks of the reducer: :class:`ReduceOptions`, and what a record keeps of them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal, get_args

from helpers import __version__
from helpers.bbox import BBox
from helpers.projection import check_epsg
from helpers.reduce.lease import DEFAULT_LEASE_S
from helpers.reduce.transport import DEFAULT_TIMEOUT_S
from helpers.reduce.variables import MAX_ABS_HEIGHT_M

#: Output formats: one HDF5 file per granule and beam, or one Parquet file per granule.
OutputFormat = Literal["h5", "parquet"]
FORMATS: tuple[str, ...] = get_args(OutputFormat)

#: ReduceOptions fields that change how a granule is read, never what is written.
HOW_TO_READ = ("area_reads", "read_ahead", "timeout")
#: ReduceOptions fields that change how outputs are written, never what they hold.
HOW_TO_WRITE = ("lease",)


@dataclass(frozen=True)
class ReduceOptions:
    """How to reduce: area, output format, projection, and whether to redo finished granules.

    Attributes
    ----------
    bbox : BBox, optional
        Keep points inside this box; default: everywhere.
    fmt : str
        ``"h5"`` (one file per granule and beam) or ``"parquet"`` (one per granule).
    overwrite : bool
        Redo granules that are already finished.
    epsg : int, optional
        Project x/y to this EPSG code; default: per granule, EPSG:3031 south of the
        equator and EPSG:3413 north of it.
    area_reads : bool
        With a box, read only the index ranges that can hold points inside it (the same
        outputs as a whole read, fewer bytes); False reads every segment.
    read_ahead : bool or None
        Read the next beam in one extra thread while this one is filtered, projected and
        written (projecting, large numpy operations and writing release the GIL; ISA-L's
        inflate does not): faster with one job on a machine with a spare core, no help
        when every core already runs a job. None (the default) lets
        :func:`~helpers.reduce.run.reduce_granules` decide: on when it reduces the granules
        one at a time in its own process, off in worker processes and in direct calls.
    timeout : float
        For URLs: seconds to wait for a connection or for the next bytes of an answer
        before trying again (each request is tried 3 times; see
        :mod:`helpers.reduce.transport`).
    lease : float
        For outputs in an object store (``s3://``): seconds a granule's lock lasts without
        renewal. Its holder renews it every third of that; a worker that is lost holds it
        at most this long before another worker takes the granule over (see
        :mod:`helpers.reduce.lease`). Local folders use the kernel's locks instead.

    Examples
    --------
    >>> options = ReduceOptions(bbox=BBox(-102.0, -76.0, -98.0, -74.5), fmt="parquet")
    >>> print(*options.describe_filters().split("; "), sep="\\n")
    atl06_quality_summary == 0
    |h_li| < 10000 m
    inside bbox [W, S, E, N] = [-102.0, -76.0, -98.0, -74.5]
    """

    bbox: BBox | None = None
    fmt: OutputFormat = "h5"
    overwrite: bool = False
    epsg: int | None = None
    area_reads: bool = True
    read_ahead: bool | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    lease: float = DEFAULT_LEASE_S

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"output format must be 'h5' or 'parquet', not {self.fmt!r}")
        if self.epsg is not None:
            object.__setattr__(self, "epsg", check_epsg(self.epsg))
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")
        if not self.lease > 0:
            raise ValueError(f"lease must be a positive number of seconds, not {self.lease}")

    def describe_filters(self) -> str:
        """The filters as one line, stored with every output."""
        text = f"atl06_quality_summary == 0; |h_li| < {MAX_ABS_HEIGHT_M:g} m"
        if self.bbox is not None:
            text += f"; inside bbox [W, S, E, N] = {self.bbox.as_list()}"
        return text


def record_options(options: ReduceOptions) -> dict:
    """The options a granule's record keeps (all but ``overwrite``, :data:`HOW_TO_READ` and
    :data:`HOW_TO_WRITE`; ``epsg`` when forced), as JSON reads them back."""
    skipped = ("overwrite", *HOW_TO_READ, *HOW_TO_WRITE)
    key = {k: v for k, v in asdict(options).items() if k not in skipped}
    if options.epsg is None:  # chosen per granule (in each output's attributes)
        del key["epsg"]
    key["bbox"] = options.bbox.as_list() if options.bbox is not None else None
    key["filters"] = options.describe_filters()
    key["software"] = f"helpers.reduce {__version__}"
    return json.loads(json.dumps(key, default=str))
