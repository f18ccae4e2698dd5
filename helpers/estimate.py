"""What reducing one cycle of a continent costs, scaled by segments from a measured rate.

Notebook 6 estimates the cost of reducing one 91-day cycle of Antarctica from a rate measured
end to end (``bench/bench_end_to_end.py``: granules read by byte ranges over an emulated
in-region link, reduced by worker processes, outputs written to an S3 server). The inputs are
stated, the arithmetic is here:

- segments per cycle = passes per cycle × beams × segments per beam and pass;
- worker-hours = segments per cycle / (segments per second of one worker) / 3600;
- bytes transferred per cycle = segments per cycle × bytes transferred per segment read.

:func:`load_end_to_end` reads the committed figures (``bench/results/end_to_end.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helpers.config import REPO_ROOT

#: Reference ground tracks per 91-day cycle: one orbit each, crossing Antarctica once.
PASSES_PER_CYCLE = 1387
#: Beams of ATLAS (three pairs of a strong and a weak beam).
BEAMS = 6
#: Along-track distance between two ATL06 segments (m).
SEGMENT_SPACING_M = 20.0
#: The end-to-end benchmark's committed figures.
END_TO_END_RESULTS = REPO_ROOT / "bench" / "results" / "end_to_end.json"


@dataclass(frozen=True)
class CycleEstimate:
    """The cost of reducing one cycle.

    Attributes
    ----------
    segments : float
        Segments read per cycle.
    worker_hours : float
        Hours of one worker process to reduce them.
    bytes_transferred : float
        Bytes fetched from the granules' server per cycle.
    """

    segments: float
    worker_hours: float
    bytes_transferred: float

    def hours_on(self, workers: int) -> float:
        """Wall hours on ``workers`` worker processes, assuming perfect scaling."""
        return self.worker_hours / workers


def segments_per_beam_pass(track_km: float, spacing_m: float = SEGMENT_SPACING_M) -> float:
    """Segments of one beam along ``track_km`` km of ice, one every ``spacing_m`` metres.

    Examples
    --------
    >>> segments_per_beam_pass(4000)
    200000.0
    """
    return track_km * 1e3 / spacing_m


def cycle_estimate(segments_per_second: float, bytes_per_segment: float,
                   per_beam_pass: float, passes: int = PASSES_PER_CYCLE,
                   beams: int = BEAMS) -> CycleEstimate:  # fmt: skip
    """Scale a measured per-worker rate to one cycle of passes.

    Parameters
    ----------
    segments_per_second : float
        Segments read and reduced per second by one worker process, end to end.
    bytes_per_segment : float
        Bytes transferred from the granules' server per segment read.
    per_beam_pass : float
        Segments of one beam in one pass over the area (:func:`segments_per_beam_pass`).
    passes : int
        Passes over the area per cycle (default :data:`PASSES_PER_CYCLE`).
    beams : int
        Beams per pass (default :data:`BEAMS`).

    Returns
    -------
    CycleEstimate

    Examples
    --------
    1387 passes × 6 beams × 200,000 segments at 100,000 segments per second per worker,
    40 bytes per segment:

    >>> e = cycle_estimate(100_000, 40, 200_000)
    >>> f"{e.segments:.4g}, {e.worker_hours:.3f} h, {e.bytes_transferred / 1e9:.1f} GB"
    '1.664e+09, 4.623 h, 66.6 GB'
    >>> round(e.hours_on(100) * 60, 2)  # minutes on 100 workers
    2.77
    """
    if segments_per_second <= 0:
        raise ValueError(f"segments_per_second must be positive, not {segments_per_second}")
    segments = passes * beams * per_beam_pass
    return CycleEstimate(segments=segments,
                         worker_hours=segments / segments_per_second / 3600,
                         bytes_transferred=segments * bytes_per_segment)  # fmt: skip


def load_end_to_end(path: str | Path = END_TO_END_RESULTS) -> dict:
    """The end-to-end benchmark's figures, as ``bench/bench_end_to_end.py`` wrote them.

    Parameters
    ----------
    path : str or Path
        The JSON file (default: the committed ``bench/results/end_to_end.json``).

    Returns
    -------
    dict
        ``machine``, ``date``, ``parameters`` (granules, jobs, link) and ``figures``
        (wall seconds, segments read, segments per second, bytes transferred, ...).
    """
    return json.loads(Path(path).read_text())
