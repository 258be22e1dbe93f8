"""is_complete: polling statuses, failures with the service's reasons, timeouts and the no-wait paths.

Transient poll errors, unknown statuses and cancel-before-fail are in test_wait.py.
"""

from __future__ import annotations

import json
from datetime import timedelta, timezone

import pytest
from botocore.stub import Stubber
from time_machine import TimeMachineFixture

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    CREATED_AT,
    DESCRIPTIONS,
    GLOSSARY,
    NAMES,
    RUN_ID,
    STARTED_AT,
    Clock,
    FakeContext,
    cancel_params,
    get_params,
    get_response,
    make_event,
    make_props,
    pid,
    poll_event,
    started_data,
)


@pytest.fixture
def clock(time_machine: TimeMachineFixture) -> Clock:
    """The handler's time.time() is clock[0]; starts 10 s after the run was created."""
    return Clock(time_machine, CREATED_AT.timestamp() + 10)


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS"])
def test_running_run_is_not_complete(stubbed: Stubber, context: FakeContext, clock: Clock, status: str) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response(status), expected_params=get_params())
    assert index.is_complete(poll_event(), context) == {"IsComplete": False}


def test_succeeded_run_is_complete(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    # The finished status goes into the physical id (isComplete's overrides onEvent's), so that later
    # Updates and Deletes know it without a call.
    assert index.is_complete(poll_event(), context) == {
        "IsComplete": True,
        "PhysicalResourceId": pid(status="SUCCEEDED"),
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED"},
    }


@pytest.mark.parametrize("fail_on_partial", ["false", "False", False])
def test_partial_success_is_success_by_default(
    stubbed: Stubber, context: FakeContext, clock: Clock, fail_on_partial: str | bool
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "PARTIALLY_SUCCEEDED",
            type_stats=[
                {"type": NAMES, "status": "SUCCEEDED"},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "no glossary"},
            ],
        ),
        expected_params=get_params(),
    )
    props = make_props(FailOnPartialSuccess=fail_on_partial)
    assert index.is_complete(poll_event(props), context) == {
        "IsComplete": True,
        "PhysicalResourceId": pid(props, status="PARTIALLY_SUCCEEDED"),
        "Data": {"RunId": RUN_ID, "Status": "PARTIALLY_SUCCEEDED"},
    }


def test_partial_success_is_success_when_property_absent(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    props = make_props()
    del props["FailOnPartialSuccess"]
    stubbed.add_response(
        "get_metadata_generation_run", get_response("PARTIALLY_SUCCEEDED"), expected_params=get_params()
    )
    assert index.is_complete(poll_event(props), context)["IsComplete"] is True


def test_partial_success_fails_when_asked(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "PARTIALLY_SUCCEEDED",
            type_stats=[
                {"type": NAMES, "status": "SUCCEEDED"},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "glossary G1 has no terms"},
            ],
        ),
        expected_params=get_params(),
    )
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(make_props(FailOnPartialSuccess="true")), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} ended PARTIALLY_SUCCEEDED: {GLOSSARY}: glossary G1 has no terms"
    )


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_failed_run_raises_with_service_reasons(
    stubbed: Stubber, context: FakeContext, clock: Clock, status: str
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            status,
            type_stats=[
                {"type": DESCRIPTIONS, "status": status, "errorMessage": "Asset has no structured schema"},
                {"type": NAMES, "status": status, "errorMessage": "Model quota exhausted"},
            ],
        ),
        expected_params=get_params(),
    )
    # No Cancel queued: a run that ended needs none.
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} ended {status}: "
        f"{DESCRIPTIONS}: Asset has no structured schema; {NAMES}: Model quota exhausted"
    )


@pytest.mark.parametrize("type_stats", [None, [], [{"type": NAMES, "status": "FAILED"}]])
def test_failed_run_without_service_message_still_explains(
    stubbed: Stubber, context: FakeContext, clock: Clock, type_stats: list[dict[str, str]] | None
) -> None:
    stubbed.add_response(
        "get_metadata_generation_run", get_response("FAILED", type_stats=type_stats), expected_params=get_params()
    )
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(), context)
    assert str(caught.value) == f"Metadata-generation run {RUN_ID} ended FAILED: the service gave no error message"


