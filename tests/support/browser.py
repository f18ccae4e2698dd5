"""What the browser tests share: Debian's Chromium with the network blocked, and pixel checks.

Chromium is Debian's (``apt-get install chromium``), driven by the ``playwright`` Python
package, which never downloads a browser; the flags are those of DESIGN.md §5. Every request a
page makes to anything but this machine is aborted and recorded, so a test can say what would
have left the machine.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Distinct colours and the fraction of painted (non-white) pixels of RGBA pixel data.
PIXEL_STATS_JS = """
  const pixelStats = (d, width, height) => {
    const colours = new Set();
    let painted = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) painted++;
    }
    return {width, height, distinct: colours.size, painted: painted / (width * height)};
  };
"""

# How much a canvas shows.
CANVAS_JS = f"""
(canvas) => {{{PIXEL_STATS_JS}
  const ctx = canvas.getContext('2d');
  const {{width, height}} = canvas;
  if (!ctx || !width || !height) return {{width, height, distinct: 0, painted: 0}};
  return pixelStats(ctx.getImageData(0, 0, width, height).data, width, height);
}}
"""

# The same, over the data area (frame) of every Bokeh plot on the page, from a PNG export of it.
BOKEH_FRAMES_JS = f"""
() => {{{PIXEL_STATS_JS}
  const index = window.Bokeh && window.Bokeh.index;
  if (!index) return null;
  const plots = [...index.query(v => v.model && ['Plot', 'Figure'].includes(v.model.type))];
  return plots.map(view => {{
    const canvas = view.export('png', false).canvas;
    const r = canvas.width / view.bbox.width;
    const {{x, y, width, height}} = view.frame.bbox;
    const w = Math.round(width * r), h = Math.round(height * r);
    const d = canvas.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), w, h).data;
    return pixelStats(d, w, h);
  }});
}}
"""


@dataclass
class Browser:
    """A Chromium context whose page requests to anything but this machine are aborted."""

    context: object
    external: list[str] = field(default_factory=list)


@contextlib.contextmanager
def blocked_chromium(profile: Path, viewport: dict) -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile and the network blocked in the page.

    Skips the calling test when Chromium or playwright is missing.
    """
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium not installed (apt-get install chromium): browser test skipped"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    result = Browser(context=None)

    def only_local(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            result.external.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    with sync_api.sync_playwright() as p:
        # Playwright refuses --user-data-dir in args: a persistent context takes the profile.
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport=viewport, service_workers="block",
        )  # fmt: skip
        context.set_default_timeout(30_000)
        context.route("**/*", only_local)
        result.context = context
        try:
            yield result
        finally:
            context.close()


def poll(page, script, arg, done, timeout_s, what, every_s: float = 0.25):
    """Evaluate SCRIPT every ``every_s`` seconds until DONE(value) holds; fail with the last
    value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script, arg)
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {timeout_s} s (last state: {value})")
        page.wait_for_timeout(every_s * 1000)


def drawn(stats: dict) -> bool:
    """A plot frame shows data: many colours (an empty frame has one or two), over > 1 %."""
    return stats["distinct"] > 10 and stats["painted"] > 0.01


def bokeh_drawn(frames) -> bool:
    """At least one Bokeh plot frame on the page shows data."""
    return bool(frames) and any(drawn(f) for f in frames)
