"""Paths the scenario tests do not reach: errors that are neither a service answer nor a dropped
connection, which asset predictions are applied to, and what counts as worth another try."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import common, contract, index
from tests.handler.helpers import RUN_ID, make_event, make_props, pid

ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL"}
NO_CREDENTIALS = "NoCredentialsError: Unable to locate credentials"


class Matches:
    """Equal to any string that matches the pattern (for a Stubber's expected_params)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and re.fullmatch(self.pattern, other) is not None

    def __hash__(self) -> int:
        return hash(self.pattern)


def _no_credentials(event: Any) -> str:
    raise NoCredentialsError


def test_update_fails_whole_when_the_stack_cannot_be_read_for_a_reason_other_than_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(common, "stack_status", _no_credentials)
    current = contract.PhysicalId.parse("RUN", pid(make_props(RerunToken="old")))
    assert current is not None
    with pytest.raises(common.RunError, match=f"^DescribeStacks failed: {NO_CREDENTIALS}$"):
        common.decide_update(make_event("Update", make_props()), index.inputs_hash(make_props()), current)


def test_predictions_are_not_applied_when_the_stack_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "stack_status", _no_credentials)
    spec = index.parse_properties(make_props(Predictions=ACCEPT_ALL))
    with pytest.raises(common.RunError, match=f"^DescribeStacks failed: {NO_CREDENTIALS}$"):
        index._may_apply(make_event("Create", make_props()), spec, RUN_ID, 30.0)


def test_an_unreadable_stack_status_past_the_timeout_cancels_and_says_why(
    monkeypatch: pytest.MonkeyPatch, stubbed: Stubber
) -> None:
    def unreachable(event: Any) -> str:
        raise EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")

    monkeypatch.setattr(common, "stack_status", unreachable)
    spec = index.parse_properties(make_props(Predictions=ACCEPT_ALL, TimeoutSeconds="60"))
    stubbed.add_response(
        "cancel_metadata_generation_run", {}, {"domainIdentifier": spec.domain_id, "identifier": RUN_ID}
    )
    with pytest.raises(common.RunError) as caught:
        index._may_apply(make_event("Create", make_props()), spec, RUN_ID, 60.0)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after 60 s (timeout 60 s); the stack's status could not be "
        'read: EndpointConnectionError: Could not connect to the endpoint URL: "https://cloudformation.us-east-1.'
        'amazonaws.com"'
    )


def _accept(stubbed: Stubber, identifier: str, response: dict[str, Any]) -> None:
    stubbed.add_response(
        "accept_predictions",
        response,
        {
            "domainIdentifier": "dzd_abc123",
            "identifier": identifier,
            "clientToken": Matches("cfn-[0-9a-f]{64}"),
            "acceptRule": {"rule": "ALL"},
        },
    )


@pytest.mark.parametrize(
    ("run", "identifier"),
    [({"target": {"type": "ASSET", "identifier": "asset-of-the-run"}}, "asset-of-the-run"), ({}, "asset-789ghi")],
)
def test_predictions_go_to_the_asset_the_run_targeted(stubbed: Stubber, run: dict[str, Any], identifier: str) -> None:
    _accept(stubbed, identifier, {"domainId": "dzd_abc123", "assetId": identifier, "revision": "9"})
    spec = index.parse_properties(make_props(Predictions=ACCEPT_ALL))
    assert index.apply_predictions(spec, RUN_ID, {**run, "status": "SUCCEEDED"}, make_event("Create")) == "9"


def test_accept_fails_whole_for_an_error_that_is_not_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoCredentials:
        def accept_predictions(self, **params: Any) -> dict[str, Any]:
            raise NoCredentialsError

    monkeypatch.setitem(common._clients, "datazone", NoCredentials())
    spec = index.parse_properties(make_props(Predictions=ACCEPT_ALL))
    with pytest.raises(common.RunError, match=f"^AcceptPredictions failed: {NO_CREDENTIALS}$"):
        index.apply_predictions(spec, RUN_ID, {"status": "SUCCEEDED"}, make_event("Create"))


def test_accept_denied_names_the_fix(stubbed: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDLER_ROLE_ARN", "arn:aws:iam::123456789012:role/handler")
    stubbed.add_client_error(
        "accept_predictions", service_error_code="AccessDeniedException", service_message="no", http_status_code=403
    )
    spec = index.parse_properties(make_props(Predictions=ACCEPT_ALL))
    with pytest.raises(common.RunError) as caught:
        index.apply_predictions(spec, RUN_ID, {"status": "SUCCEEDED"}, make_event("Create"))
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} SUCCEEDED: AcceptPredictions failed: AccessDeniedException: no "
        "(fix: arn:aws:iam::123456789012:role/handler must be a member of DataZone project prj_456def in domain "
        "dzd_abc123; keep grant_project_access=True or add the role to the project)"
    )


def _service_error(code: str, status: int | None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "GetMetadataGenerationRun")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (EndpointConnectionError(endpoint_url="https://x"), True),
        (ValueError("not a call"), False),
        (NoCredentialsError(), False),
        (_service_error("ThrottlingException", 400), True),
        (_service_error("InternalServerException", None), True),
        (_service_error("SomethingNew", 500), True),
        (_service_error("SomethingNew", 503), True),
        (_service_error("SomethingNew", 429), True),
        (_service_error("SomethingNew", 499), False),
        (_service_error("ValidationException", 400), False),
        (_service_error("SomethingNew", None), False),
    ],
)
def test_what_is_worth_another_try(error: Exception, transient: bool) -> None:
    assert common.is_transient(error) is transient


def test_a_revision_with_a_lone_surrogate_still_makes_a_physical_id() -> None:
    current = contract.PhysicalId.parse("RUN", pid(make_props()))
    assert current is not None
    text = str(current.finished("SUCCEEDED", revision="r\ud800"))
    assert text.endswith(":SUCCEEDED:r%3F")
    text.encode("utf-8")