@pytest.mark.parametrize("char", ["x", "\u00e9", "\u4e2d", "\U0001f600"])
def test_long_error_message_is_truncated(stubbed: Stubber, context: FakeContext, clock: Clock, char: str) -> None:
    stubbed.add_response(
        "get_metadata_generation_run",
        get_response(
            "FAILED",
            type_stats=[
                {"type": DESCRIPTIONS, "status": "FAILED", "errorMessage": "first " + char * 50_000},
                {"type": NAMES, "status": "FAILED", "errorMessage": "second " + char * 50_000},
                {"type": GLOSSARY, "status": "FAILED", "errorMessage": "third " + char * 50_000},
            ],
        ),
        expected_params=get_params(),
    )
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(), context)
    message = str(caught.value)
    # CloudFormation counts the bytes of the JSON body: the reason stays within the limit however
    # wide the characters, measured as (ASCII-escaped, the larger) JSON.
    assert len(json.dumps(message)) - 2 <= common.REASON_LIMIT
    assert len(message.encode()) <= common.REASON_LIMIT
    assert message.startswith(f"Metadata-generation run {RUN_ID} ended FAILED: ")
    assert "first" in message
    # Each type's message is cut on its own, so the second type still gets a word in.
    assert "second" in message


def test_running_past_timeout_cancels_then_raises(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    clock[0] = CREATED_AT.timestamp() + 601
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(make_props(TimeoutSeconds="600")), context)
    assert str(caught.value) == (
        f"Metadata-generation run {RUN_ID} timed out after 601 s (timeout 600 s); last status IN_PROGRESS"
    )


def test_running_within_timeout_keeps_polling(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    clock[0] = CREATED_AT.timestamp() + 599
    stubbed.add_response("get_metadata_generation_run", get_response("SUBMITTED"), expected_params=get_params())
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="600")), context) == {"IsComplete": False}


def test_default_timeout_is_thirty_minutes(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    props = make_props()
    del props["TimeoutSeconds"]
    clock[0] = CREATED_AT.timestamp() + 1799
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    assert index.is_complete(poll_event(props), context) == {"IsComplete": False}
    clock[0] = CREATED_AT.timestamp() + 1801
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match=r"timed out after 1801 s \(timeout 1800 s\)"):
        index.is_complete(poll_event(props), context)


@pytest.mark.parametrize(("raw", "capped"), [("3300", 3300), ("3301", 3300), ("3600", 3300)])
def test_timeout_over_the_maximum_is_capped(
    stubbed: Stubber, context: FakeContext, clock: Clock, raw: str, capped: int
) -> None:
    # 0.1 templates allowed an hour: accepted (a rollback to one must work), but capped so that our
    # message comes before CloudFormation's ServiceTimeout.
    assert capped == index.MAX_TIMEOUT_SECONDS
    props = make_props(TimeoutSeconds=raw)
    clock[0] = CREATED_AT.timestamp() + capped
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match=rf"timed out after {capped} s \(timeout {capped} s\)"):
        index.is_complete(poll_event(props), context)


def test_timeout_uses_creation_time_in_any_timezone(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    created = CREATED_AT.astimezone(timezone(timedelta(hours=5)))
    clock[0] = CREATED_AT.timestamp() + 61
    stubbed.add_response(
        "get_metadata_generation_run", get_response("IN_PROGRESS", created_at=created), expected_params=get_params()
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match="timed out after 61 s"):
        index.is_complete(poll_event(make_props(TimeoutSeconds="60")), context)


def test_finished_run_past_timeout_still_succeeds(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    clock[0] = CREATED_AT.timestamp() + 10_000
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="60")), context)["IsComplete"] is True


