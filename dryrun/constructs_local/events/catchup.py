"""``constructs-local data-source-run``: a later run of a deployed data source, with no redeploy.

It stands for what DataZone does between deploys (a data source runs on its schedule, or someone
starts it), and for the catch-up a person does after an event was lost: the local endpoint makes
``--created`` new tables and changes the schema of ``--updated`` imported ones, starts the data
source's run, and its end goes to EventBridge like any other. Every continuous batch's rule that
matches sends it to its intake, which starts the batch's workflow; the command waits for those
executions and says what they did (their summaries), what each delivery did, and what any
dead-letter queue holds.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from constructs_lib._handler import contract  # the wire contract: stdlib only
from constructs_local.cloudformation.assembly import AssemblyError, StackArtifact
from constructs_local.cloudformation.results import StackResult
from constructs_local.cloudformation.session import _Context
from constructs_local.cloudformation.state import _Resource
from constructs_local.events.models import Delivery

if TYPE_CHECKING:
    from constructs_local.cloudformation.replay import _Session

#: How long (simulated) the command waits for the executions the run started: a run_timeout
#: of 30 minutes per asset, a turn behind an earlier execution, and room to spare.
DEFAULT_WAIT_SECONDS = 4 * 3600
FINAL_STATUSES = ("SUCCESS", "PARTIALLY_SUCCEEDED", "FAILED")


@dataclass
class ExecutionOutcome:
    name: str
    status: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class DataSourceRunResult:
    """What one ``data-source-run`` did."""

    domain_id: str
    data_source_id: str
    run_id: str
    status: str
    created: list[str]
    updated: list[str]
    activities: dict[str, int]
    events: list[dict[str, Any]]
    deliveries: list[Delivery]
    executions: list[ExecutionOutcome]
    dead_letters: dict[str, list[dict[str, Any]]]
    #: Each metadata-generation run started since the data-source run: (asset, its status, what
    #: became of its predictions: ACCEPT / REJECT / "").
    generated: list[tuple[str, str, str]] = field(default_factory=list)
    #: The DataZone calls made under the workflow's role (the intake's and the workflow's), by operation.
    calls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        failed = [e for e in self.executions if e.status != "SUCCEEDED"]
        return not failed and not self.dead_letters and all(d.outcome == "delivered" for d in self.deliveries)


def continuous_sources(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(domain id, data source id) of every deployed continuous batch, as its properties resolved."""
    found = []
    for stack in state.get("stacks", {}).values():
        for resource in stack.get("resources", {}).values():
            props = resource.get("properties") or {}
            if resource.get("type") != contract.BATCH_RESOURCE_TYPE:
                continue
            if str(props.get(contract.BatchProp.CONTINUOUS, "")).lower() != "true":
                continue
            selection = props.get(contract.BatchProp.SELECTION) or {}
            found.append((str(props.get(contract.Prop.DOMAIN_ID)), str(selection.get("DataSourceId"))))
    return sorted(set(found))


