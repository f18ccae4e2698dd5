"""The figures in ``images/``, drawn from the repository's own models: ``make images``.

- ``splash.png``: reference ground tracks over Pine Island Glacier on the planted
  elevation-change field of the synthetic sample;
- ``granule_regions.png``: the 14 granule regions along one orbit;
- ``filename_convention.png``: what each part of an ATL06 file name means.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.bbox import BBox
from helpers.config import PIG_BBOX, REPO_ROOT
from helpers.projection import lonlat_to_xy
from helpers.synthetic import orbit, surface


def splash(path: Path) -> None:
    """Ground tracks crossing Pine Island Glacier over the planted thinning field."""
    import matplotlib.pyplot as plt

    from helpers.synthetic.granule import BEAM_OFFSETS_M
    from helpers.synthetic.sample import find_crossings

    box = BBox(*PIG_BBOX)
    x0, x1, y0, y1 = -1700e3, -1470e3, -370e3, -195e3
    gx, gy = np.meshgrid(np.linspace(x0, x1, 400), np.linspace(y0, y1, 300))
    rate = surface.planted_dhdt(gx, gy)
    height = surface.static_surface(gx, gy)
    fig, ax = plt.subplots(figsize=(8, 5.2), layout="constrained")
    image = ax.imshow(rate, origin="lower", extent=(x0 / 1e3, x1 / 1e3, y0 / 1e3, y1 / 1e3),
                      cmap="RdBu", vmin=-6, vmax=6)  # fmt: skip
    ax.contour(gx / 1e3, gy / 1e3, height, levels=np.arange(100, 1500, 100), colors="0.3",
               linewidths=0.4)  # fmt: skip
    for crossing in find_crossings(box, margin_km=5):
        xs = np.linspace(crossing.x_start, crossing.x_end, 200)
        for offset in BEAM_OFFSETS_M.values():
            track = orbit.ground_track(crossing.rgt, 1, xs, cross_track_m=offset)
            tx, ty = lonlat_to_xy(track.longitude, track.latitude)
            ax.plot(tx / 1e3, ty / 1e3, color="k", lw=0.25, alpha=0.6)
    ax.set_xlim(x0 / 1e3, x1 / 1e3)
    ax.set_ylim(y0 / 1e3, y1 / 1e3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.colorbar(image, ax=ax, label="planted elevation change (m/yr)", shrink=0.8)
    ax.set_title("Pine Island Glacier: every ICESat-2 ground track crossing the area,\n"
                 "over the thinning planted in the synthetic sample", fontsize=11)  # fmt: skip
    fig.savefig(path, dpi=110)
    plt.close(fig)


def granule_regions(path: Path) -> None:
    """Latitude along one orbit, split into the 14 granule regions."""
    import matplotlib.pyplot as plt

    u = np.linspace(0, 2 * np.pi, 2000)
    track = orbit.ground_track(1, 1, u * orbit.TRACK_RADIUS_M)
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    colours = plt.get_cmap("tab20")
    for region in range(1, 15):
        start, end = orbit.region_span(region)
        inside = (u >= start) & (u <= end)
        ax.plot(np.degrees(u[inside]), track.latitude[inside], lw=3, color=colours(region - 1))
        mid = np.degrees((start + end) / 2)
        lat = np.interp(mid, np.degrees(u), track.latitude)
        ax.annotate(str(region), (mid, lat), textcoords="offset points",
                    xytext=(0, 8 if lat >= 0 else -14), ha="center", fontsize=10,
                    fontweight="bold" if region in (10, 11, 12) else None)  # fmt: skip
        ax.axvline(np.degrees(start), color="0.85", lw=0.6, zorder=0)
    ax.axhspan(-90, -50, color="tab:blue", alpha=0.06)
    ax.text(200, -62, "Antarctica: 10 descending, 11 polar turn, 12 ascending", fontsize=9)
    ax.set_xlim(0, 360)
    ax.set_ylim(-100, 105)
    ax.set_xlabel("position along the orbit (degrees from the ascending equator crossing)")
    ax.set_ylabel("latitude (°)")
    ax.set_title("ATL06 granule regions: each orbit (one RGT) is cut into 14 granules")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def filename_convention(path: Path) -> None:
    """An ATL06 file name with each part labelled."""
    import matplotlib.pyplot as plt

    parts = [
        ("ATL06", "product"), ("_", None), ("20181016093827", "start time (UTC)\nYYYYMMDDhhmmss"),
        ("_", None), ("0271", "RGT (1-1387)"), ("01", "cycle (91 days)"),
        ("10", "granule region (1-14)"), ("_", None), ("006", "release"), ("_", None),
        ("01", "version"), (".h5", None),
    ]  # fmt: skip
    fig, ax = plt.subplots(figsize=(10, 2.8))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.05, 1)
    total = sum(len(text) for text, _ in parts)
    x = 0.04
    width = 0.92 / total
    row = 0
    for text, label in parts:
        w = width * len(text)
        ax.text(x + w / 2, 0.8, text, ha="center", va="center", family="monospace", fontsize=20)
        if label:
            # Short fields sit side by side: stagger their labels on three rows.
            y = 0.52 - 0.2 * (row % 3)
            ax.plot([x + 0.003, x + w - 0.003], [0.65, 0.65], color="tab:blue", lw=2)
            ax.plot([x + w / 2] * 2, [0.65, y + 0.03], color="tab:blue", lw=0.6)
            ax.text(x + w / 2, y, label, ha="center", va="top", fontsize=9, color="tab:blue")
            row += 1
        x += w
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


FIGURES = {"splash.png": splash, "granule_regions.png": granule_regions,
           "filename_convention.png": filename_convention}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: write every figure into ``--out``."""
    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog="python -m helpers.devtools.images", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "images", help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(args.out / name)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
