"""The end-to-end fault cases: each one a local deploy (and more) of the example app under a fault.

Every case runs the packaged Lambda asset of a synthesized cloud assembly through the replayed
CloudFormation + Provider lifecycle against its own local DataZone endpoint, on a simulated clock
(no real waiting, same calls every time). ``python -m tests.e2e.cases --write
docs/e2e-cases.md`` renders the table; the e2e tests assert on the same outcomes and check that the
committed table is current. Nothing timing-dependent goes into the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs_local.clock import SimulatedClock
from constructs_local.cloudformation.provider import MAX_RESPONSE_BYTES
from constructs_local.cloudformation.provision import UnknownIdsError
from constructs_local.cloudformation.replay import (
    ROLLBACK_PHYSICAL_IDS,
    RUN_RESOURCE_TYPE,
    LocalCloudFormation,
    StackResult,
)
from constructs_local.datazone.models import Call, Knobs
from constructs_local.datazone.server import LocalDataZone

Template = dict[str, Any]
Mutation = Callable[[Template], None]


# ---------------------------------------------------------------------------------------------
# Template mutations: what a changed app would synthesize, without another synth.


def set_run_property(name: str, value: Any) -> Mutation:
    """Set a property of every ``Custom::DataZoneMetadataGenerationRun``."""

    def mutate(template: Template) -> None:
        for resource in template["Resources"].values():
            if resource.get("Type") == RUN_RESOURCE_TYPE:
                resource["Properties"][name] = value

    return mutate


def drop_run_property(name: str) -> Mutation:
    """Remove a property from every ``Custom::DataZoneMetadataGenerationRun`` (what an older
    construct version did not write)."""

    def mutate(template: Template) -> None:
        for resource in template["Resources"].values():
            if resource.get("Type") == RUN_RESOURCE_TYPE:
                resource["Properties"].pop(name, None)

    return mutate


def without_project_membership() -> Mutation:
    """What ``grant_project_access=False`` synthesizes: no ProjectMembership, no dependency on it."""

    def mutate(template: Template) -> None:
        resources = template["Resources"]
        gone = {k for k, v in resources.items() if v.get("Type") == "AWS::DataZone::ProjectMembership"}
        for logical in gone:
            del resources[logical]
        for resource in resources.values():
            depends = resource.get("DependsOn")
            if isinstance(depends, list):
                resource["DependsOn"] = [d for d in depends if d not in gone]
            elif depends in gone:
                del resource["DependsOn"]

    return mutate


def waiter_max_attempts(attempts: int) -> Mutation:
    """Shorten the provider's total timeout (the waiter's Retry.MaxAttempts)."""

    def mutate(template: Template) -> None:
        for resource in template["Resources"].values():
            if resource.get("Type") != "AWS::StepFunctions::StateMachine":
                continue
            definition = resource["Properties"]["DefinitionString"]
            parts = definition["Fn::Join"][1] if isinstance(definition, dict) else None
            if parts is None:
                resource["Properties"]["DefinitionString"] = re.sub(
                    r'"MaxAttempts":\d+', f'"MaxAttempts":{attempts}', definition
                )
                continue
            definition["Fn::Join"][1] = [
                re.sub(r'"MaxAttempts":\d+', f'"MaxAttempts":{attempts}', p) if isinstance(p, str) else p for p in parts
            ]

    return mutate


def set_domain(domain_id: str) -> Mutation:
    def mutate(template: Template) -> None:
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            if resource.get("Type") == RUN_RESOURCE_TYPE:
                props["DomainId"] = domain_id
            if resource.get("Type") == "AWS::DataZone::ProjectMembership":
                props["DomainIdentifier"] = domain_id

    return mutate


def add_sibling(logical_id: str = "Sibling") -> Mutation:
    """A resource that depends on nothing (CloudFormation creates it alongside the run)."""

    def mutate(template: Template) -> None:
        template["Resources"][logical_id] = {"Type": "AWS::SQS::Queue", "Properties": {}}

    return mutate


def mutated_assembly(source: Path, target: Path, mutations: Sequence[Mutation]) -> Path:
    """A copy of a cloud assembly whose stack templates went through ``mutations``."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    for template_path in target.glob("*.template.json"):
        template = json.loads(template_path.read_text())
        for mutate in mutations:
            mutate(template)
        template_path.write_text(json.dumps(template, indent=1))
    return target


