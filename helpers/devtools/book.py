"""Build the tutorial as a website: ``python -m helpers.devtools.book`` (``make book``).

Three steps, none of which touches the network:

1. **Executed notebooks.** The copies that ``make tutorial`` leaves in ``build/tutorial/`` are
   reused while they are up to date (same cells as the stored notebook, run after the last
   change to it or to ``helpers``, without errors); the others are executed again, on the
   embedded sample, into the same folder.
2. **Sources.** A Sphinx source tree is staged in ``build/book-cache/src/``: the pages of
   ``book/``, the executed notebooks, ``images/``, and the sections of the READMEs that the
   pages include (so that the text lives in one place). Files are rewritten only when they
   change, so that Sphinx re-reads only what changed.
3. **Sphinx** (MyST-NB, sphinx-book-theme; configuration in ``book/conf.py``, settings in
   ``book/book.toml``) writes the site into ``build/book/``, with warnings treated as errors.

``python -m helpers.devtools.book links`` lists the site's external links (``make linkcheck``);
with ``--fetch`` Sphinx's linkcheck builder also tries each of them (online only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from helpers.config import DATA_SOURCE_ENV, REPO_ROOT
from helpers.devtools import mdsections
from helpers.devtools.tutorial import execute_notebook, notebooks

BOOK_DIR = REPO_ROOT / "book"
BUILD = REPO_ROOT / "build"
#: JupyterLab-only output types (the bootstrap of HoloViews' comms). Each bundle carrying one
#: also holds the same content as JavaScript or HTML, which is what a static page runs.
LAB_ONLY_MIME = ("application/vnd.holoviews_load.v0+json", "application/vnd.holoviews_exec.v0+json")


@dataclass(frozen=True)
class Piece:
    """A section of a README that a page includes (``heading`` None: the text before the first
    section); ``level`` is the level its heading gets, ``missing`` the heading of the link shown
    instead while the README has no such section."""

    source: str
    heading: str | None
    level: int = 2
    missing: str = ""


#: The pieces, by the file name the pages include them as (from ``_generated/``).
README_PIECES = {
    "readme-intro.md": Piece("README.md", None),
    "readme-quick-start.md": Piece("README.md", r"^quick start"),
    "readme-inside.md": Piece("README.md", r"^what is inside"),
    "readme-instructors.md": Piece("README.md", r"^for instructors", level=1),
    "workshop.md": Piece("notebooks/README.md", r"90.minute|workshop", missing="A workshop"),
}


@dataclass(frozen=True)
class Settings:
    """The website's settings (``book/book.toml``, each overridable by ``BOOK_<KEY>``)."""

    title: str
    repository_url: str
    branch: str
    jupyterhub_url: str
    binderhub_url: str

    def repository_link(self, path: str) -> str:
        """The repository's web page for ``path`` (a file or folder relative to its root)."""
        kind = "tree" if (REPO_ROOT / path.split("#")[0]).is_dir() else "blob"
        return f"{self.repository_url.rstrip('/')}/{kind}/{self.branch}/{path}"


def load_settings(path: Path = BOOK_DIR / "book.toml",
                  environ: Mapping[str, str] = os.environ) -> Settings:  # fmt: skip
    """Read the settings; a non-empty ``BOOK_<KEY>`` environment variable wins over the file.

    Raises
    ------
    ValueError
        If the file lacks a setting, naming the file and the setting.
    """
    with open(path, "rb") as f:
        values = tomllib.load(f)
    chosen = {}
    for field in fields(Settings):
        value = environ.get(f"BOOK_{field.name.upper()}") or values.get(field.name)
        if not value:
            raise ValueError(f"{path}: the setting {field.name!r} is missing")
        chosen[field.name] = str(value)
    return Settings(**chosen)


# -- 1. executed notebooks -------------------------------------------------------------------


def _newest_input(stored: Path) -> float:
    """Modification time of the notebook or of the newest module of ``helpers`` it may use."""
    modules = (p for p in (REPO_ROOT / "helpers").rglob("*.py") if "devtools" not in p.parts)
    return max([stored.stat().st_mtime, *(p.stat().st_mtime for p in modules)])


def is_current(stored: Path, executed: Path) -> bool:
    """True when ``executed`` is a complete, error-free run of the notebook as stored now."""
    import nbformat

    if not executed.is_file() or executed.stat().st_mtime < _newest_input(stored):
        return False
    ran, now = (nbformat.read(p, as_version=4) for p in (executed, stored))
    if [(c.cell_type, c.source) for c in ran.cells] != [(c.cell_type, c.source) for c in now.cells]:
        return False
    code = [c for c in ran.cells if c.cell_type == "code" and c.source.strip()]
    ran_all = all(c.get("execution_count") is not None for c in code)
    return ran_all and not any(o.output_type == "error" for c in code for o in c.outputs)


