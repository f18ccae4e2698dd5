"""The notebooks in a real browser: JupyterLab in headless Chromium runs each one from its menus.

With the network blocked in the page, every notebook must run through ``Run > Run All Cells``
without errors or warnings, draw its figures (matplotlib PNGs, and a non-blank interactive Bokeh
map in notebook 04), and make no request that leaves the machine.

Needs Debian's ``chromium`` (``apt-get install chromium``; CI installs it) driven by the
``playwright`` Python package: no browser is ever downloaded. The notebooks opened are copies in a
hidden folder at the repository root (so that ``../images/...`` links still resolve), autosave is
off, and the stored notebooks are checked to be byte-for-byte unchanged afterwards. A screenshot
of each executed notebook goes to ``build/screenshots/<notebook>.png``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import BOKEH_FRAMES_JS, CANVAS_JS, blocked_chromium, bokeh_drawn, poll

from helpers.config import REPO_ROOT

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"

SERVER_TIMEOUT_S = 60
KERNEL_TIMEOUT_S = 120
RUN_TIMEOUT_S = 300
# Tall, so that a screenshot shows several figures: JupyterLab scrolls inside the notebook panel,
# so a "full page" screenshot is only ever the viewport.
VIEWPORT = {"width": 1400, "height": 4000}
# User settings of the test server. No autosave: nothing may be written into notebooks. Every cell
# attached and rendered (the default, content-visibility windowing, may skip cells out of view,
# and 'full' detaches them, hiding outputs from the checks). No news feed or update check.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}  # fmt: skip

# Server options that keep JupyterLab itself offline: no announcements feed, no update check, an
# extension manager that never queries PyPI. The app is exposed as window.jupyterapp so the test
# can read the kernel state; the copies of the notebooks live in a hidden folder.
LAB_OPTIONS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    "--LabApp.expose_app_in_browser=True",
    "--ContentsManager.allow_hidden=True",
]

# Code that makes a figure (matplotlib, helpers' plotting functions, a PNG shown with Image) or an
# interactive HoloViews/Bokeh view.
FIGURE_CODE = re.compile(r"\bplt\.|\bplot_\w*\(|\bImage\(|\brender_map\(|\bdraw\(")
BOKEH_CODE = re.compile(r"\binteractive_map\(|\.hvplot\b|\bhv\.")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in tracebacks

# The notebook widget showing PATH, from the exposed JupyterLab app (or null).
FIND_PANEL_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}
"""

KERNEL_JS = f"""
(path) => {{
  const panel = ({FIND_PANEL_JS})(path);
  if (!panel) return 'no notebook';
  if (!panel.context.isReady) return 'loading';
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) return 'no kernel';
  const running = panel.content.widgets.filter(
    c => c.model.type === 'code' &&
         (c.node.querySelector('.jp-InputArea-prompt') || {{}}).textContent.includes('*')
  ).length;
  const executed = panel.content.widgets.filter(
    c => c.model.type === 'code' && c.model.executionCount !== null
  ).length;
  return {{status: kernel.status, connection: kernel.connectionStatus, running, executed}};
}}
"""

# Per cell: its type, start of source, run count, error/stderr outputs, rendered images.
REPORT_JS = f"""
(path) => {{
  const panel = ({FIND_PANEL_JS})(path);
  return panel.content.widgets.map((cell, index) => {{
    const outputs = cell.model.type === 'code' ? cell.model.toJSON().outputs : [];
    const problems = [];
    for (const o of outputs) {{
      if (o.output_type === 'error') {{
        problems.push(`${{o.ename}}: ${{o.evalue}}\\n` + (o.traceback || []).join('\\n'));
      }} else if (o.output_type === 'stream' && o.name === 'stderr') {{
        problems.push([].concat(o.text).join(''));
      }}
    }}
    const shown = [...cell.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')];
    if (shown.length && !problems.length) problems.push(...shown.map(e => e.innerText));
    const images = [...cell.node.querySelectorAll('.jp-OutputArea .jp-RenderedImage img')];
    const linked = [...cell.node.querySelectorAll('.jp-RenderedMarkdown img')];
    return {{
      index, type: cell.model.type,
      source: cell.model.sharedModel.getSource(),
      count: cell.model.type === 'code' ? cell.model.executionCount : null,
      problems,
      images: images.map(img => img.complete ? img.naturalWidth : 0),
      broken_links: linked.filter(img => !(img.complete && img.naturalWidth > 0))
                          .map(img => img.getAttribute('src')),
      bokeh: outputs.some(o => o.data && Object.keys(o.data).some(
        k => k.startsWith('application/vnd.bokehjs') || k.startsWith('application/vnd.holoviews'))),
    }};
  }});
}}
"""