# ---------------------------------------------------------------------------------------------
# Running a case


@dataclass
class Harness:
    """One case's world: a local endpoint on a simulated clock, state, and assemblies."""

    assembly: Path
    workdir: Path
    endpoint: LocalDataZone
    state_file: Path
    results: list[StackResult] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    _variants: int = 0

    def variant(self, *mutations: Mutation) -> Path:
        self._variants += 1
        return mutated_assembly(self.assembly, self.workdir / f"assembly-{self._variants}", mutations)

    def replay(self, assembly: Path | None = None, **options: Any) -> LocalCloudFormation:
        return LocalCloudFormation(
            assembly or self.assembly, state_file=self.state_file, endpoint=self.endpoint, **options
        )

    def deploy(self, assembly: Path | None = None, **options: Any) -> StackResult:
        result = self.replay(assembly, **options).deploy()[0]
        self.results.append(result)
        self.commands.append(f"deploy: {result.status}")
        return result

    def set_knobs(self, **changes: Any) -> None:
        self.endpoint.knobs.update(changes)
        self.commands.append("knobs: " + ", ".join(f"{k}={v}" for k, v in changes.items()))

    def wait(self, seconds: float) -> None:
        """Let simulated time pass between commands (runs finish, client tokens expire)."""
        self.endpoint.clock.sleep(seconds)
        self.commands.append(f"wait {seconds / 3600:g} h" if seconds >= 3600 else f"wait {seconds:g} s")

    def destroy(self, assembly: Path | None = None, **options: Any) -> StackResult:
        result = self.replay(assembly, **options).destroy()[0]
        self.results.append(result)
        self.commands.append(f"destroy: {result.status}")
        return result

    def restart_endpoint(self) -> None:
        """A fresh endpoint that knows no runs (the old one's runs are gone)."""
        clock = self.endpoint.clock
        self.endpoint.stop()
        self.endpoint = LocalDataZone(clock=clock, knobs=Knobs(**STRICT_KNOBS)).start()


@dataclass
class Outcome:
    """What a case did, in detail (for tests) and as one table row (for the docs)."""

    case: Case
    harness: Harness
    calls: list[Call]
    runs: list[tuple[str, str]]  # (run id, final status), oldest first

    @property
    def results(self) -> list[StackResult]:
        return self.harness.results

    @property
    def max_response_bytes(self) -> int:
        return max((r.size for result in self.results for r in result.responses), default=0)

    def calls_to(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def masked(self, text: str) -> str:
        for index, (run_id, _) in enumerate(self.runs, start=1):
            text = text.replace(run_id, f"<run{index}>")
        text = re.sub(r"arn:aws:cloudformation:[^|\s]+", "<stack-id>", text)
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)

    def row(self, number: int) -> list[str]:
        requests = []
        for result in self.results:
            for record in result.requests:
                for run in record.runs:
                    assert run.response is not None
                    by = "" if run.handler_called else " (framework)"
                    phase = "" if record.phase in ("deploy", "destroy") else f" ({record.phase})"
                    ignored = f" (ignored: {record.ignored})" if record.ignored else ""
                    requests.append(f"{record.request_type}{phase} → {run.response.status}{by}{ignored}")
        reasons = [r.reason for r in self.results if r.reason]
        reason = self.masked(reasons[0].strip().splitlines()[0]) if reasons else ""
        return [
            str(number),
            f"**{self.case.title}**<br>`{self.case.id}`",
            self.case.fault,
            "<br>".join(self.harness.commands),
            "<br>".join(requests) or "none",
            _calls_text(self.calls),
            ", ".join(status for _, status in self.runs) or "none",
            str(self.max_response_bytes),
            _cell(reason),
        ]


