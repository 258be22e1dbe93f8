"""Issue 8's scenarios: each one's condition breaks on the 0.1 handler (9ad59a1) and holds now."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.before_after import HOLDS, ONE_HOUR, SCENARIOS, with_handler_of
from tests.e2e.cases import Outcome, run_case
from tests.e2e.cases import case as case_by_id

REV = "9ad59a1"


@pytest.fixture(scope="module")
def before(assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    known = subprocess.run(["git", "cat-file", "-e", f"{REV}^{{commit}}"], check=False, capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"this checkout has no commit {REV} (a shallow clone?)")
    return with_handler_of(assembly, tmp_path_factory.mktemp("before") / "cdk.out", REV)


# Scenario 9's "before" is 0.1's own template (a one-hour timeout, no ServiceTimeout), below: the
# current template's 55-minute maximum holds with either handler.
SERVICE_TIMEOUT_CASE = "max-timeout-vs-service-timeout"


@pytest.mark.parametrize("case_id", [case_id for _, case_id in SCENARIOS if case_id != SERVICE_TIMEOUT_CASE])
def test_condition_breaks_before_and_holds_now(before: Path, outcomes: dict[str, Outcome], case_id: str) -> None:
    holds = HOLDS[case_id]
    assert holds(outcomes[case_id]), f"{case_id} does not hold on the current handler"
    assert not holds(run_case(case_by_id(case_id), before)), f"{case_id} already held on {REV}: it tests nothing"


def test_the_0_1_longest_timeout_lost_to_cloudformations_service_timeout(
    before: Path, outcomes: dict[str, Outcome]
) -> None:
    assert HOLDS[SERVICE_TIMEOUT_CASE](outcomes[SERVICE_TIMEOUT_CASE])
    outcome = run_case(ONE_HOUR, before)
    assert not HOLDS[ONE_HOUR.id](outcome)
    assert "failed to stabilize in expected time (ServiceTimeout 3600 s" in (outcome.results[0].reason or "")
