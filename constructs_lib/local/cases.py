"""The end-to-end fault cases: each one a local deploy (and more) of the example app under a fault.

Every case runs the packaged Lambda asset of a synthesized cloud assembly through the replayed
CloudFormation + Provider lifecycle against its own local DataZone endpoint, on a simulated clock
(no real waiting, same calls every time). ``python -m constructs_lib.local cases --write
docs/e2e-cases.md`` renders the table; the e2e tests assert on the same outcomes and check that the
committed table is current. Nothing timing-dependent goes into the table.
"""

from __future__ import annotations

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

from constructs_lib.local.backend import Call, Knobs
from constructs_lib.local.clock import SimulatedClock
from constructs_lib.local.provider import MAX_RESPONSE_BYTES
from constructs_lib.local.replay import RUN_RESOURCE_TYPE, LocalCloudFormation, StackResult
from constructs_lib.local.server import LocalDataZone

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

    def destroy(self, assembly: Path | None = None, **options: Any) -> StackResult:
        result = self.replay(assembly, **options).destroy()[0]
        self.results.append(result)
        self.commands.append(f"destroy: {result.status}")
        return result

    def restart_endpoint(self) -> None:
        """A fresh endpoint that knows no runs (the old one's runs are gone)."""
        clock = self.endpoint.clock
        self.endpoint.stop()
        self.endpoint = LocalDataZone(clock=clock).start()


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
                    requests.append(f"{record.request_type}{phase} → {run.response.status}{by}")
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
    errors = Counter(f"{_short_operation(c.operation)} {c.status}" for c in calls if c.error)
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


@contextmanager
def harness(assembly: Path, knobs: dict[str, Any] | None = None) -> Iterator[Harness]:
    workdir = Path(tempfile.mkdtemp(prefix="local-case-"))
    endpoint = LocalDataZone(clock=SimulatedClock(), knobs=Knobs(**(knobs or {}))).start()
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
    box.deploy(box.variant(set_domain("dzd_notseeded1")))


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
    Case("unknown-domain", "Domain that does not exist", "DomainId dzd_notseeded1 (not in the seed)", _unknown_domain),
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
        "<!-- Generated by `python -m constructs_lib.local cases --write docs/e2e-cases.md`; do not edit. -->",
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