def _short_operation(name: str) -> str:
    return name.replace("MetadataGenerationRuns", "").replace("MetadataGenerationRun", "")


def _calls_text(calls: Sequence[Call]) -> str:
    if not calls:
        return "none"
    counts = Counter(_short_operation(c.operation) for c in calls)
    errors = Counter(f"{_short_operation(c.operation)} {c.status or 'dropped'}" for c in calls if c.error)
    text = ", ".join(f"{op} x{n}" for op, n in counts.items())
    if errors:
        text += "<br>errors: " + ", ".join(f"{e} x{n}" for e, n in errors.items())
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    fault: str
    script: Callable[[Harness], None]
    knobs: dict[str, Any] = field(default_factory=dict)


#: The cases run stricter than the plain endpoint: calls cost time, and client tokens expire. The
#: real TTL of DataZone's clientToken is undocumented; 8 h is a plausible one, long enough that a
#: redelivered request still finds its token and short enough that days-apart deploys do not.
#: Runs of 26 s (4 queued, 22 working) instead of the endpoint's realistic default of about 5
#: minutes, and no latency: the cases' call counts stay small and readable (a run ends between
#: two of the provider's 10 s polls, as the default's does). Used by every e2e test that does
#: not test durations.
FAST_RUNS: dict[str, Any] = {"latency_seconds": 0.0, "submitted_seconds": 4.0, "in_progress_seconds": 22.0}
STRICT_KNOBS: dict[str, Any] = {**FAST_RUNS, "latency_seconds": 0.1, "client_token_ttl_seconds": 8 * 3600}


@contextmanager
def harness(assembly: Path, knobs: dict[str, Any] | None = None) -> Iterator[Harness]:
    workdir = Path(tempfile.mkdtemp(prefix="local-case-"))
    # A fixed start: token expiry and timestamps then never depend on when the cases run.
    clock = SimulatedClock(start=1_800_000_000.0)
    endpoint = LocalDataZone(clock=clock, knobs=Knobs(**{**STRICT_KNOBS, **(knobs or {})})).start()
    box = Harness(assembly, workdir, endpoint, workdir / "state.json")
    try:
        yield box
    finally:
        box.endpoint.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_case(case: Case, assembly: Path) -> Outcome:
    with harness(assembly, case.knobs) as box:
        case.script(box)
        backend = box.endpoint.backend
        now = backend.clock.now()
        runs = sorted(backend.runs.values(), key=lambda r: r.created_at)
        all_calls = list(_all_calls(box))
        return Outcome(case, box, all_calls, [(r.id, r.status(now)) for r in runs])


def _all_calls(box: Harness) -> Iterator[Call]:
    for result in box.results:
        for record in result.requests:
            yield from record.calls


# ---------------------------------------------------------------------------------------------
# The catalog


def _deploy(box: Harness) -> None:
    box.deploy()


def _deploy_twice(box: Harness) -> None:
    box.deploy()
    box.deploy()


def _redelivered_create(box: Harness) -> None:
    box.deploy(redeliver=("Create",))


def _without_membership(box: Harness) -> None:
    box.deploy(box.variant(without_project_membership()))


def _strict_partial(box: Harness) -> None:
    box.deploy(box.variant(set_run_property("FailOnPartialSuccess", True)))


def _provider_timeout(box: Harness) -> None:
    box.deploy(box.variant(waiter_max_attempts(6)))


def _update_types_while_running(box: Harness) -> None:
    box.deploy(box.variant(set_run_property("WaitForCompletion", False)))
    box.deploy(
        box.variant(
            set_run_property("WaitForCompletion", False),
            set_run_property("Types", ["BUSINESS_DESCRIPTIONS", "BUSINESS_GLOSSARY_ASSOCIATIONS"]),
        )
    )


