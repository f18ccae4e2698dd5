"""The tutorial as a website (``make book``), built once per session as ``make book`` builds it.

The build must succeed with warnings treated as errors and without the network; every internal
link and image must resolve; each notebook's page must show as many figures as its executed
notebook holds and offer the ways to run it; and in headless Chromium, with every request that
would leave the machine blocked, every page must load without console errors, with its
interactive Bokeh view drawn. A screenshot of each page goes to
``build/screenshots/book-<page>.png``.

The notebooks are executed once (or not at all: ``make tutorial``'s executed copies in
``build/tutorial/`` are reused while they are current), then Sphinx builds into a temporary
folder, so that the test never overwrites ``build/book/``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import pytest
from browser import BOKEH_FRAMES_JS, blocked_chromium, bokeh_drawn, drawn, poll
from executed import EXECUTED

from helpers.config import REPO_ROOT
from helpers.devtools import book as builder
from helpers.devtools import mdsections
from helpers.devtools.tutorial import notebooks

pytestmark = pytest.mark.book

SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
NOTEBOOK_PAGES = [f"notebooks/{path.stem}" for path in notebooks()]
PAGES = ["index", "instructors", "api", *NOTEBOOK_PAGES, "genindex", "search"]
VIEWPORT = {"width": 1400, "height": 1000}
#: Screenshots of long pages (the API) stop at this height, in pixels.
MAX_SCREENSHOT_HEIGHT = 12_000
# Tags that make a browser fetch what their attribute names, and that attribute.
RESOURCE_ATTRS = {"script": "src", "link": "href", "img": "src", "iframe": "src",
                  "source": "src", "video": "src", "audio": "src", "embed": "src"}  # fmt: skip


@dataclass
class Page:
    """What the tests read from one HTML page."""

    tags: list[tuple[str, dict, bool]] = field(default_factory=list)  # tag, attrs, in <article>
    ids: set[str] = field(default_factory=set)
    text: list[str] = field(default_factory=list)  # visible text (no script or style)
    styles: list[str] = field(default_factory=list)  # inline <style> blocks


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self._article, self._raw = Page(), 0, None

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "article":
            self._article += 1
        if tag in ("script", "style"):
            self._raw = tag
        if attrs.get("id"):
            self.page.ids.add(attrs["id"])
        self.page.tags.append((tag, attrs, self._article > 0))

    def handle_endtag(self, tag) -> None:
        if tag == "article":
            self._article -= 1
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data) -> None:
        if self._raw == "style":
            self.page.styles.append(data)
        elif self._raw is None:
            self.page.text.append(data)


@functools.cache
def read_page(path: Path) -> Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.page


def html_pages(site: Path) -> list[Path]:
    """The site's pages (not the theme's template snippets that land in _static/)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def plain(page: Page) -> str:
    """The page's text with runs of white space made one space."""
    return " ".join("".join(page.text).split())


# -- the build ---------------------------------------------------------------------------------


@dataclass
class Build:
    site: Path
    cache: Path
    returncode: int
    log: str
    seconds: float


@pytest.fixture(scope="session")
def book_tools() -> None:
    """Skip where the ``book`` extra is missing (``make venv`` installs it)."""
    for tool in ("sphinx", "myst_nb", "sphinx_book_theme"):
        pytest.importorskip(tool, reason="the book extra is missing: pip install -e '.[book]'")


@pytest.fixture(scope="session")
def book(tmp_path_factory, book_tools, request) -> Build:
    """The website, built once per session with the same command as ``make book``, from the
    notebooks nbval executed in this session (conftest's ``EXECUTED``); those it did not run
    (or that failed) are executed by the build itself, as ``make book`` does."""
    folder = tmp_path_factory.mktemp("book")
    site, cache = folder / "site", folder / "cache"
    executed = request.config.stash[EXECUTED]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "helpers.devtools.book", "--out", str(site), "--cache", str(cache),
         "--executed", str(executed)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return Build(site, cache, done.returncode, done.stdout + done.stderr,
                 time.perf_counter() - started)  # fmt: skip


@pytest.fixture(scope="session")
def site(book) -> Path:
    if book.returncode != 0:
        pytest.fail(f"make book's build failed ({book.returncode}):\n{book.log[-4000:]}")
    return book.site


