"""The batch workflow's worker, ``summarize``: the map's results into summary.json.

The ResultWriter manifest names the result files; each record is one asset's outcome (or a
child execution that failed itself). The counts per status, every failure with its reason, and
whether the failure tolerance was exceeded (failed * 100 / total > tolerance) go to summary.json
and the returned state; the message names the first five failures and fits
contract.BATCH_FAILURE_MESSAGE_MAX. A step stops when the time left drops below RESERVE_SECONDS
and the next one resumes at its record cursor. The S3 helpers stream: iter_json_array decodes an
array chunk by chunk, write_json_array switches to a multipart upload past UPLOAD_PART_BYTES.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from lambda_src.metadata_generation_run import common, contract, worker
from tests.handler.helpers import (
    PROJECT_ID,
    RESULTS_BUCKET,
    STATE_MACHINE_ARN,
    JsonOf,
    batch_input,
    batch_prefix,
    execution_arn_of,
    s3_body,
)
from tests.handler.helpers import (
    WorkerContext as Clock,
)

PREFIX = batch_prefix()
SUMMARY_KEY = f"{PREFIX}/summary.json"
SUMMARY_URL = f"s3://{RESULTS_BUCKET}/{SUMMARY_KEY}"
MANIFEST_KEY = "results/m1/manifest.json"
RESULTS = {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY}


def child(record: dict[str, Any] | None, *, status: str = "SUCCEEDED", **extra: str) -> dict[str, Any]:
    """One entry of a ResultWriter result file: a child execution of the map, for one asset."""
    asset = (record or {}).get("assetId", extra.pop("asset", "a?"))
    entry: dict[str, Any] = {
        "ExecutionArn": f"{execution_arn_of()}/{asset}",
        "Input": json.dumps({"assetId": asset, "domainId": "dzd_abc123", "projectId": PROJECT_ID}),
        "InputDetails": {"Included": True},
        "Name": asset,
        "Status": status,
        "StateMachineArn": STATE_MACHINE_ARN,
        **extra,
    }
    if record is not None:
        entry["Output"] = json.dumps(record)
    return entry


def ok(asset: str, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"assetId": asset, "runId": f"run_{asset}", "status": status}


def run_failed(asset: str, message: str, status: str = "FAILED") -> dict[str, Any]:
    stats = [{"Type": "BUSINESS_DESCRIPTIONS", "Status": status, "ErrorMessage": message}]
    return {"assetId": asset, "runId": f"run_{asset}", "status": status, "run": {"Status": status, "TypeStats": stats}}


def expect_results(s3: Stubber, files: dict[str, list[list[dict[str, Any]]]]) -> None:
    """The manifest (files per kind), then each file, in the worker's order (kinds sorted)."""
    listed = {
        kind: [{"Key": f"results/m1/{kind}_{n}.json", "Size": 100} for n in range(len(entries))]
        for kind, entries in files.items()
    }
    manifest = {"DestinationBucket": RESULTS_BUCKET, "MapRunArn": "arn:m", "ResultFiles": listed}
    s3.add_response("get_object", s3_body(manifest), {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY})
    for kind in sorted(files):
        for n, entries in enumerate(files[kind]):
            s3.add_response(
                "get_object", s3_body(entries), {"Bucket": RESULTS_BUCKET, "Key": f"results/m1/{kind}_{n}.json"}
            )


def expect_failures_part(s3: Stubber, number: int, failures: list[dict[str, Any]]) -> None:
    key = f"{PREFIX}/failures/part-{number:05d}.json"
    s3.add_response(
        "put_object",
        {},
        {"Bucket": RESULTS_BUCKET, "Key": key, "Body": JsonOf(failures), "ContentType": "application/json"},
    )


