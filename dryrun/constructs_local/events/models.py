"""EventBridge's default bus for the local replay: rules, their patterns and targets, and what a
delivery to each target carries. Protocol-free, like :mod:`constructs_local.datazone.models`.

A rule's pattern is matched by moto's own matcher (``moto.events.models.EventPattern``, pinned
with the rest of moto): the replay routes an event exactly as moto's EventBridge would, not by a
matcher written here. What a target receives follows the target's ``Input``, ``InputPath`` or
``InputTransformer`` (EventBridge user guide, "Transforming target input"): a placeholder outside
a JSON string is replaced by the value as JSON, one inside a string by its text. moto's own
``EventTemplateParser`` inserts a string value without quotes, which breaks the templates CDK's
``RuleTargetInput.from_object`` writes (``"id":<id>``), so the substitution is done here; the
paths themselves are read with jsonpath-ng, as moto does.

Delivery itself (the Lambda service's asynchronous invocation, its retries, the dead-letter
queues) is :mod:`constructs_local.events.replay`'s: it needs the replay's functions and clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_local._deps import botocore_module

#: The DataZone source and the detail types the local endpoint announces.
DATAZONE_SOURCE = "aws.datazone"


def _event_pattern(raw: str) -> Any:
    return botocore_module("moto.events.models").EventPattern.load(raw)


@dataclass
class Target:
    """One target of a rule (``AWS::Events::Rule`` ``Targets[]``, resolved)."""

    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: Mapping[str, Any] | None = None
    dead_letter_arn: str | None = None
    #: RetryPolicy: EventBridge's defaults when the rule sets none.
    maximum_retry_attempts: int = 185
    maximum_event_age_seconds: int = 86_400

    @classmethod
    def from_property(cls, value: Mapping[str, Any]) -> Target:
        retry = value.get("RetryPolicy") or {}
        return cls(
            id=str(value["Id"]),
            arn=str(value["Arn"]),
            input=value.get("Input"),
            input_path=value.get("InputPath"),
            input_transformer=value.get("InputTransformer"),
            dead_letter_arn=(value.get("DeadLetterConfig") or {}).get("Arn"),
            maximum_retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
            maximum_event_age_seconds=int(retry.get("MaximumEventAgeInSeconds", 86_400)),
        )

    def payload(self, event: Mapping[str, Any]) -> Any:
        """What the target receives for ``event``."""
        if self.input is not None:
            return json.loads(self.input)
        if self.input_path is not None:
            return _find(self.input_path, event)
        if self.input_transformer is not None:
            return transform(self.input_transformer, event)
        return dict(event)


@dataclass
class Rule:
    """A rule on the default bus, as a stack's ``AWS::Events::Rule`` made it."""

    name: str
    arn: str
    pattern: Mapping[str, Any]
    targets: list[Target]
    enabled: bool = True
    #: Which stack resource made it (``<stack>/<logical id>``), for reports.
    owner: str = ""
    _matcher: Any = field(default=None, repr=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        if self._matcher is None:
            self._matcher = _event_pattern(json.dumps(self.pattern))
        return bool(self.enabled and self._matcher.matches_event(dict(event)))


@dataclass
class Delivery:
    """What became of one event at one target (the report's and the tests' evidence)."""

    event_id: str
    detail_type: str
    rule: str
    target: str
    #: delivered (the function ran, or will, asynchronously) | dead-lettered | failed (no DLQ)
    outcome: str
    reason: str = ""
    #: The function's invocations (attempts) and what the last one returned or raised.
    attempts: int = 0
    result: Any = None
    error: Mapping[str, Any] | None = None


class DefaultBus:
    """The account's default event bus (one per replay command): rules by name, events put."""

    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def put_rule(self, rule: Rule) -> None:
        with self._lock:
            self.rules[rule.name] = rule

    def delete_rule(self, name: str) -> None:
        with self._lock:
            self.rules.pop(name, None)

    def route(self, event: Mapping[str, Any]) -> list[tuple[Rule, Target]]:
        """Record ``event`` and return every (rule, target) it goes to."""
        with self._lock:
            self.events.append(dict(event))
            rules = list(self.rules.values())
        return [(rule, target) for rule in rules if rule.matches(event) for target in rule.targets]

    def record(self, delivery: Delivery) -> Delivery:
        with self._lock:
            self.deliveries.append(delivery)
        return delivery


def _find(path: str, event: Mapping[str, Any]) -> Any:
    parse = botocore_module("jsonpath_ng.ext").parse
    found = parse(path).find(dict(event))
    return found[0].value if found else None


def transform(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """An ``InputTransformer``'s output for ``event``: each ``<name>`` of ``InputTemplate``
    replaced by the value its ``InputPathsMap`` path finds (a missing path: null)."""
    values = {name: _find(str(path), event) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values["aws.events.event"] = dict(event)
    values["aws.events.event.json"] = dict(event)
    template = str(transformer["InputTemplate"])
    text = _substitute(template, values)
    try:
        return json.loads(text)
    except ValueError:
        return text  # a template that is not JSON is delivered as a string


def _substitute(template: str, values: Mapping[str, Any]) -> str:
    out: list[str] = []
    inside = False  # within a JSON string literal of the template
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and inside:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            inside = not inside
        elif char == "<":
            end = template.find(">", i)
            name = template[i + 1 : end] if end > 0 else ""
            if name in values:
                value = values[name]
                if inside:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)
