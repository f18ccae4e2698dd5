"""Sphinx configuration of the tutorial's website. Build it with `make book`.

The sources Sphinx reads are staged by helpers.devtools.book (the pages of this folder, the
executed notebooks, images/ and sections of the READMEs); the settings a workshop may change
(repository, hubs) are in book.toml beside this file. Nothing here loads anything from the
network: the theme ships its fonts and scripts, the notebooks embed BokehJS, and no
extension that fetches (intersphinx, MathJax from a CDN) is used.
"""

from helpers.devtools.book import load_settings

settings = load_settings()

project = settings.title
copyright = "2026 The ATL06 tutorial authors (MIT License)"
author = "The ATL06 tutorial authors"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
# Sections of the READMEs, included by the pages rather than pages of their own.
exclude_patterns = ["_generated"]

# The notebooks arrive executed (make tutorial's copies, or executed by the builder).
nb_execution_mode = "off"
# Headings get anchors, so that "#section" links copied from the READMEs resolve.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# The helpers' docstrings are numpy style.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"

html_theme = "sphinx_book_theme"
html_title = settings.title
# The API page is the module index; no separate one.
html_domain_indices = False
# Light mode unless the reader chose otherwise (the figures have white backgrounds); without a
# default, the theme logs a console error on a reader's first visit.
html_context = {"default_mode": "light"}
html_theme_options = {
    "repository_url": settings.repository_url,
    "repository_branch": settings.branch,
    "path_to_docs": "",  # the staged notebooks sit where they do in the repository
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "notebook_interface": "jupyterlab",
        "jupyterhub_url": settings.jupyterhub_url,
        "binderhub_url": settings.binderhub_url,
    },
    "show_toc_level": 2,
}