def test_book_builds_offline_with_warnings_as_errors(book):
    assert book.returncode == 0, book.log[-4000:]
    sphinx_warnings = re.findall(r"^.*: WARNING: .*$", book.log, flags=re.MULTILINE)
    assert not sphinx_warnings, "\n".join(sphinx_warnings)
    assert (book.site / "index.html").is_file()
    print(f"\nbook built in {book.seconds:.0f} s:\n{book.log.strip()}")


def test_a_warning_fails_the_build(tmp_path, book_tools):
    """The strict build really is strict: one broken cross-reference fails it."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text("# A page\n\nSee {doc}`a-page-that-does-not-exist`.\n")
    status = builder.run_sphinx(src, tmp_path / "out", tmp_path / "doctrees")
    assert status != 0
    assert builder.run_sphinx(src, tmp_path / "lax", tmp_path / "d2", strict=False) == 0


def test_the_site_has_one_page_per_notebook_and_no_other(site):
    pages = sorted(p.relative_to(site).with_suffix("").as_posix() for p in html_pages(site))
    assert pages == sorted(PAGES)


def _local_target(page: Path, site: Path, value: str) -> tuple[Path, str] | None:
    """The file (and fragment) a relative URL of PAGE points at, or None for other URLs."""
    parts = urlsplit(value)
    if parts.scheme or value.startswith("//") or not (parts.path or parts.fragment):
        return None
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def test_every_internal_link_and_image_resolves(site):
    site, problems = site.resolve(), []
    for page in html_pages(site):
        for tag, attrs, _ in read_page(page).tags:
            for name in ("href", "src"):
                found = _local_target(page, site, attrs.get(name) or "")
                if found is None:
                    continue
                target, fragment = found
                where = f"{page.relative_to(site)}: <{tag} {name}={attrs[name]!r}>"
                if not target.is_relative_to(site):
                    problems.append(f"{where}: outside the site")
                elif not target.is_file():
                    problems.append(f"{where}: no such file")
                elif fragment and target.suffix == ".html" and fragment not in read_page(
                        target).ids:  # fmt: skip
                    problems.append(f"{where}: no element with id {fragment!r}")
    assert not problems, "\n".join(problems)


def test_pages_load_nothing_from_the_network(site):
    """No page (nor its stylesheets) asks for a script, style, font or image from elsewhere."""
    problems = []
    for page in html_pages(site):
        parsed = read_page(page)
        for tag, attrs, _ in parsed.tags:
            value = attrs.get(RESOURCE_ATTRS.get(tag, ""), "") or ""
            if re.match(r"^(https?:)?//", value):
                problems.append(f"{page.relative_to(site)}: <{tag}> loads {value}")
        for style in parsed.styles:
            problems += [f"{page.relative_to(site)}: <style> loads {url}"
                         for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", style)]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"(?:url\(|@import)\s*['\"]?((?:https?:)?//[^)'\"\s;]+)", text):
            problems.append(f"{sheet.relative_to(site)} loads {url}")
    assert not problems, "\n".join(problems)


# -- what each notebook page must show ---------------------------------------------------------


@functools.cache
def html_priority() -> tuple[str, ...]:
    """MyST-NB's choice among an output's representations for HTML, best first."""
    from myst_nb.core.render import get_mime_priority

    return tuple(get_mime_priority("html", []))


@dataclass(frozen=True)
class Expected:
    """What a notebook's page must show: figures (images), Bokeh documents (embedded outputs)
    and the interactive views (Bokeh plots) in them."""

    output_images: int
    markdown_images: int
    documents: int
    views: int


def expected(executed: Path) -> Expected:
    """Count, in an executed notebook, the image outputs, markdown images and Bokeh views."""
    nb = nbformat.read(executed, as_version=4)
    images = documents = views = pictures = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            pictures += len(re.findall(r"!\[[^\]]*\]\(|<img\b", cell.source))
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown = next((m for m in html_priority() if m in data), None)
            images += bool(shown and shown.startswith("image/"))
            html = "".join(data["text/html"]) if shown == "text/html" else ""
            documents += bool(re.search(r"data-root-id=[\"']", html))  # a document's root
            views += len(re.findall(r'"name":\s*"(?:Figure|Plot|GMapPlot)"', html))  # its plots
    return Expected(images, pictures, documents, views)


def _executed(site: Path, page: str) -> Path:
    """The executed notebook behind a page: the copy the site offers for download."""
    return site / "_sources" / f"{page}.ipynb"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.split("/")[-1])
def test_notebook_page_shows_every_figure(site, page):
    want = expected(_executed(site, page))
    stored = expected(REPO_ROOT / f"{page}.ipynb")
    assert want.markdown_images == stored.markdown_images  # the executed copy is this notebook
    parsed = read_page(site / f"{page}.html")
    shown = [attrs for tag, attrs, inside in parsed.tags if tag == "img" and inside]
    roots = [attrs for tag, attrs, inside in parsed.tags if inside and "data-root-id" in attrs]
    print(f"\n{page}: {len(shown)} images ({want.output_images} figures, "
          f"{want.markdown_images} in the text), {len(roots)} Bokeh documents holding "
          f"{want.views} interactive views")  # fmt: skip
    assert len(shown) == want.output_images + want.markdown_images
    assert len(roots) == want.documents
    for attrs in shown:  # figures are real pictures, not empty placeholders
        target = (site / page).parent / unquote(attrs["src"])
        assert target.stat().st_size > 1000, f"{page}: {attrs['src']} is (nearly) empty"


def test_the_interactive_map_is_in_the_book(site):
    """Notebook 4's interactive map reaches the site (with BokehJS inline, not from a CDN)."""
    counts = {page: expected(_executed(site, page)).views for page in NOTEBOOK_PAGES}
    assert sum(counts.values()) >= 1, counts
    for page in (p for p, n in counts.items() if n):
        scripts = [t for t, a, _ in read_page(site / f"{page}.html").tags if t == "script"]
        text = (site / f"{page}.html").read_text(encoding="utf-8")
        assert "Bokeh" in text and len(scripts) > 3


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: p.split("/")[-1])
def test_notebook_page_offers_the_ways_to_run_it(site, page):
    settings = builder.load_settings()
    name = page.split("/")[-1]
    hrefs = [a.get("href", "") for t, a, _ in read_page(site / f"{page}.html").tags if t == "a"]
    hub = [h for h in hrefs if h.startswith(settings.jupyterhub_url.rstrip("/") + "/hub/")]
    assert len(hub) == 1, f"{page}: no 'launch on JupyterHub' link"
    query = parse_qs(urlsplit(hub[0]).query)
    assert "/user-redirect/git-pull" in hub[0]
    assert query["repo"] == [settings.repository_url] and query["branch"] == [settings.branch]
    repo_name = settings.repository_url.rstrip("/").split("/")[-1]
    assert query["urlpath"] == [f"lab/tree/{repo_name}/notebooks/{name}.ipynb"]
    binder = [h for h in hrefs if h.startswith(settings.binderhub_url.rstrip("/") + "/v2/")]
    assert len(binder) == 1, f"{page}: no Binder link"
    assert binder[0].endswith(f"?urlpath=lab/tree/notebooks/{name}.ipynb")
    download = [h for h in hrefs if h.endswith(f"_sources/notebooks/{name}.ipynb")]
    assert download, f"{page}: no download of the .ipynb"
    nb = nbformat.read((site / page).parent / download[0], as_version=4)
    assert any(c.get("outputs") for c in nb.cells), "the download lacks the outputs"


