"""The notebooks' shape: what every tutorial notebook opens and closes with, stored stripped.

(The notebooks themselves are executed by nbval: ``pytest notebooks/``.)
"""

from __future__ import annotations

import json

import pytest

from helpers.config import REPO_ROOT
from helpers.devtools.nbtools import MAX_CHECKED_OUTPUT, is_checked

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _text(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def test_there_are_notebooks_in_teaching_order():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_and_closes_like_a_tutorial(path):
    cells = _cells(path)
    first = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ")
    markdown = "\n".join(_text(c) for c in cells if c["cell_type"] == "markdown")
    for heading in ("Learning objectives", "Prerequisites", "Time to learn", "Summary",
                    "What's next", "Resources", "Exercise"):  # fmt: skip
        assert heading in markdown, f"{path.name} lacks '{heading}'"
    assert "| Concept" in markdown, f"{path.name}: the prerequisites table is missing"
    assert "<details>" in markdown, f"{path.name}: exercise solutions belong in <details>"
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert any(is_checked(c) for c in cells), f"{path.name}: no NBVAL_CHECK_OUTPUT cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_stripped(path):
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        if is_checked(cell):
            text = json.dumps(cell["outputs"])
            assert cell["outputs"], f"{path.name} cell {index}: checked cell without output"
            assert len(text) < MAX_CHECKED_OUTPUT, f"{path.name} cell {index}: output too big"
            assert all(o["output_type"] in ("stream", "execute_result") for o in cell["outputs"])
        else:
            assert cell["outputs"] == [], f"{path.name} cell {index}: outputs not stripped"
            assert cell.get("execution_count") is None, f"{path.name} cell {index}: run count"


def test_parameters_cells_default_to_the_offline_sample():
    for path in NOTEBOOKS:
        cell = next(c for c in _cells(path)
                    if "parameters" in c.get("metadata", {}).get("tags", []))  # fmt: skip
        text = _text(cell)
        if "DATA_SOURCE" in text:
            assert "IS2_DATA_SOURCE" in text and '"sample"' in text, path.name
