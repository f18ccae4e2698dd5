"""The continent estimate of notebook 6: its arithmetic, and the committed figures it reads."""

import math

import pytest

from helpers.estimate import (
    END_TO_END_RESULTS,
    cycle_estimate,
    load_end_to_end,
    segments_per_beam_pass,
)


def test_cycle_estimate_matches_a_hand_computation():
    # 1387 passes x 6 beams x 200,000 segments = 1,664,400,000 segments; at 50,000 segments
    # per second one worker needs 33,288 s = 9.2467 h; 100 workers 5.548 min; at 30 bytes
    # per segment 49.932 GB cross the link.
    e = cycle_estimate(50_000, 30.0, segments_per_beam_pass(4000))
    assert e.segments == 1_664_400_000
    assert math.isclose(e.worker_hours, 33_288 / 3600)
    assert math.isclose(e.hours_on(100) * 60, 5.548)
    assert math.isclose(e.bytes_transferred, 49.932e9)


def test_cycle_estimate_takes_other_inputs_and_refuses_a_zero_rate():
    e = cycle_estimate(1_000, 2.0, 10.0, passes=3, beams=2)
    assert (e.segments, e.bytes_transferred) == (60, 120)
    assert math.isclose(e.worker_hours, 60 / 1000 / 3600)
    with pytest.raises(ValueError, match="positive"):
        cycle_estimate(0, 1.0, 10.0)


def test_the_committed_end_to_end_figures_hold_what_notebook_6_uses():
    assert END_TO_END_RESULTS.is_file(), "run bench/bench_end_to_end.py and commit its JSON"
    result = load_end_to_end()
    assert {"date", "machine", "parameters", "figures"} <= result.keys()
    p, f = result["parameters"], result["figures"]
    assert p["granules"] >= 100 and p["jobs"] == 2 and p["bbox"] is None
    assert (p["latency_ms"], p["connection_mbps"]) == (5.0, 100.0)
    assert f["granules"] == p["granules"] and f["wall_s"] > 0
    assert math.isclose(f["segments_per_second"], f["segments_read"] / f["wall_s"])
    assert math.isclose(f["segments_per_second_per_worker"], f["segments_per_second"] / 2)
    assert math.isclose(f["bytes_per_segment"], f["bytes_transferred"] / f["segments_read"])
    assert 0 < f["transferred_fraction"] <= 1
    assert len(f["peak_rss_per_worker_mb"]) >= 2 and f["peak_rss_worker_max_mb"] > 0
    assert math.isclose(f["granules_per_minute"], f["granules"] / f["wall_s"] * 60)
