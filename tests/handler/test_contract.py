"""Issue 8, scenarios 5 and 9: the wire contract and the request's token (the physical id is in
test_physical_id.py).

ServiceTimeout (scenario 9): our timeout must fire, and its message reach CloudFormation, before
CloudFormation's own limit. The token (scenario 5): only the request decides it, so no request ever
adopts a run started for an earlier one.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, contract, index
from tests.handler.helpers import (
    ASSET_ID,
    DOMAIN_ID,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    get_params,
    get_response,
    inputs_of,
    make_event,
    make_props,
    pid,
    poll_event,
    stack_params,
    stack_response,
    start_params,
    start_response,
    started_data,
)

HASH = inputs_of()
OTHER_HASH = inputs_of(make_props(RerunToken="v9"))


def test_largest_timeout_leaves_room_under_the_service_timeout() -> None:
    # The timeout is noticed at the first poll after it, and that poll may take a whole handler
    # timeout: all of it before CloudFormation's ServiceTimeout fires with a less useful message.
    assert (
        contract.MAX_TIMEOUT_SECONDS + contract.POLL_INTERVAL_SECONDS + contract.HANDLER_TIMEOUT_SECONDS
        < contract.SERVICE_TIMEOUT_SECONDS
    )
    assert contract.SERVICE_TIMEOUT_SECONDS <= 3600  # CloudFormation's maximum
    assert contract.DEFAULT_TIMEOUT_SECONDS <= contract.MAX_TIMEOUT_SECONDS < contract.LEGACY_MAX_TIMEOUT_SECONDS
    assert index.MAX_TIMEOUT_SECONDS == contract.MAX_TIMEOUT_SECONDS


def test_one_call_at_its_worst_fits_the_call_budget_and_a_poll_without_predictions_the_timeout() -> None:
    # botocore's retries (backoff sleeps not counted): one call may take attempts x (connect + read).
    config: Any = common.CLIENT_CONFIG
    attempts = int(config.retries["total_max_attempts"])
    per_call = attempts * (config.connect_timeout + config.read_timeout)
    assert per_call < common.CALL_BUDGET_SECONDS
    # A poll that only reads (Get, and a Cancel on timeout) fits the Lambda timeout outright; one
    # that also applies predictions checks the time left before each further call (below).
    assert 2 * common.CALL_BUDGET_SECONDS < contract.HANDLER_TIMEOUT_SECONDS


class ShrinkingContext(FakeContext):
    """A Lambda context whose remaining time is read from a list, one value per call."""

    def __init__(self, *remaining_ms: int) -> None:
        super().__init__()
        self.values = list(remaining_ms)

    def get_remaining_time_in_millis(self) -> int:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL", "Threshold": "0.8"}


def _succeeded_poll(stubbed: Stubber) -> index.IsCompleteEvent:
    props = make_props(Predictions=ACCEPT_ALL)
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), get_params())
    return poll_event(props)


@pytest.mark.parametrize("remaining_ms", [1_000, 159_000])
def test_too_little_time_for_stack_check_and_accept_leaves_them_to_the_next_poll(
    stubbed: Stubber, cfn: Stubber, remaining_ms: int
) -> None:
    event = _succeeded_poll(stubbed)
    # No DescribeStacks, no Accept: a Lambda killed mid-call would fail the request instead.
    assert index.is_complete(event, ShrinkingContext(remaining_ms)) == {"IsComplete": False}


def test_too_little_time_left_after_the_stack_check_leaves_accept_to_the_next_poll(
    stubbed: Stubber, cfn: Stubber
) -> None:
    event = _succeeded_poll(stubbed)
    cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), expected_params=stack_params())
    context = ShrinkingContext(161_000, 79_000)
    assert index.is_complete(event, context) == {"IsComplete": False}


def test_enough_time_applies_predictions(stubbed: Stubber, cfn: Stubber) -> None:
    event = _succeeded_poll(stubbed)
    cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response(
        "accept_predictions",
        {"domainId": DOMAIN_ID, "assetId": ASSET_ID, "revision": "2"},
        {
            "domainIdentifier": DOMAIN_ID,
            "identifier": ASSET_ID,
            "acceptRule": {"rule": "ALL", "threshold": 0.8},
            "clientToken": ANY,
        },
    )
    # Exactly the budgets: 2 x 80 s before the stack check, 80 s before Accept.
    result = index.is_complete(event, ShrinkingContext(160_000, 80_000))
    assert result["IsComplete"] is True
    assert result["Data"] == {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "2"}


def test_handler_uses_the_contracts_names() -> None:
    assert index.Prop is contract.Prop
    assert index.Attr is contract.Attr
    assert frozenset(contract.KNOWN_TYPES) == index.KNOWN_TYPES
    assert contract.RESOURCE_TYPE == "Custom::DataZoneMetadataGenerationRun"


# Scenario 5: only the request decides the token.


@pytest.mark.parametrize(
    "changed",
    [
        {"props": make_props(ClientToken="fixed")},
        {"props": make_props(RerunToken="v2")},
        {"props": make_props(TimeoutSeconds="60", Types=["BUSINESS_NAMES"])},
        {"physical_id": RUN_ID},
        {"old_props": make_props(RerunToken="v0")},
        {"data": {"RunId": RUN_ID}},
    ],
)
def test_token_depends_only_on_stack_resource_and_request(changed: dict[str, Any]) -> None:
    assert index.derive_client_token(make_event("Create", **changed)) == index.derive_client_token(make_event("Create"))


def test_rerun_token_change_starts_a_new_run_with_a_new_token(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    # Even with a fixed 0.1 ClientToken in the template: the Update's own request decides the token.
    old = make_props(RerunToken="v1", ClientToken="fixed")
    new = make_props(RerunToken="v2", ClientToken="fixed")
    create = make_event("Create", old, request_id="create-req")
    update = make_event("Update", new, old_props=old, physical_id=pid(old, status="SUCCEEDED"), request_id="update-req")
    assert index.derive_client_token(update) != index.derive_client_token(create)
    cfn.add_response("describe_stacks", stack_response("UPDATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response(
        "start_metadata_generation_run",
        start_response(run_id=NEW_RUN_ID),
        expected_params=start_params(token=index.derive_client_token(update)),
    )
    assert index.on_event(update, context) == {
        "PhysicalResourceId": pid(new, NEW_RUN_ID, previous=pid(old, status="SUCCEEDED")),
        "Data": started_data(NEW_RUN_ID),
    }
