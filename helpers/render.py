"""Maps of millions of points with datashader: ``python -m helpers.render``.

datashader bins every point into a fixed grid of pixels (an *aggregate*: count, mean,
...), working partition by partition on a dask DataFrame, so memory does not grow with
the number of points. The aggregate is then drawn with matplotlib, with axes in km
(EPSG:3031), a colour bar, a title and the point count.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.errors import debug_logging

log = logging.getLogger("helpers.render")  # not __name__: "__main__" under python -m

#: Default map size in pixels.
DEFAULT_SIZE = 600
#: Colour maps and labels for common columns.
COLUMN_STYLES: dict[str, tuple[str, str]] = {
    "h_li": ("viridis", "height above WGS84 ellipsoid (m)"),
    "t_year": ("plasma", "time (decimal year)"),
    "count": ("magma", "points per pixel"),
    "dh_fit_dx": ("RdBu_r", "along-track slope (m/m)"),
    "dhdt": ("RdBu", "elevation change (m/yr)"),
}


@dataclass
class MapResult:
    """An aggregated map: the grid, what it shows and how many points went in."""

    grid: Any  # xarray.DataArray with x/y coordinates in metres
    column: str
    how: str
    points: int
    epsg: int | None = None  # of the x/y coordinates, when the frame says

    @property
    def label(self) -> str:
        """Colour-bar label."""
        base = COLUMN_STYLES.get(self.column, ("", self.column))[1]
        return base if self.how in ("mean", "count") else f"{self.how} of {base}"


def bounds(df, pad_fraction: float = 0.02) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y ranges (m) of a frame's points, padded a little; computes min/max only.

    Raises
    ------
    ValueError
        If the frame holds no point (one line, for the command line to print).
    """
    import dask

    xmin, xmax, ymin, ymax = dask.compute(df.x.min(), df.x.max(), df.y.min(), df.y.max())
    if not np.isfinite([xmin, xmax, ymin, ymax]).all():
        raise ValueError("no points to draw: the reduced outputs hold no rows (every point "
                         "was filtered out, or the box missed the tracks)")  # fmt: skip
    dx = (xmax - xmin) * pad_fraction or 1000.0
    dy = (ymax - ymin) * pad_fraction or 1000.0
    return (float(xmin - dx), float(xmax + dx)), (float(ymin - dy), float(ymax + dy))


