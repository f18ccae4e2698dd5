"""The notebooks' shape, the tools they teach, and how they are stored.

(The notebooks themselves are executed by nbval: ``pytest notebooks/``.)

Every notebook has one shape, in separate cells: a numbered title with an overview, learning
objectives, a prerequisites table, the time to learn, one imports cell, one ``parameters``
cell; then sections; then exercises, each in its own cell with its own folded solution; then a
summary, what's next and resources. Before a helper that stands for an ecosystem tool, the
tool itself appears in a code cell.
"""

from __future__ import annotations

import json
import re
import statistics

import pytest

from helpers.config import REPO_ROOT
from helpers.devtools.nbtools import MAX_CHECKED_OUTPUT, is_checked

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

#: Markdown cells stay readable on one screen; code cells stay short (the imports cell aside).
MAX_MARKDOWN_LINES = 30
MAX_CODE_LINES = 10
MAX_MEDIAN_CODE_LINES = 5

#: The ecosystem calls each notebook shows in its code cells (by number), as
#: (tool, helper that stands for it or None): the tool's first cell must come before the
#: helper's first call.
TOOLS: dict[int, list[tuple[str, str | None]]] = {
    2: [(r"h5py\.File\(", None), (r'\["land_ice_segments"\]', None),
        (r'xr\.open_dataset\([^)]*engine="h5netcdf"', None)],
    3: [
        (r"h5py\.File\(", r"reduce\.read_beam\("),
        (r"Transformer\.from_crs\([^)]*always_xy=True", r"projection\.lonlat_to_xy\("),
        (r"Parallel\(n_jobs=", r"reduce\.reduce_granules\("),
        (r"delayed\(", r"reduce\.reduce_granules\("),
    ],
    4: [
        (r"dd\.from_map\(", r"open_reduced\("),
        (r"\.compute\(\)", None),
        (r"ds\.Canvas\(", r"render\.render_map\("),
        (r"\.points\(df, \"x\", \"y\", ds\.mean\(\"h_li\"\)\)", r"render\.render_map\("),
        (r"tf\.shade\(", r"render\.render_map\("),
        (r"\.hvplot\.points\([^)]*rasterize=True", None),
    ],
    6: [
        (r"LocalCluster\(", r"reduce_granules\("),
        (r"Client\(cluster\)", r"reduce_granules\("),
        (r"client\.map\(", r"reduce_granules\("),
    ],
    7: [
        (r"np\.linalg\.lstsq\(", r"fit_trend\("),
        (r"np\.intersect1d\(", r"repeat_pair_change\("),
        (r"np\.polyfit\(", r"dhdt_per_ref_point\("),
    ],
    8: [
        (r"LineString\(", r"find_crossovers\("),
        (r"cKDTree\(", r"find_crossovers\("),
        (r"\.to_xarray\(\)", r"grid_dhdt\("),
        (r"\.get_factors\(", r"volume_change\("),
    ],
}
IMPORT_LINE = re.compile(r"^(import \S|from \S+ import )", re.MULTILINE)
NOTEBOOK_LINK = re.compile(r"\]\((\d\d-[^)#]+\.ipynb)")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(\.\./images/([^)]+)\)")


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _text(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _number(path) -> int:
    return int(path.name[:2])


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _first_cell(cells, pattern: str) -> int | None:
    """Index of the first code cell matching ``pattern``, or None."""
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and re.search(pattern, _text(cell)):
            return index
    return None


def test_there_are_notebooks_in_teaching_order():
    numbers = [_number(p) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_like_a_tutorial(path):
    cells = _cells(path)
    kinds = [c["cell_type"] for c in cells[:6]]
    assert kinds == ["markdown"] * 4 + ["code"] * 2, f"{path.name}: opening cells {kinds}"
    title, objectives, prerequisites, time_to_learn = (_text(c) for c in cells[:4])
    assert title.startswith(f"# {_number(path)}. "), f"{path.name}: numbered title first"
    assert len(title.strip().splitlines()) > 2, f"{path.name}: the title cell needs an overview"
    assert objectives.startswith("## Learning objectives")
    assert prerequisites.startswith("## Prerequisites")
    assert "| Concept | Importance | Notes |" in prerequisites
    assert re.match(r"\*\*Time to learn:\*\* ~\d+ minutes", time_to_learn)
    assert "parameters" in _tags(cells[5]), f"{path.name}: cell 5 must be tagged 'parameters'"
    tagged = [c for c in cells if "parameters" in _tags(c)]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_live_in_one_cell(path):
    cells = _cells(path)
    assert IMPORT_LINE.search(_text(cells[4])), f"{path.name}: cell 4 is the imports cell"
    elsewhere = [i for i, c in enumerate(cells) if i != 4 and c["cell_type"] == "code"
                 and IMPORT_LINE.search(_text(c))]  # fmt: skip
    assert not elsewhere, f"{path.name}: imports outside the imports cell, in cells {elsewhere}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_closes_like_a_tutorial(path):
    cells = _cells(path)
    closing = [_text(c).split("\n", 1)[0] for c in cells[-3:]]
    assert closing == ["## Summary", "## What's next", "## Resources"], path.name
    assert any(is_checked(c) for c in cells), f"{path.name}: no NBVAL_CHECK_OUTPUT cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_exercise_has_its_own_cell_and_answered_solution(path):
    cells = [_text(c) for c in _cells(path) if c["cell_type"] == "markdown"]
    assert "## Exercises" in [c.split("\n", 1)[0] for c in cells], path.name
    exercises = [c for c in cells if c.startswith("### Exercise")]
    assert len(exercises) >= 3, f"{path.name}: at least three exercises"
    for text in exercises:
        name = text.split("\n", 1)[0]
        assert text.count("<details>") == text.count("</details>") == 1, f"{path.name}: {name}"
        question, solution = text.split("<details>")
        assert "?" in question or "Write" in question, f"{path.name}: {name} asks nothing"
        prose = re.sub(r"```.*?```", "", solution, flags=re.DOTALL)
        prose = re.sub(r"<[^>]+>|Solution", "", prose).strip()
        assert len(prose.split()) >= 8, f"{path.name}: {name}: the solution must explain"
    others = [c for c in cells if "<details>" in c and not c.startswith("### Exercise")]
    assert not others, f"{path.name}: <details> outside an exercise cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_short(path):
    cells = _cells(path)
    for index, cell in enumerate(cells):
        lines = len(_text(cell).splitlines())
        if cell["cell_type"] == "markdown":
            assert lines <= MAX_MARKDOWN_LINES, f"{path.name} cell {index}: {lines} lines"
        elif index != 4:  # the imports cell may be longer
            assert lines <= MAX_CODE_LINES, f"{path.name} cell {index}: {lines} lines"
    code = [len(_text(c).splitlines()) for c in cells if c["cell_type"] == "code"]
    assert statistics.median(code) <= MAX_MEDIAN_CODE_LINES, path.name


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _number(p) in TOOLS],
                         ids=lambda p: p.name)  # fmt: skip