# -- the other pages ---------------------------------------------------------------------------


def test_landing_page(site):
    parsed = read_page(site / "index.html")
    text = plain(parsed)
    images = [a["src"] for t, a, inside in parsed.tags if t == "img" and inside]
    assert any(src.endswith("splash.png") for src in images), images
    quick = mdsections.section((REPO_ROOT / "README.md").read_text(), r"^quick start")
    commands = re.findall(r"^(make \w+)", quick, flags=re.MULTILINE)
    assert commands == ["make tutorial", "make test"], "the quick start is two commands"
    assert all(command in text for command in commands)
    assert "workshop attendees" in text and "self-paced" in text  # who it is for
    hrefs = {a.get("href") for t, a, inside in parsed.tags if t == "a" and inside}
    for page in [*NOTEBOOK_PAGES, "instructors", "api"]:
        assert f"{page}.html" in hrefs, f"the landing page does not link {page}"
    workshop = mdsections.section((REPO_ROOT / "notebooks" / "README.md").read_text(),
                                  builder.README_PIECES["workshop.md"].heading)  # fmt: skip
    if workshop is None:  # not written yet: the page points at where it will be
        assert any("notebooks/README.md" in (h or "") for h in hrefs)
    else:  # shown, not copied: its heading and its first line of prose are on the page
        heading, *rest = [line for line in workshop.splitlines() if line.strip()]
        assert heading.lstrip("# ").strip() in text
        assert " ".join(re.sub(r"[*_`]", "", rest[0]).split())[:30] in re.sub(r"[*_`]", "", text)


