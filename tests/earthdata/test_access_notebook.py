"""Notebook 1 in earthdata mode, when the real source fails: one message, then the sample.

The notebook runs in a real Jupyter kernel (nbclient). A first cell, added to a copy of the
notebook, sets the environment a learner would have and starts ``responses`` in the kernel
with the exchanges of ``tests/support/earthdata_http.py`` (or none at all: no network), so the
notebook's own cells run the real icepyx/earthaccess code. Whatever the notebook's cells
are, the check is the same: no cell fails, exactly one line reports the failing source,
and the embedded sample's numbers come out as stored.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from earthdata_http import fake_credentials

from helpers.config import REPO_ROOT
from helpers.devtools.nbtools import is_checked

NOTEBOOK = REPO_ROOT / "notebooks" / "01-find-and-download.ipynb"
#: Where the kernel finds earthdata_http.
SUPPORT = Path(__file__).resolve().parents[1] / "support"
#: Every DataSourceError message carries one of these (raised, or printed as a fallback).
MARKERS = ("To fix:", "Continuing with the embedded synthetic sample")
GRANULE = "ATL06_20190110134532_02090210_007_01.h5"

SETUP = """\
import os, sys
sys.path.insert(0, {tests!r})
for _name in {unset!r}:
    os.environ.pop(_name, None)
os.environ.update({env!r})
import responses, earthdata_http
_http = responses.RequestsMock(assert_all_requests_are_fired=False)
_http.start()
{install}
"""


def _text(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(
                output["text"] if isinstance(output["text"], str) else "".join(output["text"])
            )
        elif output["output_type"] == "error":
            parts.append("Traceback: " + output["ename"])
        else:
            parts.append(json.dumps(output.get("data", {})))
    return "".join(parts)


def run_notebook_1(tmp_path, sample: Path, env: dict, unset=(), install: str = "") -> list:
    """Execute a copy of notebook 1 after the set-up cell; return its cells (set-up dropped)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    home, workdir = tmp_path / "home", tmp_path / "notebooks"
    home.mkdir()
    workdir.mkdir()
    env = {
        "IS2_DATA_SOURCE": "earthdata",
        "IS2_DATA_DIR": str(sample),
        "HOME": str(home),
        "IS2_OUTPUT_DIR": str(tmp_path / "build"),
        **env,
    }
    unset = ("NETRC", "IS2_VERSION", "EARTHDATA_TOKEN", *unset)
    setup = SETUP.format(tests=str(SUPPORT), env=env, unset=list(unset), install=install)
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    assert not list(workdir.iterdir()), "the notebook left files in its working folder"
    return nb.cells[1:]


def check_one_message_then_the_sample(cells, expected: str) -> None:
    texts = [_outputs(c) for c in cells if c["cell_type"] == "code"]
    assert not any("Traceback" in t for t in texts)
    lines = [line for t in texts for line in t.splitlines() if any(m in line for m in MARKERS)]
    assert len(lines) == 1, f"expected one message, got {len(lines)}: {lines}"
    assert expected in lines[0]
    original = json.loads(NOTEBOOK.read_text())["cells"]
    stored = [_outputs(c) for c in original if c["cell_type"] == "code" and is_checked(c)]
    ran = [_outputs(c) for c in cells if c["cell_type"] == "code" and is_checked(c)]
    assert ran == stored, "the sample's checked numbers changed"


def _fake_nasa(credentials, releases=("007",)) -> str:
    spec = {"credentials": list(credentials), "releases": list(releases), "granules": [GRANULE]}
    return f"earthdata_http.FakeNasa(**{spec!r}).install(_http)"


@pytest.fixture(scope="module")
def sample(default_sample) -> Path:
    return default_sample


@pytest.mark.slow
def test_no_network(tmp_path, sample):
    user, password = fake_credentials()
    cells = run_notebook_1(
        tmp_path, sample, {"EARTHDATA_USERNAME": user, "EARTHDATA_PASSWORD": password}
    )
    check_one_message_then_the_sample(cells, "Cannot reach NASA's CMR catalogue (no network?).")


@pytest.mark.slow
def test_retired_release(tmp_path, sample):
    user, password = fake_credentials()
    env = {"EARTHDATA_USERNAME": user, "EARTHDATA_PASSWORD": password, "IS2_VERSION": "006"}
    cells = run_notebook_1(tmp_path, sample, env, install=_fake_nasa((user, password)))
    check_one_message_then_the_sample(cells, "ATL06 release 006 is not offered by NASA's CMR")


@pytest.mark.slow
def test_no_credentials(tmp_path, sample):
    cells = run_notebook_1(
        tmp_path,
        sample,
        {},
        unset=("EARTHDATA_USERNAME", "EARTHDATA_PASSWORD"),
        install=_fake_nasa(fake_credentials()),
    )
    check_one_message_then_the_sample(cells, "No NASA Earthdata credentials found")


def test_markers_match_the_messages():
    from helpers.earthdata import errors

    err = errors.no_network("x")
    assert MARKERS[0] in str(err) and MARKERS[1] in err.fallback_message()
    assert copy.copy(MARKERS) == MARKERS
