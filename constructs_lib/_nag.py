"""cdk-nag acknowledgments that work with cdk-nag 2 and 3, without depending on either.

Every finding is written twice, on the CfnResource that draws it: a cdk-nag 3 acknowledgment
(``Validations``) and a cdk-nag 2 suppression (the resource's ``cdk_nag`` template metadata,
which is all cdk-nag 2 reads). Both name the rule, its ``[...]`` finding where the rule has one,
and the reason, so neither can hide a finding in the user's own resources.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

import aws_cdk as cdk
from constructs import IConstruct

#: (rule, finding or None, reason)
Entry = tuple[str, str | None, str]


def cfn_resource(construct: IConstruct | None) -> cdk.CfnResource:
    if not isinstance(construct, cdk.CfnResource):
        raise TypeError(f"expected a CfnResource, got {construct!r}: did aws-cdk-lib's layout change?")
    return construct


def policy_of(role: IConstruct) -> cdk.CfnResource:
    """A role's DefaultPolicy resource (where grants land)."""
    return cfn_resource(role.node.find_child("DefaultPolicy").node.default_child)


def nag2_metadata(entries: Sequence[Entry]) -> dict[str, Any]:
    """The ``cdk_nag`` metadata cdk-nag 2's ``NagSuppressions.addResourceSuppressions`` writes: one
    entry per rule and reason, its findings under ``applies_to`` so the rule's other findings on
    the same resource are still reported."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for rule, finding, reason in entries:
        grouped.setdefault((rule, reason), []).extend([finding] if finding else [])
    rules: list[dict[str, Any]] = []
    for (rule, reason), applies_to in grouped.items():
        rules.append({"id": rule, "reason": reason, **({"applies_to": applies_to} if applies_to else {})})
    return {"rules_to_suppress": rules}


class Acknowledgments:
    """The findings a stack's constructs acknowledge, one record per CfnResource."""

    _of: ClassVar[weakref.WeakKeyDictionary[cdk.Stack, Acknowledgments]] = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, stack: cdk.Stack) -> Acknowledgments:
        found = cls._of.get(stack)
        if found is None:
            found = cls._of[stack] = cls()
        return found

    def __init__(self) -> None:
        # Keyed by the construct path: jsii may hand out a new proxy per lookup of one resource.
        self._entries: dict[str, list[Entry]] = {}

    def add(self, resource: cdk.CfnResource, entries: Sequence[Entry]) -> None:
        """Acknowledge ``entries`` (rule, finding, reason) on ``resource`` for cdk-nag 3 and 2."""
        cdk.Validations.of(resource).acknowledge(
            *(
                cdk.Acknowledgment(id=f"AwsSolutions::{rule}{f'[{finding}]' if finding else ''}", reason=reason)
                for rule, finding, reason in entries
            )
        )
        # cdk-nag 2 reads plain metadata (it cannot resolve a Lazy), so the whole list is written
        # again on each add: add_metadata replaces the key.
        recorded = self._entries.setdefault(resource.node.path, [])
        recorded.extend(entries)
        resource.add_metadata("cdk_nag", nag2_metadata(recorded))
