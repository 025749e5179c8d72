"""The fault soak at CI size: every render reaches an outcome, nothing doubles or leaks."""

from __future__ import annotations

import os

import pytest

from videoapi_async.sandbox import run_in_simulated_time

from .soak import run_soak

pytestmark = pytest.mark.e2e

RENDERS = int(os.environ.get("VIDEOAPI_SOAK_RENDERS", "300"))


def test_soak() -> None:
    """Renders through 15 % faults all end visibly, without duplicates or leaks."""
    report = run_in_simulated_time(run_soak(renders=RENDERS, fault_rate=0.15, seed=5))
    print(report)
    assert sum(report["outcomes"].values()) == RENDERS
    assert set(report["outcomes"]) <= {"ready", "render failed"}
    assert report["videos_created"] == RENDERS
    assert report["duplicate_creates"] == 0
    assert report["lost_create_answers"] > 0, "the soak should exercise lost create answers"
    assert report["found_again"] <= report["lost_create_answers"]
    assert 0.08 <= report["faulted_share"] <= 0.25
    assert report["leaked_tasks"] == 0
    assert report["leaked_fds"] in (0, None)