def _update_without_new_run(box: Harness) -> None:
    box.deploy()
    box.deploy(box.variant(set_run_property("TimeoutSeconds", 900)))


def _delete_mid_run(box: Harness) -> None:
    variant = box.variant(set_run_property("WaitForCompletion", False))
    box.deploy(variant)
    box.destroy(variant)


def _delete_finished(box: Harness) -> None:
    box.deploy()
    box.destroy()


def _delete_unknown(box: Harness) -> None:
    box.deploy()
    box.restart_endpoint()
    box.destroy()


def _with_predictions(policy: dict[str, Any]) -> Callable[[Harness], None]:
    def script(box: Harness) -> None:
        box.deploy(box.variant(set_run_property("Predictions", policy)))

    return script


def _unknown_domain(box: Harness) -> None:
    """--strict refuses an id no seed has, before any call; without it the id is created on the fly
    (a notice) and the deploy goes through."""
    variant = box.variant(set_domain("dzd_notseeded1"))
    try:
        box.replay(variant, strict=True).deploy()
    except UnknownIdsError as error:
        box.commands.append(f"deploy --strict: refused, {str(error).splitlines()[1].strip()}")
    box.deploy(variant)


PREDICTIONS = {"Action": "ACCEPT", "Rule": "ALL"}
TWO_TYPES = ["BUSINESS_DESCRIPTIONS", "BUSINESS_GLOSSARY_ASSOCIATIONS"]
#: The largest ``timeout`` the construct accepts (the handler's contract; a test checks it).
MAX_TIMEOUT_SECONDS = 3300


def _rollback_of_failed_update(variant: str, fault: dict[str, Any]) -> Callable[[Harness], None]:
    """Scenario 1: an Update fails (its new run FAILED, or Start 402) and is rolled back while the
    fault persists; the rollback must not start a run."""

    def script(box: Harness) -> None:
        box.deploy()
        box.set_knobs(**fault)
        box.deploy(box.variant(set_run_property("Types", TWO_TYPES)), rollback_physical_id=variant)

    return script


def _predictions_once(variant: str) -> Callable[[Harness], None]:
    """Scenario 4: a settings-only Update and a rolled-back Update, days apart (tokens expired)."""

    def script(box: Harness) -> None:
        base = set_run_property("Predictions", PREDICTIONS)
        box.deploy(box.variant(base))
        box.wait(9 * 3600)
        box.deploy(box.variant(base, set_run_property("TimeoutSeconds", 900)))
        box.wait(9 * 3600)
        box.set_knobs(final_status={"exampleasset1": "FAILED"})
        box.deploy(
            box.variant(base, set_run_property("TimeoutSeconds", 900), set_run_property("Types", TWO_TYPES)),
            rollback_physical_id=variant,
        )

    return script


def _in_flight_delete(box: Harness) -> None:
    """Scenario 3: a sibling fails 15 s into stack creation, while our Create still waits."""
    variant = box.variant(set_run_property("Predictions", PREDICTIONS), add_sibling())
    box.deploy(variant, fail_resources={"Sibling": 15})


def _fixed_client_token(box: Harness) -> None:
    """Scenario 5: a fixed ClientToken, destroy + recreate, then a new RerunToken."""
    token = set_run_property("ClientToken", "my-fixed-token")
    no_wait = box.variant(token, set_run_property("WaitForCompletion", False))
    box.deploy(no_wait)
    box.destroy(no_wait)
    box.deploy(box.variant(token))
    box.deploy(box.variant(token, set_run_property("RerunToken", "2")))


def _short_timeout(*mutations: Mutation) -> Callable[[Harness], None]:
    def script(box: Harness) -> None:
        box.deploy(box.variant(set_run_property("TimeoutSeconds", 120), *mutations))

    return script


