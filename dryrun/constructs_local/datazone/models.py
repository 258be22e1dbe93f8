"""In-memory DataZone: domains, projects, assets, data sources, metadata-generation runs and predictions.

Protocol-free (the HTTP side lives in :mod:`constructs_local.datazone.server`): each operation takes the
parameters a boto3 caller passes plus the calling principal and returns the output members, or
raises :class:`~constructs_local.datazone.exceptions.ServiceError` with the service's error code.

Service behaviour reproduced here, from the API reference and the service model:

* runs go SUBMITTED -> IN_PROGRESS -> a final status on the shared clock (``Knobs``);
* ``clientToken`` idempotency: the same token returns the same run; the same token with other
  parameters is a ConflictException;
* unknown domain / project / asset / run -> 404, a caller that is not a member of the project -> 403;
* cancel of a SUBMITTED/IN_PROGRESS run -> CANCELED, of a finished run -> 409;
* Accept/RejectPredictions need a finished run with predictions (else 409) and make a new revision.
* data sources, their runs and activities, and Search: :mod:`constructs_local.datazone.catalog`.

Where the public documentation is silent, the choice is the stricter one (so a local success does
not hide a failure on AWS), and is marked "assumption" below.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from constructs_local.clock import Clock, SimulatedClock
from constructs_local.datazone.catalog import (
    FIRST_RUN,
    DataSourceRun,
    asset_type,
    imported_assets,
    not_found,
    page,
    search_items,
    stage_import,
)
from constructs_local.datazone.exceptions import ServiceError, validation_error
from constructs_local.knobs import (
    DATA_SOURCE_RUN_FINAL,
    FINAL,
    NEVER,
    OPERATIONS,
    RUNNING,
    WITH_PREDICTIONS,
    Knobs,
    check_knob,
)
from constructs_local.seed import default_seed

# The knobs and statuses are re-exported: callers imported them from here before they had a module.
__all__ = [
    "DATA_SOURCE_RUN_FINAL",
    "FINAL",
    "NEVER",
    "OPERATIONS",
    "RUNNING",
    "WITH_PREDICTIONS",
    "Call",
    "DataSourceRun",
    "DataZoneBackend",
    "Knobs",
    "PredictionDecision",
    "Run",
    "check_knob",
    "new_id",
]

_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int = 14) -> str:
    """An id shaped like DataZone's (lowercase alphanumerics; matches ``[a-zA-Z0-9_-]{1,36}``)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class Call:
    """One DataZone call as the endpoint saw it."""

    operation: str
    params: dict[str, Any]
    status: int
    error: str | None
    principal: str
    at: float


@dataclass
class Run:
    domain_id: str
    id: str
    project_id: str
    asset_id: str
    revision: str | None
    types: list[str]
    created_at: float
    created_by: str
    submitted_seconds: float
    in_progress_seconds: float
    outcome: str
    error_message: str
    legacy_type: bool = False
    canceled_at: float | None = None

    def status(self, now: float) -> str:
        if self.canceled_at is not None and now >= self.canceled_at:
            return "CANCELED"
        if now < self.created_at + self.submitted_seconds:
            return "SUBMITTED"
        if self.outcome == NEVER or now < self.created_at + self.submitted_seconds + self.in_progress_seconds:
            return "IN_PROGRESS"
        return self.outcome

    def type_stats(self, now: float) -> list[dict[str, str]]:
        status = self.status(now)
        if status != "PARTIALLY_SUCCEEDED":
            failed = status == "FAILED"
            return [
                {"type": t, "status": status, **({"errorMessage": self.error_message} if failed else {})}
                for t in self.types
            ]
        if len(self.types) == 1:
            return [{"type": self.types[0], "status": status, "errorMessage": self.error_message}]
        first, *rest = self.types
        return [{"type": first, "status": "SUCCEEDED"}] + [
            {"type": t, "status": "FAILED", "errorMessage": self.error_message} for t in rest
        ]

    def summary(self, now: float) -> dict[str, Any]:
        result: dict[str, Any] = {
            "domainId": self.domain_id,
            "id": self.id,
            "target": {"type": "ASSET", "identifier": self.asset_id},
            "status": self.status(now),
            "types": list(self.types),
            "createdAt": datetime.fromtimestamp(self.created_at, UTC),
            "createdBy": self.created_by,
            "owningProjectId": self.project_id,
        }
        if self.revision is not None:
            result["target"]["revision"] = self.revision
        if self.legacy_type:
            result["type"] = self.types[0]
        return result


