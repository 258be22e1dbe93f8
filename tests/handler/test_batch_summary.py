"""Where the batch's summary is, and the counts the handler takes from the execution's output.

The workflow's worker writes ``summary.json`` (tests/handler/test_worker_summary.py); the
handler only names it, ``s3://<results bucket>/batches/<LogicalResourceId>/<execution>/summary.json``,
known before the execution starts, and reads the counts the workflow's Done state left in the
output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.metadata_generation_run import batch, common
from tests.handler.helpers import (
    BATCH_LOGICAL_ID,
    EXECUTION_NAME,
    RESULTS_BUCKET,
    FakeContext,
    batch_event,
    batch_pid,
    batch_props,
    execution_arn_of,
    summary_url,
)


@pytest.mark.parametrize(
    ("logical_id", "name"),
    [(BATCH_LOGICAL_ID, EXECUTION_NAME), ("Other1234", "mgb-" + "0" * 32)],
)
def test_the_summary_location_is_the_executions_prefix_in_the_results_bucket(logical_id: str, name: str) -> None:
    spec = batch.parse_properties(batch_props(ResultsBucket="bucket-x"))
    event: Any = {**batch_event(), "LogicalResourceId": logical_id}
    assert batch.summary_location(spec, event, name) == f"s3://bucket-x/batches/{logical_id}/{name}/summary.json"
    assert batch.results_prefix(event, name) == f"batches/{logical_id}/{name}"


def test_the_helpers_summary_url_is_the_handlers() -> None:
    spec = batch.parse_properties(batch_props())
    assert batch.summary_location(spec, batch_event(), EXECUTION_NAME) == summary_url()
    assert summary_url() == f"s3://{RESULTS_BUCKET}/batches/{BATCH_LOGICAL_ID}/{EXECUTION_NAME}/summary.json"


@pytest.mark.parametrize(
    ("physical_id", "status", "succeeded", "failed"),
    [
        (batch_pid(status="SUCCEEDED", counts="7.1"), "SUCCEEDED", "7", "1"),
        (batch_pid(status="RUNNING"), "RUNNING", "UNKNOWN", "UNKNOWN"),
        (batch_pid(), "UNKNOWN", "UNKNOWN", "UNKNOWN"),
    ],
)
def test_a_kept_batch_names_its_own_summary(
    context: FakeContext, physical_id: str, status: str, succeeded: str, failed: str
) -> None:
    # A settings-only Update or a rollback keeps the batch: its summary is where its execution
    # wrote it, named from the kept id (not from this request).
    event = batch_event("Update", physical_id=physical_id, data={}, request_id="later-request")
    assert batch.is_complete(event, context) == {
        "IsComplete": True,
        "Data": {
            "ExecutionArn": execution_arn_of(),
            "Status": status,
            "SucceededCount": succeeded,
            "FailedCount": failed,
            "Summary": summary_url(),
        },
    }


def test_the_outputs_summary_is_returned_as_it_is() -> None:
    summary = {"total": 3, "succeeded": 2, "failed": 1, "location": summary_url()}
    execution = {"output": json.dumps({"mapRunArn": "m", "summary": summary})}
    assert batch._output_summary(execution) == summary


@pytest.mark.parametrize("output", [None, "", "[]", "{", json.dumps({"summary": {"succeeded": 1}})])
def test_an_output_without_counts_fails_saying_what_it_was(output: str | None) -> None:
    execution: dict[str, Any] = {} if output is None else {"output": output}
    with pytest.raises(common.RunError) as caught:
        batch._output_summary(execution)
    assert str(caught.value) == f"the execution's output has no summary counts: {output!r}"
