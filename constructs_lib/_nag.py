"""cdk-nag acknowledgments that work with cdk-nag 2 and 3, without depending on either.

Every finding is written twice, on the CfnResource that draws it: a cdk-nag 3 acknowledgment
(``Validations``) and a cdk-nag 2 suppression (the resource's ``cdk_nag`` template metadata,
which is all cdk-nag 2 reads). Both name the rule, its ``[...]`` finding where the rule has one,
and the reason, so neither can hide a finding in the user's own resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def _recorded(resource: cdk.CfnResource) -> list[Entry]:
    """The entries an earlier :func:`acknowledge` wrote on ``resource`` (read back from its metadata)."""
    metadata = resource.get_metadata("cdk_nag") or {}
    return [
        (rule["id"], finding, rule["reason"])
        for rule in metadata.get("rules_to_suppress", [])
        for finding in rule.get("applies_to") or [None]
    ]


def _merged(recorded: Sequence[Entry], entries: Sequence[Entry]) -> list[Entry]:
    """``recorded`` then ``entries``, one entry per (rule, finding): a finding acknowledged again
    (the handler policy's ``Resource::*`` by the provider and then by a batch) keeps its place and
    gets both reasons, since each covers other actions of the same statement."""
    merged: dict[tuple[str, str | None], str] = {}
    for rule, finding, reason in [*recorded, *entries]:
        earlier = merged.get((rule, finding))
        merged[(rule, finding)] = reason if earlier is None or reason in earlier else f"{earlier} {reason}"
    return [(rule, finding, reason) for (rule, finding), reason in merged.items()]


def acknowledge(resource: cdk.CfnResource, entries: Sequence[Entry]) -> None:
    """Acknowledge ``entries`` (rule, finding, reason) on ``resource`` for cdk-nag 3 and 2."""
    # cdk-nag 2 reads plain metadata (it cannot resolve a Lazy), and add_metadata replaces the key,
    # so what earlier calls wrote is read back from the resource and written again with the new
    # entries. The resource itself holds the record: no Python-side map keyed by jsii proxies,
    # whose identity is not stable (one JS object can come back as a new proxy on each lookup).
    recorded = _recorded(resource)
    merged = _merged(recorded, entries)
    # cdk-nag 3 keeps the last acknowledgment of an id: a finding seen before is acknowledged
    # again with the reasons of both calls, never with the newest one alone.
    renewed = {(rule, finding) for rule, finding, _ in entries}
    cdk.Validations.of(resource).acknowledge(
        *(
            cdk.Acknowledgment(id=f"AwsSolutions::{rule}{f'[{finding}]' if finding else ''}", reason=reason)
            for rule, finding, reason in merged
            if (rule, finding) in renewed
        )
    )
    resource.add_metadata("cdk_nag", nag2_metadata(merged))