@dataclass(frozen=True)
class PredictionDecision:
    """One AcceptPredictions / RejectPredictions call that changed an asset (for tests and features)."""

    action: str  # "ACCEPT" | "REJECT"
    domain_id: str
    asset_id: str
    run_id: str
    types: list[str]
    rule: dict[str, Any] | None
    choices: list[dict[str, Any]] | None
    revision_before: str
    revision_after: str
    principal: str
    at: float


class DataZoneBackend:
    """The service's state and rules. Thread-safe; every operation takes ``(params, principal)``."""

    def __init__(
        self,
        seed: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        knobs: Knobs | None = None,
    ) -> None:
        self.world: dict[str, Any] = copy.deepcopy(dict(seed)) if seed is not None else default_seed()
        self.clock: Clock = clock or SimulatedClock()
        self.knobs = knobs or Knobs()
        self.calls: list[Call] = []
        self.runs: dict[str, Run] = {}  # key: f"{domain}/{run id}"
        self._in_flight: dict[str, Run] = {}  # the runs that may still be SUBMITTED/IN_PROGRESS
        self._in_flight_of: dict[str, Run] = self.runs
        self.decisions: list[PredictionDecision] = []
        self.principals: dict[str, str] = {}  # access key id -> principal ARN
        self._tokens: dict[str, dict[str, Any]] = {}
        self._decided_runs: set[str] = set()
        self._throttle_share = 0.0  # knobs.throttle_fraction accumulated since the last 429
        self._lock = threading.RLock()
        self.data_source_runs: dict[str, DataSourceRun] = {}  # key: f"{domain}/{run id}"
        self._world_version = 0  # bumped when domains, projects or assets change
        self._searches: dict[str, list[dict[str, Any]]] = {}  # Search listings of this version
        self._handlers: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "StartMetadataGenerationRun": self._start,
            "GetMetadataGenerationRun": self._get,
            "CancelMetadataGenerationRun": self._cancel,
            "ListMetadataGenerationRuns": self._list,
            "AcceptPredictions": self._accept,
            "RejectPredictions": self._reject,
            "GetDataSourceRun": self._get_data_source_run,
            "ListDataSourceRuns": self._list_data_source_runs,
            "ListDataSourceRunActivities": self._list_data_source_run_activities,
            "Search": self._search,
        }
        for domain_id, domain in self.world.get("domains", {}).items():
            self._first_runs(domain_id, domain, list(domain.get("dataSources", {})))

    # -- identity and membership ---------------------------------------------------------------

    @property
    def account(self) -> str:
        return str(self.world.get("account", "000000000000"))

    @property
    def default_principal(self) -> str:
        return str(self.world.get("defaultPrincipal", f"arn:aws:iam::{self.account}:user/local-developer"))

    def principal_for(self, access_key_id: str | None) -> str:
        """The principal behind a request's (dummy) access key; unregistered keys are the default one."""
        with self._lock:
            if access_key_id and access_key_id in self.principals:
                return self.principals[access_key_id]
        return self.default_principal

    def register_principal(self, access_key_id: str, arn: str) -> None:
        with self._lock:
            self.principals[access_key_id] = arn

    def add_membership(self, domain_id: str, project_id: str, principal: str, designation: str) -> None:
        """What ``AWS::DataZone::ProjectMembership`` does (404 for an unknown domain or project)."""
        with self._lock:
            project = self._project(self._domain(domain_id), domain_id, project_id)
            project.setdefault("members", {})[principal] = designation

    def remove_membership(self, domain_id: str, project_id: str, principal: str) -> None:
        with self._lock:
            project = self._project(self._domain(domain_id), domain_id, project_id)
            project.setdefault("members", {}).pop(principal, None)

    # -- domains, projects and assets of the app being deployed (constructs_local.cloudformation.provision) ------

    def world_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.world)

    def merge_world(self, domains: Mapping[str, Any]) -> None:
        """Add or replace domains, projects, assets and data sources (seed layout); a replaced
        project keeps its members, a new data source gets its first run as its ``firstRun`` says."""
        with self._lock:
            self._world_version += 1
            known = self.world.setdefault("domains", {})
            for domain_id, given in domains.items():
                domain = known.setdefault(domain_id, {"projects": {}, "assets": {}})
                before = set(domain.get("dataSources", {}))
                for key, value in copy.deepcopy(dict(given)).items():
                    if key == "projects":
                        _merge_projects(domain.setdefault("projects", {}), value)
                    elif key in ("assets", "dataSources"):
                        domain.setdefault(key, {}).update(value)
                    else:
                        domain[key] = value
                self._first_runs(domain_id, domain, [d for d in domain.get("dataSources", {}) if d not in before])

    def _first_runs(self, domain_id: str, domain: Mapping[str, Any], source_ids: list[str]) -> None:
        for source_id in source_ids:
            first = str(domain["dataSources"][source_id].get("firstRun", FIRST_RUN[0]))
            if first != "none":
                self.start_data_source_run(domain_id, source_id, finished=first == "finished")

    def start_data_source_run(self, domain_id: str, source_id: str, *, finished: bool = False) -> str:
        """Start a run of a data source (what its schedule, its creation or StartDataSourceRun do);
        ``finished``: one that has already ended, for data sources that exist before the endpoint."""
        with self._lock:
            domain = self._domain(domain_id)
            source = domain.get("dataSources", {}).get(source_id)
            if source is None:
                raise not_found("Data source", source_id, domain_id)
            knobs = self.knobs
            waits = knobs.data_source_requested_seconds + knobs.data_source_running_seconds
            runs = sorted(self._runs_of(domain_id, source_id), key=lambda r: r.created_at)
            earlier = {asset for run in runs for asset, _, _ in run.assets}
            seen = {asset: version for run in runs for asset, version in run.versions.items()}
            imported = imported_assets(domain, source)
            versions = {a: int(domain.get("assets", {}).get(a, {}).get("schemaVersion", 1)) for a, _ in imported}
            # A table whose schema moved since the previous import is updated: a new revision.
            updated = [a for a, _ in imported if a in earlier and versions[a] != seen.get(a, 1)]
            for asset_id in updated:
                asset = domain["assets"][asset_id]
                asset["revision"] = int(asset.get("revision", 1)) + 1
            run = DataSourceRun(
                domain_id=domain_id,
                id=new_id(),
                data_source_id=source_id,
                project_id=str(source.get("project")),
                created_at=self.clock.now() - (waits if finished else 0.0),
                requested_seconds=knobs.data_source_requested_seconds,
                running_seconds=knobs.data_source_running_seconds,
                outcome=knobs.data_source_final_status.get(source_id, "SUCCESS"),
                assets=[(a, name, a in earlier) for a, name in imported],
                database=str(source.get("database") or source.get("name") or source_id),
                updated=updated,
                versions=versions,
                announced=finished,
            )
            self.data_source_runs[f"{domain_id}/{run.id}"] = run
            return run.id

    def stage_import(
        self, domain_id: str, source_id: str, *, created: int, updated: int
    ) -> tuple[list[str], list[str]]:
        """New tables and changed schemas for the data source's next run (catalog.stage_import)."""
        with self._lock:
            domain = self._domain(domain_id)
            if source_id not in domain.get("dataSources", {}):
                raise not_found("Data source", source_id, domain_id)
            imported = [a for run in self._runs_of(domain_id, source_id) for a, _, _ in run.assets]
            return stage_import(domain, source_id, imported, created=created, updated=updated, new_id=new_id)

    def take_ended_data_source_runs(self) -> list[DataSourceRun]:
        """Data-source runs that ended and were not announced yet, each returned once (what
        DataZone's "Data Source Run Succeeded/Failed" events announce)."""
        with self._lock:
            now = self.clock.now()
            ended = [r for r in self.data_source_runs.values() if not r.announced and r.finished_at <= now]
            for run in ended:
                run.announced = True
            return sorted(ended, key=lambda r: (r.finished_at, r.id))

    def next_data_source_run_end(self) -> float | None:
        """When the next run still to be announced ends (None: none is)."""
        with self._lock:
            ends = [r.finished_at for r in self.data_source_runs.values() if not r.announced]
            return min(ends) if ends else None

    def _runs_of(self, domain_id: str, source_id: str) -> list[DataSourceRun]:
        return [r for r in self.data_source_runs.values() if r.domain_id == domain_id and r.data_source_id == source_id]

    # -- queries for tests and later features -------------------------------------------------------

    def asset_revision(self, domain_id: str, asset_id: str) -> str:
        with self._lock:
            return str(self._asset(self._domain(domain_id), domain_id, asset_id)["revision"])

    def prediction_decisions(
        self, domain_id: str | None = None, asset_id: str | None = None
    ) -> list[PredictionDecision]:
        with self._lock:
            return [
                d
                for d in self.decisions
                if (domain_id is None or d.domain_id == domain_id) and (asset_id is None or d.asset_id == asset_id)
            ]

    def data_source_run_status(self, domain_id: str, run_id: str) -> str:
        with self._lock:
            return self.data_source_runs[f"{domain_id}/{run_id}"].status(self.clock.now())

    def run_status(self, domain_id: str, run_id: str) -> str:
        with self._lock:
            return self.runs[f"{domain_id}/{run_id}"].status(self.clock.now())

    # -- dispatch -----------------------------------------------------------------------------------

    def implements(self, operation: str) -> bool:
        return operation in self._handlers

    def handle(self, operation: str, params: dict[str, Any], principal: str) -> dict[str, Any]:
        """Run one operation (params already validated against the model); record the call."""
        if self.knobs.latency_seconds:
            self.clock.sleep(self.knobs.latency_seconds)
        status, error = 200, None
        try:
            with self._lock:
                self._inject_faults(operation)
                return self._handlers[operation](params, principal)
        except ServiceError as failure:
            status, error = failure.status, failure.code
            raise
        finally:
            self.record(operation, params, status, error, principal)

    def record(self, operation: str, params: Mapping[str, Any], status: int, error: str | None, principal: str) -> None:
        with self._lock:
            self.calls.append(Call(operation, _jsonable(params), status, error, principal, self.clock.now()))

    def _inject_faults(self, operation: str) -> None:
        knobs = self.knobs
        if knobs.fault_operations is not None and operation not in knobs.fault_operations:
            return
        if knobs.throttle_calls > 0:
            knobs.throttle_calls -= 1
            raise ServiceError("ThrottlingException", "Rate exceeded (injected by the local endpoint)")
        if knobs.throttle_fraction > 0:
            # An even spread (not a random one) keeps a run's figures the same from one run to the next.
            self._throttle_share += knobs.throttle_fraction
            if self._throttle_share >= 1:
                self._throttle_share -= 1
                raise ServiceError("ThrottlingException", "Rate exceeded (injected by the local endpoint)")
        if knobs.server_error_calls > 0:
            knobs.server_error_calls -= 1
            raise ServiceError("InternalServerException", "Internal server error (injected by the local endpoint)")
        if knobs.unavailable_calls > 0:
            knobs.unavailable_calls -= 1
            raise ServiceError("", "Service Unavailable", 503)  # no error type: unmodeled

    # -- lookups -----------------------------------------------------------------------------------

    def _domain(self, domain_id: str) -> dict[str, Any]:
        domain: dict[str, Any] | None = self.world.get("domains", {}).get(domain_id)
        if domain is None:
            raise ServiceError("ResourceNotFoundException", f"Domain {domain_id} not found.")
        return domain

    def _project(self, domain: dict[str, Any], domain_id: str, project_id: str) -> dict[str, Any]:
        project: dict[str, Any] | None = domain.get("projects", {}).get(project_id)
        if project is None:
            raise ServiceError("ResourceNotFoundException", f"Project {project_id} not found in domain {domain_id}.")
        return project

    def _asset(self, domain: dict[str, Any], domain_id: str, asset_id: str) -> dict[str, Any]:
        asset: dict[str, Any] | None = domain.get("assets", {}).get(asset_id)
        if asset is None:
            raise ServiceError("ResourceNotFoundException", f"Asset {asset_id} not found in domain {domain_id}.")
        return asset

    def _authorize(
        self, domain: dict[str, Any], domain_id: str, project_id: str, principal: str, operation: str
    ) -> None:
        members = self._project(domain, domain_id, project_id).get("members", {})
        if principal not in members:
            raise ServiceError(
                "AccessDeniedException",
                f"User {principal} is not authorized to perform {operation} in project {project_id} of domain "
                f"{domain_id}: not a member of the project.",
            )

    def _run(self, domain_id: str, run_id: str) -> Run:
        run = self.runs.get(f"{domain_id}/{run_id}")
        if run is None:
            raise ServiceError(
                "ResourceNotFoundException", f"Metadata generation run {run_id} not found in domain {domain_id}."
            )
        return run

    def _revision_exists(self, asset: dict[str, Any], revision: str | None, asset_id: str) -> None:
        if revision is None:
            return
        latest = int(asset.get("revision", 1))
        if not revision.isdigit() or not 1 <= int(revision) <= latest:
            raise ServiceError("ResourceNotFoundException", f"Revision {revision} of asset {asset_id} not found.")

    def _idempotent(
        self, operation: str, scope: str, params: Mapping[str, Any], create: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Same clientToken -> the first call's answer; same token, other parameters -> 409."""
        token = params.get("clientToken")
        if token is None:
            return create()
        key = f"{operation}|{scope}|{token}"
        fingerprint = hashlib.sha256(
            json.dumps({k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True, default=str).encode()
        ).hexdigest()
        seen = self._tokens.get(key)
        ttl = self.knobs.client_token_ttl_seconds
        if seen is not None and ttl is not None and self.clock.now() - float(seen.get("at", 0.0)) >= ttl:
            del self._tokens[key]
            seen = None
        if seen is not None:
            if seen["fingerprint"] != fingerprint:
                raise ServiceError(
                    "ConflictException",
                    f"Client token {token} was already used with different parameters for {operation}.",
                )
            return dict(seen["result"])
        result = create()
        self._tokens[key] = {"fingerprint": fingerprint, "result": _jsonable(result), "at": self.clock.now()}
        return result

    # -- operations ---------------------------------------------------------------------------------

    def _types(self, params: Mapping[str, Any]) -> tuple[list[str], bool]:
        types = params.get("types")
        single = params.get("type")
        if types is None and single is None:
            # Assumption: the service needs one of the two (strict, so no local-only success).
            raise validation_error(["Value null at 'types' failed to satisfy constraint: Member must not be null"])
        if types is not None and single is not None and list(types) != [single]:
            raise validation_error([f"Value '{single}' at 'type' conflicts with 'types'; pass only 'types'"])
        chosen: list[str] = [str(t) for t in types] if types is not None else [str(single)]
        if len(set(chosen)) != len(chosen):
            listed = ", ".join(chosen)
            raise validation_error(
                [f"Value '[{listed}]' at 'types' failed to satisfy constraint: Member must contain unique values"]
            )
        return chosen, types is None

    def _start(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        project_id = params["owningProjectIdentifier"]
        domain = self._domain(domain_id)
        self._authorize(domain, domain_id, project_id, principal, "StartMetadataGenerationRun")

        def create() -> dict[str, Any]:
            return self._create_run(domain, params, principal)

        result = self._idempotent("StartMetadataGenerationRun", domain_id, params, create)
        run = self._run(domain_id, result["id"])
        return _start_output(run, self.clock.now())

    def _create_run(self, domain: dict[str, Any], params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        project_id = params["owningProjectIdentifier"]
        types, legacy = self._types(params)
        target = params["target"]
        asset_id = target["identifier"]
        asset = self._asset(domain, domain_id, asset_id)
        if asset.get("project") != project_id:
            # Assumption: reported as a validation problem of the request.
            raise validation_error(
                [f"Asset {asset_id} is owned by project {asset.get('project')}, not by {project_id}"]
            )
        self._revision_exists(asset, target.get("revision"), asset_id)
        if not asset.get("supportsGeneration", True):
            raise validation_error(
                [f"Asset {asset_id} of type {asset_type(asset)} does not support metadata generation"]
            )
        now = self.clock.now()
        active = self._active_runs(domain_id, now)
        knobs = self.knobs
        if knobs.max_active_runs is not None and len(active) >= knobs.max_active_runs:
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"Quota exceeded: domain {domain_id} already has {len(active)} active metadata generation runs "
                f"(limit {knobs.max_active_runs}).",
            )
        if knobs.reject_concurrent_runs and any(r.asset_id == asset_id for r in active):
            raise ServiceError(
                "ConflictException", f"A metadata generation run for asset {asset_id} is already active."
            )
        run = Run(
            domain_id=domain_id,
            id=new_id(),
            project_id=project_id,
            asset_id=asset_id,
            revision=target.get("revision"),
            types=types,
            created_at=now,
            created_by=principal,
            submitted_seconds=knobs.submitted_seconds,
            in_progress_seconds=knobs.in_progress_seconds,
            outcome=knobs.final_status.get(asset_id) or str(asset.get("outcome", "SUCCEEDED")),
            error_message=knobs.error_message,
            legacy_type=legacy,
        )
        self.runs[f"{domain_id}/{run.id}"] = run
        self._in_flight[f"{domain_id}/{run.id}"] = run
        return {"id": run.id}

    def _active_runs(self, domain_id: str, now: float) -> list[Run]:
        """The domain's SUBMITTED/IN_PROGRESS runs. A run only moves forward (to a final status, for
        good), so one seen ended is dropped from the runs still looked at: Start costs O(runs in
        flight), not O(every run ever) (10,000 Starts scanned 50 million runs)."""
        if self._in_flight_of is not self.runs:  # the runs were replaced (import_state, a test)
            self._in_flight_of = self.runs
            self._in_flight = dict(self.runs)
        active = []
        for key, run in list(self._in_flight.items()):
            if run.status(now) not in RUNNING:
                del self._in_flight[key]
            elif run.domain_id == domain_id:
                active.append(run)
        return active

    def _get(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        run = self._run(domain_id, params["identifier"])
        now = self.clock.now()
        if now - run.created_at < self.knobs.not_found_after_start_seconds:
            raise ServiceError(
                "ResourceNotFoundException", f"Metadata generation run {run.id} not found in domain {domain_id}."
            )
        self._authorize(domain, domain_id, run.project_id, principal, "GetMetadataGenerationRun")
        result = self._reported(run, run.summary(now), now)
        stats = run.type_stats(now)
        if params.get("type") is not None:
            stats = [s for s in stats if s["type"] == params["type"]]
        result["typeStats"] = stats
        return result

    def _reported(self, run: Run, summary: dict[str, Any], now: float) -> dict[str, Any]:
        override = self.knobs.reported_status.get(run.asset_id)
        if override is not None and run.status(now) not in ("SUBMITTED", "CANCELED"):
            summary["status"] = override
        return summary

    def take_disconnect(self, operation: str) -> bool:
        """Whether this call should lose its connection (counts the knob down)."""
        with self._lock:
            knobs = self.knobs
            if knobs.fault_operations is not None and operation not in knobs.fault_operations:
                return False
            answered = knobs.throttle_calls or knobs.server_error_calls or knobs.unavailable_calls
            if answered or knobs.disconnect_calls <= 0:
                return False
            knobs.disconnect_calls -= 1
            return True

    def _cancel(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        run = self._run(domain_id, params["identifier"])
        self._authorize(domain, domain_id, run.project_id, principal, "CancelMetadataGenerationRun")
        now = self.clock.now()
        status = run.status(now)
        if status not in RUNNING:
            raise ServiceError(
                "ConflictException", f"Metadata generation run {run.id} is {status} and can no longer be canceled."
            )
        run.canceled_at = now
        return {}

    def _list(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        now = self.clock.now()
        visible = [
            run
            for run in self.runs.values()
            if run.domain_id == domain_id
            and principal in domain.get("projects", {}).get(run.project_id, {}).get("members", {})
            and (params.get("status") is None or run.status(now) == params["status"])
            and (params.get("type") is None or params["type"] in run.types)
            and (params.get("targetIdentifier") is None or run.asset_id == params["targetIdentifier"])
        ]
        visible.sort(key=lambda r: (-r.created_at, r.id))
        filters = {k: params.get(k) for k in ("status", "type", "targetIdentifier")}
        result = page(visible, params, domain_id, filters)
        result["items"] = [self._reported(run, run.summary(now), now) for run in result["items"]]
        return result

    def _list_data_source_runs(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        source_id = params["dataSourceIdentifier"]
        domain = self._domain(domain_id)
        source = domain.get("dataSources", {}).get(source_id)
        if source is None:
            raise not_found("Data source", source_id, domain_id)
        self._authorize(domain, domain_id, str(source.get("project")), principal, "ListDataSourceRuns")
        now = self.clock.now()
        runs = [r for r in self._runs_of(domain_id, source_id) if params.get("status") in (None, r.status(now))]
        runs.sort(key=lambda r: (-r.created_at, r.id))
        filters = {"dataSource": source_id, "status": params.get("status")}
        result = page(runs, params, domain_id, filters)
        result["items"] = [run.summary(now) for run in result["items"]]
        return result

    def _get_data_source_run(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        run = self.data_source_runs.get(f"{domain_id}/{params['identifier']}")
        if run is None:
            raise not_found("Data source run", params["identifier"], domain_id)
        self._authorize(domain, domain_id, run.project_id, principal, "GetDataSourceRun")
        return {"domainId": domain_id, **run.summary(self.clock.now())}

    def _list_data_source_run_activities(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        run = self.data_source_runs.get(f"{domain_id}/{params['identifier']}")
        if run is None:
            raise not_found("Data source run", params["identifier"], domain_id)
        self._authorize(domain, domain_id, run.project_id, principal, "ListDataSourceRunActivities")
        wanted = params.get("status")
        items = run.activities_in(self.clock.now(), wanted)
        return page(items, params, domain_id, {"run": run.id, "status": wanted})

    def _search(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        domain_id = params["domainIdentifier"]
        domain = self._domain(domain_id)
        unsupported = [k for k in ("filters", "searchIn", "sort", "additionalAttributes") if params.get(k)]
        if unsupported:
            # Answering without them would return more than AWS does; say so instead.
            raise validation_error([f"the local endpoint does not implement Search's {', '.join(unsupported)}"])
        project = params.get("owningProjectIdentifier")
        if project is not None:
            self._authorize(domain, domain_id, project, principal, "Search")
            projects = {project}
        else:
            projects = {p for p, v in domain.get("projects", {}).items() if principal in v.get("members", {})}
        filters = {k: params.get(k) for k in ("owningProjectIdentifier", "searchScope", "searchText")}
        # Paging through N results must not rebuild and sort all N on every page: one listing per
        # query, kept until the world changes (merge_world, import_state).
        key = json.dumps([domain_id, sorted(projects), filters, self._world_version])
        items = self._searches.get(key)
        if items is None:
            items = search_items(domain_id, domain, params, projects) if params["searchScope"] == "ASSET" else []
            if len(self._searches) >= 64:
                self._searches.clear()
            self._searches[key] = items
        result = page(items, params, domain_id, filters)
        result["totalMatchCount"] = len(items)
        return result

    def _decide(self, action: str, params: dict[str, Any], principal: str) -> dict[str, Any]:
        operation = "AcceptPredictions" if action == "ACCEPT" else "RejectPredictions"
        domain_id = params["domainIdentifier"]
        asset_id = params["identifier"]
        domain = self._domain(domain_id)
        asset = self._asset(domain, domain_id, asset_id)
        self._authorize(domain, domain_id, str(asset.get("project")), principal, operation)
        self._revision_exists(asset, params.get("revision"), asset_id)

        def create() -> dict[str, Any]:
            now = self.clock.now()
            finished = [
                r
                for r in self.runs.values()
                if r.domain_id == domain_id and r.asset_id == asset_id and r.status(now) in WITH_PREDICTIONS
            ]
            finished.sort(key=lambda r: r.created_at)
            latest = finished[-1] if finished else None
            if latest is None or f"{domain_id}/{latest.id}" in self._decided_runs:
                raise ServiceError(
                    "ConflictException",
                    f"Asset {asset_id} has no predictions to {action.lower()}: no finished metadata generation run "
                    "with predictions is waiting for a decision.",
                )
            before = str(asset.get("revision", 1))
            asset["revision"] = int(before) + 1
            after = str(asset["revision"])
            self._decided_runs.add(f"{domain_id}/{latest.id}")
            succeeded = [s["type"] for s in latest.type_stats(now) if s["status"] in WITH_PREDICTIONS]
            rule_key, choices_key = (
                ("acceptRule", "acceptChoices") if action == "ACCEPT" else ("rejectRule", "rejectChoices")
            )
            self.decisions.append(
                PredictionDecision(
                    action=action,
                    domain_id=domain_id,
                    asset_id=asset_id,
                    run_id=latest.id,
                    types=succeeded,
                    rule=_jsonable(params.get(rule_key)),
                    choices=_jsonable(params.get(choices_key)),
                    revision_before=before,
                    revision_after=after,
                    principal=principal,
                    at=now,
                )
            )
            revision_key = "revision" if action == "ACCEPT" else "assetRevision"
            return {"domainId": domain_id, "assetId": asset_id, revision_key: after}

        return self._idempotent(operation, f"{domain_id}/{asset_id}", params, create)

    def _accept(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        return self._decide("ACCEPT", params, principal)

    def _reject(self, params: dict[str, Any], principal: str) -> dict[str, Any]:
        return self._decide("REJECT", params, principal)

    # -- persistence (the replay keeps the endpoint's state between commands) -------------------------

    def export_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "world": copy.deepcopy(self.world),
                "runs": [asdict(run) for run in self.runs.values()],
                "dataSourceRuns": [asdict(run) for run in self.data_source_runs.values()],
                "tokens": copy.deepcopy(self._tokens),
                "decisions": [asdict(d) for d in self.decisions],
                "decidedRuns": sorted(self._decided_runs),
                "principals": dict(self.principals),
                "now": self.clock.now(),
            }

    def import_state(self, state: Mapping[str, Any]) -> None:
        with self._lock:
            self._world_version += 1
            self.world = copy.deepcopy(dict(state["world"]))
            self.runs = {f"{r['domain_id']}/{r['id']}": Run(**r) for r in state.get("runs", [])}
            self.data_source_runs = {
                f"{r['domain_id']}/{r['id']}": DataSourceRun(**{**r, "assets": [tuple(a) for a in r["assets"]]})
                for r in state.get("dataSourceRuns", [])
            }
            self._tokens = copy.deepcopy(dict(state.get("tokens", {})))
            self.decisions = [PredictionDecision(**d) for d in state.get("decisions", [])]
            self._decided_runs = set(state.get("decidedRuns", []))
            self.principals = dict(state.get("principals", {}))


def _start_output(run: Run, now: float) -> dict[str, Any]:
    summary = run.summary(now)
    summary.pop("target")
    return summary


def _merge_projects(projects: dict[str, Any], given: Mapping[str, Any]) -> None:
    for project_id, project in given.items():
        members = projects.get(project_id, {}).get("members", {})
        projects[project_id] = {**project, "members": {**members, **project.get("members", {})}}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None
