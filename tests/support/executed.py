"""Notebooks nbval ran from top to bottom in this session, saved executed, for the website.

nbval runs every notebook (``notebooks/``); the website's test (``tests/notebooks/
test_book.py``) would otherwise run every one of them again. :class:`ExecutedNotebooks`, a
plugin that ``tests/conftest.py`` registers for the whole session (a conftest's own hooks
see only the tests below it, not ``notebooks/``), keeps what nbval's kernel printed for each
cell and saves a notebook that ran without an error into ``config.stash[EXECUTED]``; the
website's build reuses those copies and executes the others itself.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

#: The folder of executed notebooks, in the session's ``config.stash``.
EXECUTED = pytest.StashKey[Path]()


class _Run:
    """How far nbval's run of one notebook got."""

    def __init__(self) -> None:
        self.total = self.passed = 0
        self.failed = False


class ExecutedNotebooks:
    """The plugin (see the module docstring)."""

    def __init__(self, config: pytest.Config) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nbval-executed-"))
        config.stash[EXECUTED] = self.folder
        self.runs: dict = {}

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            if type(item).__name__ == "IPyNbCell":
                self.runs.setdefault(item.parent, _Run()).total += 1

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        run = self.runs.get(getattr(item, "parent", None))
        if run is None or report.when != "call":
            return
        if not report.passed:
            run.failed = True
            return
        item.cell.outputs = list(getattr(item, "test_outputs", None) or [])
        item.cell.execution_count = item.cell_num + 1
        run.passed += 1
        if run.passed == run.total and not run.failed:
            self._save(item.parent)

    def _save(self, notebook) -> None:
        import nbformat

        try:
            nbformat.validate(notebook.nb)
        except nbformat.ValidationError:
            return  # the website's test executes this one itself
        nbformat.write(notebook.nb, self.folder / Path(str(notebook.fspath)).name)

    def pytest_unconfigure(self, config) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
