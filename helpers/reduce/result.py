"""What the reducer says about one granule: :class:`GranuleResult` and its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: What happened to a granule: reduced now, already finished earlier, or not reduced.
Status = Literal["done", "skipped", "failed"]


@dataclass
class GranuleResult:
    """What happened to one granule.

    Attributes
    ----------
    source : str
        The input: a path, or a URL without credentials or query string.
    status : str
        ``"done"``, ``"skipped"`` (already finished) or ``"failed"``.
    reason : str
        Why it failed (empty otherwise).
    notes : list of str
        Beams left out and why (absent, no valid point, outside the area), values taken
        from the file name, unknown orientation, the projection of a granule that
        straddles the equator.
    points_read, points_kept : int
        Segments in the beams read, and kept after filtering.
    outputs : list of str
        Files written (names within the output folder).
    seconds : float
        Time taken.
    absent_variables : list of str
        Optional output variables the granule lacks, written as NaN (int8 flags: 127);
        ``"name (gt1l, gt2l)"`` when only some beams lack one.
    bytes_read : int
        Stored (compressed) bytes of the segment variables fetched: what area-aware reads
        save, and what a remote read transfers at least.
    requests, bytes_fetched : int
        For URLs and fsspec file objects: requests made and bytes received over the
        network (0 for local files).

    Examples
    --------
    >>> GranuleResult(source="ATL06_x.h5", status="failed", reason="file not found").status
    'failed'
    """

    source: str
    status: Status
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    points_read: int = 0
    points_kept: int = 0
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    absent_variables: list[str] = field(default_factory=list)
    bytes_read: int = 0
    requests: int = 0
    bytes_fetched: int = 0
