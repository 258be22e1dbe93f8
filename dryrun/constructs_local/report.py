"""Printing results the way ``cdk deploy`` / ``cdk destroy`` do, plus a per-run status timeline."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from constructs_local.cloudformation.provider import ProviderRun, Step
from constructs_local.cloudformation.replay import RequestRecord, StackResult

NOTHING_TO_DRY_RUN = (
    "nothing to dry-run: the stack has no MetadataGenerationRun or MetadataGenerationBatch "
    "(no Custom::DataZoneMetadataGeneration* resource)"
)


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"


def _offset(seconds: float) -> str:
    return f"+{seconds:,.0f}s"


def event_lines(result: StackResult) -> list[str]:
    lines = []
    for event in result.events:
        at = _offset(event.at - result.started_at)
        line = f"  {at:>8} | {event.status:<20} | {event.resource_type:<38} | {result.display_name(event.logical_id)}"
        lines.append(line)
        if event.reason:
            lines.extend(f"  {'':>8} | {text}" for text in event.reason.splitlines() if text.strip())
    return lines


def _grouped(steps: Sequence[Step]) -> list[tuple[Step, Step, int]]:
    """Consecutive 'not yet' polls with the same status collapse into one line."""
    groups: list[tuple[Step, Step, int]] = []
    for step in steps:
        if groups:
            first, _last, count = groups[-1]
            if step.what == first.what == "isComplete: not yet" and step.status == first.status:
                groups[-1] = (first, step, count + 1)
                continue
        groups.append((step, step, 1))
    return groups


def timeline_lines(record: RequestRecord, started_at: float, display: str) -> list[str]:
    lines: list[str] = []
    for delivery, run in enumerate(record.runs, start=1):
        title = f"Run timeline: {display} {record.request_type} ({record.phase})"
        if len(record.runs) > 1:
            title += f", delivery {delivery} of {len(record.runs)}"
        lines.append(title)
        lines.extend(_run_lines(run, started_at))
    if record.calls:
        counts = Counter(call.operation for call in record.calls)
        errors = Counter(f"{call.status} {call.error}" for call in record.calls if call.error)
        text = ", ".join(f"{op} x{n}" for op, n in counts.items())
        if errors:
            text += " (errors: " + ", ".join(f"{e} x{n}" for e, n in errors.items()) + ")"
        lines.append(f"  DataZone calls: {text}")
    return lines


def _run_lines(run: ProviderRun, started_at: float) -> list[str]:
    lines = []
    for first, last, count in _grouped(run.steps):
        at = _offset(first.at - started_at)
        if count > 1:
            at = f"{at}..{_offset(last.at - started_at)}"
        what = first.what if count == 1 else f"{first.what} (x{count})"
        status = f"  [{first.status}]" if first.status else ""
        lines.append(f"  {at:>14}  {what}{status}")
    if run.response is not None:
        at = _offset(run.steps[-1].at - started_at) if run.steps else ""
        first_line = run.response.reason.splitlines()[0] if run.response.reason else ""
        detail = "" if run.response.status == "SUCCESS" else f": {first_line}"
        lines.append(f"  {at:>14}  response {run.response.status} ({run.response.size} bytes){detail}")
    return lines


def print_result(result: StackResult, out: TextIO, *, index: int = 1, total: int = 1, verbose: bool = False) -> None:
    name = f"{result.stack} (local)"
    verb = "deploying" if result.action == "deploy" else "destroying"
    print(f"{name}: {verb}... [{index}/{total}]", file=out)
    if result.events:
        print("", file=out)
        for line in event_lines(result):
            print(line, file=out)
    for record in result.requests:
        print("", file=out)
        for line in timeline_lines(record, result.started_at, result.display_name(record.logical_id)):
            print(line, file=out)
        if verbose:
            _print_invocations(record, out)
    if result.workflow_calls:
        made = ", ".join(f"{op} x{n}" for op, n in sorted(result.workflow_calls.items()))
        print(f"\n  batch workflow DataZone calls: {made}", file=out)
    if result.max_history_events:
        print(
            f"  history events: at most {result.max_history_events:,} in one execution (quota 25,000)",
            file=out,
        )
    for note in result.notes:
        print(f"\n  note: {note}", file=out)
    print("", file=out)
    _print_outcome(result, name, out)


#: The batch workflow's words for a selection that found no asset (worker.SelectionError), and
#: what to do about it in a dry run, where the endpoint knows only the seed's assets.
EMPTY_SELECTION = "The selection is empty"
EMPTY_SELECTION_HINT = (
    "local dry run: the endpoint knows only its seed's assets; add some with --seed-assets N "
    "(generated Glue tables) or a seed file's domains.<domain>.assets / dataSources.<id>.assets (--seed FILE)"
)


def _print_outcome(result: StackResult, name: str, out: TextIO) -> None:
    """The closing lines, as ``cdk deploy`` / ``cdk destroy`` print them."""
    if result.action == "destroy":
        if result.ok:
            print(f" \u2705  {name}: destroyed", file=out)
        else:
            print(f" \u274c  {name}: destroy failed: {result.status}: {_first_line(result.reason)}", file=out)
        return
    if not result.ok:
        print(f" \u274c  {name} failed: {result.status}: {_first_line(result.reason)}", file=out)
        if EMPTY_SELECTION in (result.reason or ""):
            print(f"    {EMPTY_SELECTION_HINT}", file=out)
        return
    if not result.constructs:
        # Not a success mark: nothing of what this command checks was in the stack.
        print(f" \u2796  {name}: {NOTHING_TO_DRY_RUN}", file=out)
        return
    suffix = " (no changes)" if not result.changed else ""
    print(f" \u2705  {name}{suffix}", file=out)
    print("", file=out)
    # Simulated time is what the custom resources' requests took: none were sent, none passed (the
    # clock a batch needs runs on, and a no-change deploy printed its drift as simulated time).
    simulated = (
        f" (simulated time: {result.simulated_seconds:,.0f}s)"
        if result.requests and result.simulated_seconds >= 1
        else ""
    )
    print(f"\u2728  Deployment time: {_seconds(result.wall_seconds)}{simulated}", file=out)
    print("", file=out)
    if result.outputs:
        print("Outputs:", file=out)
        for key in sorted(result.outputs):
            print(f"{result.stack}.{key} = {result.outputs[key]}", file=out)
    print("Stack ARN:", file=out)
    print(result.stack_id, file=out)


def _print_invocations(record: RequestRecord, out: TextIO) -> None:
    for run in record.runs:
        for invocation in run.invocations:
            outcome = "error" if invocation.failed else "ok"
            print(f"    invocation {invocation.function} {invocation.request_id} ({outcome})", file=out)
            for line in invocation.logs:
                print(f"      {line}", file=out)
            if invocation.error:
                print(
                    f"      error: {json.dumps({k: v for k, v in invocation.error.items() if k != 'stackTrace'})}",
                    file=out,
                )


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""
