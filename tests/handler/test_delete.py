"""Delete: cancel the run when asked, and never fail the stack.

Deletes with an id this handler did not write (in-flight Creates) are in test_in_flight_delete.py.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    DOMAIN_ID,
    FAILED_CREATE_MARKER,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    list_params,
    make_event,
    make_props,
    pid,
)

CANCEL = "CancelMetadataGenerationRun"
CANCEL_PARAMS = {"domainIdentifier": DOMAIN_ID, "identifier": RUN_ID}
# A run still in flight (or one a FAILED response named) has no status in its physical id.
IN_FLIGHT_ID = pid()


def delete_event(**overrides: Any) -> index.IsCompleteEvent:
    return make_event("Delete", make_props(**overrides), physical_id=IN_FLIGHT_ID)


@pytest.mark.parametrize("cancel", ["true", "True", True, "nonsense"])
def test_delete_cancels_run(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, cancel: Any
) -> None:
    # An unreadable CancelOnDelete falls back to the default (cancel) rather than failing the Delete.
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=CANCEL_PARAMS)
    assert index.on_event(delete_event(CancelOnDelete=cancel), context) == {"PhysicalResourceId": IN_FLIGHT_ID}
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize(
    "physical_id",
    [
        RUN_ID,  # a 0.1 id: the bare run id, status unknown
        pid(status="SUBMITTED"),  # finished without waiting: the run may still be going
        pid(status="IN_PROGRESS"),
        pid(status="UNKNOWN"),
        pid(previous=pid(make_props(RerunToken="v0"), NEW_RUN_ID, status="SUCCEEDED")),
    ],
)
def test_delete_cancels_a_run_that_may_still_be_going(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, physical_id: str
) -> None:
    # Only the id's own run: the `previous` one belongs to a resource state CloudFormation keeps.
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=CANCEL_PARAMS)
    event = make_event("Delete", make_props(), physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize("status", ["SUCCEEDED", "PARTIALLY_SUCCEEDED", "FAILED", "CANCELED"])
def test_delete_of_a_finished_run_makes_no_call(
    stubbed: Stubber, cfn: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, status: str
) -> None:
    # The terminal status in the physical id says there is nothing to cancel.
    physical_id = pid(status=status, revision="4", previous=pid(make_props(RerunToken="v0"), NEW_RUN_ID))
    event = make_event("Delete", make_props(), physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert api_calls == []


def test_delete_cancels_by_default(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext
) -> None:
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=CANCEL_PARAMS)
    props = make_props()
    del props["CancelOnDelete"]
    index.on_event(make_event("Delete", props, physical_id=IN_FLIGHT_ID), context)
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ConflictException", 409),
        ("ResourceNotFoundException", 404),
        ("ValidationException", 400),
        ("AccessDeniedException", 403),
        ("UnauthorizedException", 401),
        ("ThrottlingException", 429),
        ("InternalServerException", 500),
    ],
)
def test_delete_swallows_service_errors(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, code: str, status: int
) -> None:
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message=f"{code} from DataZone",
        http_status_code=status,
        expected_params=CANCEL_PARAMS,
    )
    assert index.on_event(delete_event(), context) == {"PhysicalResourceId": IN_FLIGHT_ID}
    assert api_calls == [(CANCEL, CANCEL_PARAMS)]


@pytest.mark.parametrize("cancel", ["false", "False", False])
@pytest.mark.parametrize("physical_id", [IN_FLIGHT_ID, RUN_ID, FAILED_CREATE_MARKER])
def test_delete_without_cancel_makes_no_call(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, cancel: Any, physical_id: str
) -> None:
    event = make_event("Delete", make_props(CancelOnDelete=cancel), physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert api_calls == []


@pytest.mark.parametrize("physical_id", [FAILED_CREATE_MARKER, "", "x" * 37, "has space"])
def test_delete_of_non_run_physical_id_cancels_only_what_it_finds(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, physical_id: str
) -> None:
    # Not an id this handler wrote: the run this resource may have started is looked up, not guessed.
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, expected_params=list_params())
    event = make_event("Delete", make_props(), physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert [name for name, _ in api_calls] == ["ListMetadataGenerationRuns"]


@pytest.mark.parametrize("props", [{}, {"DomainId": "not-a-domain"}, {"DomainId": 7}])
@pytest.mark.parametrize("physical_id", [IN_FLIGHT_ID, "Demo-MetadataRunA1B2C3D4-1A2B3C4D5E6F"])
def test_delete_with_unusable_domain_makes_no_call(
    stubbed: Stubber,
    api_calls: list[tuple[str, dict[str, Any]]],
    context: FakeContext,
    props: dict[str, Any],
    physical_id: str,
) -> None:
    event = make_event("Delete", props, physical_id=physical_id)
    assert index.on_event(event, context) == {"PhysicalResourceId": physical_id}
    assert api_calls == []


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
    ],
)
def test_delete_survives_connection_errors(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, error: Exception
) -> None:
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise error

    monkeypatch.setattr(stubbed.client, "cancel_metadata_generation_run", fail)
    assert index.on_event(delete_event(), context) == {"PhysicalResourceId": IN_FLIGHT_ID}
    assert calls == [CANCEL_PARAMS]


def test_delete_is_complete_at_once(stubbed: Stubber, context: FakeContext) -> None:
    event = make_event("Delete", {"DomainId": "bad"}, physical_id=IN_FLIGHT_ID)
    assert index.is_complete(event, context) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("code", "status", "warns"),
    [
        ("ConflictException", 409, False),
        ("ResourceNotFoundException", 404, False),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, True),
        ("ThrottlingException", 429, True),
    ],
)
def test_delete_warns_only_when_cancel_may_have_been_needed(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext, code: str, status: int, warns: bool
) -> None:
    # A finished or vanished run is the normal case; anything else may leave a run going, so it warns.
    caplog.set_level(logging.INFO, logger=common.LOGGER.name)
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="x",
        http_status_code=status,
        expected_params=CANCEL_PARAMS,
    )
    index.on_event(delete_event(), context)
    levels = {r.levelno for r in caplog.records if r.name == common.LOGGER.name}
    assert (logging.WARNING in levels) is warns