def _max_timeout(box: Harness) -> None:
    box.deploy(box.variant(set_run_property("TimeoutSeconds", MAX_TIMEOUT_SECONDS)))


#: Control characters grow x6 when JSON-escaped; a lone surrogate cannot be UTF-8 encoded.
HOSTILE_MESSAGE = "bad\x00input\x1b[31m\x07" * 120 + "\ud800 end"

LONG_MESSAGE = "The asset's schema could not be read: " + "column details unavailable; " * 180

CASES: tuple[Case, ...] = (
    Case("happy-path", "Happy path", "none", _deploy),
    Case("redeploy-unchanged", "Second deploy, nothing changed", "none", _deploy_twice),
    Case(
        "cfn-retry-create",
        "CloudFormation retry of the same Create",
        "Create request delivered twice (same RequestId)",
        _redelivered_create,
    ),
    Case(
        "throttled",
        "Throttled, then success",
        "first 3 calls answer 429 ThrottlingException",
        _deploy,
        {"throttle_calls": 3},
    ),
    Case(
        "transient-500",
        "Transient server error",
        "first call answers 500 InternalServerException",
        _deploy,
        {"server_error_calls": 1},
    ),
    Case(
        "quota-402",
        "Quota exceeded",
        "Start answers 402 ServiceQuotaExceededException",
        _deploy,
        {"max_active_runs": 0},
    ),
    Case(
        "access-denied",
        "Handler role not in the project",
        "template without the ProjectMembership (grant_project_access=False)",
        _without_membership,
    ),
    Case(
        "run-failed",
        "Run ends FAILED",
        "run's final status forced to FAILED",
        _deploy,
        {"final_status": {"exampleasset1": "FAILED"}},
    ),
    Case(
        "run-partial",
        "Run ends PARTIALLY_SUCCEEDED",
        "final status PARTIALLY_SUCCEEDED",
        _deploy,
        {"final_status": {"exampleasset1": "PARTIALLY_SUCCEEDED"}},
    ),
    Case(
        "run-partial-strict",
        "PARTIALLY_SUCCEEDED with fail_on_partial_success",
        "final status PARTIALLY_SUCCEEDED; FailOnPartialSuccess=true",
        _strict_partial,
        {"final_status": {"exampleasset1": "PARTIALLY_SUCCEEDED"}},
    ),
    Case(
        "run-timeout",
        "Per-run timeout",
        "run never leaves IN_PROGRESS (TimeoutSeconds 1800)",
        _deploy,
        {"final_status": {"exampleasset1": "IN_PROGRESS"}},
    ),
    Case(
        "provider-timeout",
        "Provider total timeout",
        "run never finishes; waiter MaxAttempts cut to 6 (60 s)",
        _provider_timeout,
        {"final_status": {"exampleasset1": "IN_PROGRESS"}},
    ),
    Case(
        "long-error-messages",
        "Very long service error messages",
        "FAILED with a 5 KB errorMessage per type",
        _deploy,
        {"final_status": {"exampleasset1": "FAILED"}, "error_message": LONG_MESSAGE},
    ),
    Case(
        "update-types-while-running",
        "Update that changes types while the old run is running",
        "WaitForCompletion=false, then Types changed",
        _update_types_while_running,
    ),
    Case(
        "update-no-new-run", "Update without a run change", "TimeoutSeconds changed 1800 → 900", _update_without_new_run
    ),
    Case("delete-mid-run", "Delete while the run is running", "WaitForCompletion=false, then destroy", _delete_mid_run),
    Case("delete-finished", "Delete after the run finished", "none", _delete_finished),
    Case(
        "delete-unknown-run",
        "Delete of a run the service does not know",
        "endpoint restarted empty before destroy",
        _delete_unknown,
    ),
    Case(
        "unknown-domain",
        "Domain the seed does not know",
        "DomainId dzd_notseeded1 (not in the seed); --strict, then without",
        _unknown_domain,
    ),
    Case(
        "accept-predictions",
        "Accept the run's predictions",
        "Predictions: ACCEPT, rule ALL, threshold 0.8",
        _with_predictions({"Action": "ACCEPT", "Rule": "ALL", "Threshold": 0.8}),
    ),
    Case(
        "reject-predictions",
        "Reject chosen predictions",
        "Predictions: REJECT, rule NONE, choices col1 → [0, 2]",
        _with_predictions(
            {"Action": "REJECT", "Rule": "NONE", "Choices": [{"PredictionTarget": "col1", "PredictionChoices": [0, 2]}]}
        ),
    ),
    Case(
        "predictions-after-failed-run",
        "Predictions policy, run FAILED",
        "Predictions: ACCEPT ALL; final status FAILED",
        _with_predictions({"Action": "ACCEPT", "Rule": "ALL"}),
        {"final_status": {"exampleasset1": "FAILED"}},
    ),
    # Issue 8: one case per scenario; rollbacks under both physical ids CloudFormation may carry.
    *(
        Case(
            f"rollback-failed-run-{variant}-id",
            f"Rollback of an Update whose run FAILED ({variant} id)",
            f"Types changed, new run ends FAILED; rollback Update carries the {variant} physical id",
            _rollback_of_failed_update(variant, {"final_status": {"exampleasset1": "FAILED"}}),
        )
        for variant in ROLLBACK_PHYSICAL_IDS
    ),
    *(
        Case(
            f"rollback-quota-{variant}-id",
            f"Rollback of an Update refused by quota ({variant} id)",
            f"Types changed, every Start answers 402 (rollback included); {variant} physical id",
            _rollback_of_failed_update(variant, {"max_active_runs": 0}),
        )
        for variant in ROLLBACK_PHYSICAL_IDS
    ),
    Case(
        "poll-errors",
        "Polls fail beyond botocore's retries",
        "Get: 7 x 429, 7 x 500, 7 dropped connections (5 attempts per call)",
        _deploy,
        {
            "fault_operations": ["GetMetadataGenerationRun"],
            "throttle_calls": 7,
            "server_error_calls": 7,
            "disconnect_calls": 7,
        },
    ),
    Case(
        "poll-404-after-start",
        "Run not yet visible right after Start",
        "Get answers 404 for the first 15 s of a run (read-after-write)",
        _deploy,
        {"not_found_after_start_seconds": 15},
    ),
    Case(
        "in-flight-create-deleted",
        "Another resource fails while the Create waits",
        "sibling fails 15 s into stack creation; Predictions ACCEPT ALL",
        _in_flight_delete,
    ),
    *(
        Case(
            f"predictions-once-{variant}-id",
            f"Predictions applied once per run ({variant} id)",
            "Predictions ACCEPT ALL; 9 h later TimeoutSeconds changed; 9 h later Types changed, run FAILED, "
            f"rollback with the {variant} physical id (tokens expire after 8 h)",
            _predictions_once(variant),
        )
        for variant in ROLLBACK_PHYSICAL_IDS
    ),
    Case(
        "fixed-client-token",
        "Fixed ClientToken, destroy + recreate, new RerunToken",
        "ClientToken my-fixed-token; deploy without waiting, destroy, deploy, RerunToken 2",
        _fixed_client_token,
    ),
    Case(
        "unknown-status",
        "Run reports a status nobody knows",
        "Get/List report PAUSED once the run leaves SUBMITTED; TimeoutSeconds 120",
        _short_timeout(),
        {"reported_status": {"exampleasset1": "PAUSED"}},
    ),
    Case(
        "timeout-cancels-run",
        "Per-run timeout cancels the run itself",
        "run never finishes; TimeoutSeconds 120; CancelOnDelete false",
        _short_timeout(set_run_property("CancelOnDelete", False)),
        {"final_status": {"exampleasset1": "IN_PROGRESS"}},
    ),
    Case(
        "hostile-error-message",
        "Service message with control characters and a lone surrogate",
        "FAILED; errorMessage of 2.6 KB control characters ending in a lone surrogate",
        _deploy,
        {"final_status": {"exampleasset1": "FAILED"}, "error_message": HOSTILE_MESSAGE},
    ),
    Case(
        "max-timeout-vs-service-timeout",
        "Largest timeout against CloudFormation's ServiceTimeout",
        f"run never finishes; TimeoutSeconds {MAX_TIMEOUT_SECONDS} (the maximum); ServiceTimeout from the template",
        _max_timeout,
        {"final_status": {"exampleasset1": "IN_PROGRESS"}},
    ),
)