def expect_summary(s3: Stubber, summary: dict[str, Any], parts: list[list[dict[str, Any]]]) -> None:
    """The failure parts read back, then summary.json written."""
    for number, failures in enumerate(parts, start=1):
        key = f"{PREFIX}/failures/part-{number:05d}.json"
        s3.add_response("get_object", s3_body(failures), {"Bucket": RESULTS_BUCKET, "Key": key})
    s3.add_response(
        "put_object",
        {},
        {"Bucket": RESULTS_BUCKET, "Key": SUMMARY_KEY, "Body": JsonOf(summary), "ContentType": "application/json"},
    )


def summary_of(counts: dict[str, int], failures: list[dict[str, Any]], tolerance: float = 0.0) -> dict[str, Any]:
    total = sum(counts.values())
    succeeded = counts.get("SUCCEEDED", 0) + counts.get("PARTIALLY_SUCCEEDED", 0)
    return {
        "executionArn": execution_arn_of(),
        "total": total,
        "succeeded": succeeded,
        "failed": total - succeeded,
        "counts": counts,
        "failureTolerancePercent": tolerance,
        "failures": failures,
    }


def done(total: int, succeeded: int, *, exceeded: bool = False, message: str = "") -> dict[str, Any]:
    return {
        "done": True,
        "total": total,
        "succeeded": succeeded,
        "failed": total - succeeded,
        "location": SUMMARY_URL,
        "exceeded": exceeded,
        "message": message,
    }


# ---------------------------------------------------------------------------------------------
# Counts, failures and reasons


def test_all_succeeded(s3: Stubber) -> None:
    records = [ok("a1"), ok("a2", "PARTIALLY_SUCCEEDED"), {**ok("a3"), "revision": "4"}]
    expect_results(s3, {"SUCCEEDED": [[child(r) for r in records]]})
    expect_summary(s3, summary_of({"PARTIALLY_SUCCEEDED": 1, "SUCCEEDED": 2}, []), [])
    assert worker.summarize(batch_input(), RESULTS, {}, Clock()) == done(3, 3)


def test_counts_every_status_and_writes_each_failure_with_its_reason(s3: Stubber) -> None:
    records = [
        ok("a1"),
        ok("a2", "PARTIALLY_SUCCEEDED"),
        run_failed("a3", "the model refused"),
        {"assetId": "a4", "runId": "run_a4", "lastStatus": "IN_PROGRESS", "status": "TIMED_OUT"},
        {"assetId": "a5", "error": "DataZone.AccessDeniedException", "cause": "not a member", "status": "START_FAILED"},
        {"assetId": "a6", "runId": "run_a6", "status": "CANCELED", "run": {"Status": "CANCELED"}},
    ]
    crashed = child(None, status="FAILED", asset="a7", Error="States.Runtime", Cause="boom")
    # Files of two kinds, the SUCCEEDED kind in two files: read FAILED first (kinds sorted).
    expect_results(
        s3, {"SUCCEEDED": [[child(r) for r in records[:3]], [child(r) for r in records[3:]]], "FAILED": [[crashed]]}
    )
    failures = [
        {"assetId": "a7", "status": "EXECUTION_FAILED", "reason": "States.Runtime: boom"},
        {**records[2], "reason": "BUSINESS_DESCRIPTIONS: the model refused"},
        {**records[3], "reason": "last status IN_PROGRESS"},
        {**records[4], "reason": "DataZone.AccessDeniedException: not a member"},
        {**records[5], "reason": "the service gave no error message"},
    ]
    counts = {
        "CANCELED": 1,
        "EXECUTION_FAILED": 1,
        "FAILED": 1,
        "PARTIALLY_SUCCEEDED": 1,
        "START_FAILED": 1,
        "SUCCEEDED": 1,
        "TIMED_OUT": 1,
    }
    expect_failures_part(s3, 1, failures)
    expect_summary(s3, summary_of(counts, failures, 100.0), [failures])
    batch = batch_input(failure_tolerance=100.0)
    assert worker.summarize(batch, RESULTS, {}, Clock()) == done(7, 2)


