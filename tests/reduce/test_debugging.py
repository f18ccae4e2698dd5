"""A bug becomes one line for the user, and its traceback is kept for whoever must fix it.

The bug is planted on purpose: the reducer's step that reduces one beam is replaced by one
that raises ``KeyError('lat')``, as a real slip in the code would.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

import helpers.reduce.granule as granule_module
from helpers.errors import Atl06Error, GranuleError, LayoutError, SourceError, one_line
from helpers.reduce import RECORDS, reduce_granule
from helpers.reduce.policy import failure_path

PLANTED = """
import helpers.reduce.granule as granule

def planted_bug(*args, **kwargs):
    return {}["lat"]

granule.reduce_one_beam = planted_bug
from helpers.reduce.cli import main
raise SystemExit(main(__import__("sys").argv[1:]))
"""


def planted_bug(*args, **kwargs):
    return {}["lat"]  # the bug: a key that is not there


@pytest.fixture()
def granule(small_sample):
    return sorted(small_sample.glob("ATL06_*.h5"))[0]


def test_a_planted_bug_is_one_line_and_its_traceback_is_logged_and_recorded(
    granule, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(granule_module, "reduce_one_beam", planted_bug)
    caplog.set_level(logging.DEBUG, logger="helpers")
    result = reduce_granule(granule, tmp_path)
    assert result.status == "failed"
    assert result.reason == "cannot reduce this granule: KeyError: 'lat'"
    # In the log: the traceback, down to the planted line.
    logged = [r for r in caplog.records if r.name == "helpers.reduce.granule" and r.exc_info]
    assert len(logged) == 1 and logged[0].levelname == "ERROR"
    assert "planted_bug" in caplog.text and 'return {}["lat"]' in caplog.text
    # Beside the outputs: the granule's failure record.
    record = json.loads(failure_path(tmp_path, granule.stem).read_text())
    assert record["reason"] == result.reason and record["source"] == str(granule)
    assert record["traceback"].startswith("Traceback (most recent call last)")
    assert "in planted_bug" in record["traceback"] and "KeyError: 'lat'" in record["traceback"]
    # Fixed, the granule is done and its failure record goes.
    monkeypatch.undo()
    assert reduce_granule(granule, tmp_path).status == "done"
    assert not failure_path(tmp_path, granule.stem).exists()


def test_an_expected_problem_keeps_its_reason_but_no_traceback(tmp_path):
    bad = tmp_path / "ATL06_20190101000000_00010310_006_01.h5"
    bad.write_bytes(b"not an HDF5 file")
    result = reduce_granule(bad, tmp_path / "out")
    assert result.reason.startswith("not a readable HDF5 file")
    record = json.loads(failure_path(tmp_path / "out", bad.stem).read_text())
    assert record["reason"] == result.reason and record["traceback"] == ""


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PLANTED, *map(str, args)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_the_command_line_prints_the_traceback_with_debug_and_says_where_it_is_without(
    granule, tmp_path
):
    quiet = _run(granule, "-o", tmp_path / "a", "-q")
    assert quiet.returncode == 1
    assert f"FAILED {granule}: cannot reduce this granule: KeyError: 'lat'" in quiet.stdout
    assert "Traceback" not in quiet.stdout + quiet.stderr
    assert f"their tracebacks are in {tmp_path / 'a' / RECORDS / 'failures'}/" in quiet.stdout
    loud = _run(granule, "-o", tmp_path / "b", "-q", "--debug")
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "in planted_bug" in loud.stderr and "KeyError: 'lat'" in loud.stderr


def test_the_package_errors_share_one_root_and_one_line():
    for cls in (GranuleError, LayoutError, SourceError):
        assert issubclass(cls, Atl06Error)
    assert issubclass(LayoutError, ValueError)  # what callers caught before
    assert one_line(LayoutError("gt1l/h_li has 3 values")) == "gt1l/h_li has 3 values"
    assert one_line(ValueError("bad\n value")) == "ValueError: bad value"
