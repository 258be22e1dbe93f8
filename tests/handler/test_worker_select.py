"""The batch workflow's worker, ``select``: choosing a DATA_SOURCE or SEARCH batch's assets.

A data source's latest run (the newest by createdAt on ListDataSourceRuns' first page) must have
ended well: while it is REQUESTED/RUNNING (or there is none yet) the step returns a state the
workflow waits on (waitSeconds), until selectionWaitSeconds have passed; a failed run fails the
selection naming the run, its status and the service's message. Its imported assets, or a
search's, are paged into part files, one per invocation (at most PAGES_PER_CALL pages, and never
past RESERVE_SECONDS of the invocation's time left), resuming from nextToken; the last step joins
the parts into items.json, each id once, in order. Transient DataZone errors become TransientError
(the workflow retries the step); any other error is raised as it is.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import contract, worker
from tests.handler.helpers import (
    CREATED_AT,
    DATA_SOURCE_ID,
    DOMAIN_ID,
    PROJECT_ID,
    RESULTS_BUCKET,
    JsonOf,
    activity,
    batch_input,
    batch_prefix,
    data_source_run,
    s3_body,
    search_asset,
)
from tests.handler.helpers import (
    WorkerContext as Clock,
)

DATA_SOURCE = {"Kind": "DATA_SOURCE", "DataSourceId": DATA_SOURCE_ID}
SEARCH = {"Kind": "SEARCH", "AssetTypes": []}
GLUE = "amazon.datazone.GlueTableAssetType"
REDSHIFT = "amazon.datazone.RedshiftTableAssetType"
PREFIX = batch_prefix()
ITEMS = {"bucket": RESULTS_BUCKET, "key": f"{PREFIX}/items.json"}
#: A Search item that is not an asset.
GLOSSARY_ITEM = {
    "glossaryItem": {"domainId": DOMAIN_ID, "id": "g1", "name": "g", "owningProjectId": PROJECT_ID, "status": "ENABLED"}
}


def list_runs_params() -> dict[str, Any]:
    return {"domainIdentifier": DOMAIN_ID, "dataSourceIdentifier": DATA_SOURCE_ID, "maxResults": 50}


def activities_params(run_id: str, next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"domainIdentifier": DOMAIN_ID, "identifier": run_id, "maxResults": 50}
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def search_params(text: str | None = None, next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "domainIdentifier": DOMAIN_ID,
        "owningProjectIdentifier": PROJECT_ID,
        "searchScope": "ASSET",
        "maxResults": 50,
    }
    if text is not None:
        params["searchText"] = text
    if next_token is not None:
        params["nextToken"] = next_token
    return params


def expect_part(s3: Stubber, number: int, ids: list[str]) -> None:
    s3.add_response(
        "put_object",
        {},
        {
            "Bucket": RESULTS_BUCKET,
            "Key": f"{PREFIX}/selection/part-{number:05d}.json",
            "Body": JsonOf(ids),
            "ContentType": "application/json",
        },
    )


def expect_join(s3: Stubber, parts: list[list[str]], items: list[str]) -> None:
    for number, ids in enumerate(parts, start=1):
        s3.add_response(
            "get_object", s3_body(ids), {"Bucket": RESULTS_BUCKET, "Key": f"{PREFIX}/selection/part-{number:05d}.json"}
        )
    s3.add_response(
        "put_object",
        {},
        {"Bucket": RESULTS_BUCKET, "Key": ITEMS["key"], "Body": JsonOf(items), "ContentType": "application/json"},
    )


def expect_empty_items(s3: Stubber) -> None:
    s3.add_response(
        "put_object",
        {},
        {"Bucket": RESULTS_BUCKET, "Key": ITEMS["key"], "Body": b"[]", "ContentType": "application/json"},
    )


def joined(count: int) -> dict[str, Any]:
    return {"done": True, "waitSeconds": 0, "count": count, "items": ITEMS}


# ---------------------------------------------------------------------------------------------
# The data source's latest run


def test_a_data_source_without_runs_is_waited_for(stubbed: Stubber) -> None:
    # A data source created with the stack may not have run yet.
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    state = worker.select(batch_input(selection=DATA_SOURCE), {}, Clock())
    assert state == {"waitedSeconds": 30, "done": False, "waitSeconds": 30}


@pytest.mark.parametrize("status", ["REQUESTED", "RUNNING"])
def test_a_data_source_whose_latest_run_is_going_is_waited_for_and_the_wait_adds_up(
    stubbed: Stubber, status: str
) -> None:
    runs = [
        data_source_run("dsr_old", "SUCCESS", created_at=CREATED_AT - timedelta(days=1)),
        data_source_run("dsr_new", status),
    ]
    stubbed.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    stubbed.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    batch = batch_input(selection=DATA_SOURCE)
    first = worker.select(batch, {}, Clock())
    assert first == {"waitedSeconds": 30, "done": False, "waitSeconds": 30}
    # The workflow hands the state back after its Wait state.
    assert worker.select(batch, first, Clock()) == {"waitedSeconds": 60, "done": False, "waitSeconds": 30}


@pytest.mark.parametrize(
    ("runs", "what"),
    [
        ([], "has no run yet"),
        ([data_source_run("dsr_1", "RUNNING")], "run dsr_1 is still RUNNING"),
        ([data_source_run("dsr_2", "REQUESTED")], "run dsr_2 is still REQUESTED"),
    ],
)
def test_waiting_past_the_selections_wait_fails_naming_the_data_source_and_the_fix(
    stubbed: Stubber, runs: list[dict[str, Any]], what: str
) -> None:
    stubbed.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    batch = batch_input(selection=DATA_SOURCE, selection_wait_seconds=60)
    with pytest.raises(worker.SelectionError) as caught:
        worker.select(batch, {"waitedSeconds": 60, "done": False, "waitSeconds": 30}, Clock())
    assert str(caught.value) == (
        f"data source {DATA_SOURCE_ID} {what} after 60 s: start its run (or wait for it), then deploy again "
        "with a new rerun_token"
    )


def test_just_under_the_selections_wait_still_waits(stubbed: Stubber) -> None:
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    batch = batch_input(selection=DATA_SOURCE, selection_wait_seconds=61)
    state = worker.select(batch, {"waitedSeconds": 60, "done": False, "waitSeconds": 30}, Clock())
    assert state == {"waitedSeconds": 90, "done": False, "waitSeconds": 30}


def test_without_a_selection_wait_in_the_input_the_default_timeout_applies(stubbed: Stubber) -> None:
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    batch = batch_input(selection=DATA_SOURCE)
    del batch["selectionWaitSeconds"]
    waited = contract.DEFAULT_TIMEOUT_SECONDS
    assert worker.select(batch, {"waitedSeconds": waited - 1}, Clock())["waitSeconds"] == 30
    with pytest.raises(worker.SelectionError, match=f"has no run yet after {waited} s"):
        worker.select(batch, {"waitedSeconds": waited}, Clock())


FAILED_RUN_ERROR = {"errorType": "ACCESS_DENIED_EXCEPTION", "errorDetail": "Glue database sales: access denied"}


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (FAILED_RUN_ERROR, "ACCESS_DENIED_EXCEPTION: Glue database sales: access denied"),
        ({"errorType": "INTERNAL_SERVER_ERROR"}, "INTERNAL_SERVER_ERROR: no detail"),
        (None, "no error type: no detail"),
    ],
)
@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_a_latest_run_that_failed_fails_naming_the_run_its_status_and_the_services_message(
    stubbed: Stubber, error: Any, said: str, status: str
) -> None:
    runs = [
        data_source_run("dsr_ok", "SUCCESS", created_at=CREATED_AT - timedelta(hours=1)),
        data_source_run("dsr_bad", status, error=error),
    ]
    stubbed.add_response("list_data_source_runs", {"items": runs}, list_runs_params())
    with pytest.raises(worker.SelectionError) as caught:
        worker.select(batch_input(selection=DATA_SOURCE), {}, Clock())
    assert str(caught.value) == f"data source {DATA_SOURCE_ID}: its latest run dsr_bad ended {status}: {said}"


RUNS_BY_AGE = [
    data_source_run("dsr_oldest", "FAILED", created_at=CREATED_AT - timedelta(days=2)),
    data_source_run("dsr_middle", "RUNNING", created_at=CREATED_AT - timedelta(days=1)),
    data_source_run("dsr_latest", "SUCCESS", created_at=CREATED_AT - timedelta(seconds=1)),
]


@pytest.mark.parametrize(
    "listed",
    [
        pytest.param(list(reversed(RUNS_BY_AGE)), id="newest-first"),
        pytest.param(RUNS_BY_AGE, id="oldest-first"),
        pytest.param([RUNS_BY_AGE[1], RUNS_BY_AGE[2], RUNS_BY_AGE[0]], id="shuffled"),
    ],
)
def test_the_run_chosen_is_the_newest_by_created_at_on_the_first_page(
    stubbed: Stubber, s3: Stubber, listed: list[dict[str, Any]]
) -> None:
    # One ListDataSourceRuns call: its nextToken (older runs) is never followed.
    stubbed.add_response("list_data_source_runs", {"items": listed, "nextToken": "older"}, list_runs_params())
    stubbed.add_response(
        "list_data_source_run_activities", {"items": [activity("a1")]}, activities_params("dsr_latest")
    )
    expect_part(s3, 1, ["a1"])
    state = worker.select(batch_input(selection=DATA_SOURCE), {}, Clock())
    assert state == {
        "runId": "dsr_latest",
        "parts": 1,
        "found": 1,
        "listed": 1,
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }


def test_the_newest_run_is_chosen_by_time_whatever_the_offsets(stubbed: Stubber, s3: Stubber) -> None:
    newer = data_source_run("dsr_newer", "RUNNING", created_at=datetime(2026, 1, 2, 3, 0, tzinfo=UTC))
    # 04:30+02:00 is 02:30 UTC: older, though its text sorts after "03:00".
    older = data_source_run(
        "dsr_older", "FAILED", created_at=datetime(2026, 1, 2, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    )
    stubbed.add_response("list_data_source_runs", {"items": [older, newer]}, list_runs_params())
    # The newer run is still going: wait (the older one would fail the selection).
    state = worker.select(batch_input(selection=DATA_SOURCE), {}, Clock())
    assert state == {"waitedSeconds": 30, "done": False, "waitSeconds": 30}


@pytest.mark.parametrize("run_status", ["SUCCESS", "PARTIALLY_SUCCEEDED"])
def test_only_imported_assets_are_selected_each_once_in_order_across_parts(
    stubbed: Stubber, s3: Stubber, monkeypatch: pytest.MonkeyPatch, run_status: str
) -> None:
    monkeypatch.setattr(worker, "PAGES_PER_CALL", 1)  # one page per invocation: one part each
    batch = batch_input(selection=DATA_SOURCE)
    stubbed.add_response("list_data_source_runs", {"items": [data_source_run("dsr_1", run_status)]}, list_runs_params())
    stubbed.add_response(
        "list_data_source_run_activities",
        {
            "items": [
                activity("a1", "SUCCEEDED_CREATED"),
                activity("a2", "SUCCEEDED_UPDATED"),
                activity("a3", "FAILED"),
                activity(None, "SUCCEEDED_CREATED"),  # no asset id: nothing to generate for
                activity("a4", "SKIPPED_ALREADY_IMPORTED"),
            ],
            "nextToken": "page-2",
        },
        activities_params("dsr_1"),
    )
    expect_part(s3, 1, ["a1", "a2", "a4"])
    first = worker.select(batch, {}, Clock())
    assert first == {
        "runId": "dsr_1",
        "parts": 1,
        "found": 3,
        "listed": 5,
        "nextToken": "page-2",
        "paged": False,
        "done": False,
        "waitSeconds": 0,
    }
    # The next step resumes from the token: no second look at the data source's runs.
    stubbed.add_response(
        "list_data_source_run_activities",
        {
            "items": [
                activity("a5", "UNCHANGED"),
                activity("a6", "SKIPPED_NO_ACCESS"),
                activity("a7", "SKIPPED_ARCHIVED"),
                activity("a8", "PUBLISHING_FAILED"),
                activity("a1", "SUCCEEDED_UPDATED"),  # listed twice: one run
                activity("a9", "NOT_UPDATED"),
            ]
        },
        activities_params("dsr_1", "page-2"),
    )
    expect_part(s3, 2, ["a5", "a1"])
    second = worker.select(batch, first, Clock())
    assert second == {**first, "parts": 2, "found": 5, "listed": 11, "nextToken": None, "paged": True}
    expect_join(s3, [["a1", "a2", "a4"], ["a5", "a1"]], ["a1", "a2", "a4", "a5"])
    assert worker.select(batch, second, Clock()) == joined(4)


def test_a_run_that_imported_nothing_fails_the_selection_naming_what_it_looked_at(
    stubbed: Stubber, s3: Stubber
) -> None:
    batch = batch_input(selection=DATA_SOURCE)
    stubbed.add_response("list_data_source_runs", {"items": [data_source_run("dsr_1", "SUCCESS")]}, list_runs_params())
    stubbed.add_response(
        "list_data_source_run_activities",
        {"items": [activity("a1", "FAILED"), activity("a2", "SKIPPED_NO_ACCESS")]},
        activities_params("dsr_1"),
    )
    state = worker.select(batch, {}, Clock())  # no part file for no ids
    assert state == {
        "runId": "dsr_1",
        "parts": 0,
        "found": 0,
        "listed": 2,
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }
    expect_empty_items(s3)
    with pytest.raises(worker.SelectionError) as caught:
        worker.select(batch, state, Clock())
    assert str(caught.value) == (
        f"The selection is empty: data source {DATA_SOURCE['DataSourceId']}'s latest run dsr_1 listed 2 "
        "activities, none of an asset it created, updated or already had. Check the selection (a data source "
        "whose import ran, a search that matches the project's assets), or set allow_empty_selection=True if "
        "a batch of none is expected."
    )


def test_an_empty_selection_is_a_batch_of_none_when_allowed(stubbed: Stubber, s3: Stubber) -> None:
    batch = {**batch_input(selection=DATA_SOURCE), "allowEmptySelection": True}
    stubbed.add_response("list_data_source_runs", {"items": [data_source_run("dsr_1", "SUCCESS")]}, list_runs_params())
    stubbed.add_response("list_data_source_run_activities", {"items": []}, activities_params("dsr_1"))
    state = worker.select(batch, {}, Clock())
    expect_empty_items(s3)
    assert worker.select(batch, state, Clock()) == joined(0)


def test_an_empty_search_names_its_text_and_types(s3: Stubber) -> None:
    batch = batch_input(selection={"Kind": "SEARCH", "Text": "orders", "AssetTypes": ["t.A", "t.B"]})
    expect_empty_items(s3)
    with pytest.raises(worker.SelectionError) as caught:
        worker.select(batch, {"parts": 0, "found": 0, "listed": 7, "nextToken": None, "paged": True}, Clock())
    assert str(caught.value).startswith(
        f"The selection is empty: a search of project {batch['projectId']}'s assets matching text 'orders' "
        "and asset types t.A, t.B found none. Check the selection"
    )


# ---------------------------------------------------------------------------------------------
# SEARCH


@pytest.mark.parametrize(
    ("selection", "text", "expected"),
    [
        (SEARCH, None, ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "Text": "orders", "AssetTypes": []}, "orders", ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "Text": "orders", "AssetTypes": [GLUE]}, "orders", ["s1", "s3"]),
        ({"Kind": "SEARCH", "AssetTypes": [REDSHIFT, GLUE]}, None, ["s1", "s2", "s3", "s4"]),
        ({"Kind": "SEARCH", "AssetTypes": ["custom.Type"]}, None, []),
        # An empty text is no text (the property accepts it).
        ({"Kind": "SEARCH", "Text": "", "AssetTypes": []}, None, ["s1", "s2", "s3", "s4"]),
    ],
)
def test_a_search_pages_through_the_projects_assets(
    stubbed: Stubber, s3: Stubber, selection: dict[str, Any], text: str | None, expected: list[str]
) -> None:
    stubbed.add_response(
        "search",
        {"items": [search_asset("s1", GLUE), search_asset("s2", REDSHIFT)], "nextToken": "t2"},
        search_params(text),
    )
    stubbed.add_response(
        "search",
        # Not an asset: skipped.
        {
            "items": [
                search_asset("s3", GLUE),
                {
                    "glossaryItem": {
                        "domainId": DOMAIN_ID,
                        "id": "g1",
                        "name": "g",
                        "owningProjectId": PROJECT_ID,
                        "status": "ENABLED",
                    }
                },
                search_asset("s1", GLUE),
            ],
            "nextToken": "t3",
        },
        search_params(text, "t2"),
    )
    stubbed.add_response("search", {"items": [search_asset("s4", REDSHIFT)]}, search_params(text, "t3"))
    found = [i for i in ["s1", "s2", "s3", "s1", "s4"] if i in expected]
    # A search that finds nothing is allowed here (its refusal is tested on its own).
    batch = {**batch_input(selection=selection), "allowEmptySelection": not expected}
    if found:
        expect_part(s3, 1, found)
    state = worker.select(batch, {}, Clock())
    assert state == {
        "parts": 1 if found else 0,
        "found": len(found),
        "listed": 6,  # the glossary item and the repeated s1 count as listed
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }
    if found:
        expect_join(s3, [found], expected)
    else:
        s3.add_response(
            "put_object",
            {},
            {"Bucket": RESULTS_BUCKET, "Key": ITEMS["key"], "Body": b"[]", "ContentType": "application/json"},
        )
    assert worker.select(batch, state, Clock()) == joined(len(expected))


def test_a_page_without_matches_writes_no_part_and_keeps_paging(stubbed: Stubber, s3: Stubber) -> None:
    stubbed.add_response("search", {"items": [search_asset("s1", REDSHIFT)], "nextToken": "t2"}, search_params())
    batch = batch_input(selection={"Kind": "SEARCH", "AssetTypes": [GLUE]})
    state = worker.select(batch, {}, Clock(left_ms=[10_000]))
    assert state == {
        "parts": 0,
        "found": 0,
        "listed": 1,
        "nextToken": "t2",
        "paged": False,
        "done": False,
        "waitSeconds": 0,
    }


# ---------------------------------------------------------------------------------------------
# Bounded steps: time left and pages per call


def three_search_pages(stubbed: Stubber, start: int = 1, stop: int = 3) -> None:
    """Queue pages ``start``..``stop`` of a three-page search (one asset s<n> each)."""
    tokens = [None, "t2", "t3"]
    for number in range(start, stop + 1):
        page: dict[str, Any] = {"items": [search_asset(f"s{number}")]}
        if number < 3:
            page["nextToken"] = f"t{number + 1}"
        stubbed.add_response("search", page, search_params(None, tokens[number - 1]))


@pytest.mark.parametrize(
    ("left_ms", "pages"),
    [
        # Read after each page: at RESERVE_SECONDS exactly it goes on, below it stops.
        ([75_000], 3),
        ([74_999], 1),
        ([170_000, 74_999], 2),
        ([170_000, 170_000, 1], 3),
    ],
)
def test_paging_stops_when_the_time_left_drops_below_the_reserve_and_resumes_from_the_token(
    stubbed: Stubber, s3: Stubber, left_ms: list[int], pages: int
) -> None:
    assert worker.RESERVE_SECONDS == 75
    batch = batch_input(selection=SEARCH)
    three_search_pages(stubbed, stop=pages)
    expect_part(s3, 1, [f"s{n}" for n in range(1, pages + 1)])
    state = worker.select(batch, {}, Clock(left_ms=left_ms))
    token = None if pages == 3 else f"t{pages + 1}"
    assert state == {
        "parts": 1,
        "found": pages,
        "listed": pages,
        "nextToken": token,
        "paged": pages == 3,
        "done": False,
        "waitSeconds": 0,
    }
    if pages == 3:
        return
    # The next invocation picks up at the token, into the next part.
    three_search_pages(stubbed, start=pages + 1)
    expect_part(s3, 2, [f"s{n}" for n in range(pages + 1, 4)])
    resumed = worker.select(batch, state, Clock())
    assert resumed == {**state, "parts": 2, "found": 3, "listed": 3, "nextToken": None, "paged": True}


def test_paging_stops_after_pages_per_call_whatever_the_time_left(
    stubbed: Stubber, s3: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "PAGES_PER_CALL", 2)
    batch = batch_input(selection=SEARCH)
    three_search_pages(stubbed)
    expect_part(s3, 1, ["s1", "s2"])
    state = worker.select(batch, {}, Clock())
    assert state == {
        "parts": 1,
        "found": 2,
        "listed": 2,
        "nextToken": "t3",
        "paged": False,
        "done": False,
        "waitSeconds": 0,
    }
    expect_part(s3, 2, ["s3"])
    state = worker.select(batch, state, Clock())
    assert state == {
        "parts": 2,
        "found": 3,
        "listed": 3,
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }
    expect_join(s3, [["s1", "s2"], ["s3"]], ["s1", "s2", "s3"])
    assert worker.select(batch, state, Clock()) == joined(3)


# ---------------------------------------------------------------------------------------------
# Errors, through the Lambda entry point


def select_event(selection: dict[str, Any], state: dict[str, Any] | None = None) -> worker.WorkerEvent:
    return {"action": "select", "batch": batch_input(selection=selection), "state": state or {}}


@pytest.mark.parametrize(
    ("code", "http_status", "message"),
    [
        ("ThrottlingException", 429, "Rate exceeded"),
        ("InternalServerException", 500, "Internal error"),
        ("ServiceUnavailableException", 503, "unavailable"),
    ],
)
def test_a_transient_datazone_error_is_raised_as_transient_error(
    stubbed: Stubber, code: str, http_status: int, message: str
) -> None:
    stubbed.add_client_error(
        "list_data_source_runs",
        service_error_code=code,
        service_message=message,
        http_status_code=http_status,
        expected_params=list_runs_params(),
    )
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(select_event(DATA_SOURCE), Clock())
    assert str(caught.value) == f"{code}: {message}"
    assert isinstance(caught.value.__cause__, ClientError)


def test_a_dropped_connection_is_raised_as_transient_error(stubbed: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://datazone.us-east-1.api.aws")

    monkeypatch.setattr(stubbed.client, "search", unreachable)
    with pytest.raises(worker.TransientError) as caught:
        worker.handler(select_event(SEARCH), Clock())
    assert str(caught.value) == (
        'EndpointConnectionError: Could not connect to the endpoint URL: "https://datazone.us-east-1.api.aws"'
    )


def test_access_denied_is_raised_as_it_is(stubbed: Stubber) -> None:
    stubbed.add_client_error(
        "search",
        service_error_code="AccessDeniedException",
        service_message="not a member of the project",
        http_status_code=403,
        expected_params=search_params(),
    )
    with pytest.raises(ClientError) as caught:
        worker.handler(select_event(SEARCH), Clock())
    assert not isinstance(caught.value, worker.TransientError)
    assert caught.value.response["Error"] == {"Code": "AccessDeniedException", "Message": "not a member of the project"}


def test_a_part_that_cannot_be_written_is_raised_as_it_is(stubbed: Stubber, s3: Stubber) -> None:
    stubbed.add_response("search", {"items": [search_asset("s1")]}, search_params())
    s3.add_client_error(
        "put_object", service_error_code="AccessDenied", service_message="Access Denied", http_status_code=403
    )
    with pytest.raises(ClientError, match=r"AccessDenied"):
        worker.handler(select_event(SEARCH), Clock())


def test_the_handler_returns_the_steps_state(stubbed: Stubber) -> None:
    stubbed.add_response("list_data_source_runs", {"items": []}, list_runs_params())
    event = select_event(DATA_SOURCE, {"waitedSeconds": 30})
    assert worker.handler(event, Clock()) == {"waitedSeconds": 60, "done": False, "waitSeconds": 30}
    assert event["state"] == {"waitedSeconds": 30}  # the event's own state is left as it was


def test_an_unknown_action_fails_naming_it() -> None:
    event: Any = {"action": "dance", "batch": batch_input(), "state": {}}
    with pytest.raises(ValueError, match=r"^unknown worker action 'dance': must be select, summarize, cancel or turn$"):
        worker.handler(event, Clock())


@pytest.mark.parametrize(
    "token",
    [
        # The local endpoint's tokens are base64 JSON objects, as botocore's own StartingTokens
        # are: handed over raw, botocore would send the object's keys as parameters.
        base64.b64encode(json.dumps({"o": 50, "d": DOMAIN_ID}).encode()).decode(),
        # botocore's pre-1.0 token format splits on "___": a service's token may hold it too.
        "page___2",
    ],
)
def test_a_resumed_step_sends_the_services_token_as_it_came(stubbed: Stubber, s3: Stubber, token: str) -> None:
    stubbed.add_response("search", {"items": [search_asset("s2")]}, search_params(None, token))
    expect_part(s3, 2, ["s2"])
    state = {"parts": 1, "found": 1, "listed": 1, "nextToken": token, "paged": False}
    assert worker.select(batch_input(selection=SEARCH), state, Clock()) == {
        **state,
        "parts": 2,
        "found": 2,
        "listed": 2,
        "nextToken": None,
        "paged": True,
        "done": False,
        "waitSeconds": 0,
    }
