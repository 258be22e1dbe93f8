"""Issue 8, scenario 3: CloudFormation deletes a resource whose Create is still waiting.

When another resource fails during stack creation, CloudFormation deletes ours before it answered,
with a physical id it invented (``<stack>-<logical id>-<random>``). The Delete must find and cancel
the run that Create started (from the properties), and the Create's waiter, still polling, must
never apply predictions to a stack that is rolling back or being deleted.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import common, contract, index
from tests.handler.helpers import (
    CREATED_AT,
    DESCRIPTIONS,
    GLOSSARY,
    NAMES,
    NEW_RUN_ID,
    RUN_ID,
    Clock,
    FakeContext,
    cancel_params,
    get_params,
    get_response,
    list_params,
    make_event,
    make_props,
    pid,
    poll_event,
    run_item,
    stack_params,
    stack_response,
)

INVENTED = "MyStack-DescriptionsResourceABC-1A2B3C4D5E6F"
OTHER_RUN = "run_other0000000000"


@pytest.fixture(autouse=True)
def clock(time_machine: TimeMachineFixture) -> Clock:
    """A minute after the run was created (the Create CloudFormation gave up on is young)."""
    return Clock(time_machine, CREATED_AT.timestamp() + 60)


def invented_delete(props: dict[str, Any] | None = None, physical_id: str = INVENTED) -> index.IsCompleteEvent:
    return make_event("Delete", make_props() if props is None else props, physical_id=physical_id)


def unreachable(monkeypatch: pytest.MonkeyPatch, stubbed: Stubber, operation: str) -> list[dict[str, Any]]:
    """Make ``operation`` fail as if DataZone could not be reached; returns the calls it got."""
    calls: list[dict[str, Any]] = []

    def fail(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise EndpointConnectionError(endpoint_url="https://datazone.us-east-1.amazonaws.com")

    monkeypatch.setattr(stubbed.client, operation, fail)
    return calls


def test_invented_id_cancels_the_running_run_of_this_resource(stubbed: Stubber, context: FakeContext) -> None:
    stubbed.add_response(
        "list_metadata_generation_runs", {"items": [run_item(RUN_ID, "IN_PROGRESS")]}, expected_params=list_params()
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}


def test_invented_id_cancels_only_matching_running_runs(stubbed: Stubber, context: FakeContext) -> None:
    props = make_props(Types=[NAMES, GLOSSARY], AssetRevision="7")
    old = CREATED_AT - timedelta(seconds=contract.SERVICE_TIMEOUT_SECONDS + 1)
    items = [
        run_item("run_match_submitted", "SUBMITTED", types=[NAMES, GLOSSARY], revision="7"),
        run_item("run_match_other_order", "IN_PROGRESS", types=[GLOSSARY, NAMES], revision="7"),
        run_item("run_finished", "SUCCEEDED", types=[NAMES, GLOSSARY], revision="7"),
        run_item("run_failed", "FAILED", types=[NAMES, GLOSSARY], revision="7"),
        run_item("run_other_project", types=[NAMES, GLOSSARY], revision="7", project_id="prj_other"),
        run_item("run_other_types", types=[NAMES], revision="7"),
        run_item("run_more_types", types=[NAMES, GLOSSARY, DESCRIPTIONS], revision="7"),
        run_item("run_other_revision", types=[NAMES, GLOSSARY], revision="6"),
        run_item("run_other_asset", types=[NAMES, GLOSSARY], revision="7", asset_id="asset-other"),
        # Older than CloudFormation's own limit: no request can still be waiting for it.
        run_item("run_too_old", types=[NAMES, GLOSSARY], revision="7", created_at=old),
    ]
    stubbed.add_response("list_metadata_generation_runs", {"items": items}, expected_params=list_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params("run_match_submitted"))
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params("run_match_other_order"))
    assert index.on_event(invented_delete(props), context) == {"PhysicalResourceId": INVENTED}


def test_invented_id_without_revision_matches_any_revision(stubbed: Stubber, context: FakeContext) -> None:
    # No AssetRevision means "latest": the run targets whatever revision was latest when it started.
    items = [run_item(RUN_ID, revision="12"), run_item(NEW_RUN_ID)]
    stubbed.add_response("list_metadata_generation_runs", {"items": items}, expected_params=list_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(NEW_RUN_ID))
    index.on_event(invented_delete(), context)


def test_invented_id_understands_the_deprecated_single_type(stubbed: Stubber, context: FakeContext) -> None:
    item = run_item(RUN_ID)
    del item["types"]
    item["type"] = DESCRIPTIONS
    stubbed.add_response("list_metadata_generation_runs", {"items": [item]}, expected_params=list_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    index.on_event(invented_delete(), context)


def test_invented_id_follows_pages(stubbed: Stubber, context: FakeContext) -> None:
    stubbed.add_response(
        "list_metadata_generation_runs",
        {"items": [run_item(OTHER_RUN, "SUCCEEDED")], "nextToken": "page-2"},
        expected_params=list_params(),
    )
    stubbed.add_response(
        "list_metadata_generation_runs",
        {"items": [run_item(RUN_ID)], "nextToken": "page-3"},
        expected_params=list_params("page-2"),
    )
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, expected_params=list_params("page-3"))
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}


def test_invented_id_reads_a_bounded_number_of_pages(stubbed: Stubber, context: FakeContext) -> None:
    # One Delete must finish within its Lambda timeout, whatever the asset's history.
    for page in range(index.LIST_PAGES_MAX):
        stubbed.add_response(
            "list_metadata_generation_runs",
            {"items": [run_item(OTHER_RUN, "SUCCEEDED")], "nextToken": f"page-{page + 1}"},
            expected_params=list_params(f"page-{page}" if page else None),
        )
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}


def test_invented_id_with_nothing_running_cancels_nothing(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext
) -> None:
    caplog.set_level(logging.INFO, logger=common.LOGGER.name)
    stubbed.add_response(
        "list_metadata_generation_runs", {"items": [run_item(RUN_ID, "SUCCEEDED")]}, expected_params=list_params()
    )
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}
    assert "no running run of this resource; nothing to cancel" in caplog.text


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 403), ("ThrottlingException", 429), ("InternalServerException", 500)],
)
def test_list_failure_is_logged_and_the_delete_succeeds(
    stubbed: Stubber, caplog: pytest.LogCaptureFixture, context: FakeContext, code: str, status: int
) -> None:
    caplog.set_level(logging.INFO, logger=common.LOGGER.name)
    stubbed.add_client_error(
        "list_metadata_generation_runs",
        service_error_code=code,
        service_message="cannot list",
        http_status_code=status,
        expected_params=list_params(),
    )
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("could not list runs to cancel" in m and f"{code}: cannot list" in m for m in warnings)


def test_list_connection_error_is_logged_and_the_delete_succeeds(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, context: FakeContext
) -> None:
    calls = unreachable(monkeypatch, stubbed, "list_metadata_generation_runs")
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}
    assert calls == [list_params()]
    assert "could not list runs to cancel" in caplog.text


def test_cancel_failure_of_a_found_run_does_not_fail_the_delete(stubbed: Stubber, context: FakeContext) -> None:
    items = [run_item(RUN_ID), run_item(NEW_RUN_ID)]
    stubbed.add_response("list_metadata_generation_runs", {"items": items}, expected_params=list_params())
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code="ConflictException",
        service_message="already finished",
        http_status_code=409,
        expected_params=cancel_params(RUN_ID),
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(NEW_RUN_ID))
    assert index.on_event(invented_delete(), context) == {"PhysicalResourceId": INVENTED}


@pytest.mark.parametrize(
    "overrides", [{"Types": ["BUSINESS_POEMS"]}, {"AssetId": ""}, {"ProjectId": "prj 1"}, {"TimeoutSeconds": "x"}]
)
def test_invented_id_with_invalid_properties_makes_no_call(
    stubbed: Stubber, context: FakeContext, overrides: dict[str, Any]
) -> None:
    assert index.on_event(invented_delete(make_props(**overrides)), context) == {"PhysicalResourceId": INVENTED}


def test_invented_id_without_cancel_on_delete_makes_no_call(stubbed: Stubber, context: FakeContext) -> None:
    assert index.on_event(invented_delete(make_props(CancelOnDelete="false")), context) == {
        "PhysicalResourceId": INVENTED
    }


@pytest.mark.parametrize(("code", "status"), [("ResourceNotFoundException", 404), ("ValidationException", 400)])
def test_short_invented_id_that_looks_like_a_run_id_is_still_looked_up(
    stubbed: Stubber, api_calls: list[tuple[str, dict[str, Any]]], context: FakeContext, code: str, status: int
) -> None:
    # Stack "Demo", construct "Run" at the top level: CDK's logical id RunA1B2C3D4 -> 29 characters,
    # which pass for a 0.1 bare run id. DataZone knowing no such run is what tells them apart.
    invented = "Demo-RunA1B2C3D4-1A2B3C4D5E6F"
    assert contract.RUN_ID_RE.fullmatch(invented)
    event = make_event("Delete", make_props(), physical_id=invented, logical_id="RunA1B2C3D4")
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="no such run",
        http_status_code=status,
        expected_params=cancel_params(invented),
    )
    stubbed.add_response("list_metadata_generation_runs", {"items": [run_item(RUN_ID)]}, expected_params=list_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    assert index.on_event(event, context) == {"PhysicalResourceId": invented}
    assert [name for name, _ in api_calls] == [
        "CancelMetadataGenerationRun",
        "ListMetadataGenerationRuns",
        "CancelMetadataGenerationRun",
    ]


@pytest.mark.parametrize(
    "answer",
    [None, ("ConflictException", 409), ("ThrottlingException", 429), ("AccessDeniedException", 403)],
)
def test_bare_id_datazone_may_know_is_not_looked_up(
    stubbed: Stubber, context: FakeContext, answer: tuple[str, int] | None
) -> None:
    # A 0.1 run id that DataZone cancelled, found finished, or could not answer for: a run of ours,
    # so no other run of the asset is touched.
    if answer is None:
        stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params(RUN_ID))
    else:
        stubbed.add_client_error(
            "cancel_metadata_generation_run",
            service_error_code=answer[0],
            service_message="x",
            http_status_code=answer[1],
            expected_params=cancel_params(RUN_ID),
        )
    assert index.on_event(invented_delete(physical_id=RUN_ID), context) == {"PhysicalResourceId": RUN_ID}


@pytest.mark.parametrize(("code", "status"), [("ResourceNotFoundException", 404), ("ValidationException", 400)])
def test_unknown_full_id_is_not_looked_up(stubbed: Stubber, context: FakeContext, code: str, status: int) -> None:
    # An id with inputs is one this handler wrote: a run DataZone forgot is not an in-flight Create.
    physical_id = pid()
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code=code,
        service_message="no such run",
        http_status_code=status,
        expected_params=cancel_params(RUN_ID),
    )
    assert index.on_event(invented_delete(physical_id=physical_id), context) == {"PhysicalResourceId": physical_id}


# The Create's waiter keeps polling after the Delete: predictions must not land on a stack that is
# being rolled back or deleted.

ACCEPT_ALL = {"Action": "ACCEPT", "Rule": "ALL"}


@pytest.mark.parametrize(
    "stack_status",
    [
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "CREATE_FAILED",
    ],
)
def test_waiter_of_a_deleted_create_applies_no_predictions(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, stack_status: str
) -> None:
    props = make_props(Predictions=ACCEPT_ALL)
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    cfn.add_response("describe_stacks", stack_response(stack_status), expected_params=stack_params())
    # No accept_predictions queued: a call would fail the test.
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(props), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} finished, but the stack is {stack_status}: predictions not applied"
    )


def test_waiter_of_a_cancelled_run_fails_without_predictions(
    stubbed: Stubber, cfn: Stubber, context: FakeContext
) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response("CANCELED"), expected_params=get_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(make_props(Predictions=ACCEPT_ALL)), context)
    assert str(caught.value) == f"Metadata-generation run {RUN_ID} ended CANCELED: the service gave no error message"


def test_short_invented_id_with_nothing_running_is_logged_with_the_id(
    stubbed: Stubber, context: FakeContext, log_lines: list[dict[str, Any]]
) -> None:
    invented = "Demo-RunA1B2C3D4-1A2B3C4D5E6F"
    event = make_event("Delete", make_props(), physical_id=invented, logical_id="RunA1B2C3D4")
    stubbed.add_client_error(
        "cancel_metadata_generation_run",
        service_error_code="ResourceNotFoundException",
        service_message="no such run",
        http_status_code=404,
        expected_params=cancel_params(invented),
    )
    stubbed.add_response("list_metadata_generation_runs", {"items": []}, expected_params=list_params())
    assert index.on_event(event, context) == {"PhysicalResourceId": invented}
    assert log_lines[-1] == {
        "level": "INFO",
        "message": "no running run of this resource; nothing to cancel",
        "physicalResourceId": invented,
    }


@pytest.mark.parametrize(("cancel", "calls"), [("false", 0), ("true", 1)])
def test_delete_without_a_physical_id_succeeds(
    stubbed: Stubber, context: FakeContext, log_lines: list[dict[str, Any]], cancel: str, calls: int
) -> None:
    # Not seen from CloudFormation, but a Delete must never fail: with no id there is nothing to
    # read, and the run, if any, is found from the properties.
    event = make_event("Delete", make_props(CancelOnDelete=cancel))
    if calls:
        stubbed.add_response("list_metadata_generation_runs", {"items": []}, expected_params=list_params())
    assert index.on_event(event, context) == {"PhysicalResourceId": ""}
    assert log_lines[-1] == (
        {"level": "INFO", "message": "cancel_on_delete is off; run left alone", "physicalResourceId": ""}
        if cancel == "false"
        else {
            "level": "INFO",
            "message": "no running run of this resource; nothing to cancel",
            "physicalResourceId": None,
        }
    )


def test_bare_id_whose_cancel_cannot_reach_datazone_is_not_looked_up(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    # Unreachable is not "no such run": the id may well be ours, so no other run is touched.
    calls = unreachable(monkeypatch, stubbed, "cancel_metadata_generation_run")
    assert index.on_event(invented_delete(physical_id=RUN_ID), context) == {"PhysicalResourceId": RUN_ID}
    assert calls == [cancel_params(RUN_ID)]