SCROLL_TO_CELL_JS = f"""
([path, index, block]) => {{
  const panel = ({FIND_PANEL_JS})(path);
  panel.content.widgets[index].node.scrollIntoView({{block}});
}}
"""


@dataclass
class Lab:
    """A running JupyterLab server and the folder (relative to its root) of notebook copies."""

    url: str
    token: str
    folder: str
    log: Path

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, lab: Lab) -> None:
    """Shut the server down with its kernels (and their workers), then make sure they are gone."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    try:
        lab.api("POST", "/api/shutdown")
        proc.wait(timeout=20)
    except Exception:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's Chromium, headless, with a fresh profile and the network blocked in the page."""
    with blocked_chromium(tmp_path_factory.mktemp("chromium-profile"), VIEWPORT) as result:
        yield result


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free local port, serving the repository, with copies of the notebooks.

    The kernels see the same environment as the rest of the tests (IS2_DATA_DIR,
    IS2_OUTPUT_DIR), with IS2_DATA_SOURCE=sample. At teardown the server and its kernels are
    stopped, the copies removed, and the stored notebooks checked to be unchanged.
    """
    stored = {path: path.read_bytes() for path in NOTEBOOKS}
    state = tmp_path_factory.mktemp("jupyterlab")
    for name, values in LAB_SETTINGS.items():
        path = state / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for folder in ("config", "data", "runtime", "workspaces"):
        (state / folder).mkdir()
    # A sibling of notebooks/, so that the notebooks' ../images/ links resolve as they do there.
    copies = Path(tempfile.mkdtemp(prefix=".browser-notebooks-", dir=REPO_ROOT))
    for path in NOTEBOOKS:
        shutil.copyfile(path, copies / path.name)

    env = {
        **os.environ,
        "IS2_DATA_SOURCE": "sample",
        # Ignore the user's own Jupyter config and kernels: the python3 kernel is this Python.
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
    }
    token, port = secrets.token_hex(16), _free_port()
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, folder=copies.name,
              log=state / "server.log")  # fmt: skip
    # sys.executable is .venv's python under `make test`: its kernels get the same packages.
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO_ROOT}", *LAB_OPTIONS,
    ]  # fmt: skip
    with lab.log.open("w") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{lab.log_tail()}")
            try:
                lab.api("GET", "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in {SERVER_TIMEOUT_S} s:\n"
                                f"{lab.log_tail()}")  # fmt: skip
                time.sleep(0.5)
        yield lab
    finally:
        _stop(proc, lab)
        copied = [(p, copies / p.name) for p in NOTEBOOKS if (copies / p.name).is_file()]
        saved = [p.name for p, copy in copied if copy.read_bytes() != stored[p]]
        shutil.rmtree(copies, ignore_errors=True)
    changed = [path.name for path, data in stored.items() if path.read_bytes() != data]
    assert not saved, f"JupyterLab saved the opened copies of {saved} (autosave is meant off)"
    assert not changed, f"stored notebooks changed during the browser test: {changed}"


def _idle(state) -> bool:
    return isinstance(state, dict) and state["status"] == "idle" and state["running"] == 0


def _run_all_cells(page, path: str) -> None:
    """Run > Run All Cells, from JupyterLab's menu bar, then wait until the kernel is done."""
    page.locator(".jp-Notebook").first.click()  # the notebook is the current widget
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    poll(page, KERNEL_JS, path, lambda s: isinstance(s, dict) and (s["running"] or s["executed"]),
          30, "Run All Cells did not start")  # fmt: skip
    # Done when the kernel is idle with no [*] prompt, at four looks in a row (a second).
    deadline = time.monotonic() + RUN_TIMEOUT_S
    quiet = 0
    while quiet < 4:
        remaining = deadline - time.monotonic()
        poll(page, KERNEL_JS, path, _idle, max(remaining, 0), "running all cells")
        quiet = quiet + 1 if _idle(page.evaluate(KERNEL_JS, path)) else 0
        page.wait_for_timeout(250)


def _bokeh_canvases(page) -> list[dict]:
    """Pixel statistics of every canvas in the outputs (Bokeh draws inside open shadow roots,
    which Playwright's CSS selectors pierce)."""
    return [c.evaluate(CANVAS_JS) for c in page.locator(".jp-OutputArea-output canvas").all()]


