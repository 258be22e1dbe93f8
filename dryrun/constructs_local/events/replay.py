"""The replay's EventBridge: what a deploy makes of ``AWS::Events::Rule``, ``AWS::SQS::Queue``,
``AWS::Lambda::Permission`` and ``AWS::Lambda::EventInvokeConfig``, and the delivery of the local
DataZone endpoint's events to Lambda targets.

* A rule is put on the command's :class:`~constructs_local.events.models.DefaultBus` from its
  resolved properties (pattern, targets, input transformer, retry policy, dead-letter queue), and
  taken off when CloudFormation deletes it: a later event matches only the rules deployed then.
* A queue is made in moto's SQS (its ``Ref`` is the queue URL, as CloudFormation's); what lands in
  a dead-letter queue is a message there, with the attributes AWS sets.
* A target is delivered to as EventBridge does (user guide, "Using dead-letter queues"): a
  function that does not exist, or that no ``AWS::Lambda::Permission`` lets
  ``events.amazonaws.com`` invoke for this rule, is not retried: the event goes to the target's
  dead-letter queue at once. Otherwise the Lambda service takes the event (an asynchronous
  invocation) and runs the function on the replay's clock: a failed invocation is retried twice, a
  minute and then two minutes later (its ``AWS::Lambda::EventInvokeConfig`` may say fewer), then
  the event goes to the function's own dead-letter queue (``DeadLetterConfig``).
* When the endpoint's data-source runs end (on the shared clock), a task of the replay's
  scheduler announces each once (:mod:`constructs_local.events.datazone`); an event is delivered
  ``redeliver`` times (EventBridge delivers at least once).

The moto world, and with it the bus, lives for one replay command: the next command deploys the
stacks' rules again from their state, and announces the runs that ended in between.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from constructs_local.awslambda.runtime import Invocation, LocalFunction
from constructs_local.cloudformation.assembly import function_spec
from constructs_local.cloudformation.scheduler import Join, Task
from constructs_local.events.datazone import data_source_run_event
from constructs_local.events.models import DefaultBus, Delivery, Rule, Target

if TYPE_CHECKING:
    from constructs_local.cloudformation.session import SessionCore, _Context
    from constructs_local.cloudformation.state import _Resource

RULE_TYPE = "AWS::Events::Rule"
QUEUE_TYPE = "AWS::SQS::Queue"
PERMISSION_TYPE = "AWS::Lambda::Permission"
INVOKE_CONFIG_TYPE = "AWS::Lambda::EventInvokeConfig"
FUNCTION_TYPE = "AWS::Lambda::Function"
EVENT_RESOURCE_TYPES = (RULE_TYPE, QUEUE_TYPE, PERMISSION_TYPE, INVOKE_CONFIG_TYPE)
EVENTS_PRINCIPAL = "events.amazonaws.com"
#: The Lambda service's asynchronous invocation: two retries by default, a minute then two
#: minutes after a failure; events older than 6 hours are not retried.
ASYNC_RETRIES = 2
ASYNC_RETRY_DELAYS = (60.0, 120.0)
ASYNC_MAX_AGE_SECONDS = 6 * 3600

Steps = Generator["float | Join", None, Any]


class ReplayEvents:
    """One replay command's EventBridge and the Lambda service's asynchronous invocations."""

    def __init__(self, session: SessionCore) -> None:
        self.session = session
        self.bus = DefaultBus()
        #: Deliveries per matching event: 2 shows what EventBridge's at-least-once delivery does.
        self.redeliver = 1
        #: (function ARN, rule ARN) pairs events.amazonaws.com may invoke (AWS::Lambda::Permission).
        self.permissions: dict[str, tuple[str, str]] = {}
        #: Function ARN -> (retries, maximum event age) of its asynchronous invocations.
        self.invoke_configs: dict[str, tuple[int, int]] = {}
        #: Function ARN -> the local function, and its own dead-letter queue's ARN.
        self.functions: dict[str, tuple[LocalFunction, str | None]] = {}
        #: Queue ARN -> its URL in moto's SQS.
        self.queues: dict[str, str] = {}
        self.account = "000000000000"
        self.region = "us-east-1"
        self._pump: Task | None = None
        self._notes: list[str] = []

    # -- resources ------------------------------------------------------------------------------

    def deploy(self, ctx: _Context, logical: str, kind: str, physical: str) -> str:
        """Make the resource real in the bus (or moto's SQS); its physical id."""
        properties = ctx.resolver.resolve(ctx.stack.template["Resources"][logical].get("Properties", {}))
        if kind == QUEUE_TYPE:
            return self._queue(ctx, logical, physical)
        if kind == RULE_TYPE:
            self.account, self.region = ctx.resolver.account, ctx.resolver.region
            targets = [Target.from_property(t) for t in properties.get("Targets") or []]
            for target in targets:
                self._function(ctx, target.arn)
            arn = ctx.resolver.arn("events", f"rule/{physical}")
            self.bus.put_rule(
                Rule(
                    name=physical,
                    arn=arn,
                    pattern=properties.get("EventPattern") or {},
                    targets=targets,
                    enabled=properties.get("State", "ENABLED") == "ENABLED",
                    owner=f"{ctx.stack.name}/{logical}",
                )
            )
        elif kind == PERMISSION_TYPE and properties.get("Principal") == EVENTS_PRINCIPAL:
            function = self._function_arn(ctx, str(properties.get("FunctionName", "")))
            self.permissions[f"{ctx.stack.name}/{logical}"] = (function, str(properties.get("SourceArn", "")))
        elif kind == INVOKE_CONFIG_TYPE:
            function = self._function_arn(ctx, str(properties.get("FunctionName", "")))
            retries = int(properties.get("MaximumRetryAttempts", ASYNC_RETRIES))
            max_age = int(properties.get("MaximumEventAgeInSeconds", ASYNC_MAX_AGE_SECONDS))
            self.invoke_configs[function] = (retries, max_age)
        return physical

    def remove(self, ctx: _Context, logical: str, resource: _Resource) -> None:
        """CloudFormation deleted the resource: a rule stops matching, a permission stops allowing."""
        if resource.type == RULE_TYPE:
            self.bus.delete_rule(resource.physical_id)
        elif resource.type == PERMISSION_TYPE:
            self.permissions.pop(f"{ctx.stack.name}/{logical}", None)

    def _queue(self, ctx: _Context, logical: str, physical: str) -> str:
        steps = self.session.stepfunctions
        name = physical.rsplit("/", 1)[-1][:80]
        arn = ctx.resolver.arn("sqs", name)
        if steps is None:
            return physical
        url = str(steps.client("sqs", ctx.resolver.region).create_queue(QueueName=name)["QueueUrl"])
        self.queues[arn] = url
        return url

    def _function_arn(self, ctx: _Context, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return ctx.resolver.arn("lambda", f"function:{name_or_arn}")

    def _function(self, ctx: _Context, arn: str) -> None:
        """The template's function behind a target ARN, warm for the command (if it is one)."""
        resources = ctx.stack.template["Resources"]
        for logical, resource in resources.items():
            if resource.get("Type") != FUNCTION_TYPE or ctx.resolver.attribute(logical, "Arn") != arn:
                continue
            function = self.session.local_function(ctx.stack, ctx.resolver, function_spec(ctx.stack, logical))
            dead_letters = ctx.resolver.resolve(resource.get("Properties", {}).get("DeadLetterConfig") or {})
            self.functions[arn] = (function, dead_letters.get("TargetArn"))
            return

    # -- DataZone's events ----------------------------------------------------------------------

    def watch(self) -> None:
        """Announce the endpoint's data-source runs as they end, from now on (a scheduler task
        while any is still to be announced)."""
        backend = self.session.backend
        if backend is None or (self._pump is not None and not self._pump.done):
            return
        if backend.next_data_source_run_end() is not None:
            self._pump = self.session.scheduler.spawn(self._pump_steps(), "EventBridge: DataZone events")

    def close(self) -> None:
        """The command ends: runs that end later are announced by the next one."""
        if self._pump is not None and not self._pump.done:
            self.session.scheduler.cancel(self._pump)

    def _pump_steps(self) -> Steps:
        backend = self.session.backend
        assert backend is not None
        while True:
            for run in backend.take_ended_data_source_runs():
                self.put(data_source_run_event(run, account=self.account, region=self.region))
            upcoming = backend.next_data_source_run_end()
            if upcoming is None:
                return
            yield max(0.0, upcoming - self.session.clock.now())

    def take_notes(self) -> list[str]:
        """What the bus did since last asked, a line per event or delivery (for the report)."""
        notes, self._notes = self._notes, []
        return notes

    def put(self, event: Mapping[str, Any]) -> list[Task]:
        """PutEvents: deliver ``event`` to every target of every rule it matches."""
        tasks = []
        routes = self.bus.route(event)
        if not routes:
            self._notes.append(f"EventBridge: {_what(event)}: no rule matched")
        for rule, target in routes:
            for copy in range(self.redeliver):
                name = f"EventBridge: {event.get('detail-type')} -> {rule.name}/{target.id}#{copy + 1}"
                tasks.append(self.session.scheduler.spawn(self._deliver_steps(event, rule, target), name))
        return tasks

    # -- delivery -------------------------------------------------------------------------------

    def _record(self, event: Mapping[str, Any], delivery: Delivery) -> None:
        self.bus.record(delivery)
        what = delivery.result if delivery.outcome == "delivered" else delivery.reason
        self._notes.append(f"EventBridge: {_what(event)}: rule {delivery.rule}: {delivery.outcome}: {json.dumps(what)}")

    def _deliver_steps(self, event: Mapping[str, Any], rule: Rule, target: Target) -> Steps:
        delivery = Delivery(str(event.get("id")), str(event.get("detail-type")), rule.name, target.id, outcome="")
        found = self.functions.get(target.arn)
        permitted = (target.arn, rule.arn) in self.permissions.values()
        if found is None or not permitted:
            # Not retried: EventBridge sends the event straight to the target's dead-letter queue.
            code, why = (
                ("ResourceNotFoundException", f"no function {target.arn}")
                if found is None
                else ("AccessDeniedException", f"events.amazonaws.com may not invoke {target.arn} for rule {rule.arn}")
            )
            attributes = {"RULE_ARN": rule.arn, "TARGET_ARN": target.arn, "ERROR_CODE": code, "ERROR_MESSAGE": why}
            delivery.reason = why
            delivery.outcome = self._dead_letter(target.dead_letter_arn, dict(event), attributes)
            self._record(event, delivery)
            return
        function, own_dead_letters = found
        payload = target.payload(event)
        retries, max_age = self.invoke_configs.get(target.arn, (ASYNC_RETRIES, ASYNC_MAX_AGE_SECONDS))
        started = self.session.clock.now()
        invocation: Invocation | None = None
        for attempt in range(retries + 1):
            invocation = function.invoke(payload)
            delivery.attempts += 1
            if not invocation.failed:
                delivery.outcome, delivery.result = "delivered", invocation.result
                self._record(event, delivery)
                return
            delay = ASYNC_RETRY_DELAYS[min(attempt, len(ASYNC_RETRY_DELAYS) - 1)]
            if attempt == retries or self.session.clock.now() + delay - started > max_age:
                break
            yield delay
        assert invocation is not None
        assert invocation.error is not None
        delivery.error = invocation.error
        delivery.reason = f"{invocation.error.get('errorType')}: {invocation.error.get('errorMessage')}"
        attributes = {"RequestID": invocation.request_id, "ErrorCode": "200", "ErrorMessage": delivery.reason[:1000]}
        delivery.outcome = self._dead_letter(own_dead_letters, payload, attributes)
        self._record(event, delivery)

    def _dead_letter(self, queue_arn: str | None, body: Any, attributes: Mapping[str, str]) -> str:
        url = self.queues.get(queue_arn or "")
        steps = self.session.stepfunctions
        if url is None or steps is None:
            return "dropped"  # no dead-letter queue: AWS drops it too
        steps.client("sqs", self.region).send_message(
            QueueUrl=url,
            MessageBody=json.dumps(body, default=str),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        return "dead-lettered"

    def dead_letters(self) -> dict[str, list[dict[str, Any]]]:
        """What each queue holds (read without removing), by queue ARN."""
        steps = self.session.stepfunctions
        if steps is None:
            return {}
        held: dict[str, list[dict[str, Any]]] = {}
        for arn, url in self.queues.items():
            client = steps.client("sqs", self.region)
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            count = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            if count:
                messages = client.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
                ).get("Messages", [])
                held[arn] = messages
        return held


def _what(event: Mapping[str, Any]) -> str:
    detail = event.get("detail") or {}
    run = (detail.get("metadata") or {}).get("id") if isinstance(detail, Mapping) else None
    return f"{event.get('detail-type')}" + (f" (run {run})" if run else "")