def execute_outdated(executed_dir: Path, force: bool = False) -> list[Path]:
    """Execute, on the embedded sample, every notebook whose executed copy is not current.

    Returns
    -------
    list of pathlib.Path
        The notebooks that were executed.

    Raises
    ------
    RuntimeError
        If a notebook fails, naming it: no page is built from a notebook that did not run.
    """
    stale = [p for p in notebooks() if force or not is_current(p, executed_dir / p.name)]
    previous = os.environ.get(DATA_SOURCE_ENV)
    os.environ[DATA_SOURCE_ENV] = "sample"  # the kernels inherit it
    try:
        for path in stale:
            print(f"executing {path.name} ...", flush=True)
            try:
                seconds = execute_notebook(path, executed_dir)
            except Exception as err:
                last = (str(err).strip().splitlines() or [type(err).__name__])[-1]
                raise RuntimeError(f"{path.name} failed, so the book is not built: {last}") from err
            print(f"  done in {seconds:.0f} s", flush=True)
    finally:
        if previous is None:
            os.environ.pop(DATA_SOURCE_ENV, None)
        else:
            os.environ[DATA_SOURCE_ENV] = previous
    return stale


# -- 2. sources ------------------------------------------------------------------------------


def _write(path: Path, data: bytes | str, written: set[Path]) -> None:
    """Write ``data`` unless the file already holds it (Sphinx rebuilds what changed only)."""
    data = data.encode() if isinstance(data, str) else data
    written.add(path)
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def page_notebook(executed: Path) -> str:
    """The executed notebook as the website shows it: without the JupyterLab-only outputs."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            for mime in LAB_ONLY_MIME:
                output.get("data", {}).pop(mime, None)
                output.get("metadata", {}).pop(mime, None)
        cell.outputs = [o for o in cell.outputs
                        if o.output_type not in ("display_data", "execute_result") or o.data]
    return nbformat.writes(nb)


def _linker(source: str, settings: Settings, staged: set[str]):
    """Re-point a relative link of ``source`` (a repository path) from the site's root."""

    def resolve(target: str) -> str:
        path, _, anchor = target.partition("#")
        joined = os.path.normpath(PurePosixPath(source).parent / path).replace(os.sep, "/")
        if joined in staged:
            return joined + (f"#{anchor}" if anchor else "")
        return settings.repository_link(joined + (f"#{anchor}" if anchor else ""))

    return resolve


def readme_pieces(settings: Settings, staged: set[str]) -> dict[str, str]:
    """The README sections that the pages include, with links that work from the site's root."""
    texts = {}
    for name, piece in README_PIECES.items():
        text = (REPO_ROOT / piece.source).read_text(encoding="utf-8")
        found: str | None
        if piece.heading is None:
            found = mdsections.preamble(text)
        else:
            found = mdsections.section(text, piece.heading, piece.level)
        if found is None and piece.missing:  # e.g. no workshop path in notebooks/README.md yet
            link = settings.repository_link(piece.source)
            found = f"{'#' * piece.level} {piece.missing}\n\nSee [`{piece.source}`]({link}).\n"
        elif found is None:
            raise ValueError(f"{piece.source} has no section {piece.heading!r} for the book")
        texts[name] = mdsections.rewrite_links(found, _linker(piece.source, settings, staged))
    return texts


def helpers_modules() -> list[str]:
    """Every module of the ``helpers`` package, by name, parents before children."""
    import pkgutil

    import helpers

    names = ["helpers"]
    for info in pkgutil.walk_packages(helpers.__path__, prefix="helpers."):
        if not info.name.endswith("__main__"):  # running it would start a command line
            names.append(info.name)
    return sorted(names)


def api_modules_page() -> str:
    """One section per module, each documented from its docstrings (autodoc), as MyST."""
    parts = []
    for name in helpers_modules():
        if name != "helpers":  # the package's own docstring opens the page, without a heading
            parts.append(f"## `{name}`\n")
        # Docstrings are reStructuredText: autodoc's output is parsed as such, not as MyST.
        # Each object once, in the module that defines it (not again where __all__ re-exports it).
        options = "   :members:\n   :ignore-module-all:\n"
        parts.append(f"```{{eval-rst}}\n.. automodule:: {name}\n{options}```\n")
    return "\n".join(parts)