def _figure_cell(cells: list[dict]) -> int | None:
    """The key figure's cell: the interactive map, else the first PNG figure."""
    key = next((c["index"] for c in cells if c["bokeh"]), None)
    return key if key is not None else next((c["index"] for c in cells if c["images"]), None)


OPEN_JS = """
(path) => window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'})
  .then(() => true)
"""
CLOSE_JS = f"""
(path) => {{
  const panel = ({FIND_PANEL_JS})(path);
  if (panel) panel.dispose();
  return true;
}}
"""


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    """One JupyterLab page for every notebook (the app starts once): each test opens its
    notebook in it with JupyterLab's own command, and closes it when done."""
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{lab.url}/lab?reset&token={lab.token}", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp && "
                           "window.jupyterapp.commands.hasCommand('docmanager:open')",
                           timeout=60_000)  # fmt: skip
    page.page_errors = errors
    try:
        yield page
    finally:
        page.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_browser_runs_notebook(notebook, browser, lab, lab_page):
    """Run All Cells in JupyterLab: no errors or warnings, figures drawn, nothing fetched."""
    path = f"{lab.folder}/{notebook.name}"
    code = "\n".join(
        "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
        if c["cell_type"] == "code"
    )  # fmt: skip
    wants_figures, wants_bokeh = bool(FIGURE_CODE.search(code)), bool(BOKEH_CODE.search(code))
    external_before = len(browser.external)
    page = lab_page
    page_errors: list[str] = page.page_errors
    page_errors.clear()
    cells, canvases, frames, failures = [], [], None, []
    try:
        page.evaluate(OPEN_JS, path)
        poll(page, KERNEL_JS, path, _idle, KERNEL_TIMEOUT_S, "kernel start")
        start = time.monotonic()
        _run_all_cells(page, path)
        print(f"\n{notebook.name}: Run All Cells took {time.monotonic() - start:.1f} s")
        if wants_bokeh:  # BokehJS draws the map after the cell's output arrives
            with contextlib.suppress(TimeoutError):  # reported below
                poll(page, BOKEH_FRAMES_JS, None, bokeh_drawn, 60, "drawing the Bokeh map")
            frames, canvases = page.evaluate(BOKEH_FRAMES_JS), _bokeh_canvases(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-Notebook img')].every(i => i.complete)"
        )
        cells = page.evaluate(REPORT_JS, path)
    except Exception as error:  # still take the screenshot; report what went wrong
        failures.append(f"{type(error).__name__}: {error}\nJupyterLab log:\n{lab.log_tail()}")
        with contextlib.suppress(Exception):
            cells = page.evaluate(REPORT_JS, path)
    finally:
        try:
            key = _figure_cell(cells)
            if key is not None:
                page.evaluate(SCROLL_TO_CELL_JS, [path, key, "center"])
                page.wait_for_timeout(500)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{notebook.stem}.png", full_page=True)
        finally:
            page.evaluate(CLOSE_JS, path)
            lab.shut_down_kernels()

    code_cells = [c for c in cells if c["type"] == "code" and c["source"].strip()]
    not_run = [c["index"] for c in code_cells if c["count"] is None]
    if not code_cells or not_run:
        failures.append(f"code cells not run: {not_run or 'all'}")
    for cell in cells:
        for text in cell["problems"]:
            first_line = (cell["source"].splitlines() or [""])[0][:60]
            failures.append(f"error or stderr output (warnings fail too) in cell {cell['index']} "
                            f"({first_line!r}):\n{ANSI.sub('', text).strip()}")  # fmt: skip
    broken = [src.split("?")[0] for c in cells for src in c["broken_links"]]
    if broken:
        failures.append(f"images in markdown that did not load: {broken}")
    widths = [w for c in cells for w in c["images"]]
    if wants_figures and not any(w > 100 for w in widths):
        failures.append(f"no rendered figure (widths of PNG outputs: {widths})")
    if wants_bokeh and not (canvases and bokeh_drawn(frames)):
        failures.append(f"the Bokeh map is missing or blank: plot frames {frames}, "
                        f"canvases {canvases}")  # fmt: skip
    external = browser.external[external_before:]
    if external:
        failures.append(f"requests leaving this machine (blocked): {external}")
    if page_errors:
        failures.append(f"JavaScript errors in the page: {page_errors}")
    screenshot = os.path.relpath(SCREENSHOTS / f"{notebook.stem}.png", REPO_ROOT)
    assert not failures, (
        f"{notebook.name} in JupyterLab (screenshot: {screenshot}):\n" + "\n\n".join(failures)
    )
