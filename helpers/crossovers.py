"""Crossovers: where an ascending and a descending ground track cross, and how their heights differ.

At a crossover two passes measured the same spot at two times, so their height difference
is the change between those times plus the difference of the two passes' errors: averaged
over many crossovers, it measures biases and precision (and elevation change, given the
times). Crossings are found **per beam**: each beam is its own ground track, 20 m
segments with its own errors (a beam's range bias on a given pass is one of them), so a
crossover compares two beams' measurements, not two averages of a pair's beams that lie
90 m apart. A *pass* here is one beam of one RGT in one cycle, in one direction
(ascending or descending; a pass over the polar turn is both).

How the search goes, out of core, on a Dask DataFrame of reduced outputs (one partition
at a time, partitions in parallel; only small tables are gathered):

1. **Thin** every pass to every :data:`COARSE_STEP`-th point (about 1 km apart): ground
   tracks are so straight in polar stereographic coordinates (the chord of 1 km departs
   from the track by millimetres) that these polylines cross where the tracks do.
2. **Candidates**: intersect every ascending coarse segment with every descending one in
   the same :data:`CANDIDATE_CELL_M` cell (in memory: the coarse segments are 50 times
   fewer than the points).
3. **Brackets**: in each partition, keep of each candidate's two passes the two points
   nearest the other pass's track on either side of it: along a straight track, the
   consecutive pair that straddles it and one point beyond each (a pass cut across
   partitions gives brackets from each, and the nearest are kept from all).
4. **Crossings**: intersect the two passes' segments between consecutive points, and
   interpolate each pass's height, time and height sigma linearly to the crossing point
   from the two points either side of it. A crossing whose segment spans a gap longer
   than ``max_gap_m`` (clouds, a missing beam, quality-flagged segments) is refused, and
   so is one whose four nearest heights of a pass do not lie near a line
   (``max_residual_m``: a blunder that passed the quality flag).

Reading the points twice (steps 1 and 3) is the price of never holding them all.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.granules import BEAMS

#: Longest segment (distance between consecutive points of a pass) that a crossing may lie
#: on (m): five segments of 20 m; longer ones are gaps, and their crossings are refused.
MAX_GAP_M = 100.0
#: Every this many points of a pass make its thinned (coarse) polyline (~1 km at 20 m).
COARSE_STEP = 50
#: Largest departure (m) of any of the four heights around a crossing (two either side)
#: from a straight line through them: more is a blunder the quality flag missed (tens to
#: hundreds of metres), and the crossing is refused. Noise is centimetres to decimetres.
MAX_RESIDUAL_M = 1.0
#: Cells in which coarse segments are paired (m); any size works: about the thinned
#: segments' length keeps the pairs to test (and the memory they take) few.
CANDIDATE_CELL_M = 1000.0
#: Coarse segments are lengthened by this much at both ends when paired (m): a crossing
#: within millimetres of a thinned polyline's end is not missed.
COARSE_TOLERANCE_M = 20.0
#: Points are kept within at least this distance of a candidate crossing (m; the longest
#: gap accepted if that is longer, so that every accepted crossing's bracket is kept).
WINDOW_M = 250.0
#: Columns the search reads; ``s_li`` (``h_li_sigma``) is used when present.
COLUMNS: tuple[str, ...] = ("x", "y", "t_year", "h_li", "is_asc", "beam", "rgt", "cycle")
#: The table :func:`find_crossovers` returns, column by column (``_1``: the earlier pass).
RESULT_COLUMNS: tuple[str, ...] = (
    "x", "y", "t_1", "t_2", "h_1", "h_2", "dh", "dt", "sigma_dh",
    "rgt_1", "cycle_1", "beam_1", "asc_1", "rgt_2", "cycle_2", "beam_2", "asc_2",
    "gap_1", "gap_2", "angle",
)  # fmt: skip


# -- passes --------------------------------------------------------------------------------


def pass_ids(df: pd.DataFrame) -> np.ndarray:
    """One integer per pass (RGT, cycle, beam, direction) for every row of a frame.

    Parameters
    ----------
    df : pandas.DataFrame
        With ``rgt``, ``cycle``, ``beam`` (names of :data:`helpers.granules.BEAMS`) and
        ``is_asc``.

    Returns
    -------
    numpy.ndarray of int64
        Decoded by :func:`describe_passes`.

    Examples
    --------
    >>> frame = pd.DataFrame({"rgt": [271], "cycle": [3], "beam": ["gt2l"], "is_asc": [False]})
    >>> pass_ids(frame)
    array([1110068])
    >>> describe_passes(pass_ids(frame)).to_dict("records")
    [{'rgt': 271, 'cycle': 3, 'beam': 'gt2l', 'is_asc': False}]
    """
    beams = pd.Categorical(df["beam"], categories=list(BEAMS)).codes.astype(np.int64)
    if (beams < 0).any():
        raise ValueError(f"the beam column holds names other than {', '.join(BEAMS)}")
    rgt = df["rgt"].to_numpy(dtype=np.int64)
    cycle = df["cycle"].to_numpy(dtype=np.int64)
    return ((rgt * 256 + cycle) * 8 + beams) * 2 + df["is_asc"].to_numpy(dtype=np.int64)


def describe_passes(ids: np.ndarray) -> pd.DataFrame:
    """``rgt``, ``cycle``, ``beam`` and ``is_asc`` of pass ids made by :func:`pass_ids`."""
    ids = np.asarray(ids, dtype=np.int64)
    beams = np.asarray(BEAMS)[(ids // 2) % 8]
    return pd.DataFrame({"rgt": ids // 4096, "cycle": (ids // 16) % 256, "beam": beams,
                         "is_asc": (ids % 2).astype(bool)})  # fmt: skip


def _sorted_by_pass(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pass ids of a partition's rows, and the order that sorts them by pass, then time."""
    ids = pass_ids(part)
    return ids, np.lexsort((part["t_year"].to_numpy(), ids))


