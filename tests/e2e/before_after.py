"""Issue 8's scenarios against an earlier handler and the current one, side by side.

``python -m tests.e2e.before_after [--rev 9ad59a1]`` synthesizes the example app, copies its cloud
assembly, puts the run handler of git revision ``--rev`` into the copy's Lambda asset (its
``index.on_event`` / ``index.is_complete`` behind the current ``entry.py`` names) and runs each
scenario's e2e case on both, printing one markdown row per case: stack statuses, the runs at the
end and the first line of the reason. The same template serves both, so only the handler differs;
scenario 9 adds the 0.1 template's own limit (TimeoutSeconds 3600 and no ServiceTimeout), which
the current construct refuses at synth.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.e2e.cases import (
    Case,
    Harness,
    Outcome,
    drop_run_property,
    run_case,
    set_run_property,
    synthesize_example,
)
from tests.e2e.cases import case as case_by_id

#: The cases that stand for issue 8's scenarios, in its order.
SCENARIOS: tuple[tuple[str, str], ...] = (
    ("1 rollback starts a new run", "rollback-failed-run-previous-id"),
    ("1 rollback starts a new run", "rollback-failed-run-failed-id"),
    ("1 rollback starts a new run", "rollback-quota-previous-id"),
    ("1 rollback starts a new run", "rollback-quota-failed-id"),
    ("2 one bad poll fails the deploy", "poll-errors"),
    ("2 one bad poll fails the deploy", "poll-404-after-start"),
    ("3 in-flight Create cannot be cancelled", "in-flight-create-deleted"),
    ("4 predictions applied more than once", "predictions-once-previous-id"),
    ("4 predictions applied more than once", "predictions-once-failed-id"),
    ("5 a fixed client token adopts old runs", "fixed-client-token"),
    ("6 unknown statuses count as success", "unknown-status"),
    ("7 timed-out runs are left running", "timeout-cancels-run"),
    ("8 response size and encoding", "hostile-error-message"),
    ("9 ServiceTimeout races ours", "max-timeout-vs-service-timeout"),
)
SYNTH_REFUSAL = "refused at synth: `timeout` is at most 55 minutes"
#: What the provider framework puts before the handler's own message.
FRAMEWORK_PREFIX = "Received response status [FAILED] from custom resource. Message returned: Error: "
HANDLER = "lambda_src/metadata_generation_run/index.py"
ENTRY = "from index import is_complete, on_event  # an earlier run handler, for a before/after comparison\n"


def _statuses(outcome: Outcome) -> list[str]:
    return [result.status for result in outcome.results]


def _runs(outcome: Outcome) -> list[str]:
    return [status for _, status in outcome.runs]


def _reason(outcome: Outcome) -> str:
    return " ".join(result.reason or "" for result in outcome.results)


def _rolled_back(outcome: Outcome) -> bool:
    return _statuses(outcome)[-1] == "UPDATE_ROLLBACK_COMPLETE"


def _accepted_once(outcome: Outcome) -> bool:
    accepted = [c for c in outcome.calls_to("AcceptPredictions") if c.status == 200]
    return _rolled_back(outcome) and len(accepted) == len(outcome.calls_to("AcceptPredictions")) == 1


#: What must hold in each case (issue 8): the before column is expected to break it.
HOLDS: dict[str, Callable[[Outcome], bool]] = {
    "rollback-failed-run-previous-id": _rolled_back,
    "rollback-failed-run-failed-id": _rolled_back,
    "rollback-quota-previous-id": _rolled_back,
    "rollback-quota-failed-id": _rolled_back,
    "poll-errors": lambda o: _statuses(o) == ["CREATE_COMPLETE"],
    "poll-404-after-start": lambda o: _statuses(o) == ["CREATE_COMPLETE"],
    "in-flight-create-deleted": lambda o: _runs(o) == ["CANCELED"] and not o.calls_to("AcceptPredictions"),
    "predictions-once-previous-id": _accepted_once,
    "predictions-once-failed-id": _accepted_once,
    "fixed-client-token": lambda o: _statuses(o)[-2:] == ["CREATE_COMPLETE", "UPDATE_COMPLETE"],
    "unknown-status": lambda o: _statuses(o) == ["ROLLBACK_COMPLETE"] and "PAUSED" in _reason(o),
    "timeout-cancels-run": lambda o: _runs(o) == ["CANCELED"],
    "hostile-error-message": lambda o: f"run {o.runs[0][0]} ended FAILED" in _reason(o),
    "max-timeout-vs-service-timeout": lambda o: "timed out after" in _reason(o) and _runs(o) == ["CANCELED"],
    "one-hour-timeout-0.1-template": lambda o: "timed out after" in _reason(o) and _runs(o) == ["CANCELED"],
}


def _one_hour_timeout(box: Harness) -> None:
    box.deploy(box.variant(set_run_property("TimeoutSeconds", 3600), drop_run_property("ServiceTimeout")))


ONE_HOUR = Case(
    "one-hour-timeout-0.1-template",
    "0.1's longest timeout",
    "run never finishes; TimeoutSeconds 3600, no ServiceTimeout (what 0.1 synthesized)",
    _one_hour_timeout,
    {"final_status": {"exampleasset1": "IN_PROGRESS"}},
)


def with_handler_of(assembly: Path, target: Path, rev: str) -> Path:
    """A copy of ``assembly`` whose handler asset runs ``rev``'s run handler."""
    shutil.copytree(assembly, target)
    source = subprocess.run(
        ["git", "show", f"{rev}:{HANDLER}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assets = [entry.parent for entry in target.glob("asset.*/entry.py")]
    if len(assets) != 1:
        raise ValueError(f"expected one handler asset with entry.py in {assembly}, found {len(assets)}")
    (asset,) = assets
    for module in asset.glob("*.py"):
        module.unlink()
    (asset / "index.py").write_text(source)
    (asset / "entry.py").write_text(ENTRY)
    return target


def summary(outcome: Outcome) -> str:
    statuses = " → ".join(result.status for result in outcome.results)
    runs = ", ".join(status for _, status in outcome.runs) or "none"
    reasons = [result.reason for result in outcome.results if result.reason]
    first = reasons[-1].strip().splitlines()[0].removeprefix(FRAMEWORK_PREFIX) if reasons else ""
    reason = outcome.masked(first)[:140]
    return f"{statuses}; runs {runs}" + (f"; “{reason}”" if reason else "")


def compare(assembly: Path, rev: str, scratch: Path) -> list[str]:
    before = with_handler_of(assembly, scratch / "before", rev)
    rows = [f"| scenario | case | before ({rev}) | after |", "|---|---|---|---|"]
    cases: list[tuple[str, Case]] = [(scenario, case_by_id(case_id)) for scenario, case_id in SCENARIOS]
    cases.append(("9 ServiceTimeout races ours", ONE_HOUR))
    for scenario, item in cases:
        old = run_case(item, before)
        new = None if item is ONE_HOUR else run_case(item, assembly)
        rows.append(f"| {scenario} | `{item.id}` | {_cell(old)} | {SYNTH_REFUSAL if new is None else _cell(new)} |")
    return rows


def _cell(outcome: Outcome) -> str:
    holds = HOLDS[outcome.case.id](outcome)
    return ("holds: " if holds else "**broken**: ") + summary(outcome)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.before_after", description=__doc__)
    parser.add_argument("--rev", default="9ad59a1", help="git revision whose run handler is 'before'")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="before-after-") as scratch, synthesize_example() as assembly:
        sys.stdout.write("\n".join(compare(assembly, args.rev, Path(scratch))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