def aggregate(
    df,
    column: str = "h_li",
    how: str = "mean",
    width: int = DEFAULT_SIZE,
    height: int = DEFAULT_SIZE,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> MapResult:
    """Bin points into a ``width`` x ``height`` grid with datashader.

    Parameters
    ----------
    df : dask or pandas DataFrame
        With ``x``, ``y`` (m, polar stereographic) and ``column``.
    column : str
        Value to aggregate (ignored for ``how="count"``).
    how : str
        ``"mean"``, ``"count"``, ``"min"``, ``"max"`` or ``"std"``.
    x_range, y_range : tuple of float, optional
        Map extent (m); default: the points' extent.
    """
    import datashader as ds
    import datashader.reductions as rd

    if x_range is None or y_range is None:
        x_range, y_range = bounds(df)
    reductions = {"mean": rd.mean, "count": rd.count, "min": rd.min, "max": rd.max, "std": rd.std}
    if how not in reductions:
        raise ValueError(f"how must be one of {', '.join(reductions)}, not {how!r}")
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
    reduction = rd.count() if how == "count" else reductions[how](column)
    if how == "count":
        grid = canvas.points(df, "x", "y", agg=reduction)
        points = int(grid.sum())
    else:
        both = canvas.points(df, "x", "y", agg=rd.summary(value=reduction, n=rd.count(column)))
        grid, points = both["value"], int(both["n"].sum())
    return MapResult(grid=grid, column="count" if how == "count" else column, how=how,
                     points=points, epsg=_epsg(df))  # fmt: skip


def _epsg(df) -> int | None:
    from helpers.load import epsg_of

    return epsg_of(df)


def axis_label(axis: str, epsg: int | None) -> str:
    """``"x (km, EPSG:3413)"``; without the code when it is unknown."""
    return f"{axis} (km, EPSG:{epsg})" if epsg else f"{axis} (km)"


def draw(
    result: MapResult,
    ax=None,
    title: str | None = None,
    cmap: str | None = None,
    limits: tuple[float, float] | None = None,
):
    """Draw an aggregate with matplotlib: axes in km, colour bar, title with the point count.

    ``limits`` fixes the colour range (e.g. to compare two maps); default: the data's range.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    grid = result.grid
    x_km, y_km = grid["x"].values / 1e3, grid["y"].values / 1e3
    half_x = (x_km[1] - x_km[0]) / 2 if x_km.size > 1 else 0.5
    half_y = (y_km[1] - y_km[0]) / 2 if y_km.size > 1 else 0.5
    extent = (x_km[0] - half_x, x_km[-1] + half_x, y_km[0] - half_y, y_km[-1] + half_y)
    values = np.ma.masked_invalid(np.asarray(grid.values, dtype=float))
    if result.how == "count":
        values = np.ma.masked_equal(values, 0)
    cmap = cmap or COLUMN_STYLES.get(result.column, ("viridis", ""))[0]
    vmin, vmax = limits if limits is not None else (None, None)
    image = ax.imshow(values, origin="lower", extent=extent, cmap=cmap, interpolation="nearest",
                      vmin=vmin, vmax=vmax)  # fmt: skip
    plt.colorbar(image, ax=ax, label=result.label, shrink=0.85)
    ax.set_xlabel(axis_label("x", result.epsg))
    ax.set_ylabel(axis_label("y", result.epsg))
    ax.set_aspect("equal")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    heading = title or f"{result.how} of {result.column}"
    ax.set_title(f"{heading}\n{result.points:,} points")
    return ax


def render_map(
    df,
    column: str = "h_li",
    how: str = "mean",
    png: str | os.PathLike | None = None,
    title: str | None = None,
    width: int = DEFAULT_SIZE,
    height: int = DEFAULT_SIZE,
) -> MapResult:
    """Aggregate, draw and (optionally) save a map as PNG. Returns the aggregate.

    The PNG is written atomically, to ``png`` or, if that does not end in ``.png``, to
    ``png`` + ``.png`` (see :func:`png_path`).

    The figure stays open (a notebook shows it); close it with ``plt.close()`` in scripts.
    """
    result = aggregate(df, column, how, width, height)
    ax = draw(result, title=title)
    if png is not None:
        save_png(ax.figure, png)
    return result


def ascending_descending(df, column: str = "h_li", how: str = "mean", png=None):
    """Side-by-side maps of ascending and descending passes, on the same extent and colours.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    x_range, y_range = bounds(df)
    results = [
        aggregate(df[df.is_asc == flag], column, how, x_range=x_range, y_range=y_range)
        for flag in (True, False)
    ]
    values = np.concatenate([np.ravel(r.grid.values) for r in results]).astype(float)
    finite = values[np.isfinite(values)]
    limits = (float(finite.min()), float(finite.max())) if finite.size else None
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    for ax, result, name in zip(axes, results, ("ascending", "descending"), strict=True):
        draw(result, ax=ax, title=f"{name} passes: {how} of {column}", limits=limits)
    if png is not None:
        save_png(fig, png)
    return fig


def enable_offline_bokeh() -> None:
    """Make HoloViews/Bokeh plots work with no network: embed BokehJS in the notebook.

    Call before ``import icepyx`` or ``hv.extension(...)``: both load the notebook
    extension, which by default fetches BokehJS from a CDN and so draws nothing offline.
    """
    os.environ.setdefault("PANEL_INLINE", "true")
    from holoviews.ipython import notebook_extension

    notebook_extension.inline = True


def interactive_map(df, column: str = "h_li", width: int = 650, height: int = 550):
    """A zoomable map in JupyterLab: hvplot with datashader re-aggregating on zoom.

    Needs a live kernel (the server re-renders each view); works offline after
    :func:`enable_offline_bokeh`.
    """
    enable_offline_bokeh()
    import holoviews as hv
    import hvplot.dask  # noqa: F401  (registers .hvplot on dask frames)
    import panel as pn

    hv.extension("bokeh", logo=False)
    cmap, label = COLUMN_STYLES.get(column, ("viridis", column))
    km = df.assign(x_km=df.x / 1e3, y_km=df.y / 1e3)
    view = km.hvplot.points(
        "x_km", "y_km", c=column, rasterize=True, aggregator="mean", cmap=cmap, colorbar=True,
        clabel=label, width=width, height=height, data_aspect=1,
        xlabel=axis_label("x", _epsg(df)), ylabel=axis_label("y", _epsg(df)),
        title=f"mean {column} (zoom to re-aggregate)",
    )  # fmt: skip
    # Shown through Panel, whose notebook output inlines its stylesheets (HoloViews' own
    # display path links them from a CDN, which an offline hub cannot reach).
    return pn.panel(view)


def export(df, path: str | os.PathLike) -> Path:
    """Write a frame to one CSV file (``.csv``) or a Parquet folder (anything else)."""
    path = Path(path)
    if path.suffix == ".csv":
        df.to_csv(str(path), single_file=True, index=False)
    else:
        df.to_parquet(str(path), write_index=False)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.render",
        description="Render every reduced output under DIR (HDF5 or Parquet) into a PNG map "
        "with datashader, and print how many points it drew.",
    )
    parser.add_argument("source", metavar="DIR", help="folder (or glob) of reduced outputs")
    parser.add_argument(
        "--column",
        default="h_li",
        help="column to map (h_li, t_year, dh_fit_dx, ...); default h_li",
    )
    parser.add_argument(
        "--how",
        default="mean",
        choices=("mean", "count", "min", "max", "std"),
        help="aggregation per pixel; default mean",
    )
    parser.add_argument("--png", required=True, type=Path, help="output PNG file")
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"map width and height in pixels; default {DEFAULT_SIZE}",
    )
    parser.add_argument("--title", help="map title (default: what is shown)")
    parser.add_argument("--debug", action="store_true",
                        help="also print the traceback of an error (for a bug report)")
    return parser  # fmt: skip


