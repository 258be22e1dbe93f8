"""CloudFormation rejects response bodies over 4096 bytes *after JSON encoding* (issue 8, scenario 8).

The whole body the provider framework sends is modelled the way aws-cdk-lib's runtime builds it:
``cfn-response.js`` ``submitResponse`` writes ``JSON.stringify({Status, Reason, StackId, RequestId,
PhysicalResourceId, LogicalResourceId, NoEcho, Data})``, and for a failure the Reason is the Node
error's stack: ``"Error: " + <our message> + "\\n\\nLogs: /aws/lambda/<function>\\n"`` followed by
the framework's own stack frames (``framework.js`` ``invokeUserFunction``; the Python runtime's
error payload has no ``trace`` to replace them). Every field is taken at its largest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambda_src.metadata_generation_run import common, index
from tests.handler.helpers import (
    CREATED_AT,
    DESCRIPTIONS,
    GLOSSARY,
    NAMES,
    RUN_ID,
    Clock,
    FakeContext,
    cancel_params,
    get_params,
    get_response,
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

LIMIT = 4096
WIDE = ["x", "\u00e9", "\u4e2d", "\U0001f600"]
# Service text at its worst: control characters grow six-fold in JSON, a lone surrogate cannot be
# encoded at all, 4-byte characters take 12 bytes as \\u escapes, and U+2028 is a JS line break.
NASTY = [
    "\x00" * 5000,
    "line\nbreak\ttab\r\x1b[31m" * 500,
    "\ud800",
    "lone \udfff surrogate " * 300,
    "\U0001f600" * 5000,
    "\u2028\u2029\x7f\x85" * 2000,
    'mixed \x00\ud800\U0001f600\u00e9\u4e2d"\\ ' * 1000,
    "x" * 200_000,
]
IDS = ["nul", "controls", "lone-surrogate", "surrogates", "emoji", "separators", "mixed", "long"]

# The largest values CloudFormation and the framework may put next to our reason.
FUNCTION_NAME = "F" * 64
STACK_ID = "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/" + "S" * 128 + "/" + "f" * 36
LOGICAL_ID = "L" * 255
REQUEST_ID = "r" * 36
# Node's default Error.stackTraceLimit is 10 frames; each taken at 100 characters.
NODE_FRAMES = "".join("\n    at " + "f" * 92 for _ in range(10))
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
LARGEST_ID = pid(
    make_props(),
    "i" * 36,
    status="PARTIALLY_SUCCEEDED",
    revision="%" * 64,
    previous=pid(make_props(), "p" * 36, status="PARTIALLY_SUCCEEDED", revision="%" * 64),
)
LARGEST_DATA = {
    "RunId": "i" * 36,
    "Status": "PARTIALLY_SUCCEEDED",
    "StartedAt": "1767323045.000",
    "AssetRevision": "%" * 64,
}


def failure_body(message: str, physical_id: str = LARGEST_ID, data: dict[str, str] | None = None) -> dict[str, Any]:
    """The body cfn-response.js sends when our handler raised ``message``."""
    reason = "Error: " + "\n".join([message, "", f"Logs: /aws/lambda/{FUNCTION_NAME}", ""]) + NODE_FRAMES
    return {
        "Status": "FAILED",
        "Reason": reason,
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "PhysicalResourceId": physical_id,
        "LogicalResourceId": LOGICAL_ID,
        "NoEcho": False,
        "Data": LARGEST_DATA if data is None else data,
    }


def body_size(body: dict[str, Any]) -> int:
    """Bytes of the body on the wire, for either kind of encoder: ASCII-escaped (Python's default)
    and raw UTF-8 (Node's JSON.stringify). Neither may raise (a lone surrogate would)."""
    escaped = len(json.dumps(body).encode("ascii"))
    raw = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    return max(escaped, raw)


def assert_fits(result: Any) -> None:
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": STACK_ID,
        "RequestId": REQUEST_ID,
        "LogicalResourceId": LOGICAL_ID,
        "NoEcho": False,
        **result,
    }
    assert body_size(body) <= LIMIT


def failure_reason(call: Callable[[], Any], *, physical_id: str = LARGEST_ID) -> str:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any failure becomes the Reason
        call()
    reason = str(caught.value)
    assert body_size(failure_body(reason, physical_id)) <= LIMIT
    # Our part alone stays within the handler's own budget, measured as JSON.
    assert len(json.dumps(reason)) - 2 <= common.REASON_LIMIT
    return reason


def test_model_of_the_body_leaves_room_for_the_reason() -> None:
    # Everything but our reason, at its largest, leaves more than the handler's budget.
    assert body_size(failure_body("")) + common.REASON_LIMIT <= LIMIT


def test_successful_results_fit(
    clock: Clock, stubbed: Stubber, cfn: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp()
    policy = {"Action": "ACCEPT", "Rule": "ALL"}
    props = make_props(Predictions=policy)
    stubbed.add_response("start_metadata_generation_run", start_response(), expected_params=start_params(token=ANY))
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_response("accept_predictions", {"domainId": "d", "assetId": "a", "revision": "%" * 64})
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    created = index.on_event(make_event("Create", props), context)
    assert_fits(created)
    finished = index.is_complete(poll_event(props), context)
    # The framework merges onEvent's Data under isComplete's.
    assert_fits({**finished, "Data": {**started_data(), **finished.get("Data", {})}})
    # A kept run at its largest (run ids, status and a revision of 64 characters that all need escaping).
    largest = pid(
        props,
        "i" * 36,
        status="PARTIALLY_SUCCEEDED",
        revision="%" * 64,
        previous=pid(make_props(), "p" * 36, status="PARTIALLY_SUCCEEDED", revision="%" * 64),
    )
    assert_fits(index.on_event(make_event("Update", props, physical_id=largest), context))
    assert_fits(index.on_event(make_event("Delete", props, physical_id=pid(props)), context))


@pytest.mark.parametrize("char", WIDE)
def test_failed_run_reason_fits(stubbed: Stubber, context: FakeContext, char: str) -> None:
    stats = [
        {"type": kind, "status": "FAILED", "errorMessage": char * 200_000} for kind in (DESCRIPTIONS, NAMES, GLOSSARY)
    ]
    stubbed.add_response(
        "get_metadata_generation_run", get_response("FAILED", type_stats=stats), expected_params=get_params()
    )
    reason = failure_reason(lambda: index.is_complete(poll_event(), context))
    assert reason.startswith(f"Metadata-generation run {RUN_ID} ended FAILED: {DESCRIPTIONS}: ")


@pytest.mark.parametrize("text", NASTY, ids=IDS)
@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_failed_run_reason_fits_whatever_the_service_sends(
    stubbed: Stubber, context: FakeContext, text: str, status: str
) -> None:
    stats = [
        {"type": DESCRIPTIONS, "status": status, "errorMessage": text},
        {"type": text[:50], "status": status, "errorMessage": text},
    ]
    stubbed.add_response(
        "get_metadata_generation_run", get_response(status, type_stats=stats), expected_params=get_params()
    )
    reason = failure_reason(lambda: index.is_complete(poll_event(), context))
    # The run and its status always survive, whatever gave way.
    assert reason.startswith(f"Metadata-generation run {RUN_ID} ended {status}: {DESCRIPTIONS}: ")
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in reason)
    assert not any(ord(c) < 0x20 for c in reason)


@pytest.mark.parametrize("text", NASTY, ids=IDS)
def test_service_error_reason_fits_whatever_the_service_sends(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, text: str
) -> None:
    role = "arn:aws:iam::123456789012:role/" + "R" * 64
    monkeypatch.setenv("HANDLER_ROLE_ARN", role)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message=text,
        http_status_code=403,
        expected_params=start_params(token=ANY),
    )
    # A failed Create is answered with the framework's marker as physical id.
    reason = failure_reason(lambda: index.on_event(make_event("Create"), context), physical_id=CREATE_FAILED_MARKER)
    assert reason.startswith("StartMetadataGenerationRun failed: AccessDeniedException: ")
    # The fix is the useful part: the service's text gives way first.
    assert reason.endswith("keep grant_project_access=True or add the role to the project)")
    assert role in reason


