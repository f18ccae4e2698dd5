"""Where a test session keeps the notebooks nbval ran from top to bottom, executed.

``conftest.py`` saves them (``config.stash[EXECUTED]``); the website's test builds from
them instead of running every notebook once more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: The folder of executed notebooks, in the session's ``config.stash``.
EXECUTED = pytest.StashKey[Path]()