def case(case_id: str) -> Case:
    for item in CASES:
        if item.id == case_id:
            return item
    raise KeyError(f"no case {case_id!r}; cases: {', '.join(c.id for c in CASES)}")


HEADER = [
    "#",
    "Case",
    "Fault injected",
    "Commands → stack status",
    "CloudFormation requests → responses",
    "DataZone calls",
    "Runs at the end",
    "Max response bytes",
    "Reason (first line; ids masked)",
]


def render(outcomes: Sequence[Outcome]) -> str:
    """The markdown page (no timings, no ids: it only changes when behaviour changes)."""
    lines = [
        "# Local end-to-end cases",
        "",
        "<!-- Generated by `python -m tests.e2e.cases --write docs/e2e-cases.md`; do not edit. -->",
        "",
        "Each case deploys the example app's synthesized cloud assembly locally: the packaged Lambda asset",
        "runs through the replayed CloudFormation + Provider-framework lifecycle against the local DataZone",
        "endpoint, on a simulated clock (provider polls every 10 s of simulated time). The e2e tests",
        "(`tests/e2e/`) assert these outcomes and that this page is current. CloudFormation accepts a",
        f"custom-resource response of at most {MAX_RESPONSE_BYTES} bytes.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    lines += ["| " + " | ".join(outcome.row(i)) + " |" for i, outcome in enumerate(outcomes, start=1)]
    return "\n".join(lines) + "\n"


@contextmanager
def synthesize_example() -> Iterator[Path]:
    """The example app (``app.py`` of the current directory) synthesized in-process into a temporary dir."""
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        example = importlib.import_module("app")
    except ImportError as error:
        raise ValueError(f"no example app.py in {Path.cwd()}: pass --app with a synthesized cloud assembly") from error
    outdir = Path(tempfile.mkdtemp(prefix="local-cases-cdk.out-"))
    try:
        app = cdk.App(outdir=str(outdir))
        example.build_app(app)
        app.synth()
        yield outdir
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def run_all(assembly: Path, selected: Sequence[str] | None = None) -> list[Outcome]:
    chosen = [case(c) for c in selected] if selected else list(CASES)
    return [run_case(item, assembly) for item in chosen]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.e2e.cases [--write FILE | --check FILE] [--app cdk.out] [case ...]``."""
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.cases", description=__doc__)
    parser.add_argument("--app", type=Path, help="a synthesized example app (default: synthesize it now)")
    parser.add_argument("--write", type=Path, metavar="FILE", help="write the table to FILE (e.g. docs/e2e-cases.md)")
    parser.add_argument("--check", type=Path, metavar="FILE", help="exit 1 when FILE differs from the generated table")
    parser.add_argument("only", nargs="*", help="case ids (default: all)")
    args = parser.parse_args(argv)
    if args.app is not None:
        text = render(run_all(args.app, args.only or None))
    else:
        with synthesize_example() as assembly:
            text = render(run_all(assembly, args.only or None))
    if args.check:
        current = args.check.read_text() if args.check.is_file() else ""
        if current != text:
            print(f"{args.check} is out of date: run python -m tests.e2e.cases --write {args.check}")
            return 1
        print(f"{args.check} is up to date")
        return 0
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
        print(f"wrote {args.write}")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