@pytest.mark.parametrize("text", NASTY, ids=IDS)
def test_get_error_reason_fits_whatever_the_service_sends(stubbed: Stubber, context: FakeContext, text: str) -> None:
    stubbed.add_client_error(
        "get_metadata_generation_run",
        service_error_code="ValidationException",
        service_message=text,
        http_status_code=400,
        expected_params=get_params(),
    )
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    reason = failure_reason(lambda: index.is_complete(poll_event(), context))
    assert reason.startswith("GetMetadataGenerationRun failed: ValidationException: ")


@pytest.mark.parametrize("text", NASTY, ids=IDS)
def test_accept_error_reason_fits_whatever_the_service_sends(
    stubbed: Stubber, cfn: Stubber, context: FakeContext, text: str
) -> None:
    props = make_props(Predictions={"Action": "ACCEPT", "Rule": "ALL"})
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    cfn.add_response("describe_stacks", stack_response("CREATE_IN_PROGRESS"), expected_params=stack_params())
    stubbed.add_client_error(
        "accept_predictions", service_error_code="ConflictException", service_message=text, http_status_code=409
    )
    reason = failure_reason(lambda: index.is_complete(poll_event(props), context))
    assert reason.startswith(f"Metadata-generation run {RUN_ID} SUCCEEDED: AcceptPredictions failed: ")


