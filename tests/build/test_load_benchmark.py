"""`make bench-load` runs benchmarks/load.py; here it runs small, so it cannot rot: submissions
with Idempotency-Key retries lose and duplicate nothing, state-change events with duplicates and
late ones complete every job exactly once, and the stack is stopped. The speed is not checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.build.benchmark_runs import need_node_modules, run_benchmark


@pytest.mark.build
@pytest.mark.stack_benchmark
def test_the_load_benchmark_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    need_node_modules()
    output = tmp_path / "load.json"
    reply = run_benchmark(
        "load.py",
        *("--submissions", "40", "--clients", "4", "--events", "50", "--ceiling-jobs", "10"),
        *("--output", str(output)),
    )
    assert reply.returncode == 0, reply.stdout[-3000:] + reply.stderr[-3000:]
    result = json.loads(output.read_text())
    assert result["failures"] == []
    assert result["survivors"] == []

    submissions = result["submissions"]
    assert (submissions["lost"], submissions["duplicated"]) == (0, 0)
    assert submissions["http"]["5xx"] == 0
    assert submissions["jobs_listed"] == 40
    assert submissions["latency"]["keyed_retry_2xx"]["count"] == 20  # every keyed one, twice
    assert submissions["keyed_retries_in_flight"] > 0
    assert set(submissions["jobs"]["statuses"]) == {"Failed"}  # no input: preflight ends them

    changes = result["state_changes"]
    check = changes["check"]
    assert changes["completed_events"] == 50
    assert changes["duplicate_completed_events"] + changes["late_in_progress_events"] > 0
    assert check["jobs_completed_as_expected"] == check["jobs"] == 50
    assert check["completed_history_items"] == 50
    assert check["history_items"] == 4 * 50  # Submitted, Validating, InProgress, Completed
    assert check["team_slots_held_after"] == 0
    assert check["service_slots_after"] == check["service_slots_before"]
    assert changes["invocations_applied"] == 50
    assert changes["dead_letters"] == 0
    assert changes["events_per_s"] > 0
    assert changes["ceiling"]["applied"] == 10