def run_data_source(
    session: _Session,
    stacks: Sequence[StackArtifact],
    *,
    data_source: str | None = None,
    domain: str | None = None,
    created: int = 0,
    updated: int = 0,
    status: str | None = None,
    redeliver: int = 1,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> DataSourceRunResult:
    wall = time.monotonic()
    backend = session.backend
    if backend is None or session.stepfunctions is None:
        raise AssemblyError(
            "data-source-run needs the replay's own local endpoint (not --aws or --endpoint-url): on AWS, "
            "aws datazone start-data-source-run --domain-identifier <domain> --data-source-identifier <id>"
        )
    _restore(session, stacks)
    domain_id, source_id = _which(session, data_source, domain)
    if status is not None and status not in FINAL_STATUSES:
        raise ValueError(f"status {status!r}: use one of {', '.join(FINAL_STATUSES)}")
    made, changed = backend.stage_import(domain_id, source_id, created=created, updated=updated)
    forced = dict(backend.knobs.data_source_final_status)
    if status is not None:
        backend.knobs.data_source_final_status = {**forced, source_id: status}
    try:
        run_id = backend.start_data_source_run(domain_id, source_id)
    finally:
        backend.knobs.data_source_final_status = forced
    session.events.redeliver = redeliver
    session.events.watch()
    # Simulated until the run ends and its events are delivered (retries included).
    session.scheduler.drain()
    notes = _wait_for_executions(session, wait_seconds)
    run = backend.data_source_runs[f"{domain_id}/{run_id}"]
    now = session.clock.now()
    decided = {d.run_id: d.action for d in backend.prediction_decisions(domain_id)}
    generated = [
        (r.asset_id, r.status(now), decided.get(r.id, ""))
        for r in sorted(backend.runs.values(), key=lambda r: (r.created_at, r.asset_id))
        if r.domain_id == domain_id and r.created_at >= run.created_at
    ]
    calls = Counter(
        c.operation for c in backend.calls if c.at >= run.created_at and c.principal in session.workflow_roles
    )
    return DataSourceRunResult(
        domain_id=domain_id,
        data_source_id=source_id,
        run_id=run_id,
        status=run.status(now),
        created=made,
        updated=changed,
        activities=dict(Counter(a["dataAssetStatus"] for a in run.activities(now))),
        events=list(session.events.bus.events),
        deliveries=list(session.events.bus.deliveries),
        executions=_executions(session),
        dead_letters=session.events.dead_letters(),
        generated=generated,
        calls=dict(sorted(calls.items())),
        notes=notes,
        wall_seconds=time.monotonic() - wall,
    )


def _restore(session: _Session, stacks: Sequence[StackArtifact]) -> None:
    """moto's world and the bus again, for every deployed stack of the assembly."""
    known = session.state.get("stacks", {})
    for stack in stacks:
        previous = known.get(stack.name)
        if previous is None:
            continue
        resources = {k: _Resource.from_json(v) for k, v in previous.get("resources", {}).items()}
        result = StackResult(stack.name, previous["stackId"], "data-source-run", "", started_at=session.clock.now())
        ctx = _Context(stack, result, session.resolver(stack, previous["stackId"], resources), time.monotonic())
        session.restore_moto(ctx, resources)


def _which(session: _Session, data_source: str | None, domain: str | None) -> tuple[str, str]:
    backend = session.backend
    assert backend is not None
    watched = continuous_sources(session.state)
    if data_source is None:
        if len(watched) != 1:
            listed = ", ".join(f"{s} (domain {d})" for d, s in watched) or "none"
            raise AssemblyError(
                f"pass --data-source: the deployed stacks have {len(watched)} continuous batches' data sources: "
                + listed
            )
        return watched[0]
    domains = [
        d for d, v in backend.world_snapshot().get("domains", {}).items() if data_source in v.get("dataSources", {})
    ]
    if domain is not None:
        domains = [d for d in domains if d == domain]
    if len(domains) != 1:
        raise AssemblyError(
            f"data source {data_source} is in {len(domains)} domains of the local endpoint"
            + (": pass --domain" if domains else "")
        )
    return domains[0], data_source


def _wait_for_executions(session: _Session, wait_seconds: float) -> list[str]:
    """Simulated time while the started executions run (moto's threads on the EventClock), up to
    ``wait_seconds``."""
    steps = session.stepfunctions
    assert steps is not None
    deadline = session.clock.now() + wait_seconds
    while steps.running_executions() and session.clock.now() < deadline:
        session.clock.sleep(5)
    running = steps.running_executions()
    if running:
        return [f"{running} execution(s) still running after {wait_seconds:.0f} s; stopped as the command ends"]
    return []


def _executions(session: _Session) -> list[ExecutionOutcome]:
    steps = session.stepfunctions
    assert steps is not None
    outcomes = []
    region = session.events.region
    sfn = steps.client("stepfunctions", region)
    for machine in sfn.list_state_machines()["stateMachines"]:
        for item in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=item["executionArn"])
            output = json.loads(described.get("output") or "{}")
            summary = output.get("summary") if isinstance(output, dict) else None
            error = f"{described.get('error', '')}: {described.get('cause', '')}" if described.get("error") else ""
            outcomes.append(ExecutionOutcome(str(item["name"]), str(described["status"]), summary or {}, error))
    return sorted(outcomes, key=lambda e: e.name)


def print_data_source_run(result: DataSourceRunResult, out: TextIO) -> None:
    """What the command did, in the order it happened."""
    for line in [*_run_lines(result), "", *_delivery_lines(result), "", *_execution_lines(result), ""]:
        print(line, file=out)
    mark, verdict = ("\u2705", "done") if result.ok else ("\u274c", "see above")
    print(f" {mark}  data-source run {result.run_id}: {verdict} ({result.wall_seconds:.1f}s)", file=out)


def _run_lines(result: DataSourceRunResult) -> list[str]:
    activities = ", ".join(f"{status} {count}" for status, count in sorted(result.activities.items()))
    return [
        f"Data source {result.data_source_id} (domain {result.domain_id}): run {result.run_id}",
        f"  staged: {len(result.created)} new table(s) {result.created}, "
        f"{len(result.updated)} changed {result.updated}",
        f"  run {result.status}: {activities or 'no activities'}",
    ]


def _delivery_lines(result: DataSourceRunResult) -> list[str]:
    lines = [
        f"  event  {e['detail-type']} (id {e['id'][:8]}..., run {e['detail']['metadata']['id']})" for e in result.events
    ] or ["  no event: no rule was listening"]
    for delivery in result.deliveries:
        what = delivery.result if delivery.outcome == "delivered" else delivery.reason
        tries = f", {delivery.attempts} attempts" if delivery.attempts > 1 else ""
        lines.append(f"  -> rule {delivery.rule}: {delivery.outcome}{tries}: {json.dumps(what, default=str)}")
    return lines


def _execution_lines(result: DataSourceRunResult) -> list[str]:
    lines = []
    for execution in result.executions:
        line = f"  execution {execution.name}: {execution.status}"
        summary = execution.summary
        if summary:
            line += (
                f": {summary.get('succeeded')} of {summary.get('total')} assets succeeded, "
                f"{summary.get('failed')} failed; {summary.get('location')}"
            )
        elif execution.error:
            line += f": {execution.error}"
        lines.append(line)
    if not result.executions:
        lines.append("  no execution started")
    for asset, status, predictions in result.generated:
        decided = f", predictions {predictions.lower()}ed" if predictions else ""
        lines.append(f"    metadata generation for {asset}: {status}{decided}")
    if result.calls:
        lines.append(
            "  DataZone calls (intake and workflow): " + ", ".join(f"{k} x{n}" for k, n in result.calls.items())
        )
    for queue, messages in result.dead_letters.items():
        lines.append(f"  dead-letter queue {queue.rsplit(':', 1)[-1]}: {len(messages)} message(s)")
        for message in messages:
            attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
            lines.append(f"    {json.dumps(attributes)}")
    lines.extend(f"  note: {note}" for note in result.notes)
    return lines
