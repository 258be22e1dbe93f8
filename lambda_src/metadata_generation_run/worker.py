"""The batch workflow's own Lambda: the work that grows with the number of assets.

The batch workflow (``constructs_lib/_batch_definition.py``) calls this function in loops, so that
no single invocation does unbounded work (Lambda: 180 s, 512 MB here):

``select``
    Pages through a data source's latest import (``ListDataSourceRunActivities``) or a search of
    the project's inventory (``Search``), one part file of ids per invocation, then joins the parts
    into the ``items.json`` the Distributed Map reads. DataZone allows 1,000,000 assets per domain;
    at 50 a page that is 20,000 pages, spread over as many invocations as it takes.
``summarize``
    Reads the map's ResultWriter files record by record (never a whole file in memory), counts
    each final status, writes every failure to ``summary.json`` beside the counts, and says
    whether the failure tolerance was exceeded (the workflow then fails, with that reason).

Each call takes the state the previous one returned and returns the next; the state stays small
(well under Step Functions' 256 KiB payload): counts, a cursor, and at most a few failures.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from botocore.exceptions import BotoCoreError, ClientError

try:
    from . import common, continuous, contract
except ImportError:  # Lambda loads the entry module top-level, next to this one
    import common  # type: ignore[no-redef, import-not-found]
    import continuous  # type: ignore[no-redef, import-not-found]
    import contract  # type: ignore[no-redef, import-not-found]

#: Stop paging or reading with this much of the invocation left: one DataZone call at its worst
#: (common.CLIENT_CONFIG: 5 attempts x 13 s plus backoff) and the part file's write must still fit.
RESERVE_SECONDS = 75
#: Pages per invocation at most, whatever the time left: bounds a part file (100,000 ids, about
#: 4 MB) and the memory that holds it.
PAGES_PER_CALL = 2000
#: DataZone's page size maximum for ListDataSourceRunActivities and Search.
PAGE_SIZE = 50
#: How long to wait between looks at a data source's run that is still going, and in all.
DATA_SOURCE_WAIT_SECONDS = 30
#: S3 multipart uploads need parts of at least 5 MiB (but the last); 8 MiB keeps memory bounded.
UPLOAD_PART_BYTES = 8 * 1024 * 1024
#: Bytes read per ranged GET while streaming a result file.
READ_CHUNK_BYTES = 1024 * 1024
#: Failures kept in the state (for the workflow's failure message); the rest go to part files.
FAILURES_SHOWN = 5
#: Failures buffered before they are written to a part file.
FAILURES_PER_PART = 10_000

#: How long a cancel waits for the stopped execution to end before it cancels anyway, and how
#: many passes it makes over the markers (a minute apart).
STOP_WAIT_SECONDS = 300
CANCEL_PASSES = 2

ASSET_OK = frozenset({"SUCCEEDED", "PARTIALLY_SUCCEEDED"})
DATA_SOURCE_RUN_WAITING = frozenset({"REQUESTED", "RUNNING"})
DATA_SOURCE_RUN_OK = frozenset({"SUCCESS", "PARTIALLY_SUCCEEDED"})


class SelectionError(RuntimeError):
    """The selection cannot be made (a data source's run failed, or never finished): the
    workflow fails with this message."""


class WorkerEvent(TypedDict):
    action: Literal["select", "summarize", "cancel", "turn"]
    #: The execution's input (``contract.BatchInput``), as the workflow was started with it.
    batch: dict[str, Any]
    state: dict[str, Any]
    #: summarize: the map's ResultWriterDetails (``Bucket``, ``Key`` of its manifest).
    results: NotRequired[dict[str, Any]]


class TransientError(RuntimeError):
    """A call still failing after botocore's own retries with an answer worth asking again
    (throttling, 5xx, a dropped connection): the workflow retries the step with backoff."""


def handler(event: WorkerEvent, context: Any) -> dict[str, Any]:
    action = event.get("action")
    batch = event["batch"]
    state = dict(event.get("state") or {})
    try:
        if action == "select":
            return select(batch, state, context)
        if action == "summarize":
            return summarize(batch, dict(event.get("results") or {}), state, context)
        if action == "cancel":
            return cancel(batch, state, context)
        if action == "turn":
            return continuous.turn(batch, state, context)
    except (ClientError, BotoCoreError) as error:
        if common.is_transient(error):
            raise TransientError(common.describe(error)) from error
        raise
    raise ValueError(f"unknown worker action {action!r}: must be select, summarize, cancel or turn")


def _location(batch: dict[str, Any], name: str) -> tuple[str, str]:
    return str(batch["resultsBucket"]), f"{batch['prefix']}/{name}"


# ---------------------------------------------------------------------------------------------
# select


def select(batch: dict[str, Any], state: dict[str, Any], context: Any) -> dict[str, Any]:
    """One step of choosing the assets; ``done`` with ``items`` once ``items.json`` is written."""
    selection = batch["selection"]
    if state.get("paged"):
        return _join_parts(batch, state)
    if selection.get("RunId") and "runId" not in state:
        state["runId"] = str(selection["RunId"])  # a continuous execution's run, confirmed by its intake
    if selection["Kind"] == "DATA_SOURCE" and "runId" not in state:
        waiting = _data_source_run(batch, state)
        if waiting is not None:
            return waiting
    pages = _selection_pages(batch, state)
    ids: list[str] = []
    listed = int(state.get("listed", 0))
    next_token = state.get("nextToken")
    for count, (page_ids, next_token, on_page) in enumerate(pages, start=1):
        ids.extend(page_ids)
        listed += on_page
        if next_token is None or count >= PAGES_PER_CALL or common.time_left(context) < RESERVE_SECONDS:
            break
    parts = int(state.get("parts", 0))
    if ids:
        parts += 1
        bucket, key = _location(batch, f"selection/part-{parts:05d}.json")
        common.s3().put_object(Bucket=bucket, Key=key, Body=json.dumps(ids).encode(), ContentType="application/json")
    found = int(state.get("found", 0)) + len(ids)
    state = {**state, "parts": parts, "found": found, "listed": listed, "nextToken": next_token}
    state["paged"] = next_token is None
    common.log(logging.INFO, "batch selection page", found=state["found"], parts=parts, more=not state["paged"])
    return {**state, "done": False, "waitSeconds": 0}


def _data_source_run(batch: dict[str, Any], state: dict[str, Any]) -> dict[str, Any] | None:
    """Records the latest run in ``state``; the next state while that run is still going."""
    source = batch["selection"]["DataSourceId"]
    # DataZone lists a data source's runs newest first; the first page (up to 50) holds the
    # latest one whatever the order within it. Older pages are never needed.
    page = common.datazone().list_data_source_runs(
        domainIdentifier=batch["domainId"], dataSourceIdentifier=source, maxResults=PAGE_SIZE
    )
    runs = page.get("items") or []
    waited = int(state.get("waitedSeconds", 0))
    latest = max(runs, key=_created) if runs else None
    if latest is not None and batch.get("continuousPrefix") and state.get("claimed") != latest.get("id"):
        continuous.claim_for_deployment(batch, str(latest["id"]))  # its end's event then starts nothing
        state["claimed"] = str(latest["id"])
    status = str(latest.get("status")) if latest else None
    if latest is None or status in DATA_SOURCE_RUN_WAITING:
        limit = int(batch.get("selectionWaitSeconds", contract.DEFAULT_TIMEOUT_SECONDS))
        if waited >= limit:
            what = "has no run yet" if latest is None else f"run {latest.get('id')} is still {status}"
            raise SelectionError(
                common.fit(
                    f"data source {source} {what} after {waited} s: start its run (or wait for it), then "
                    "deploy again with a new rerun_token"
                )
            )
        return {
            **state,
            "waitedSeconds": waited + DATA_SOURCE_WAIT_SECONDS,
            "done": False,
            "waitSeconds": DATA_SOURCE_WAIT_SECONDS,
        }
    assert latest is not None
    if status not in DATA_SOURCE_RUN_OK:
        error = latest.get("errorMessage") or {}
        message = f"{error.get('errorType', 'no error type')}: {error.get('errorDetail', 'no detail')}"
        raise SelectionError(
            common.fit(f"data source {source}: its latest run {latest.get('id')} ended {status}: {message}")
        )
    state["runId"] = str(latest["id"])
    common.log(logging.INFO, "batch data source run", dataSourceId=source, runId=state["runId"], status=status)
    return None


def _created(run: dict[str, Any]) -> float:
    created = run.get("createdAt")
    return created.timestamp() if isinstance(created, datetime) else float("-inf")


def _selection_pages(batch: dict[str, Any], state: dict[str, Any]) -> Iterator[tuple[list[str], str | None, int]]:
    """Pages of asset ids from where the state left off: (ids, the next page's token or None,
    the items the page listed)."""
    selection = batch["selection"]
    if selection["Kind"] == "DATA_SOURCE":
        operation, params = "list_data_source_run_activities", {"identifier": state["runId"]}
    else:
        operation, params = "search", _search_params(batch)
    listing = common.pages(
        common.datazone(),
        operation,
        page_size=PAGE_SIZE,
        resume={"nextToken": state.get("nextToken")},
        domainIdentifier=batch["domainId"],
        **params,
    )
    for page in listing:
        items = page.get("items") or []
        yield _asset_ids(selection, items), page.get("nextToken") or None, len(items)


def _asset_ids(selection: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    """The ids a page of the selection's listing holds: a data source's imported assets, or the
    search's assets of the wanted types."""
    if selection["Kind"] == "DATA_SOURCE":
        kept = selection.get("AssetStatuses") or contract.IMPORTED_ASSET_STATES
        return [
            str(a["dataAssetId"])
            for a in items
            # A continuous execution keeps only what its run created or updated (AssetStatuses).
            if a.get("dataAssetId") and a.get("dataAssetStatus") in kept
        ]
    wanted = set(selection.get("AssetTypes") or ())
    return [
        str(asset["identifier"])
        for asset in ((item.get("assetItem") or {}) for item in items)
        if asset.get("identifier") and (not wanted or asset.get("typeIdentifier") in wanted)
    ]


def _search_params(batch: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"owningProjectIdentifier": batch["projectId"], "searchScope": "ASSET"}
    if batch["selection"].get("Text"):
        params["searchText"] = batch["selection"]["Text"]
    return params


EMPTY_SELECTION_FIX = (
    "Check the selection (a data source whose import ran, a search that matches the project's assets), "
    "or set allow_empty_selection=True if a batch of none is expected."
)


def _describe_selection(batch: dict[str, Any], state: dict[str, Any]) -> str:
    selection = batch["selection"]
    if selection["Kind"] == "DATA_SOURCE":
        return (
            f"The selection is empty: data source {selection['DataSourceId']}'s latest run {state.get('runId')} "
            f"listed {int(state.get('listed', 0))} activities, none of an asset it created, updated or already had."
        )
    what = [f"text {selection['Text']!r}"] if selection.get("Text") else []
    if selection.get("AssetTypes"):
        what.append(f"asset types {', '.join(selection['AssetTypes'])}")
    matching = f" matching {' and '.join(what)}" if what else ""
    return f"The selection is empty: a search of project {batch['projectId']}'s assets{matching} found none."


def _join_parts(batch: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """``items.json``: the parts' ids, each once, in order (a search may list an asset twice
    when the index changes while it is paged)."""
    bucket, key = _location(batch, "items.json")
    # Every id once: at DataZone's 1,000,000 assets per domain, about 100 MB of strings, within
    # the worker's memory (contract.WORKER_MEMORY_MB).
    seen: set[str] = set()

    def unique_ids() -> Iterator[bytes]:
        for part in range(1, int(state.get("parts", 0)) + 1):
            _, part_key = _location(batch, f"selection/part-{part:05d}.json")
            for asset_id in _read_json(bucket, part_key):
                if asset_id not in seen:
                    seen.add(asset_id)
                    yield json.dumps(asset_id).encode()

    count = write_json_array(bucket, key, unique_ids())
    common.log(logging.INFO, "batch assets selected", kind=batch["selection"]["Kind"], assets=count, key=key)
    if not count and not batch.get("allowEmptySelection"):
        # Almost always a mistake (the wrong data source, its import not run yet): say what was
        # looked at, rather than succeed with nothing done.
        raise SelectionError(common.fit(f"{_describe_selection(batch, state)} {EMPTY_SELECTION_FIX}"))
    return {"done": True, "waitSeconds": 0, "count": count, "items": {"bucket": bucket, "key": key}}


# ---------------------------------------------------------------------------------------------
# summarize


def summarize(batch: dict[str, Any], results: dict[str, Any], state: dict[str, Any], context: Any) -> dict[str, Any]:
    """One step of reading the map's results; ``done`` once ``summary.json`` is written."""
    bucket = str(results.get("Bucket") or batch["resultsBucket"])
    if not results.get("Key"):
        raise ValueError(f"the map's output names no results manifest: {results!r}")
    manifest = _read_json(bucket, str(results["Key"]))
    listed = sorted((manifest.get("ResultFiles") or {}).items())
    files = [(kind, str(entry["Key"])) for kind, entries in listed for entry in entries]
    counts: Counter[str] = Counter(state.get("counts") or {})
    shown: list[dict[str, Any]] = list(state.get("shown") or [])
    failures: list[dict[str, Any]] = []
    parts = int(state.get("parts", 0))
    # Where the previous step stopped: a file, and the byte just after the last record it read
    # (a resumed step reads on from there with a ranged GET, never re-reading what was counted).
    file_index, offset = int(state.get("file", 0)), int(state.get("offset", 0))
    while file_index < len(files):
        kind, key = files[file_index]
        reader = _array_reader(bucket, key, offset)
        for child in reader.elements():
            record = asset_record(kind, child)
            status = str(record.get("status"))
            counts[status] += 1
            if status not in ASSET_OK:
                failures.append(record)
                if len(shown) < FAILURES_SHOWN:
                    shown.append({k: record.get(k) for k in ("assetId", "status", "reason")})
            if len(failures) >= FAILURES_PER_PART or common.time_left(context) < RESERVE_SECONDS:
                parts = _write_failures(batch, parts, failures)
                if common.time_left(context) < RESERVE_SECONDS:
                    return {
                        "done": False,
                        "file": file_index,
                        "offset": reader.offset(),
                        "counts": dict(counts),
                        "shown": shown,
                        "parts": parts,
                    }
        file_index, offset = file_index + 1, 0
    parts = _write_failures(batch, parts, failures)
    return _write_summary(batch, counts, shown, parts)


def _write_failures(batch: dict[str, Any], parts: int, failures: list[dict[str, Any]]) -> int:
    if not failures:
        return parts
    bucket, key = _location(batch, f"failures/part-{parts + 1:05d}.json")
    common.s3().put_object(Bucket=bucket, Key=key, Body=json.dumps(failures).encode(), ContentType="application/json")
    failures.clear()
    return parts + 1


def _write_summary(
    batch: dict[str, Any], counts: Counter[str], shown: list[dict[str, Any]], parts: int
) -> dict[str, Any]:
    total = sum(counts.values())
    succeeded = sum(counts[status] for status in ASSET_OK)
    failed = total - succeeded
    tolerance = float(batch.get("failureTolerance", 0))
    bucket, key = _location(batch, "summary.json")
    location = f"s3://{bucket}/{key}"
    head = {
        "executionArn": batch.get("executionArn"),
        "total": total,
        "succeeded": succeeded,
        "failed": failed,
        "counts": dict(sorted(counts.items())),
        "failureTolerancePercent": tolerance,
    }

    def failures() -> Iterator[bytes]:
        for part in range(1, parts + 1):
            _, part_key = _location(batch, f"failures/part-{part:05d}.json")
            for record in _read_json(bucket, part_key):
                yield json.dumps(record).encode()

    opening = json.dumps(head)[:-1].encode() + b', "failures": ['
    write_json_array(bucket, key, failures(), opening=opening, closing=b"]}")
    exceeded = bool(total) and failed * 100 / total > tolerance
    common.log(logging.INFO, "batch summary", counts=head["counts"], total=total, key=key, exceeded=exceeded)
    message = ""
    if exceeded:
        message = common.fit(
            f"{failed} of {total} assets failed (failure_tolerance {tolerance:g} %; summary {location}): "
            + "; ".join(f"{f.get('assetId')} {f.get('status')}: {f.get('reason', '')}" for f in shown),
            contract.BATCH_FAILURE_MESSAGE_MAX,
        )
    return {
        "done": True,
        "total": total,
        "succeeded": succeeded,
        "failed": failed,
        "location": location,
        "exceeded": exceeded,
        "message": message,
    }


def asset_record(kind: str, child: dict[str, Any]) -> dict[str, Any]:
    """One asset's outcome from a ResultWriter entry (a child execution of the map)."""
    try:
        record = json.loads(child.get("Output") or "null")
    except ValueError:
        record = None
    if kind == "SUCCEEDED" and isinstance(record, dict):
        record.setdefault("reason", reason(record))
        return record
    # A child execution that failed itself (not an asset: those succeed with a record).
    try:
        asset = json.loads(child.get("Input") or "{}").get("assetId")
    except (ValueError, AttributeError):
        asset = None
    return {
        "assetId": asset,
        "status": f"EXECUTION_{child.get('Status', kind)}",
        "reason": f"{child.get('Error', '')}: {child.get('Cause', '')}",
    }


def reason(record: dict[str, Any]) -> str:
    if record.get("status") in ASSET_OK:
        return ""
    run = record.get("run") or {}
    messages = [
        f"{s.get('Type')}: {s.get('ErrorMessage')}" for s in run.get("TypeStats") or [] if s.get("ErrorMessage")
    ]
    if messages:
        return "; ".join(messages)
    if record.get("error"):
        return f"{record.get('error')}: {record.get('cause', '')}"
    if record.get("lastStatus"):
        return f"last status {record['lastStatus']}"
    return "the service gave no error message"


# ---------------------------------------------------------------------------------------------
# cancel


def cancel(batch: dict[str, Any], state: dict[str, Any], context: Any) -> dict[str, Any]:
    """One step of cancelling the runs a stopped execution left in flight: exactly those its
    children marked (``<prefix>/inflight/<asset id>``: empty before Start, the run id after),
    never another batch's, resource's or person's run. At most ``max_concurrency`` markers exist.

    Waits for the stopped execution to end first, then makes two passes a minute apart: a child
    being aborted may still finish a Start it had sent.
    """
    if not state.get("stopped"):
        status = common.stepfunctions().describe_execution(executionArn=batch["target"])["status"]
        waited = int(state.get("waitedSeconds", 0))
        if status == "RUNNING" and waited < STOP_WAIT_SECONDS:
            return {**state, "waitedSeconds": waited + 10, "waitSeconds": 10, "done": False}
        state = {**state, "stopped": True, "pass": 1}
    bucket, prefix = _location(batch, contract.INFLIGHT_FOLDER + "/")
    counts: Counter[str] = Counter(state.get("counts") or {})
    for page in common.pages(common.s3(), "list_objects_v2", page_size=1000, Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents") or []:
            counts[_cancel_marked(batch, bucket, str(entry["Key"]))] += 1
            if common.time_left(context) < RESERVE_SECONDS:
                # The marker is deleted once handled: the next step lists again from the start
                # and loses nothing.
                return {**state, "counts": dict(counts), "waitSeconds": 0, "done": False}
    common.log(
        logging.INFO, "batch runs cancelled", execution=batch["target"], counts=dict(counts), **{"pass": state["pass"]}
    )
    if state["pass"] < CANCEL_PASSES:
        return {
            **state,
            "pass": state["pass"] + 1,
            "counts": dict(counts),
            "waitSeconds": 60,
            "done": False,
        }
    return {"done": True, "waitSeconds": 0, "counts": dict(counts)}


def _cancel_marked(batch: dict[str, Any], bucket: str, key: str) -> str:
    """Cancel the run one marker stands for; the marker is deleted after. What happened."""
    asset_id = key.rsplit("/", 1)[-1]
    try:
        run_id = _marker_run_id(common.s3().get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if common.error_code(error) != "NoSuchKey":
            raise
        # Its child removed it since the listing: that run was recorded, nothing to cancel.
        return "gone"
    outcome = "cancelled"
    if not run_id:
        # Start was sent (or about to be) when the child was stopped: the same client token
        # returns that run if it exists (DataZone deduplicates), so it can be cancelled too.
        token = run_token(str(batch["tokenSeed"]), asset_id)
        started = common.datazone().start_metadata_generation_run(
            domainIdentifier=batch["domainId"],
            owningProjectIdentifier=batch["projectId"],
            target={"type": "ASSET", "identifier": asset_id},
            types=list(batch["types"]),
            clientToken=token,
        )
        run_id, outcome = str(started["id"]), "recovered"
    if not _cancel_run(str(batch["domainId"]), run_id):
        outcome = "unknown"
    # Only now: a cancel that failed for the moment (raised above) keeps the marker for the retry.
    common.s3().delete_object(Bucket=bucket, Key=key)
    return outcome


def _marker_run_id(body: bytes) -> str:
    """The run id a marker holds ("" before its Start answered). Whether Step Functions' S3
    PutObject writes a string Body as it is or JSON-encoded (quoted) is not documented: both
    are read."""
    text = body.decode().strip()
    if text.startswith('"'):
        decoded = json.loads(text)
        text = decoded.strip() if isinstance(decoded, str) else text
    return text


def _cancel_run(domain_id: str, run_id: str) -> bool:
    """Cancel a run; False when DataZone knows no such run. A transient failure raises (the
    step is retried with the marker kept), as does any error that is not about this run."""
    try:
        common.datazone().cancel_metadata_generation_run(domainIdentifier=domain_id, identifier=run_id)
    except ClientError as error:
        code = common.error_code(error)
        if common.is_transient(error) or code not in (
            "ConflictException",
            "ResourceNotFoundException",
            "ValidationException",
        ):
            raise
        if code == "ConflictException":  # it ended meanwhile: nothing left to cancel
            common.log(logging.INFO, "run already ended", runId=run_id)
            return True
        common.log(logging.WARNING, "no such run to cancel", runId=run_id, error=common.describe(error))
        return False
    common.log(logging.INFO, "run cancelled", runId=run_id, why="the batch's execution was stopped")
    return True


def run_token(token_seed: str, asset_id: str, purpose: str = "start") -> str:
    """The client token the workflow's child sends for ``purpose`` (its ``_token`` in the
    definition: ``States.Hash(States.Format('{}|{}|<purpose>', tokenSeed, assetId), 'SHA-256')``)."""
    return hashlib.sha256(f"{token_seed}|{asset_id}|{purpose}".encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# S3, in bounded memory


def _read_json(bucket: str, key: str) -> Any:
    return json.loads(common.s3().get_object(Bucket=bucket, Key=key)["Body"].read())


def iter_json_array(bucket: str, key: str) -> Iterator[Any]:
    """The elements of a JSON array stored in S3, decoded one by one from a streamed body: a
    result file may hold a whole map run's records, and only :data:`READ_CHUNK_BYTES` plus one
    element are in memory at a time."""
    yield from _array_reader(bucket, key, 0).elements()


def _array_reader(bucket: str, key: str, offset: int) -> _ArrayReader:
    """A reader of the array from ``offset``: 0, or a byte just after one of its elements."""
    ranged = {"Range": f"bytes={offset}-"} if offset else {}
    body = common.s3().get_object(Bucket=bucket, Key=key, **ranged)["Body"]
    return _ArrayReader(body, f"s3://{bucket}/{key}", offset=offset)


class _ArrayReader:
    def __init__(self, body: Any, name: str, offset: int = 0) -> None:
        self.body = body
        self.name = name
        self.text = codecs.getincrementaldecoder("utf-8")()
        self.decoder = json.JSONDecoder()
        self.buffer, self.position, self.ended = "", 0, False
        #: Bytes of the object before ``buffer`` (to resume at :meth:`offset`); a reader that
        #: starts after an element is inside the array already.
        self.dropped = offset
        self.inside = offset > 0

    def fill(self) -> None:
        chunk = self.body.read(READ_CHUNK_BYTES)
        self.ended = not chunk
        self.dropped += len(self.buffer[: self.position].encode("utf-8"))
        self.buffer = self.buffer[self.position :] + self.text.decode(chunk, final=self.ended)
        self.position = 0

    def offset(self) -> int:
        """The byte just after the last element read (computed when asked: it encodes the buffer)."""
        return self.dropped + len(self.buffer[: self.position].encode("utf-8"))

    def next_char(self) -> str:
        """The next character that is not white space or a comma (read on as needed)."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n,":
                self.position += 1
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if self.ended:
                raise ValueError(f"{self.name} ends before its JSON array does")
            self.fill()

    def elements(self) -> Iterator[Any]:
        if not self.inside:
            if self.next_char() != "[":
                raise ValueError(f"{self.name} is not a JSON array")
            self.position += 1
        while self.next_char() != "]":
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError:
                if self.ended:
                    raise
                self.fill()
                continue
            # A value is whole only when what follows it is a separator: a number cut after its
            # point or exponent ("1." then "5") decodes as 1 otherwise.
            rest = self.buffer[end:].lstrip(" \t\r\n")
            if not rest or rest[0] not in ",]":
                if not self.ended:
                    self.fill()
                    continue
                if not rest:
                    raise ValueError(f"{self.name} ends before its JSON array does")
                raise ValueError(f"{self.name}: unexpected {rest[:20]!r} after an element of its JSON array")
            self.position = end
            yield value


def write_json_array(
    bucket: str, key: str, elements: Iterator[bytes], *, opening: bytes = b"[", closing: bytes = b"]"
) -> int:
    """Write ``opening``, the encoded ``elements`` comma-separated, then ``closing`` to S3 with at
    most :data:`UPLOAD_PART_BYTES` in memory; the number of elements."""
    buffer = bytearray(opening)
    count = 0
    upload_id: str | None = None
    parts: list[dict[str, Any]] = []
    for element in elements:
        if count:
            buffer += b","
        buffer += element
        count += 1
        if len(buffer) >= UPLOAD_PART_BYTES:
            if upload_id is None:
                upload_id = common.s3().create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/json")[
                    "UploadId"
                ]
            number = len(parts) + 1
            etag = common.s3().upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(buffer)
            )
            parts.append({"ETag": etag["ETag"], "PartNumber": number})
            buffer.clear()
    buffer += closing
    if upload_id is None:
        common.s3().put_object(Bucket=bucket, Key=key, Body=bytes(buffer), ContentType="application/json")
        return count
    number = len(parts) + 1
    etag = common.s3().upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(buffer))
    parts.append({"ETag": etag["ETag"], "PartNumber": number})
    common.s3().complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return count