def test_instructors_page_is_the_readmes_section(site):
    section = mdsections.section((REPO_ROOT / "README.md").read_text(), r"^for instructors")
    parsed = read_page(site / "instructors.html")
    text = plain(parsed)
    h1 = [a for t, a, inside in parsed.tags if t == "h1" and inside]
    assert h1 and "For instructors" in text
    lead_ins = re.findall(r"\*\*(.+?)\*\*", section)
    assert lead_ins, "the README's instructors' section has no bold lead-ins any more"
    for phrase in lead_ins:
        assert " ".join(phrase.split()) in text, phrase
    code = re.findall(r"```\w*\n(.*?)```", section, flags=re.DOTALL)
    for line in "\n".join(code).splitlines():
        assert " ".join(line.split()) in text, line


def _documented_here(module) -> list[str]:
    """Public functions and classes with docstrings defined in (not imported into) MODULE."""
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__ and obj.__doc__]  # fmt: skip


def test_api_page_documents_every_module(site):
    import importlib

    ids = read_page(site / "api.html").ids
    missing = []
    for path in sorted((REPO_ROOT / "helpers").rglob("*.py")):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if f"module-{name}" not in ids:
            missing.append(f"module {name}")
            continue
        module = importlib.import_module(name)
        objects = [f"{name}.{obj}" for obj in _documented_here(module)]
        missing += [obj for obj in objects if obj not in ids]
    assert not missing, "not on the API page: " + ", ".join(missing)


def test_external_links_are_listed_not_fetched(site):
    links = builder.external_links(site)
    assert links and all(urlsplit(url).scheme in ("http", "https") for url in links)
    in_notebooks = set()
    for path in notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                in_notebooks |= set(re.findall(r"\]\((https?://[^)\s]+)\)", cell.source))
    assert in_notebooks and in_notebooks <= set(links), in_notebooks - set(links)
    binder = builder.load_settings().binderhub_url.rstrip("/")
    launched = {page for url, pages in links.items() if url.startswith(binder) for page in pages}
    assert launched == {f"{page}.html" for page in NOTEBOOK_PAGES}


# -- building blocks ---------------------------------------------------------------------------


def test_executed_copy_is_current_only_when_it_is_this_notebook_run_cleanly(tmp_path):
    stored = notebooks()[0]
    nb = nbformat.read(stored, as_version=4)
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
    copy = tmp_path / stored.name
    nbformat.write(nb, copy)
    assert builder.is_current(stored, copy)
    old = stored.stat().st_mtime - 10  # run before the notebook was last changed
    os.utime(copy, (old, old))
    assert not builder.is_current(stored, copy)
    code = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip())
    code.outputs = [nbformat.v4.new_output("error", ename="E", evalue="x", traceback=[])]
    nbformat.write(nb, copy)
    assert not builder.is_current(stored, copy)
    code.outputs, code.source = [], code.source + "\n# edited"
    nbformat.write(nb, copy)
    assert not builder.is_current(stored, copy)
    assert not builder.is_current(stored, tmp_path / "missing.ipynb")


def test_page_notebook_drops_only_the_jupyterlab_only_outputs(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("view")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={
            "application/javascript": "load()",
            "application/vnd.holoviews_load.v0+json": "load()"}),
        nbformat.v4.new_output("display_data", data={}),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/html": "<div data-root-id='1'></div>",
            "application/vnd.holoviews_exec.v0+json": ""},
            metadata={"application/vnd.holoviews_exec.v0+json": {"id": "1"}}),
    ]  # fmt: skip
    nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "n.ipynb")
    shown = json.loads(builder.page_notebook(tmp_path / "n.ipynb"))["cells"][0]["outputs"]
    assert [sorted(o["data"]) for o in shown] == [["application/javascript"], ["text/html"]]
    assert shown[1]["metadata"] == {}


