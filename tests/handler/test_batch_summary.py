"""Where the batch finds its results: the execution's output names the manifest; a missing one is
a clear failure, and a manifest without a bucket is read from the batch's results bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from lambda_src.metadata_generation_run import batch, index
from tests.handler.helpers import RESULTS_BUCKET, JsonOf, batch_props, s3_body


@pytest.mark.parametrize("output", [None, "[]", json.dumps({"results": {"Bucket": "b"}}), json.dumps({"other": 1})])
def test_an_output_without_a_results_manifest_fails_saying_what_it_was(output: str | None) -> None:
    spec = batch.parse_properties(batch_props())
    execution: dict[str, Any] = {} if output is None else {"output": output}
    with pytest.raises(index.RunError) as caught:
        batch._summarize(spec, execution, "batches/x")
    assert str(caught.value) == f"the execution's output names no results manifest: {output!r}"


def test_a_manifest_without_a_bucket_is_read_from_the_results_bucket(s3: Stubber) -> None:
    spec = batch.parse_properties(batch_props())
    s3.add_response(
        "get_object", s3_body({"ResultFiles": {}}), {"Bucket": RESULTS_BUCKET, "Key": "results/m1/manifest.json"}
    )
    summary = {"executionArn": "arn:x", "total": 0, "succeeded": 0, "failed": 0, "counts": {}, "failures": []}
    s3.add_response(
        "put_object",
        {},
        {
            "Bucket": RESULTS_BUCKET,
            "Key": "batches/x/summary.json",
            "Body": JsonOf(summary),
            "ContentType": "application/json",
        },
    )
    execution = {"executionArn": "arn:x", "output": json.dumps({"results": {"Key": "results/m1/manifest.json"}})}
    assert batch._summarize(spec, execution, "batches/x") == (summary, f"s3://{RESULTS_BUCKET}/batches/x/summary.json")
