"""Rolling a failed deploy back, as CloudFormation does: a new stack deletes what it created, an
updated one sends each changed custom resource an Update back to its old properties."""

from __future__ import annotations

from constructs_local.cloudformation.results import StackResult
from constructs_local.cloudformation.session import (
    MEMBERSHIP_TYPE,
    SessionCore,
    _Change,
    _Deployment,
    _failed_logical,
    _FailureError,
    _is_custom,
    _random_suffix,
    _token,
)
from constructs_local.cloudformation.state import _Resource


class RollbackSteps(SessionCore):
    def _failed_resource(self, dep: _Deployment, failure: _FailureError) -> _Change | None:
        """The resource whose failure stopped the deployment, when it is not among the finished changes."""
        logical = failure.logical or _failed_logical(dep.result)
        if not logical or logical in {c.logical for c in dep.changes}:
            return None
        kind = str(dep.stack.template["Resources"].get(logical, {}).get("Type", ""))
        properties, fingerprint = self._properties(dep, logical, kind)
        before = dep.old.get(logical)
        if before is not None and before.type == kind:
            carried = before.physical_id
            if self.owner.rollback_physical_id == "failed" and failure.physical_id:
                carried = failure.physical_id
            attempted = _Resource(kind, carried, properties, {}, fingerprint, _token(dep.stack, logical))
            return _Change(logical, "Update", before, attempted, produced=failure.physical_id)
        if not _is_custom(kind):
            return None
        physical = failure.physical_id
        record = dep.records.get(logical)
        if not physical and record is not None and record.request_type == "Create":
            # CloudFormation sent a Create and got no answer in time (ServiceTimeout): the rollback
            # still deletes it, with a physical id it invents, as for a Create deleted in flight.
            physical = f"{dep.stack.stack_name}-{logical}-{_random_suffix()}"
        if not physical:
            return None
        created = _Resource(kind, physical, properties, {}, fingerprint, _token(dep.stack, logical))
        return _Change(logical, "Create", None, created)

    def _rollback(self, dep: _Deployment, failure: _FailureError) -> StackResult:
        dep.result.reason = failure.reason
        failed = self._failed_resource(dep, failure)
        attempted = dep.changes + ([failed] if failed is not None else [])
        if dep.previous is None:
            return self._rollback_create(dep, attempted, failure.undeleted)
        return self._rollback_update(dep, attempted)

    def _rollback_create(
        self, dep: _Deployment, attempted: list[_Change], undeleted: dict[str, _Resource]
    ) -> StackResult:
        """A new stack that failed: delete what was created (the failed resource too), newest first.
        ``undeleted``: resources deleted in flight whose Delete failed (they stay, the rollback fails)."""
        remaining: dict[str, _Resource] = dict(undeleted)
        for change in reversed(attempted):
            if not self._remove(dep, change.logical, change.after, "rollback"):
                remaining[change.logical] = change.after
        dep.result.status = "ROLLBACK_FAILED" if remaining else "ROLLBACK_COMPLETE"
        self.state["stacks"][dep.stack.name] = {
            "stackId": dep.result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": dep.result.status,
            "order": [c.logical for c in attempted if c.logical in remaining]
            + [logical for logical in undeleted if logical not in {c.logical for c in attempted}],
            "resources": {k: v.to_json() for k, v in remaining.items()},
            "outputs": {},
        }
        return self._finish(dep)

    def _rollback_update(self, dep: _Deployment, attempted: list[_Change]) -> StackResult:
        """An update that failed: updated resources get an Update back to the old properties, created ones a Delete."""
        self._stack_status(dep, "UPDATE_ROLLBACK_IN_PROGRESS")
        restored = dict(dep.old)
        ok = True
        cleanup: list[tuple[str, _Resource]] = []
        for change in reversed(attempted):
            logical, before, after = change.logical, change.before, change.after
            dep.resolver.physical_ids[logical] = after.physical_id
            if before is None or before.type != after.type:
                ok &= self._remove(dep, logical, after, "rollback")
                if before is None:
                    restored.pop(logical, None)
                continue
            if after.type == MEMBERSHIP_TYPE:
                self._membership(after.properties or {}, add=False)
                self._membership(before.properties or {}, add=True)
            if not _is_custom(after.type):
                continue
            self._event(dep, logical, after.type, "UPDATE_IN_PROGRESS")
            try:
                response = self.send(
                    dep,
                    logical,
                    "Update",
                    "rollback",
                    before.properties or {},
                    old_properties=after.properties or {},
                    physical_id=after.physical_id,
                )
            except _FailureError as failure:
                self._event(dep, logical, after.type, "UPDATE_FAILED", reason=failure.reason)
                ok = False
                break
            self._event(dep, logical, after.type, "UPDATE_COMPLETE", physical_id=response.physical_id)
            restored[logical] = _Resource(
                before.type,
                response.physical_id,
                before.properties,
                response.data,
                before.fingerprint,
                before.service_token,
            )
            # The cleanup deletes what the update had produced, whichever id the rollback carried.
            produced = change.produced or after.physical_id
            if produced != response.physical_id:
                cleanup.append(
                    (logical, _Resource(after.type, produced, after.properties, {}, "", after.service_token))
                )
        if ok and cleanup:
            self._stack_status(dep, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            for logical, resource in cleanup:
                self._remove(dep, logical, resource, "cleanup", tolerate=True)
        dep.result.status = "UPDATE_ROLLBACK_COMPLETE" if ok else "UPDATE_ROLLBACK_FAILED"
        outputs = dict((dep.previous or {}).get("outputs", {}))
        self.state["stacks"][dep.stack.name] = {
            "stackId": dep.result.stack_id,
            "stackName": dep.stack.stack_name,
            "status": dep.result.status,
            "order": dep.old_order,
            "resources": {k: v.to_json() for k, v in restored.items()},
            "outputs": outputs,
        }
        dep.result.outputs = outputs
        return self._finish(dep)
