"""A local deploy: every resource created or updated as soon as what it depends on is done, the
custom resources through their provider; the first failure rolls the stack back."""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_lib._handler import contract
from constructs_local.cloudformation.assembly import StackArtifact, deployment_order
from constructs_local.cloudformation.results import StackResult
from constructs_local.cloudformation.rollback import RollbackSteps
from constructs_local.cloudformation.scheduler import Join
from constructs_local.cloudformation.session import (
    MEMBERSHIP_TYPE,
    _Change,
    _Context,
    _dependencies,
    _Deployment,
    _emulated,
    _FailureError,
    _is_custom,
    _member,
    _random_suffix,
    _token,
)
from constructs_local.cloudformation.state import _Resource
from constructs_local.datazone.exceptions import ServiceError

#: What this dry run is for; the other resources of a stack only stand around them.
CONSTRUCT_TYPES = (contract.RESOURCE_TYPE, contract.BATCH_RESOURCE_TYPE)


@dataclass
class _Progress:
    """A deployment's resources in flight, done, changed; the first failure and what it deletes."""

    running: dict[str, Any] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    changes: list[_Change] = field(default_factory=list)
    deleting: list[tuple[str, _Resource, Any]] = field(default_factory=list)
    failure: _FailureError | None = None


class DeploySteps(RollbackSteps):
    def deploy(self, stack: StackArtifact) -> StackResult:
        wall = time.monotonic()
        self._remember_paths(stack)
        previous = self.state.setdefault("stacks", {}).get(stack.name)
        if previous is not None and previous.get("status") in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
            previous = None  # cdk deploy deletes a stack that never got created, then creates it anew
        stack_id = previous["stackId"] if previous else self._new_stack_id(stack)
        old = {k: _Resource.from_json(v) for k, v in (previous or {}).get("resources", {}).items()}
        current = dict(old)
        dep = _Deployment(
            stack=stack,
            result=StackResult(stack.name, stack_id, "deploy", "", started_at=self.clock.now()),
            resolver=self.resolver(stack, stack_id, current),
            wall=wall,
            previous=previous,
            old=old,
            old_order=list((previous or {}).get("order", [])),
            current=current,
        )
        dep.result.constructs = sum(
            1 for r in stack.template.get("Resources", {}).values() if r.get("Type") in CONSTRUCT_TYPES
        )
        self.restore_moto(dep, old)
        order = [lid for lid in deployment_order(stack.template) if self._included(dep, lid)]
        cleanup: list[tuple[str, _Resource]] = []
        self._stack_status(dep, "CREATE_IN_PROGRESS" if previous is None else "UPDATE_IN_PROGRESS")
        try:
            for change in self._deploy_in_parallel(dep, order):
                before = change.before
                if before is not None and (
                    before.type != change.after.type or before.physical_id != change.after.physical_id
                ):
                    cleanup.append((change.logical, before))
            outputs = self._outputs(dep)
        except _FailureError as failure:
            return self._rollback(dep, failure)
        removed = [lid for lid in reversed(dep.old_order) if lid in old and lid not in order]
        for logical in removed:
            cleanup.append((logical, old[logical]))
            current.pop(logical, None)
        if cleanup and previous is not None:
            self._stack_status(dep, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical, resource in cleanup:
            self._remove(dep, logical, resource, "cleanup", tolerate=True)
        return self._complete(dep, order, current, outputs, changed=bool(dep.changes or removed))

    def _deploy_in_parallel(self, dep: _Deployment, order: list[str]) -> list[_Change]:
        """Create/update every resource as soon as what it depends on is done, as CloudFormation does.

        On the first failure nothing new starts. A stack being created deletes the custom resources
        still in flight (with an invented physical id, their waiters running on); a stack being
        updated lets them finish. Then the failure is raised for the rollback.
        """
        template = dep.stack.template
        included = set(order)
        needs = {logical: _dependencies(template, logical) & included for logical in order}
        pending = list(order)
        progress = _Progress()
        while True:
            if progress.failure is None:
                for logical in [lid for lid in pending if needs[lid] <= progress.done]:
                    pending.remove(logical)
                    progress.running[logical] = self.scheduler.spawn(self._change_steps(dep, logical), logical)
            if not progress.running:
                break
            self.scheduler.run_until(lambda: any(task.done for task in progress.running.values()))
            self._collect_finished(dep, progress)
        self.scheduler.run_until(lambda: all(task.done for _, _, task in progress.deleting))
        if progress.failure is not None:
            # A Delete CloudFormation sent to a Create in flight that failed leaves the resource
            # behind: the rollback then ends ROLLBACK_FAILED, as CloudFormation's does.
            progress.failure.undeleted.update(
                {logical: resource for logical, resource, task in progress.deleting if task.result is not True}
            )
            raise progress.failure
        return progress.changes

    def _collect_finished(self, dep: _Deployment, progress: _Progress) -> None:
        running = progress.running
        for logical, task in list(running.items()):
            if logical not in running or not task.done:
                continue  # still working, or deleted in flight a moment ago
            del running[logical]
            if task.error is None:
                progress.done.add(logical)
                if task.result is not None:
                    progress.changes.append(task.result)
                continue
            if not isinstance(task.error, _FailureError):
                raise task.error
            if progress.failure is None:
                progress.failure = task.error
                progress.failure.logical = logical
                if dep.previous is None:
                    self._stack_status(dep, "ROLLBACK_IN_PROGRESS")
                    progress.deleting += self._delete_in_flight(dep, running)

    def _delete_in_flight(self, dep: _Deployment, running: dict[str, Any]) -> list[tuple[str, _Resource, Any]]:
        """CloudFormation stops waiting for the Creates still in flight and deletes those resources
        with a physical id it invents (their waiters go on; what they answer is ignored)."""
        deletes = []
        for logical, task in list(running.items()):
            record = dep.records.get(logical)
            self.scheduler.cancel(task)
            del running[logical]
            kind = str(dep.stack.template["Resources"][logical].get("Type"))
            self._event(dep, logical, kind, "CREATE_FAILED", reason="Resource creation cancelled")
            if record is None or not _is_custom(kind) or record.request_type != "Create":
                continue
            record.ignored = "deleted in flight"
            invented = f"{dep.stack.stack_name}-{logical}-{_random_suffix()}"
            resource = _Resource(
                kind, invented, record.request["ResourceProperties"], {}, "", _token(dep.stack, logical)
            )
            delete = self.scheduler.spawn(self._remove_steps(dep, logical, resource, "rollback"), f"{logical} delete")
            deletes.append((logical, resource, delete))
        return deletes

    def _change_steps(self, dep: _Deployment, logical: str) -> Generator[float | Join, None, _Change | None]:
        """Create or update one resource if its properties changed; None when it did not."""
        kind = str(dep.stack.template["Resources"][logical].get("Type"))
        before = dep.old.get(logical)
        properties, fingerprint = self._properties(dep, logical, kind)
        if before is not None and before.type == kind and before.fingerprint == fingerprint:
            return None
        action = "Create" if before is None or before.type != kind else "Update"
        if logical in self.owner.fail_resources:
            verb = action.upper()
            self._event(dep, logical, kind, f"{verb}_IN_PROGRESS")
            yield self.owner.fail_resources[logical]
            reason = (
                'Resource handler returned message: "failure injected by the local replay" '
                "(HandlerErrorCode: InternalFailure)"
            )
            self._event(dep, logical, kind, f"{verb}_FAILED", reason=reason)
            raise _FailureError(reason)
        after = yield from self._apply_steps(
            dep, logical, kind, action, properties=properties, fingerprint=fingerprint, before=before
        )
        change = _Change(logical, action, before, after)
        dep.changes.append(change)
        dep.current[logical] = after
        dep.resolver.physical_ids[logical] = after.physical_id
        try:
            self._check_attributes(dep, logical, kind)
        except _FailureError as failure:
            self._event(
                dep, logical, kind, f"{action.upper()}_FAILED", reason=failure.reason, physical_id=after.physical_id
            )
            raise
        return change

    def _complete(
        self,
        dep: _Deployment,
        order: list[str],
        current: Mapping[str, _Resource],
        outputs: tuple[dict[str, str], dict[str, str]],
        *,
        changed: bool,
    ) -> StackResult:
        result = dep.result
        creating = dep.previous is None
        result.changed = changed
        result.status = ("CREATE_COMPLETE" if creating else "UPDATE_COMPLETE") if changed else "NO_CHANGES"
        result.outputs, result.output_descriptions = outputs
        if dep.changes and not any(_emulated(c.after.type) for c in dep.changes):
            result.notes.append(f"{len(dep.changes)} resource(s) without a local emulation changed (no calls made)")
        status = result.status if changed else (dep.previous or {}).get("status", "CREATE_COMPLETE")
        self.state["stacks"][dep.stack.name] = {
            "stackId": result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": status,
            "order": order,
            "resources": {k: current[k].to_json() for k in order if k in current},
            "outputs": result.outputs,
        }
        return self._finish(dep)

    def _apply_steps(
        self,
        ctx: _Context,
        logical: str,
        kind: str,
        action: str,
        *,
        properties: Any,
        fingerprint: str,
        before: _Resource | None,
    ) -> Generator[float | Join, None, _Resource]:
        verb = "CREATE" if action == "Create" else "UPDATE"
        if _is_custom(kind):
            self.stage_batch(ctx, kind, properties)
            self._event(ctx, logical, kind, f"{verb}_IN_PROGRESS")
            replacing = before if before is not None and before.type == kind else None
            try:
                response = yield from self.send_steps(
                    ctx,
                    logical,
                    action,
                    "deploy",
                    properties,
                    old_properties=replacing.properties if replacing is not None else None,
                    physical_id=replacing.physical_id if replacing is not None else None,
                )
            except _FailureError as failure:
                self._event(
                    ctx, logical, kind, f"{verb}_FAILED", reason=failure.reason, physical_id=failure.physical_id
                )
                raise
            # The attributes are this response's Data, as on CloudFormation (nothing carried over).
            self._event(ctx, logical, kind, f"{verb}_COMPLETE", physical_id=response.physical_id)
            return _Resource(
                kind, response.physical_id, properties, response.data, fingerprint, _token(ctx.stack, logical)
            )
        if kind == MEMBERSHIP_TYPE:
            self._event(ctx, logical, kind, f"{verb}_IN_PROGRESS")
            try:
                if before is not None and before.properties:
                    self._membership(before.properties, add=False)
                self._membership(properties, add=True)
            except ServiceError as error:
                reason = f'Resource handler returned message: "{error.message}" (HandlerErrorCode: NotFound)'
                self._event(ctx, logical, kind, f"{verb}_FAILED", reason=reason)
                raise _FailureError(reason) from error
            physical = "|".join(
                str(v)
                for v in (properties.get("DomainIdentifier"), properties.get("ProjectIdentifier"), _member(properties))
            )
            self._event(ctx, logical, kind, f"{verb}_COMPLETE", physical_id=physical)
            return _Resource(kind, physical, properties, {}, fingerprint)
        keep = before is not None and before.type == kind
        physical = before.physical_id if keep and before is not None else ctx.resolver.physical_id(logical)
        physical = self.moto_physical_id(ctx, logical, kind, physical)
        return _Resource(kind, physical, None, {}, fingerprint)