def png_path(path: str | os.PathLike) -> Path:
    """Where a map asked for at ``path`` is written: ``path`` itself, or ``path.png``.

    Examples
    --------
    >>> png_path("maps/heights").name, png_path("maps/h.PNG").name
    ('heights.png', 'h.PNG')
    """
    path = Path(path)
    return path if path.suffix.lower() == ".png" else path.with_name(f"{path.name}.png")


def save_png(figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a figure as PNG, atomically, and return the path really written.

    Raises
    ------
    OSError
        If the folder cannot be made or written (the message names the path).
    """
    from helpers.fileio import atomic_path

    path = png_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: 0 when the map was written, 2 (and one line) otherwise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.load import open_reduced

    parser = _parser()
    args = parser.parse_args(argv)
    if args.debug:
        debug_logging()
    columns = ["x", "y"] + ([args.column] if args.how != "count" else [])
    try:
        df = open_reduced(args.source, columns=columns)
        result = render_map(df, args.column, args.how, title=args.title,
                            width=args.size, height=args.size)  # fmt: skip
    except (FileNotFoundError, ValueError, KeyError) as err:  # unreadable outputs are named
        log.debug("cannot draw %s", args.source, exc_info=True)  # a bug may hide here too
        plt.close("all")
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        parser.exit(2, f"{parser.prog}: error: {message}\n")
    try:
        written = save_png(plt.gcf(), args.png)
    except OSError as err:
        parser.exit(2, f"{parser.prog}: error: cannot write the map to {png_path(args.png)}: "
                       f"{err.strerror or err}\n")  # fmt: skip
    finally:
        plt.close("all")
    print(f"drew {result.points:,} points into {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
