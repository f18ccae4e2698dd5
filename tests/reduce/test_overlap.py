"""Granules of one process reduced in turn, remote ones a few at a time (issue 23, item 3).

What is checked is behaviour, with a stand-in for ``reduce_granule`` that records when it
runs: every item gives exactly one result, local ones one after the other, URLs at most
``at_once`` at a time (and that many when there are enough), and closing the stream early
starts nothing more. That remote outputs equal local ones, with overlap, is checked in
``test_remote.py`` and ``test_hostile_servers.py`` (``reduce_granules`` uses it).
"""

from __future__ import annotations

import threading
import time

import pytest

from helpers.bbox import BBox
from helpers.reduce import GranuleResult, ReduceOptions
from helpers.reduce.overlap import AT_ONCE_BOX, AT_ONCE_WHOLE, at_once, reduce_in_turn


class Recorder:
    """A stand-in reducer: sleeps a little, and records how many calls ran at once."""

    def __init__(self, pause: float = 0.05) -> None:
        self.pause, self.lock = pause, threading.Lock()
        self.running = self.most = 0
        self.started: list[str] = []
        self.most_local = 0

    def __call__(self, item, outdir, options) -> GranuleResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            if not str(item).startswith("http"):
                self.most_local = max(self.most_local, self.running)
            self.started.append(str(item))
        time.sleep(self.pause)
        with self.lock:
            self.running -= 1
        return GranuleResult(source=str(item), status="done")


URLS = [f"https://host/ATL06_20190101000000_{i:04d}0310_006_01.h5" for i in range(8)]
PATHS = [f"/data/ATL06_20190102000000_{i:04d}0310_006_01.h5" for i in range(3)]


@pytest.mark.parametrize("bbox", [None, BBox(-100, -76, -99, -75)])
def test_urls_run_a_few_at_a_time_and_paths_alone(bbox, tmp_path):
    fake = Recorder()
    options = ReduceOptions(bbox=bbox)
    results = list(reduce_in_turn([*PATHS, *URLS], tmp_path, options, fake))
    assert sorted(r.source for r in results) == sorted([*PATHS, *URLS])  # each once
    assert fake.most_local == 1  # no path overlapped with anything
    assert fake.most == at_once(options) == (AT_ONCE_BOX if bbox else AT_ONCE_WHOLE)


def test_one_url_runs_in_the_calling_thread(tmp_path):
    seen = []

    def fake(item, outdir, options):
        seen.append(threading.current_thread() is threading.main_thread())
        return GranuleResult(source=str(item), status="done")

    assert [r.source for r in reduce_in_turn(URLS[:1], tmp_path, ReduceOptions(), fake)] \
        == URLS[:1]  # fmt: skip
    assert seen == [True]


def test_closing_the_stream_starts_nothing_more(tmp_path):
    fake = Recorder(pause=0.2)
    stream = reduce_in_turn(URLS, tmp_path, ReduceOptions(), fake)
    first = next(stream)
    stream.close()  # what an interrupted run does
    assert first.status == "done"
    time.sleep(0.3)
    assert fake.running == 0  # those running finished; the rest never started
    assert len(fake.started) <= AT_ONCE_WHOLE + 1 < len(URLS)