def stage(src: Path, executed_dir: Path, settings: Settings) -> list[Path]:
    """Stage the Sphinx sources in ``src``; return the staged notebooks.

    Leftovers of an earlier build (a notebook renamed since) are removed.
    """
    written: set[Path] = set()
    for page in sorted(BOOK_DIR.glob("*.md")):
        _write(src / page.name, page.read_bytes(), written)
    for image in sorted((REPO_ROOT / "images").iterdir()):
        if image.is_file():
            _write(src / "images" / image.name, image.read_bytes(), written)
    staged_notebooks = []
    for path in notebooks():
        target = src / "notebooks" / path.name
        _write(target, page_notebook(executed_dir / path.name), written)
        staged_notebooks.append(target)
    staged = {p.relative_to(src).as_posix() for p in written}
    for name, text in readme_pieces(settings, staged).items():
        _write(src / "_generated" / name, text, written)
    _write(src / "_generated" / "api-modules.md", api_modules_page(), written)
    for leftover in [p for p in src.rglob("*") if p.is_file() and p not in written]:
        leftover.unlink()
    return staged_notebooks


# -- 3. Sphinx -------------------------------------------------------------------------------


def run_sphinx(src: Path, out: Path, doctrees: Path, builder: str = "html",
               strict: bool = True) -> int:  # fmt: skip
    """Run sphinx-build with ``book/conf.py``; warnings are errors when ``strict``.

    Returns
    -------
    int
        sphinx-build's exit status (0 on success).
    """
    strictness = ["-W", "--keep-going"] if strict else []
    command = [sys.executable, "-m", "sphinx", "-b", builder, "-q", *strictness,
               "-c", str(BOOK_DIR), "-d", str(doctrees), str(src), str(out)]  # fmt: skip
    return subprocess.run(command, check=False).returncode


def build(out: Path, executed_dir: Path, cache: Path, execute: bool = False) -> int:
    """The whole build (see the module's docstring); returns the exit status."""
    started = time.perf_counter()
    settings = load_settings()
    executed = execute_outdated(executed_dir, force=execute)
    print(f"notebooks: {len(notebooks()) - len(executed)} executed copies reused from "
          f"{executed_dir}, {len(executed)} executed now", flush=True)  # fmt: skip
    stage(cache / "src", executed_dir, settings)
    if out.exists():  # Sphinx keeps what it parsed in the doctrees; the site is written anew
        shutil.rmtree(out)
    status = run_sphinx(cache / "src", out, cache / "doctrees")
    if status == 0:
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"book: {out / 'index.html'} ({size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    else:
        print("book: sphinx-build failed (warnings count as errors); see above", file=sys.stderr)
    return status


class _Links(HTMLParser):
    """The targets of ``<a href>`` in one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def external_links(site: Path) -> dict[str, list[str]]:
    """Every http(s) link of the site's pages -> the pages (relative paths) that have it."""
    found: dict[str, list[str]] = {}
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for href in parser.hrefs:
            if urlsplit(href).scheme in ("http", "https"):
                pages = found.setdefault(href, [])
                if page.relative_to(site).as_posix() not in pages:
                    pages.append(page.relative_to(site).as_posix())
    return dict(sorted(found.items()))


def list_links(site: Path, cache: Path, fetch: bool) -> int:
    """Print (and save) the external links; with ``fetch``, check them with Sphinx."""
    if not (site / "index.html").is_file():
        print(f"no book in {site}: run `make book` first", file=sys.stderr)
        return 1
    links = external_links(site)
    text = "".join(f"{url}\t{' '.join(pages)}\n" for url, pages in links.items())
    (cache / "external-links.tsv").parent.mkdir(parents=True, exist_ok=True)
    (cache / "external-links.tsv").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"{len(links)} external links (not fetched), saved in {cache / 'external-links.tsv'}")
    if not fetch:
        return 0
    return run_sphinx(cache / "src", cache / "linkcheck", cache / "doctrees", "linkcheck", False)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m helpers.devtools.book",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("command", nargs="?", choices=("build", "links"), default="build",
                        help="build the site (default) or list its external links")  # fmt: skip
    parser.add_argument("--out", type=Path, default=BUILD / "book", help="the site's folder")
    parser.add_argument("--executed", type=Path, default=BUILD / "tutorial",
                        help="executed notebooks, reused when current (make tutorial's)")
    parser.add_argument("--cache", type=Path, default=BUILD / "book-cache",
                        help="staged sources and Sphinx's doctrees")  # fmt: skip
    parser.add_argument("--execute", action="store_true",
                        help="execute every notebook again, even where the copy is current")
    parser.add_argument("--fetch", action="store_true",
                        help="links: also check every external link (needs the network)")
    args = parser.parse_args(argv)
    if args.command == "links":
        return list_links(args.out, args.cache, args.fetch)
    try:
        return build(args.out, args.executed, args.cache, args.execute)
    except (RuntimeError, ValueError) as err:
        print(f"book: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