# -- 1. thin -------------------------------------------------------------------------------

_NODES_META = pd.DataFrame({c: pd.Series([], dtype=d)
                            for c, d in {"pass_id": "i8", "t": "f8", "x": "f8", "y": "f8"}.items()})


def thin_passes(part: pd.DataFrame, step: int = COARSE_STEP) -> pd.DataFrame:
    """Every ``step``-th point of each pass in one partition, and each pass's last point.

    Parameters
    ----------
    part : pandas.DataFrame
        Reduced points (:data:`COLUMNS`).
    step : int
        Keep one point in ``step`` (in time order).

    Returns
    -------
    pandas.DataFrame
        ``pass_id``, ``t`` (decimal year), ``x``, ``y`` (m) of the kept points.
    """
    if len(part) == 0:
        return _NODES_META.copy()
    ids, order = _sorted_by_pass(part)
    ids = ids[order]
    first = np.r_[True, ids[1:] != ids[:-1]]
    last = np.r_[ids[1:] != ids[:-1], True]
    rank = np.arange(ids.size) - np.maximum.accumulate(np.where(first, np.arange(ids.size), 0))
    kept = (rank % step == 0) | last
    rows = order[kept]
    columns = {"t": "t_year", "x": "x", "y": "y"}
    return pd.DataFrame({"pass_id": ids[kept]}
                        | {k: part[c].to_numpy()[rows] for k, c in columns.items()})


# -- 2. candidates -------------------------------------------------------------------------