@pytest.mark.parametrize("text", NASTY, ids=IDS)
def test_unknown_status_timeout_reason_fits(
    clock: Clock, stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, text: str
) -> None:
    # The status itself is service text here.
    clock[0] = CREATED_AT.timestamp() + 10**9
    stubbed.add_response("get_metadata_generation_run", get_response(text), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    reason = failure_reason(lambda: index.is_complete(poll_event(), context))
    assert reason.startswith(f"Metadata-generation run {RUN_ID} timed out after 1000000000 s (timeout 1800 s); ")


@pytest.mark.parametrize("text", NASTY, ids=IDS)
def test_stack_status_reason_fits(stubbed: Stubber, cfn: Stubber, context: FakeContext, text: str) -> None:
    props = make_props(Predictions={"Action": "ACCEPT", "Rule": "ALL"})
    stubbed.add_response("get_metadata_generation_run", get_response("SUCCEEDED"), expected_params=get_params())
    cfn.add_response("describe_stacks", stack_response(text), expected_params=stack_params())
    reason = failure_reason(lambda: index.is_complete(poll_event(props), context))
    assert reason.startswith(f"Metadata-generation run {RUN_ID} finished, but the stack is ")


@pytest.mark.parametrize("char", WIDE)
def test_service_error_reason_fits(
    stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext, char: str
) -> None:
    monkeypatch.setenv("HANDLER_ROLE_ARN", "arn:aws:iam::123456789012:role/" + "R" * 64)
    stubbed.add_client_error(
        "start_metadata_generation_run",
        service_error_code="AccessDeniedException",
        service_message=char * 100_000,
        http_status_code=403,
        expected_params=start_params(token=ANY),
    )
    failure_reason(lambda: index.on_event(make_event("Create"), context), physical_id=CREATE_FAILED_MARKER)


@pytest.mark.parametrize("char", [*WIDE, "\x00", "\ud800"])
def test_property_error_reason_fits(stubbed: Stubber, context: FakeContext, char: str) -> None:
    for props in (make_props(AssetRevision=char * 100_000), make_props(ProjectId=char * 100_000)):
        reason = failure_reason(
            lambda props=props: index.on_event(make_event("Create", props), context),  # type: ignore[misc]
            physical_id=CREATE_FAILED_MARKER,
        )
        assert reason.startswith("ResourceProperties.")


def test_not_a_run_reason_fits(stubbed: Stubber, context: FakeContext) -> None:
    failure_reason(lambda: index.is_complete(poll_event(physical_id="\x00\ud800" * 100_000), context))


def test_timeout_reason_fits(
    clock: Clock, stubbed: Stubber, monkeypatch: pytest.MonkeyPatch, context: FakeContext
) -> None:
    clock[0] = CREATED_AT.timestamp() + 10**9
    stubbed.add_response("get_metadata_generation_run", get_response("IN_PROGRESS"), expected_params=get_params())
    stubbed.add_response("cancel_metadata_generation_run", {}, expected_params=cancel_params())
    failure_reason(lambda: index.is_complete(poll_event(), context))


def test_fit_measures_json_not_characters() -> None:
    # Six bytes of JSON per control character: 1000 of them do not fit 1000 bytes.
    cut = common.fit("\x01" * 1000 + "tail", 100)
    assert len(json.dumps(cut)) - 2 <= 100
    assert common.fit("\ud800") == "\ufffd"
    assert common.json_size("\U0001f600") == 12
    assert common.fit("short") == "short"