def test_an_empty_batch(s3: Stubber) -> None:
    s3.add_response(
        "get_object",
        s3_body({"ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []}}),
        {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY},
    )
    expect_summary(s3, summary_of({}, []), [])
    # Nothing failed of nothing: never exceeded, even at tolerance 0.
    assert worker.summarize(batch_input(), RESULTS, {}, Clock()) == done(0, 0)


def test_a_manifest_without_a_bucket_is_read_from_the_results_bucket(s3: Stubber) -> None:
    s3.add_response("get_object", s3_body({}), {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY})
    expect_summary(s3, summary_of({}, []), [])
    assert worker.summarize(batch_input(), {"Key": MANIFEST_KEY}, {}, Clock()) == done(0, 0)


def test_a_manifest_in_another_bucket_is_read_there_and_the_summary_still_goes_to_the_results_bucket(
    s3: Stubber,
) -> None:
    s3.add_response("get_object", s3_body({"ResultFiles": {}}), {"Bucket": "other", "Key": MANIFEST_KEY})
    expect_summary(s3, summary_of({}, []), [])
    assert worker.summarize(batch_input(), {"Bucket": "other", "Key": MANIFEST_KEY}, {}, Clock()) == done(0, 0)


@pytest.mark.parametrize("results", [{}, {"Bucket": RESULTS_BUCKET}, {"Bucket": RESULTS_BUCKET, "Key": ""}])
def test_a_missing_manifest_key_raises(results: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="names no results manifest") as caught:
        worker.summarize(batch_input(), results, {}, Clock())
    assert str(caught.value) == f"the map's output names no results manifest: {results!r}"


def test_records_of_child_executions_that_failed_themselves(s3: Stubber) -> None:
    timed_out = child(None, status="TIMED_OUT", asset="a1", Error="States.Timeout", Cause="")
    aborted = {"Input": "{", "Status": "ABORTED"}
    expect_results(s3, {"FAILED": [[timed_out]], "ABORTED": [[aborted]], "SUCCEEDED": [[child(ok("a3"))]]})
    failures: list[dict[str, Any]] = [
        {"assetId": None, "status": "EXECUTION_ABORTED", "reason": ": "},
        {"assetId": "a1", "status": "EXECUTION_TIMED_OUT", "reason": "States.Timeout: "},
    ]
    expect_failures_part(s3, 1, failures)
    counts = {"EXECUTION_ABORTED": 1, "EXECUTION_TIMED_OUT": 1, "SUCCEEDED": 1}
    expect_summary(s3, summary_of(counts, failures, 70.0), [failures])
    assert worker.summarize(batch_input(failure_tolerance=70.0), RESULTS, {}, Clock()) == done(3, 1)


# ---------------------------------------------------------------------------------------------
# The failure tolerance


@pytest.mark.parametrize(
    ("tolerance", "failed", "total", "exceeded"),
    [
        (25.0, 1, 4, False),  # exactly at the tolerance
        (24.9, 1, 4, True),
        (10.0, 1, 10, False),
        (0.0, 1, 10, True),
        (0.0, 0, 10, False),
        (50.0, 2, 4, False),
        (50.0, 3, 4, True),
        (100.0, 4, 4, False),
    ],
)
def test_failure_tolerance_boundary(s3: Stubber, tolerance: float, failed: int, total: int, exceeded: bool) -> None:
    records = [run_failed(f"f{n}", "no luck") for n in range(failed)] + [ok(f"s{n}") for n in range(total - failed)]
    expect_results(s3, {"SUCCEEDED": [[child(r) for r in records]]})
    counts = {k: v for k, v in (("FAILED", failed), ("SUCCEEDED", total - failed)) if v}
    failures = [{**r, "reason": "BUSINESS_DESCRIPTIONS: no luck"} for r in records[:failed]]
    if failures:
        expect_failures_part(s3, 1, failures)
    expect_summary(s3, summary_of(counts, failures, tolerance), [failures] if failures else [])
    message = ""
    if exceeded:
        message = (
            f"{failed} of {total} assets failed (failure_tolerance {tolerance:g} %; summary {SUMMARY_URL}): "
            + "; ".join(f"f{n} FAILED: BUSINESS_DESCRIPTIONS: no luck" for n in range(failed))
        )
    state = worker.summarize(batch_input(failure_tolerance=tolerance), RESULTS, {}, Clock())
    assert state == done(total, total - failed, exceeded=exceeded, message=message)


def test_the_message_names_the_first_five_failures_with_their_reasons(s3: Stubber) -> None:
    records = [
        run_failed("a1", "model refused"),
        {"assetId": "a2", "runId": "run_a2", "lastStatus": "SUBMITTED", "status": "TIMED_OUT"},
        {"assetId": "a3", "error": "DataZone.ValidationException", "cause": "bad asset", "status": "START_FAILED"},
        {"assetId": "a4", "runId": "r4", "error": "States.Timeout", "cause": "poll", "status": "POLL_FAILED"},
        run_failed("a5", "quota", status="CANCELED"),
        run_failed("a6", "sixth is not shown"),
        ok("a7"),
    ]
    expect_results(s3, {"SUCCEEDED": [[child(r) for r in records]]})
    reasons = [
        "BUSINESS_DESCRIPTIONS: model refused",
        "last status SUBMITTED",
        "DataZone.ValidationException: bad asset",
        "States.Timeout: poll",
        "BUSINESS_DESCRIPTIONS: quota",
        "BUSINESS_DESCRIPTIONS: sixth is not shown",
    ]
    failures = [{**r, "reason": reason} for r, reason in zip(records[:6], reasons, strict=True)]
    counts = {"CANCELED": 1, "FAILED": 2, "POLL_FAILED": 1, "START_FAILED": 1, "SUCCEEDED": 1, "TIMED_OUT": 1}
    expect_failures_part(s3, 1, failures)
    expect_summary(s3, summary_of(counts, failures, 50.0), [failures])
    state = worker.summarize(batch_input(failure_tolerance=50.0), RESULTS, {}, Clock())
    assert state == done(
        7,
        1,
        exceeded=True,
        message=(
            f"6 of 7 assets failed (failure_tolerance 50 %; summary {SUMMARY_URL}): a1 FAILED: BUSINESS_DESCRIPTIONS: "
            "model refused; a2 TIMED_OUT: last status SUBMITTED; a3 START_FAILED: DataZone.ValidationException: bad "
            "asset; a4 POLL_FAILED: States.Timeout: poll; a5 CANCELED: BUSINESS_DESCRIPTIONS: quota"
        ),
    )


def test_the_message_fits_the_batch_failure_limit(s3: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reasons the service wrote: long, with control characters, quotes and characters outside the BMP.
    huge = ('\u0001"\\ \U0001f600 \u2028 ' * 2000)[:9000]
    records = [run_failed(f"asset-{n:03d}", huge) for n in range(8)]
    expect_results(s3, {"SUCCEEDED": [[child(r) for r in records]]})
    s3.add_response("put_object", {}, None)  # the failures part
    failures = [{**r, "reason": f"BUSINESS_DESCRIPTIONS: {huge}"} for r in records]
    s3.add_response("get_object", s3_body(failures), None)
    s3.add_response("put_object", {}, None)  # summary.json
    state = worker.summarize(batch_input(), RESULTS, {}, Clock())
    message = state["message"]
    assert message.startswith(
        f"8 of 8 assets failed (failure_tolerance 0 %; summary {SUMMARY_URL}): "
        "asset-000 FAILED: BUSINESS_DESCRIPTIONS: "
    )
    assert message.endswith("...")
    assert len(json.dumps(message)) - 2 <= contract.BATCH_FAILURE_MESSAGE_MAX == 900
    assert "\u0001" not in message
    assert (state["exceeded"], state["failed"], state["total"]) == (True, 8, 8)


# ---------------------------------------------------------------------------------------------
# Resuming across invocations (moto: the state files are written and read back for real)


@pytest.fixture
def real_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=RESULTS_BUCKET)
        monkeypatch.setitem(common._clients, "s3", client)
        yield client


def put_json(client: Any, key: str, value: Any) -> None:
    client.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=json.dumps(value).encode())


def read_json(client: Any, key: str) -> Any:
    return json.loads(client.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())


@pytest.mark.parametrize("per_part", [1, 2, 10_000])
@pytest.mark.parametrize("records_per_step", [1, 2, 3, 7])
def test_resuming_when_time_runs_low_counts_every_record_once(
    real_s3: Any, monkeypatch: pytest.MonkeyPatch, records_per_step: int, per_part: int
) -> None:
    monkeypatch.setattr(worker, "FAILURES_PER_PART", per_part)
    # 3 files of 7, 0 and 5 records: every third record failed (CANCELED or FAILED).
    outcomes = [ok(f"x{n:02d}") for n in range(12)]
    failures = []
    for n in range(0, 12, 3):
        outcomes[n] = run_failed(f"x{n:02d}", f"reason {n}", status="FAILED" if n % 2 else "CANCELED")
        failures.append({**outcomes[n], "reason": f"BUSINESS_DESCRIPTIONS: reason {n}"})
    listed = {"SUCCEEDED": [{"Key": f"results/m1/S_{n}.json"} for n in range(3)]}
    put_json(real_s3, MANIFEST_KEY, {"ResultFiles": listed})
    for n, entries in enumerate([outcomes[:7], [], outcomes[7:]]):
        put_json(real_s3, f"results/m1/S_{n}.json", [child(r) for r in entries])
    batch = batch_input(failure_tolerance=50.0)
    state: dict[str, Any] = {}
    steps = 0
    while not state.get("done"):
        # One time check a record while it goes on: records_per_step records, then below the reserve.
        clock = Clock(left_ms=[170_000] * (records_per_step - 1) + [74_999])
        state = worker.summarize(batch, RESULTS, json.loads(json.dumps(state)), clock)  # through JSON, as in SFN
        steps += 1
        assert steps <= 13
        if not state["done"]:
            assert sum(state["counts"].values()) == min(12, steps * records_per_step)
    assert state == done(12, 8)
    # A step that ends on the last record still stops (the time check comes after it): one more.
    assert steps == -(-12 // records_per_step) + (12 % records_per_step == 0)
    assert read_json(real_s3, SUMMARY_KEY) == summary_of({"CANCELED": 2, "FAILED": 2, "SUCCEEDED": 8}, failures, 50.0)


def test_the_state_between_steps_carries_the_cursor_counts_and_the_failures_shown(
    s3: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [run_failed("a1", "no"), ok("a2"), run_failed("a3", "nope")]
    expect_results(s3, {"SUCCEEDED": [[child(r) for r in records]]})
    expect_failures_part(s3, 1, [{**records[0], "reason": "BUSINESS_DESCRIPTIONS: no"}])
    # One time check a record while there is time: the second record's finds it low.
    state = worker.summarize(batch_input(), RESULTS, {}, Clock(left_ms=[170_000, 74_999]))
    # The byte just after the second record: the next step reads on from there (a ranged GET).
    body = json.dumps([child(r) for r in records]).encode()
    after_second = len(json.dumps([child(r) for r in records[:2]]).encode()) - 1
    assert body[after_second : after_second + 2] == b", "
    assert state == {
        "done": False,
        "file": 0,
        "offset": after_second,
        "counts": {"FAILED": 1, "SUCCEEDED": 1},
        "shown": [{"assetId": "a1", "status": "FAILED", "reason": "BUSINESS_DESCRIPTIONS: no"}],
        "parts": 1,
    }


# ---------------------------------------------------------------------------------------------
# iter_json_array: a streamed body, any chunking


class ChunkedBody:
    """A GetObject body that answers each read with the next of ``chunks``, whatever was asked."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0

    def read(self, amount: int | None = None) -> bytes:
        self.reads += 1
        return self.chunks.pop(0) if self.chunks else b""


def read_array(s3: Stubber, chunks: list[bytes]) -> list[Any]:
    s3.add_response("get_object", {"Body": ChunkedBody(chunks)}, {"Bucket": RESULTS_BUCKET, "Key": "k.json"})
    return list(worker.iter_json_array(RESULTS_BUCKET, "k.json"))


#: A top-level number with a point or exponent is left out: see the xfail below.
DOCUMENT = [{"assetId": "é😀", "n": 12345, "f": -2.5e3, "s": 'a, b ] [ "q"'}, 6789, "ü", [], {}, True, None, -17]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 10_000])
def test_any_chunk_size_decodes_the_same_array(s3: Stubber, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(worker, "READ_CHUNK_BYTES", size)
    body = json.dumps(DOCUMENT, ensure_ascii=False, indent=1).encode()
    s3.add_response("get_object", s3_body_raw(body), {"Bucket": RESULTS_BUCKET, "Key": "k.json"})
    assert list(worker.iter_json_array(RESULTS_BUCKET, "k.json")) == DOCUMENT


def s3_body_raw(data: bytes) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentLength": len(data)}


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # A two-byte and a four-byte UTF-8 character split across chunks.
        ([b'["\xc3', b'\xa9", "\xf0\x9f', b"\x98", b'\x80"]'], ["é", "😀"]),
        # A number at a chunk boundary goes on in the next chunk.
        ([b"[12", b"34, 5", b"6]"], [1234, 56]),
        ([b"[1", b"]"], [1]),
        ([b"[tr", b"ue, nu", b"ll]"], [True, None]),
        ([b'[{"a": ', b'[1, 2]}, "x', b'y"]'], [{"a": [1, 2]}, "xy"]),
        ([b"  [ ", b" ] "], []),
    ],
)
def test_a_body_split_in_arbitrary_chunks(s3: Stubber, chunks: list[bytes], expected: list[Any]) -> None:
    assert read_array(s3, chunks) == expected


def test_an_empty_read_is_the_end_of_the_body(s3: Stubber) -> None:
    with pytest.raises(ValueError, match="ends before") as caught:
        read_array(s3, [b"[7, ", b"", b"8]"])
    assert str(caught.value) == f"s3://{RESULTS_BUCKET}/k.json ends before its JSON array does"


@pytest.mark.parametrize("chunks", [[b"[1.", b"5]"], [b"[1e", b"3]"], [b"[-", b"4, 5]"]])
def test_a_number_split_after_its_point_or_exponent(s3: Stubber, chunks: list[bytes]) -> None:
    assert read_array(s3, chunks) == json.loads(b"".join(chunks))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"a": 1}', "s3://demo-batchresults-0123456789ab/k.json is not a JSON array"),
        (b"[1, 2", "ends before"),
        (b"[1 2]", "unexpected '2]' after an element"),
    ],
)
def test_a_body_that_is_not_an_array_raises_naming_it(s3: Stubber, body: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error.replace(".", r"\.")):
        read_array(s3, [body])


# ---------------------------------------------------------------------------------------------
# write_json_array: one PUT, or a multipart upload past UPLOAD_PART_BYTES


def test_a_small_array_is_one_put(s3: Stubber) -> None:
    s3.add_response(
        "put_object",
        {},
        {"Bucket": "b", "Key": "k", "Body": b'["a","b"]', "ContentType": "application/json"},
    )
    assert worker.write_json_array("b", "k", iter([b'"a"', b'"b"'])) == 2


def test_past_upload_part_bytes_the_array_goes_up_in_parts(s3: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "UPLOAD_PART_BYTES", 8)
    s3.add_response(
        "create_multipart_upload",
        {"Bucket": "b", "Key": "k", "UploadId": "up-1"},
        {"Bucket": "b", "Key": "k", "ContentType": "application/json"},
    )
    # Each part is flushed once it holds 8 bytes or more; the separator starts the next part.
    bodies = [b'{"h": ["aaaa"', b',"bbbbbb"', b',"c"]}']
    for number, body in enumerate(bodies, start=1):
        s3.add_response(
            "upload_part",
            {"ETag": f'"etag-{number}"'},
            {"Bucket": "b", "Key": "k", "UploadId": "up-1", "PartNumber": number, "Body": body},
        )
    s3.add_response(
        "complete_multipart_upload",
        {},
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "up-1",
            "MultipartUpload": {
                "Parts": [{"ETag": f'"etag-{n}"', "PartNumber": n} for n in (1, 2, 3)],
            },
        },
    )
    count = worker.write_json_array("b", "k", iter([b'"aaaa"', b'"bbbbbb"', b'"c"']), opening=b'{"h": [', closing=b"]}")
    assert count == 3
    assert json.loads(b"".join(bodies)) == {"h": ["aaaa", "bbbbbb", "c"]}


def test_a_multipart_upload_whose_last_flush_ends_the_elements_closes_with_a_small_part(
    s3: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "UPLOAD_PART_BYTES", 4)
    s3.add_response("create_multipart_upload", {"UploadId": "up-2"}, None)
    s3.add_response(
        "upload_part",
        {"ETag": "e1"},
        {"Bucket": "b", "Key": "k", "UploadId": "up-2", "PartNumber": 1, "Body": b'["xy"'},
    )
    s3.add_response(
        "upload_part", {"ETag": "e2"}, {"Bucket": "b", "Key": "k", "UploadId": "up-2", "PartNumber": 2, "Body": b"]"}
    )
    s3.add_response(
        "complete_multipart_upload",
        {},
        {
            "Bucket": "b",
            "Key": "k",
            "UploadId": "up-2",
            "MultipartUpload": {"Parts": [{"ETag": "e1", "PartNumber": 1}, {"ETag": "e2", "PartNumber": 2}]},
        },
    )
    assert worker.write_json_array("b", "k", iter([b'"xy"'])) == 1


def test_items_json_of_a_big_selection_goes_up_in_parts_and_reads_back(
    real_s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto keeps S3's 5 MiB minimum for all but the last part: the real part size, real data.
    ids = [f"asset-{n:07d}" for n in range(600_000)]  # 9.6 MB as JSON
    count = worker.write_json_array(RESULTS_BUCKET, "big.json", (json.dumps(i).encode() for i in ids))
    assert count == len(ids)
    assert read_json(real_s3, "big.json") == ids
    monkeypatch.setattr(worker, "READ_CHUNK_BYTES", 1 << 20)
    assert list(worker.iter_json_array(RESULTS_BUCKET, "big.json"))[-3:] == ids[-3:]


def test_a_resumed_step_reads_on_from_its_byte_offset_and_never_rereads(s3: Stubber) -> None:
    # A step that resumes asks for the bytes after the last record counted (a million records
    # in one file are then read once in all, not once per step).
    records = [run_failed("a1", "no"), ok("a2"), ok("a3")]
    body = json.dumps([child(r) for r in records]).encode()
    after_first = len(json.dumps([child(records[0])]).encode()) - 1
    listed = {"SUCCEEDED": [{"Key": "results/m1/SUCCEEDED_0.json", "Size": len(body)}]}
    manifest = {"DestinationBucket": RESULTS_BUCKET, "MapRunArn": "arn:m", "ResultFiles": listed}
    s3.add_response("get_object", s3_body(manifest), {"Bucket": RESULTS_BUCKET, "Key": MANIFEST_KEY})
    rest = body[after_first:]
    s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(rest), len(rest)), "ContentLength": len(rest)},
        {"Bucket": RESULTS_BUCKET, "Key": "results/m1/SUCCEEDED_0.json", "Range": f"bytes={after_first}-"},
    )
    # The first record (a failure) was counted by the step before; its part is not re-read here.
    expect_summary(s3, summary_of({"FAILED": 1, "SUCCEEDED": 2}, []), [])
    state = {"file": 0, "offset": after_first, "counts": {"FAILED": 1}, "shown": [], "parts": 0}
    done = worker.summarize(batch_input(), RESULTS, state, Clock())
    assert (done["total"], done["succeeded"], done["failed"]) == (3, 2, 1)