def test_the_tools_come_before_the_helpers(path):
    cells = _cells(path)
    for tool, helper in TOOLS[_number(path)]:
        shown = _first_cell(cells, tool)
        assert shown is not None, f"{path.name}: no code cell shows {tool!r}"
        if helper is not None:
            handed_over = _first_cell(cells, helper)
            assert handed_over is not None, f"{path.name}: {helper!r} is never called"
            assert shown < handed_over, f"{path.name}: {tool!r} must come before {helper!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_repeats_its_key_step_on_real_data(path):
    """A section before the exercises reads the real mini-set (``real_data_dir()``) and has a
    checked output."""
    cells = _cells(path)
    exercises = next(i for i, c in enumerate(cells) if _text(c).startswith("## Exercises"))
    real = _first_cell(cells, r"real_data_dir\(\)")
    assert real is not None and real < exercises, f"{path.name}: no real-data section"
    headings = [i for i, c in enumerate(cells[:real]) if c["cell_type"] == "markdown"
                and re.search(r"^##+ .*[Rr]eal", _text(c), re.MULTILINE)]  # fmt: skip
    assert headings, f"{path.name}: the real-data section needs a heading that says so"
    assert any(is_checked(c) for c in cells[headings[-1]:exercises]), path.name


def test_links_between_notebooks_and_to_images_resolve():
    names = {p.name for p in NOTEBOOKS}
    shown = set()
    for path in NOTEBOOKS:
        markdown = "\n".join(_text(c) for c in _cells(path) if c["cell_type"] == "markdown")
        broken = [n for n in NOTEBOOK_LINK.findall(markdown) if n not in names]
        assert not broken, f"{path.name} links to missing notebooks {broken}"
        shown.update(IMAGE_LINK.findall(markdown))
    images = {p.name for p in (REPO_ROOT / "images").glob("*.png")}
    assert shown <= images, f"missing images: {shown - images}"
    assert images <= shown, f"figures in images/ no notebook shows: {images - shown}"


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
        cell = next(c for c in _cells(path) if "parameters" in _tags(c))
        text = _text(cell)
        if "DATA_SOURCE" in text:
            assert "IS2_DATA_SOURCE" in text and '"sample"' in text, path.name