def segment_intersections(p0, p1, q0, q1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where segments ``p0-p1`` cross segments ``q0-q1``, element by element.

    Parameters
    ----------
    p0, p1, q0, q1 : numpy.ndarray, shape (..., 2)
        End points (m).

    Returns
    -------
    u, v, crosses : numpy.ndarray
        The crossing is ``p0 + u (p1 - p0) = q0 + v (q1 - q0)``; ``crosses`` is True where
        ``0 <= u < 1`` and ``0 <= v < 1`` (a crossing at a shared end point counts once)
        and the segments are not parallel.

    Examples
    --------
    >>> u, v, ok = segment_intersections(np.array([0., 0.]), np.array([2., 2.]),
    ...                                  np.array([0., 2.]), np.array([2., 0.]))
    >>> float(u), float(v), bool(ok)
    (0.5, 0.5, True)
    """
    r, s, w = p1 - p0, q1 - q0, q0 - p0
    denom = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (w[..., 0] * s[..., 1] - w[..., 1] * s[..., 0]) / denom
        v = (w[..., 0] * r[..., 1] - w[..., 1] * r[..., 0]) / denom
    crosses = (denom != 0) & (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
    return u, v, crosses


@dataclass(frozen=True)
class Candidates:
    """Candidate crossings of an ascending (``a``) and a descending (``d``) pass.

    Attributes
    ----------
    pass_a, pass_d : numpy.ndarray of int64
        The two passes (:func:`pass_ids`).
    x, y : numpy.ndarray
        Where their coarse polylines cross (m).
    seg_a, seg_d : numpy.ndarray, shape (n, 2, 2)
        The two coarse segments, end points (m): each pass's points are bracketed against
        the other's.
    window_m : float
        Points are looked for within at least this distance of each candidate (m).
    """

    pass_a: np.ndarray
    pass_d: np.ndarray
    x: np.ndarray
    y: np.ndarray
    seg_a: np.ndarray
    seg_d: np.ndarray
    window_m: float = 250.0

    def __len__(self) -> int:
        return int(self.pass_a.size)


def _coarse_segments(nodes: pd.DataFrame) -> pd.DataFrame:
    """Segments between consecutive nodes of each pass, lengthened at both ends."""
    nodes = nodes.sort_values(["pass_id", "t"], kind="stable")
    ids, xy = nodes["pass_id"].to_numpy(), nodes[["x", "y"]].to_numpy()
    same = ids[1:] == ids[:-1]
    p0, p1 = xy[:-1][same], xy[1:][same]
    length = np.hypot(*(p1 - p0).T)[:, None]
    unit = np.divide(p1 - p0, length, out=np.zeros_like(p0), where=length > 0)
    p0, p1 = p0 - COARSE_TOLERANCE_M * unit, p1 + COARSE_TOLERANCE_M * unit
    return pd.DataFrame({"pass_id": ids[:-1][same], "x0": p0[:, 0], "y0": p0[:, 1],
                         "x1": p1[:, 0], "y1": p1[:, 1]})  # fmt: skip


def _cells_of(segments: pd.DataFrame, cell_m: float) -> pd.DataFrame:
    """One row per (segment, cell its bounding box touches): ``seg`` and ``cell``."""
    lo_x = np.floor(np.minimum(segments.x0, segments.x1) / cell_m).astype(np.int64)
    hi_x = np.floor(np.maximum(segments.x0, segments.x1) / cell_m).astype(np.int64)
    lo_y = np.floor(np.minimum(segments.y0, segments.y1) / cell_m).astype(np.int64)
    hi_y = np.floor(np.maximum(segments.y0, segments.y1) / cell_m).astype(np.int64)
    nx, ny = hi_x - lo_x + 1, hi_y - lo_y + 1
    seg = np.repeat(np.arange(len(segments)), nx * ny)
    k = np.arange(seg.size) - np.repeat(np.cumsum(nx * ny) - nx * ny, nx * ny)
    cx, cy = lo_x[seg] + k % nx[seg], lo_y[seg] + k // nx[seg]
    return pd.DataFrame({"seg": seg, "cell": cx * 2**32 + (cy % 2**32)})


def candidate_crossings(nodes: pd.DataFrame, cell_m: float = CANDIDATE_CELL_M,
                        window_m: float = WINDOW_M) -> Candidates:  # fmt: skip
    """Where the thinned polylines of ascending and descending passes cross.

    Parameters
    ----------
    nodes : pandas.DataFrame
        :func:`thin_passes` of every partition, concatenated (any order).
    cell_m : float
        Size of the cells in which segments are paired (m).
    window_m : float
        Points within at least this distance of a candidate will be searched (m; at least
        the longest gap to accept).

    Returns
    -------
    Candidates
        One per pair of passes (straight tracks cross at most once).
    """
    segments = _coarse_segments(nodes)
    asc = (segments["pass_id"].to_numpy() % 2).astype(bool)
    cells = _cells_of(segments, cell_m)
    on_asc = asc[cells["seg"].to_numpy()]
    pairs = cells[on_asc].merge(cells[~on_asc], on="cell", suffixes=("_a", "_d"))
    pairs = pairs[["seg_a", "seg_d"]].drop_duplicates()
    ia, idd = pairs["seg_a"].to_numpy(), pairs["seg_d"].to_numpy()
    ends = segments[["x0", "y0", "x1", "y1"]].to_numpy().reshape(-1, 2, 2)
    u, _, crosses = segment_intersections(ends[ia, 0], ends[ia, 1], ends[idd, 0], ends[idd, 1])
    ia, idd, u = ia[crosses], idd[crosses], u[crosses]
    ids = segments["pass_id"].to_numpy()
    _, first = np.unique(np.column_stack([ids[ia], ids[idd]]), axis=0, return_index=True)
    ia, idd, u = ia[first], idd[first], u[first]
    point = ends[ia, 0] + u[:, None] * (ends[ia, 1] - ends[ia, 0])
    return Candidates(ids[ia], ids[idd], point[:, 0], point[:, 1], ends[ia], ends[idd],
                      window_m)  # fmt: skip


# -- 3. brackets ---------------------------------------------------------------------------

_BRACKET_COLUMNS = {"cand": "i8", "side": "i1", "t": "f8", "x": "f8", "y": "f8", "h": "f8",
                    "s": "f8", "d": "f8"}  # fmt: skip
_BRACKETS_META = pd.DataFrame({c: pd.Series([], dtype=d) for c, d in _BRACKET_COLUMNS.items()})


def _window_keys(pass_id: np.ndarray, x: np.ndarray, y: np.ndarray,
                 window_m: float) -> np.ndarray:  # fmt: skip
    """One int64 per (pass, window cell): points meet the candidates of their own pass."""
    cx = np.floor(x / window_m).astype(np.int64) % 2**14
    cy = np.floor(y / window_m).astype(np.int64) % 2**14
    return (pass_id * 2**14 + cx) * 2**14 + cy


def _sides(cands: Candidates, present: np.ndarray) -> pd.DataFrame:
    """Each candidate twice (side 0: its ascending pass, 1: its descending pass), for the
    passes ``present`` only, keyed by the pass and each of the 3 x 3 window cells around
    the candidate."""
    n = len(cands)
    side = np.repeat(np.array([0, 1], dtype=np.int8), n)
    cand = np.tile(np.arange(n), 2)
    pass_id = np.concatenate([cands.pass_a, cands.pass_d])
    here = np.isin(pass_id, present)
    side, cand, pass_id = side[here], cand[here], pass_id[here]
    x, y = cands.x[cand], cands.y[cand]
    offsets = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float)
    keys = [_window_keys(pass_id, x + dx, y + dy, cands.window_m)
            for dx, dy in offsets * cands.window_m]  # fmt: skip
    return pd.DataFrame({"key": np.concatenate(keys), "cand": np.tile(cand, 9),
                         "side": np.tile(side, 9)})  # fmt: skip


def bracket_points(part: pd.DataFrame, cands: Candidates) -> pd.DataFrame:
    """For each candidate and each of its passes in this partition: the two points either
    side of the other pass's track nearest to it (two consecutive points that straddle it,
    and one point beyond each).

    Parameters
    ----------
    part : pandas.DataFrame
        Reduced points (:data:`COLUMNS`, and ``s_li`` if present).
    cands : Candidates

    Returns
    -------
    pandas.DataFrame
        ``cand``, ``side`` (0 ascending, 1 descending), ``t``, ``x``, ``y``, ``h``, ``s``
        (height sigma, NaN without ``s_li``) and ``d`` (signed distance from the other
        pass's track, m): up to four rows per candidate and side, in time order.
    """
    if len(part) == 0 or len(cands) == 0:
        return _BRACKETS_META.copy()
    ids, order = _sorted_by_pass(part)
    x, y = part["x"].to_numpy()[order], part["y"].to_numpy()[order]
    points = pd.DataFrame({"key": _window_keys(ids[order], x, y, cands.window_m), "row": order})
    near = points.merge(_sides(cands, np.unique(ids)), on="key")
    if near.empty:
        return _BRACKETS_META.copy()
    return _straddling(part, near, cands)


def _straddling(part: pd.DataFrame, near: pd.DataFrame, cands: Candidates) -> pd.DataFrame:
    """The two points nearest to the other pass's track on either side of it, for each
    (candidate, side) group: consecutive points along a straight track, whichever
    partitions its points are in (:func:`_nearest_two_each_side`)."""
    rows, cand, side = (near[c].to_numpy() for c in ("row", "cand", "side"))
    xy = np.column_stack([part["x"].to_numpy()[rows], part["y"].to_numpy()[rows]])
    other = np.where((side == 0)[:, None, None], cands.seg_d[cand], cands.seg_a[cand])
    along, rel = other[:, 1] - other[:, 0], xy - other[:, 0]
    length = np.hypot(along[:, 0], along[:, 1])
    dist = (along[:, 0] * rel[:, 1] - along[:, 1] * rel[:, 0]) / np.where(length > 0, length, 1)
    frame = _bracket_frame(part, rows, cand, side).assign(d=dist)
    return _nearest_two_each_side(frame)


def _nearest_two_each_side(frame: pd.DataFrame) -> pd.DataFrame:
    """Of each (candidate, side) group's rows, the two nearest the other track (smallest
    ``|d|``) with ``d < 0`` and the two with ``d >= 0``, in time order."""
    below = (frame["d"].to_numpy() < 0).astype(np.int8)
    frame = frame.assign(below=below, far=np.abs(frame["d"].to_numpy()))
    frame = frame.sort_values(["cand", "side", "below", "far"], kind="stable")
    nearest = frame.groupby(["cand", "side", "below"], sort=False).head(2)
    return nearest.drop(columns=["below", "far"]).sort_values(["cand", "side", "t"],
                                                              ignore_index=True)  # fmt: skip


def _bracket_frame(part: pd.DataFrame, rows, cand, side) -> pd.DataFrame:
    """The bracket rows as :data:`_BRACKETS_META` columns."""
    sigma = (part["s_li"].to_numpy(dtype=np.float64)[rows] if "s_li" in part.columns
             else np.full(rows.size, np.nan))  # fmt: skip
    return pd.DataFrame({
        "cand": cand.astype(np.int64), "side": side.astype(np.int8),
        "t": part["t_year"].to_numpy(dtype=np.float64)[rows],
        "x": part["x"].to_numpy(dtype=np.float64)[rows],
        "y": part["y"].to_numpy(dtype=np.float64)[rows],
        "h": part["h_li"].to_numpy(dtype=np.float64)[rows], "s": sigma,
    })  # fmt: skip


# -- 4. crossings --------------------------------------------------------------------------


def _bracket_array(brackets: pd.DataFrame, n: int) -> np.ndarray:
    """Brackets as an array (candidate, side, row 0-3, field t x y h s), NaN where absent.

    A pass cut across partitions has brackets from each: the two nearest points either
    side of the other track are kept from all of them."""
    b = _nearest_two_each_side(brackets)
    cand, side = b["cand"].to_numpy(), b["side"].to_numpy()
    start = np.r_[True, (cand[1:] != cand[:-1]) | (side[1:] != side[:-1])]
    idx = np.arange(cand.size)
    rank = idx - np.maximum.accumulate(np.where(start, idx, 0))
    out = np.full((n, 2, 4, 5), np.nan)
    out[cand, side, rank] = b[["t", "x", "y", "h", "s"]].to_numpy()
    return out


def _interpolate(ends: np.ndarray, at: np.ndarray, frac: np.ndarray) -> dict[str, np.ndarray]:
    """Height, time and sigma of one pass at a fraction of its segment ``at``..``at+1``."""
    rows = np.arange(ends.shape[0])
    a, b = ends[rows, at], ends[rows, at + 1]
    return {
        "t": (1 - frac) * a[:, 0] + frac * b[:, 0],
        "h": (1 - frac) * a[:, 3] + frac * b[:, 3],
        "s": np.hypot((1 - frac) * a[:, 4], frac * b[:, 4]),
        "gap": np.hypot(b[:, 1] - a[:, 1], b[:, 2] - a[:, 2]),
        "dir": np.arctan2(b[:, 2] - a[:, 2], b[:, 1] - a[:, 1]),
    }


def _line_misfit(side: np.ndarray) -> np.ndarray:
    """Largest distance (m) of a pass's bracket heights from their least-squares line in
    time (0 with fewer than three heights); ``side`` is (candidate, row, field)."""
    valid = np.isfinite(side[..., 3])
    n = valid.sum(axis=1)
    t = np.where(valid, side[..., 0], 0.0) * 3.15e7  # decimal years to seconds
    h = np.where(valid, side[..., 3], 0.0)
    count = np.maximum(n, 1)[:, None]
    tc = np.where(valid, t - t.sum(axis=1, keepdims=True) / count, 0.0)
    hc = np.where(valid, h - h.sum(axis=1, keepdims=True) / count, 0.0)
    spread = (tc * tc).sum(axis=1, keepdims=True)
    slope = np.divide((tc * hc).sum(axis=1, keepdims=True), spread,
                      out=np.zeros_like(spread), where=spread > 0)  # fmt: skip
    misfit = np.abs(np.where(valid, hc - slope * tc, 0.0)).max(axis=1)
    return np.where(n >= 3, misfit, 0.0)


def resolve_crossings(brackets: pd.DataFrame, cands: Candidates, max_gap_m: float = MAX_GAP_M,
                      max_residual_m: float = MAX_RESIDUAL_M) -> pd.DataFrame:  # fmt: skip
    """The crossing of every candidate, from the brackets of its two passes.

    Parameters
    ----------
    brackets : pandas.DataFrame
        :func:`bracket_points` of every partition, concatenated.
    cands : Candidates
    max_gap_m : float
        Crossings on a segment longer than this (m) are refused.
    max_residual_m : float
        Crossings where a pass's four nearest heights depart further than this from a line
        (m) are refused (``numpy.inf``: none is).

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS` (see :func:`find_crossovers`); its ``attrs`` count the
        ``candidates``, those refused for a ``gap`` and for a ``blunder``.
    """
    arr = _bracket_array(brackets, len(cands))
    xy = arr[..., 1:3]
    p0, p1 = xy[:, 0, :3, None], xy[:, 0, 1:, None]
    q0, q1 = xy[:, 1, None, :3], xy[:, 1, None, 1:]
    u, v, crosses = segment_intersections(p0, p1, q0, q1)  # (n, 3, 3)
    flat = crosses.reshape(len(cands), 9)
    found = flat.any(axis=1)
    pick = np.argmax(flat, axis=1)
    ja, jd = pick // 3, pick % 3
    rows = np.arange(len(cands))
    asc = _interpolate(arr[:, 0], ja, u[rows, ja, jd])
    desc = _interpolate(arr[:, 1], jd, v[rows, ja, jd])
    point = p0[rows, ja, 0] + u[rows, ja, jd, None] * (p1[rows, ja, 0] - p0[rows, ja, 0])
    gap_ok = found & (asc["gap"] <= max_gap_m) & (desc["gap"] <= max_gap_m)
    misfit = np.maximum(_line_misfit(arr[:, 0]), _line_misfit(arr[:, 1]))
    ok = gap_ok & (misfit <= max_residual_m)
    angle = np.degrees(np.abs(asc["dir"] - desc["dir"])) % 180
    table = _crossing_table(cands, ok, point, asc, desc, np.minimum(angle, 180 - angle))
    table.attrs.update(candidates=len(cands), gap=int((~gap_ok).sum()),
                       blunder=int((gap_ok & ~ok).sum()))  # fmt: skip
    return table


def _crossing_table(cands: Candidates, ok, point, asc: dict, desc: dict,
                    angle) -> pd.DataFrame:  # fmt: skip
    """The accepted crossings, each pass put first or second by time (1: the earlier)."""
    first_is_asc = asc["t"][ok] <= desc["t"][ok]
    passes = {"a": describe_passes(cands.pass_a[ok]), "d": describe_passes(cands.pass_d[ok])}

    out = {"x": point[ok, 0], "y": point[ok, 1]}
    for n, a_first in (("1", first_is_asc), ("2", ~first_is_asc)):
        for field in ("t", "h", "s", "gap"):
            out[f"{field}_{n}"] = np.where(a_first, asc[field][ok], desc[field][ok])
        for field in ("rgt", "cycle", "beam", "is_asc"):
            name = "asc" if field == "is_asc" else field
            out[f"{name}_{n}"] = np.where(a_first, passes["a"][field], passes["d"][field])
    out["dh"], out["dt"] = out["h_2"] - out["h_1"], out["t_2"] - out["t_1"]
    out["sigma_dh"] = np.hypot(out.pop("s_1"), out.pop("s_2"))
    out["angle"] = angle[ok]
    table = pd.DataFrame(out)[list(RESULT_COLUMNS)]
    return table.sort_values(["t_1", "t_2", "x"], ignore_index=True)


# -- all together --------------------------------------------------------------------------


def find_crossovers(df, max_gap_m: float = MAX_GAP_M, max_residual_m: float = MAX_RESIDUAL_M,
                    step: int = COARSE_STEP) -> pd.DataFrame:  # fmt: skip
    """Every crossing of an ascending and a descending pass (per beam) in reduced points.

    Parameters
    ----------
    df : dask.dataframe.DataFrame or pandas.DataFrame
        Reduced points with :data:`COLUMNS` (``helpers.load.open_reduced(folder,
        columns=[*COLUMNS, "s_li"])``); ``s_li`` (``h_li_sigma``) gives ``sigma_dh``. A
        dask frame is read twice, partition by partition, with dask's current scheduler.
    max_gap_m : float
        Refuse crossings on a segment longer than this (m).
    max_residual_m : float
        Refuse crossings where a pass's four nearest heights depart further than this (m)
        from a straight line: blunders (``numpy.inf`` keeps them).
    step : int
        Thin passes to one point in ``step`` to find candidates (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per crossing, ordered by time: ``x``, ``y`` (m, the data's projection);
        ``t_1``, ``t_2`` (decimal years; 1 is the earlier pass), ``h_1``, ``h_2`` (m),
        ``dh = h_2 - h_1`` (m), ``dt = t_2 - t_1`` (years), ``sigma_dh`` (m, from the
        segments' sigmas), ``rgt_n``, ``cycle_n``, ``beam_n``, ``asc_n`` of each pass,
        ``gap_n`` (m, the length of the segment each was interpolated on) and ``angle``
        (degrees between the tracks). ``attrs`` counts the ``candidates``, and those
        refused for a ``gap`` or a ``blunder``.

    Examples
    --------
    >>> points = open_reduced("build/reduced", columns=[*COLUMNS, "s_li"])  # doctest: +SKIP
    >>> xovers = find_crossovers(points)  # doctest: +SKIP
    >>> xovers.groupby(["cycle_1", "cycle_2"]).dh.describe()  # doctest: +SKIP
    """
    import dask.dataframe as dd

    frame = df if isinstance(df, dd.DataFrame) else dd.from_pandas(df, npartitions=1)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"crossovers need the columns {', '.join(missing)}; open the reduced "
                         f"outputs with columns={[*COLUMNS, 's_li']}")  # fmt: skip
    frame = frame[[c for c in (*COLUMNS, "s_li") if c in frame.columns]]
    nodes = frame.map_partitions(thin_passes, step, meta=_NODES_META).compute()
    cands = candidate_crossings(nodes, window_m=max(WINDOW_M, max_gap_m))
    brackets = _BRACKETS_META
    if len(cands):
        shared = _shared(cands)
        brackets = frame.map_partitions(bracket_points, shared, meta=_BRACKETS_META).compute()
    return resolve_crossings(brackets, cands, max_gap_m, max_residual_m)


def _shared(cands: Candidates):
    """The candidates as every partition's task gets them: sent once to each worker of a
    ``dask.distributed`` client when one is running (tens of MB for millions of points),
    else as they are (threads share them)."""
    if "distributed" not in sys.modules:  # no client can exist
        return cands
    from distributed import get_client

    try:
        client = get_client()
    except ValueError:  # distributed imported, no client
        return cands
    return client.scatter(cands, broadcast=True, hash=False)