def test_settings_come_from_one_file_and_the_environment_may_override_them(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text('title = "T"\nrepository_url = "https://github.com/o/r"\nbranch = "main"\n'
                    'jupyterhub_url = "https://hub.example.org"\n'
                    'binderhub_url = "https://binder.example.org"\n')  # fmt: skip
    settings = builder.load_settings(path, environ={"BOOK_JUPYTERHUB_URL": "https://h.example"})
    assert settings.jupyterhub_url == "https://h.example"
    assert settings.repository_link("README.md") == "https://github.com/o/r/blob/main/README.md"
    assert settings.repository_link("notebooks") == "https://github.com/o/r/tree/main/notebooks"
    path.write_text('title = "T"\n')
    with pytest.raises(ValueError, match=r"book\.toml: the setting 'repository_url' is missing"):
        builder.load_settings(path, environ={})


def test_markdown_sections():
    text = ("# Title\n\nIntro [a](x.md).\n\n## Usage\n\nRun:\n\n```bash\n# not a heading\n```\n\n"
            "### Detail\n\nSee `[b](y.md)` and ![c](img/c.png).\n\n## Next\n\nEnd.\n")  # fmt: skip
    assert mdsections.preamble(text) == "Intro [a](x.md).\n"
    usage = mdsections.section(text, "^usage", level=1)
    assert usage.splitlines()[0] == "# Usage" and "## Detail" in usage
    assert "# not a heading" in usage and "Next" not in usage
    assert mdsections.section(text, "nothing like it") is None
    moved = mdsections.rewrite_links(usage, lambda target: "moved/" + target)
    assert "![c](moved/img/c.png)" in moved and "`[b](y.md)`" in moved
    assert mdsections.rewrite_links("[w](https://e.org) [h](#top)", str.upper) == (
        "[w](https://e.org) [h](#top)"
    )


# -- in a browser ------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on a free local port (as a reader's browser gets it)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with blocked_chromium(tmp_path_factory.mktemp("chromium-profile"), VIEWPORT) as result:
        yield result


def _screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"book-{name.split('/')[-1]}.png"
    height = page.evaluate("() => document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": VIEWPORT["width"],
            "height": min(height, MAX_SCREENSHOT_HEIGHT)}  # fmt: skip
    page.screenshot(path=path, full_page=True, clip=clip)
    return path


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_in_a_browser(name, site, server, browser):
    """The page loads with no console error, every image shows, every Bokeh view is drawn."""
    views = expected(_executed(site, name)).views if name in NOTEBOOK_PAGES else 0
    external_before = len(browser.external)
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    failures, frames = [], None
    try:
        page.goto(f"{server}/{name}.html", wait_until="load")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        broken = page.evaluate("() => [...document.images].filter(i => !i.naturalWidth)"
                               ".map(i => i.getAttribute('src'))")  # fmt: skip
        if broken:
            failures.append(f"images that did not load: {broken}")
        if views:
            with contextlib.suppress(TimeoutError):  # reported below
                poll(page, BOKEH_FRAMES_JS, None, bokeh_drawn, 60, "drawing the Bokeh views")
            frames = page.evaluate(BOKEH_FRAMES_JS)
            drawn_frames = sum(drawn(f) for f in frames or [])
            print(f"\n{name}: {drawn_frames} of {views} interactive views drawn")
            if len(frames or []) != views or drawn_frames != views:
                failures.append(f"{views} interactive views expected, drawn or not: plot frames "
                                f"{frames}")  # fmt: skip
        page.wait_for_timeout(300)  # late console messages
    finally:
        try:
            shot = _screenshot(page, name)
        finally:
            page.close()
    if errors:
        failures.append(f"console errors: {errors}")
    if browser.external[external_before:]:
        failures.append(f"requests leaving this machine: {browser.external[external_before:]}")
    assert not failures, f"{name} (screenshot {shot.relative_to(REPO_ROOT)}):\n" + "\n".join(
        failures
    )