def test_run_without_creation_time_times_out_from_started_at(
    stubbed: Stubber, context: FakeContext, clock: Clock
) -> None:
    # onEvent's StartedAt bounds the wait when the run does not say when it was created.
    data = {**started_data(), "StartedAt": f"{CREATED_AT.timestamp() + 100:.3f}"}
    clock[0] = CREATED_AT.timestamp() + 159
    stubbed.add_response(
        "get_metadata_generation_run", get_response("IN_PROGRESS", created_at=None), expected_params=get_params()
    )
    assert index.is_complete(poll_event(make_props(TimeoutSeconds="60"), data=data), context) == {"IsComplete": False}
    clock[0] = CREATED_AT.timestamp() + 160
    stubbed.add_response(
        "get_metadata_generation_run", get_response("IN_PROGRESS", created_at=None), expected_params=get_params()
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    with pytest.raises(common.RunError, match=r"timed out after 60 s \(timeout 60 s\)"):
        index.is_complete(poll_event(make_props(TimeoutSeconds="60"), data=data), context)


@pytest.mark.parametrize("status", ["SUBMITTED", "IN_PROGRESS", "SUCCEEDED"])
def test_no_wait_with_known_status_completes_without_call(stubbed: Stubber, context: FakeContext, status: str) -> None:
    props = make_props(WaitForCompletion="false")
    event = poll_event(props, data=started_data(status=status))
    assert index.is_complete(event, context) == {
        "IsComplete": True,
        "PhysicalResourceId": pid(props, status=status),
        "Data": {"RunId": RUN_ID, "Status": status},
    }


@pytest.mark.parametrize("data", [{"RunId": RUN_ID}, {}])
def test_no_wait_without_status_asks_once(
    stubbed: Stubber, context: FakeContext, clock: Clock, data: dict[str, str]
) -> None:
    # An Update that kept a run whose id has no status (a 0.1 id) returns no Status; one Get fills
    # it in, without waiting.
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    event = make_event("Update", make_props(WaitForCompletion="false"), physical_id=RUN_ID, data=data)
    assert index.is_complete(event, context) == {
        "IsComplete": True,
        "Data": {"RunId": RUN_ID, "Status": "IN_PROGRESS"},
    }


def test_no_wait_does_not_fail_on_failed_run(stubbed: Stubber, context: FakeContext, clock: Clock) -> None:
    stubbed.add_response("get_metadata_generation_run", get_response("FAILED"), expected_params=get_params())
    event = make_event("Update", make_props(WaitForCompletion="false"), physical_id=RUN_ID, data={"RunId": RUN_ID})
    assert index.is_complete(event, context)["Data"] == {"RunId": RUN_ID, "Status": "FAILED"}


def test_delete_request_is_complete_without_call(stubbed: Stubber, context: FakeContext) -> None:
    assert index.is_complete(poll_event(request_type="Delete"), context) == {"IsComplete": True}


@pytest.mark.parametrize("wait", ["true", "false"])
def test_kept_run_with_unreadable_status_still_completes(
    stubbed: Stubber, context: FakeContext, clock: Clock, wait: str
) -> None:
    # Keeping a run must never fail (it may be a rollback): an unreadable status is reported UNKNOWN.
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message="nope",
        http_status_code=403,
        expected_params=get_params(),
    )
    event = make_event("Update", make_props(WaitForCompletion=wait), physical_id=RUN_ID, data={"RunId": RUN_ID})
    assert index.is_complete(event, context) == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": "UNKNOWN"}}


@pytest.mark.parametrize(("answered", "reported"), [("FAILED", "FAILED"), (None, "UNKNOWN")])
def test_kept_run_reports_the_status_read_once(
    stubbed: Stubber, context: FakeContext, answered: str | None, reported: str
) -> None:
    # The model makes status optional: a run read without one is UNKNOWN, not the string "None".
    response = get_response("FAILED")
    if answered is None:
        del response["status"]
    stubbed.add_response("get_metadata_generation_run", response, expected_params=get_params())
    event = make_event("Update", make_props(), physical_id=RUN_ID, data={"RunId": RUN_ID})
    assert index.is_complete(event, context) == {"IsComplete": True, "Data": {"RunId": RUN_ID, "Status": reported}}


def test_kept_run_with_status_in_its_id_completes_without_call(stubbed: Stubber, context: FakeContext) -> None:
    props = make_props(Predictions={"Action": "ACCEPT", "Rule": "ALL"})
    event = make_event("Update", props, physical_id=pid(props, status="SUCCEEDED", revision="4"), data={})
    assert index.is_complete(event, context) == {
        "IsComplete": True,
        "Data": {"RunId": RUN_ID, "Status": "SUCCEEDED", "AssetRevision": "4"},
    }


@pytest.mark.parametrize("physical_id", ["MyStack-Run-1A2B3C4D5E6F-but-longer-than-a-run-id", "x y", ""])
def test_poll_of_a_physical_id_that_is_not_a_run_fails_clearly(
    stubbed: Stubber, context: FakeContext, physical_id: str
) -> None:
    with pytest.raises(common.RunError) as caught:
        index.is_complete(poll_event(physical_id=physical_id), context)
    assert str(caught.value) == f"physical id {physical_id!r} is not a run of this resource"


def test_elapsed_seconds_uses_now_seam(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    clock[0] = CREATED_AT.timestamp() + 42.4
    started = CREATED_AT.timestamp() + 10
    assert index._elapsed_seconds({"createdAt": CREATED_AT}, started) == pytest.approx(42.4)
    assert index._elapsed_seconds({"createdAt": CREATED_AT + timedelta(seconds=2)}, started) == pytest.approx(40.4)
    # Without a usable creation time, onEvent's StartedAt counts.
    assert index._elapsed_seconds({"createdAt": "2026-01-02"}, started) == pytest.approx(32.4)
    assert index._elapsed_seconds({}, started) == pytest.approx(32.4)
    assert index._elapsed_seconds(None, float(STARTED_AT)) == pytest.approx(42.4)
