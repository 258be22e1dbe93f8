"""What a local deploy or destroy reports: stack events, the custom-resource requests sent, outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs_local.cloudformation.provider import CfnResponse, ProviderRun
from constructs_local.datazone.models import Call


@dataclass
class ResourceEvent:
    """A stack event, as ``cdk deploy`` prints them."""

    at: float
    logical_id: str
    resource_type: str
    status: str
    reason: str | None = None
    physical_id: str | None = None


@dataclass
class RequestRecord:
    """One custom-resource request CloudFormation sent, and what the provider did with it."""

    stack: str
    logical_id: str
    request_type: str
    phase: str  # deploy | rollback | cleanup | destroy
    request: dict[str, Any]
    runs: list[ProviderRun]  # one per delivery (a redelivered request has two)
    calls: list[Call] = field(default_factory=list)  # DataZone calls it caused (built-in/in-process endpoint)
    #: Why CloudFormation stopped waiting for the response (it then ignores it), if it did.
    ignored: str | None = None

    @property
    def run(self) -> ProviderRun:
        return self.runs[0]

    @property
    def response(self) -> CfnResponse:
        assert self.run.response is not None
        return self.run.response


@dataclass
class StackResult:
    """The outcome of deploying or destroying one stack."""

    stack: str
    stack_id: str
    action: str  # deploy | destroy
    status: str
    outputs: dict[str, str] = field(default_factory=dict)
    output_descriptions: dict[str, str] = field(default_factory=dict)
    events: list[ResourceEvent] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    reason: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    wall_seconds: float = 0.0
    changed: bool = True
    notes: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)  # logical id -> construct path (for display)
    #: The stack's MetadataGenerationRun/Batch resources: with none, there was nothing to dry-run.
    constructs: int = 0
    #: DataZone calls its batch workflows made (moto's threads, under the state machine's role),
    #: by operation: the requests' own calls are only the handlers'.
    workflow_calls: dict[str, int] = field(default_factory=dict)
    #: The most history events one execution (parent or Distributed Map child) has written so far
    #: in this command (Step Functions' quota: 25,000); 0 without a workflow.
    max_history_events: int = 0

    def display_name(self, logical_id: str) -> str:
        return self.paths.get(logical_id, logical_id)

    @property
    def ok(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "NO_CHANGES")

    @property
    def responses(self) -> list[CfnResponse]:
        return [run.response for record in self.requests for run in record.runs if run.response is not None]

    @property
    def simulated_seconds(self) -> float:
        return self.finished_at - self.started_at
