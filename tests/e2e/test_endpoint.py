"""The local DataZone endpoint, through an unmodified boto3 client (and raw HTTP where boto3 would not go)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from constructs_local import LocalDataZone
from constructs_local.datazone.urls import service_model

from tests.e2e.conftest import ASSET, DOMAIN, PROJECT

NO_RETRIES: dict[str, Any] = {"retries": {"mode": "standard", "total_max_attempts": 1}}
SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/datazone/aws4_request, SignedHeaders=host, Signature=0"


def start(client: Any, asset: str = ASSET, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "domainIdentifier": DOMAIN,
        "owningProjectIdentifier": PROJECT,
        "target": {"type": "ASSET", "identifier": asset},
        "types": ["BUSINESS_DESCRIPTIONS"],
    }
    params.update(extra)
    response: dict[str, Any] = client.start_metadata_generation_run(**params)
    return response


def raw(
    dz: LocalDataZone, method: str, path: str, body: Any = None, authorization: str | None = SIGNED
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{dz.url}{path}", data=data, method=method)
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers.items()), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), json.loads(error.read() or b"{}")


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_unmodified_boto3_client_via_environment(endpoint: LocalDataZone, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DATAZONE", endpoint.url)
    client = boto3.client("datazone", region_name="us-east-1")
    run = start(client)
    assert run["status"] == "SUBMITTED"
    assert endpoint.calls[-1].operation == "StartMetadataGenerationRun"
    assert endpoint.calls[-1].params["target"] == {"type": "ASSET", "identifier": ASSET}


def test_run_progresses_on_the_clock_with_type_stats(endpoint: LocalDataZone) -> None:
    client = endpoint.client()
    endpoint.knobs.final_status = {ASSET: "PARTIALLY_SUCCEEDED"}
    run = start(client, types=["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES"])

    def get() -> dict[str, Any]:
        found: dict[str, Any] = client.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier=run["id"])
        return found

    assert get()["status"] == "SUBMITTED"
    endpoint.clock.sleep(endpoint.knobs.submitted_seconds)
    assert get()["status"] == "IN_PROGRESS"
    endpoint.clock.sleep(endpoint.knobs.in_progress_seconds)
    final = get()
    assert final["status"] == "PARTIALLY_SUCCEEDED"
    assert final["typeStats"] == [
        {"type": "BUSINESS_DESCRIPTIONS", "status": "SUCCEEDED"},
        {"type": "BUSINESS_NAMES", "status": "FAILED", "errorMessage": endpoint.knobs.error_message},
    ]
    assert final["target"] == {"type": "ASSET", "identifier": ASSET}
    assert final["owningProjectId"] == PROJECT


def test_validation_comes_from_the_service_model(endpoint: LocalDataZone) -> None:
    client = endpoint.client()
    with pytest.raises(ClientError) as info:
        start(
            client,
            domainIdentifier="not-a-domain",
            target={"type": "TABLE", "identifier": ASSET, "revision": "r" * 65},
            types=["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"],
        )
    assert error_code(info) == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = info.value.response["Error"]["Message"]
    domain_pattern = service_model().shape_for("DomainId").metadata["pattern"]
    assert message.startswith("4 validation errors detected: ")
    pattern_problem = "failed to satisfy constraint: Member must satisfy regular expression pattern"
    assert f"Value 'not-a-domain' at 'domainIdentifier' {pattern_problem}: {domain_pattern}" in message
    assert "at 'target.type' failed to satisfy constraint: Member must satisfy enum value set: [ASSET]" in message
    assert (
        "at 'target.revision' failed to satisfy constraint: Member must have length less than or equal to 64" in message
    )
    assert "at 'types' failed to satisfy constraint: Member must have length less than or equal to 2" in message


def test_list_page_size_and_client_token_limits_reach_the_wire(endpoint: LocalDataZone) -> None:
    client = endpoint.client()
    with pytest.raises(ClientError) as info:
        client.list_metadata_generation_runs(domainIdentifier=DOMAIN, maxResults=51)
    assert "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50" in str(
        info.value
    )
    with pytest.raises(ClientError) as info:
        start(client, clientToken="has space")
    assert "at 'clientToken' failed to satisfy constraint: Member must satisfy regular expression pattern" in str(
        info.value
    )


def test_missing_required_member_on_the_wire(endpoint: LocalDataZone) -> None:
    status, headers, body = raw(
        endpoint, "POST", f"/v2/domains/{DOMAIN}/metadata-generation-runs", {"types": ["BUSINESS_NAMES"]}
    )
    assert status == 400
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert (
        "Value null at 'owningProjectIdentifier' failed to satisfy constraint: Member must not be null"
        in body["message"]
    )
    assert "Value null at 'target' failed to satisfy constraint: Member must not be null" in body["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"owningProjectIdentifier": 5, "target": {"type": "ASSET", "identifier": ASSET}}, "owningProjectIdentifier"),
        ({"owningProjectIdentifier": PROJECT, "target": "asset"}, "target"),
        ({"owningProjectIdentifier": PROJECT, "target": {"type": "ASSET", "identifier": True}}, "target.identifier"),
        (
            {"owningProjectIdentifier": PROJECT, "target": {"type": "ASSET", "identifier": ASSET}, "types": "NAMES"},
            "types",
        ),
    ],
)
def test_a_member_of_the_wrong_json_type_is_refused_before_validation(
    endpoint: LocalDataZone, body: dict[str, Any], where: str
) -> None:
    # moto's parser would convert or crash on these; the service's deserializer refuses them.
    status, headers, answer = raw(endpoint, "POST", f"/v2/domains/{DOMAIN}/metadata-generation-runs", body)
    assert (status, headers["x-amzn-errortype"]) == (400, "SerializationException")
    assert f"at '{where}'" in answer["message"]
    assert not endpoint.calls_to("StartMetadataGenerationRun") or all(
        c.error == "SerializationException" for c in endpoint.calls_to("StartMetadataGenerationRun")
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v2/domains/{DOMAIN}/metadata-generation-runs?maxResults=ten", None),
        (f"/v2/domains/{DOMAIN}/metadata-generation-runs", "not an object"),
    ],
)
def test_an_unreadable_request_is_a_serialization_error(endpoint: LocalDataZone, path: str, body: Any) -> None:
    method = "GET" if body is None else "POST"
    status, headers, _ = raw(endpoint, method, path, body)
    assert (status, headers["x-amzn-errortype"]) == (400, "SerializationException")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", f"/v2/domains/{DOMAIN}/no-such-thing", 404, "UnknownOperationException"),
        ("DELETE", f"/v2/domains/{DOMAIN}/metadata-generation-runs", 404, "UnknownOperationException"),
        ("GET", f"/v2/domains/{DOMAIN}/assets/{ASSET}", 404, "UnknownOperationException"),  # GetAsset: not emulated
    ],
)
def test_unknown_operations_answer_like_an_unsupported_route(
    endpoint: LocalDataZone, method: str, path: str, status: int, code: str
) -> None:
    answer, headers, body = raw(endpoint, method, path)
    assert (answer, headers["x-amzn-errortype"]) == (status, code)
    assert body["message"]


def test_a_model_operation_that_is_not_emulated_raises_a_client_error(endpoint: LocalDataZone) -> None:
    with pytest.raises(ClientError) as info:
        endpoint.client(**NO_RETRIES).get_asset(domainIdentifier=DOMAIN, identifier=ASSET)
    assert error_code(info) == "UnknownOperationException"


def test_unsigned_requests_are_refused(endpoint: LocalDataZone) -> None:
    status, headers, _ = raw(endpoint, "GET", f"/v2/domains/{DOMAIN}/metadata-generation-runs", authorization=None)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda c: c.get_metadata_generation_run(domainIdentifier="dzd_unknown1", identifier="run1"),
            "ResourceNotFoundException",
        ),
        (
            lambda c: c.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier="unknownrun1"),
            "ResourceNotFoundException",
        ),
        (lambda c: start(c, asset="unknownasset1"), "ResourceNotFoundException"),
        (lambda c: start(c, owningProjectIdentifier="unknownproject1"), "ResourceNotFoundException"),
        (lambda c: start(c, owningProjectIdentifier="otherproject1", asset="otherasset1"), "AccessDeniedException"),
        (lambda c: start(c, asset="exampleobjects1"), "ValidationException"),
        (
            lambda c: start(c, target={"type": "ASSET", "identifier": ASSET, "revision": "7"}),
            "ResourceNotFoundException",
        ),
    ],
)
def test_errors_raise_the_modelled_exception_classes(endpoint: LocalDataZone, call: Any, code: str) -> None:
    client = endpoint.client(**NO_RETRIES)
    with pytest.raises(getattr(client.exceptions, code)) as info:
        call(client)
    assert (
        info.value.response["ResponseMetadata"]["HTTPStatusCode"]
        == service_model().shape_for(code).metadata["error"]["httpStatusCode"]
    )


def test_principal_without_membership_is_denied_until_added(endpoint: LocalDataZone) -> None:
    role = "arn:aws:iam::000000000000:role/some-handler"
    endpoint.backend.register_principal("ASIAEXAMPLE", role)
    client = endpoint.client(access_key_id="ASIAEXAMPLE", **NO_RETRIES)
    with pytest.raises(client.exceptions.AccessDeniedException) as info:
        start(client)
    assert role in str(info.value)
    assert PROJECT in str(info.value)
    endpoint.backend.add_membership(DOMAIN, PROJECT, role, "PROJECT_CONTRIBUTOR")
    assert start(client)["createdBy"] == role


def test_client_token_idempotency(endpoint: LocalDataZone) -> None:
    endpoint.knobs.reject_concurrent_runs = False  # several runs per asset on purpose
    client = endpoint.client()
    first = start(client, clientToken="token-1")
    again = start(client, clientToken="token-1")
    assert again["id"] == first["id"]
    other = start(client, clientToken="token-2")
    assert other["id"] != first["id"]
    with pytest.raises(client.exceptions.ConflictException):
        start(client, clientToken="token-1", types=["BUSINESS_NAMES"])
    assert len(client.list_metadata_generation_runs(domainIdentifier=DOMAIN)["items"]) == 2


def test_cancel_running_then_finished(endpoint: LocalDataZone) -> None:
    client = endpoint.client()
    running = start(client)
    client.cancel_metadata_generation_run(domainIdentifier=DOMAIN, identifier=running["id"])
    assert client.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier=running["id"])["status"] == "CANCELED"
    with pytest.raises(client.exceptions.ConflictException):
        client.cancel_metadata_generation_run(domainIdentifier=DOMAIN, identifier=running["id"])
    finished = start(client, asset="exampleasset2")
    endpoint.clock.sleep(60)
    with pytest.raises(client.exceptions.ConflictException) as info:
        client.cancel_metadata_generation_run(domainIdentifier=DOMAIN, identifier=finished["id"])
    assert "SUCCEEDED" in str(info.value)


def test_list_paginates_and_filters(endpoint: LocalDataZone) -> None:
    endpoint.knobs.reject_concurrent_runs = False  # several runs per asset on purpose
    client = endpoint.client()
    ids = {start(client, asset=asset)["id"] for asset in ("exampleasset1", "exampleasset2") for _ in range(3)}
    pages = list(
        client.get_paginator("list_metadata_generation_runs").paginate(
            domainIdentifier=DOMAIN, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["items"]) for page in pages] == [2, 2, 2]
    assert {item["id"] for page in pages for item in page["items"]} == ids
    only = client.list_metadata_generation_runs(domainIdentifier=DOMAIN, targetIdentifier="exampleasset2")["items"]
    assert len(only) == 3
    assert {item["target"]["identifier"] for item in only} == {"exampleasset2"}
    endpoint.clock.sleep(60)
    assert len(client.list_metadata_generation_runs(domainIdentifier=DOMAIN, status="SUCCEEDED")["items"]) == 6
    with pytest.raises(client.exceptions.ValidationException):
        client.list_metadata_generation_runs(domainIdentifier=DOMAIN, nextToken="garbage")


def test_fault_knobs_at_runtime(endpoint: LocalDataZone) -> None:
    client = endpoint.client(**NO_RETRIES)
    endpoint.knobs.throttle_calls = 1
    endpoint.knobs.server_error_calls = 1
    with pytest.raises(client.exceptions.ThrottlingException):
        start(client)
    with pytest.raises(client.exceptions.InternalServerException):
        start(client)
    run = start(client)
    endpoint.knobs.max_active_runs = 1
    with pytest.raises(client.exceptions.ServiceQuotaExceededException):
        start(client, asset="exampleasset2")
    before = endpoint.clock.now()
    endpoint.knobs.latency_seconds = 2.5
    client.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier=run["id"])
    assert endpoint.clock.now() - before == pytest.approx(2.5)
    assert [(c.operation, c.status) for c in endpoint.calls] == [
        ("StartMetadataGenerationRun", 429),
        ("StartMetadataGenerationRun", 500),
        ("StartMetadataGenerationRun", 200),
        ("StartMetadataGenerationRun", 402),
        ("GetMetadataGenerationRun", 200),
    ]


def test_throttle_fraction_answers_an_even_share_of_calls_with_429(endpoint: LocalDataZone) -> None:
    client = endpoint.client(**NO_RETRIES)
    run = start(client)
    endpoint.knobs.throttle_fraction = 0.25
    endpoint.knobs.fault_operations = ["GetMetadataGenerationRun"]
    for _ in range(8):
        with contextlib.suppress(client.exceptions.ThrottlingException):
            client.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier=run["id"])
    client.list_metadata_generation_runs(domainIdentifier=DOMAIN)  # not a fault operation: never throttled
    statuses = [c.status for c in endpoint.calls[1:]]
    assert statuses == [200, 200, 200, 429, 200, 200, 200, 429, 200]
    with pytest.raises(ValueError, match="throttle_fraction"):
        endpoint.knobs.update({"throttle_fraction": 1.5})


def test_accept_and_reject_predictions(endpoint: LocalDataZone) -> None:
    client = endpoint.client(**NO_RETRIES)
    with pytest.raises(client.exceptions.ConflictException):
        client.accept_predictions(domainIdentifier=DOMAIN, identifier=ASSET)  # no finished run yet
    start(client)
    endpoint.clock.sleep(60)
    accepted = client.accept_predictions(
        domainIdentifier=DOMAIN, identifier=ASSET, clientToken="accept-1", acceptRule={"rule": "ALL"}
    )
    assert (accepted["domainId"], accepted["assetId"], accepted["revision"]) == (DOMAIN, ASSET, "2")
    again = client.accept_predictions(
        domainIdentifier=DOMAIN, identifier=ASSET, clientToken="accept-1", acceptRule={"rule": "ALL"}
    )
    assert again["revision"] == "2"  # same token: same answer, no new revision
    with pytest.raises(client.exceptions.ConflictException):
        client.reject_predictions(domainIdentifier=DOMAIN, identifier=ASSET)  # nothing left to decide
    start(client, types=["BUSINESS_NAMES"])
    endpoint.clock.sleep(60)
    rejected = client.reject_predictions(
        domainIdentifier=DOMAIN, identifier=ASSET, rejectChoices=[{"predictionTarget": "col1"}]
    )
    assert rejected["assetRevision"] == "3"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.accept_predictions(domainIdentifier=DOMAIN, identifier="unknownasset1")
    with pytest.raises(client.exceptions.ValidationException):
        client.accept_predictions(domainIdentifier=DOMAIN, identifier=ASSET, acceptRule={"rule": "SOME"})
    decisions = endpoint.backend.prediction_decisions(DOMAIN, ASSET)
    assert [(d.action, d.types, d.revision_before, d.revision_after) for d in decisions] == [
        ("ACCEPT", ["BUSINESS_DESCRIPTIONS"], "1", "2"),
        ("REJECT", ["BUSINESS_NAMES"], "2", "3"),
    ]
    assert decisions[0].rule == {"rule": "ALL"}
    assert decisions[1].choices == [{"predictionTarget": "col1"}]
    assert endpoint.backend.asset_revision(DOMAIN, ASSET) == "3"


def test_failed_run_has_no_predictions(endpoint: LocalDataZone) -> None:
    client = endpoint.client(**NO_RETRIES)
    endpoint.knobs.final_status = {ASSET: "FAILED"}
    start(client)
    endpoint.clock.sleep(60)
    with pytest.raises(client.exceptions.ConflictException):
        client.accept_predictions(domainIdentifier=DOMAIN, identifier=ASSET)


def test_control_routes(endpoint: LocalDataZone) -> None:
    status, _, knobs = raw(endpoint, "POST", "/_local/knobs", {"throttle_calls": 2}, authorization=None)
    assert (status, knobs["throttle_calls"]) == (200, 2)
    assert endpoint.knobs.throttle_calls == 2
    status, _, body = raw(endpoint, "POST", "/_local/knobs", {"no_such_knob": 1}, authorization=None)
    assert status == 400
    assert "unknown knob" in body["message"]
    endpoint.knobs.throttle_calls = 0
    start(endpoint.client())
    _, _, calls = raw(endpoint, "GET", "/_local/calls", authorization=None)
    assert [c["operation"] for c in calls] == ["StartMetadataGenerationRun"]


def test_endpoint_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalDataZone(host="0.0.0.0")
