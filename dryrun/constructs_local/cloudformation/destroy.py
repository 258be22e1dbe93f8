"""A local destroy: the stack's resources deleted in reverse creation order."""

from __future__ import annotations

import time
from typing import Any

from constructs_local.cloudformation.assembly import StackArtifact
from constructs_local.cloudformation.results import StackResult
from constructs_local.cloudformation.session import SessionCore, _Context
from constructs_local.cloudformation.state import _Resource


class DestroySteps(SessionCore):
    def destroy(self, stack: StackArtifact) -> StackResult:
        wall = time.monotonic()
        self._remember_paths(stack)
        stacks_state: dict[str, Any] = self.state.setdefault("stacks", {})
        previous = stacks_state.get(stack.name)
        stack_id = previous["stackId"] if previous else ""
        resources = {k: _Resource.from_json(v) for k, v in (previous or {}).get("resources", {}).items()}
        ctx = _Context(
            stack=stack,
            result=StackResult(stack.name, stack_id, "destroy", "", started_at=self.clock.now()),
            resolver=self.resolver(stack, stack_id, resources),
            wall=wall,
        )
        if previous is None:
            ctx.result.status, ctx.result.changed = "DELETE_COMPLETE", False
            ctx.result.notes.append("stack is not deployed locally; nothing to destroy")
            return self._finish(ctx)
        self._stack_status(ctx, "DELETE_IN_PROGRESS")
        self.restore_moto(ctx, resources)
        order = [lid for lid in previous.get("order", []) if lid in resources]
        for logical in reversed(order):
            ctx.resolver.physical_ids.setdefault(logical, resources[logical].physical_id)
            if not self._remove(ctx, logical, resources[logical], "destroy"):
                ctx.result.status = "DELETE_FAILED"
                previous["status"] = "DELETE_FAILED"
                return self._finish(ctx)
            resources.pop(logical)
            previous["resources"] = {k: v.to_json() for k, v in resources.items()}
        ctx.result.status = "DELETE_COMPLETE"
        stacks_state.pop(stack.name, None)
        return self._finish(ctx)
