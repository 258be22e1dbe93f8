"""The catalog section: ``MetadataGenerationBatch`` at whole-catalog sizes (issue 15).

Everything is measured on the repository's own code; only the cost arithmetic and the latency of
AWS calls are modelled (stated next to the figures):

* **Function level.** The batch workflow's worker (``lambda_src/metadata_generation_run/worker.py``)
  runs its ``select`` over a data source whose latest run lists N activities (and a search of N
  assets), then its ``summarize`` over ResultWriter files of N records, step after step as the
  workflow calls it, with a Lambda context whose remaining time follows the worker's real budget
  (``contract.WORKER_TIMEOUT_SECONDS``). S3 is moto's (``moto.mock_aws``); DataZone is an in-process
  stub that pages as DataZone does (50 a page, opaque tokens, O(page) per call; the local endpoint
  builds a finished run's activities once, on the first page: see :func:`endpoint_page_seconds`).
  Time in a step = the worker's own CPU time, scaled to its share of a vCPU on Lambda
  (``MB_PER_VCPU / WORKER_MEMORY_MB``), plus a stated latency per AWS call; moto's own CPU time is
  replaced by that latency. Memory = tracemalloc's peak during the step above what was allocated
  before it (moto's copy of what the step writes included: an upper bound of the worker's own).
* **A local dry run end to end.** One batch over a data source of N assets with default props,
  deployed by the replay (LocalCloudFormation + LocalStepFunctions + LocalDataZone): wall time,
  simulated time, DataZone calls and states entered per asset, peak memory of each Lambda
  invocation (the handler's and the worker's).
* **Cost per 1,000 assets** for realistic run durations, from the measured states per asset and
  the workflow's poll schedule (``constructs_lib._batch_definition``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.batch import counting_states
from bench.cost import MB_PER_VCPU

DOMAIN_ID, PROJECT_ID = "dzd_example123", "exampleproject1"  # the local endpoint's built-in seed
SOURCE_ID = "catalogsource1"
DRY_RUN_STACK = "LocalCatalogBench"
REGION = "us-east-1"
RESULTS_BUCKET = "catalog-bench-results"
PREFIX = "batches/LocalCatalogBench-Catalog/run-1"
MIB = 1024 * 1024
#: DataZone's quota of assets per domain (Amazon DataZone user guide, "Quotas"): the bound computed.
DOMAIN_ASSETS_QUOTA = 1_000_000

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _worker() -> tuple[Any, Any, Any]:
    """The worker module and its siblings, as the tests import them."""
    from lambda_src.metadata_generation_run import contract, index, worker  # noqa: PLC0415

    return worker, index, contract


def worker_limits() -> tuple[int, int]:
    _, _, contract = _worker()
    return int(contract.WORKER_TIMEOUT_SECONDS), int(contract.WORKER_MEMORY_MB)


@dataclass(frozen=True)
class Latency:
    """Stated, not measured: how long AWS takes to answer the worker from inside its region."""

    datazone_page_ms: float = 150.0  # one ListDataSourceRunActivities / Search page (as bench.cost)
    s3_request_ms: float = 20.0  # first byte of an S3 request, same region
    s3_mb_per_s: float = 80.0  # one stream's throughput to or from S3 (a 512 MB function)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("DataZone page (ListDataSourceRunActivities, Search) from Lambda", f"{self.datazone_page_ms:g} ms"),
            ("S3 request, first byte", f"{self.s3_request_ms:g} ms"),
            ("S3 throughput of one stream", f"{self.s3_mb_per_s:g} MB/s"),
        ]


# --- a Lambda budget on simulated latency and measured CPU ---------------------------------------


class Budget:
    """One worker invocation: real CPU time of the worker (scaled to Lambda's CPU share), plus the
    stated latency of each AWS call, minus the real time spent inside moto and the stub."""

    def __init__(self, timeout_s: float, cpu_scale: float) -> None:
        self.timeout_s = timeout_s
        self.cpu_scale = cpu_scale
        # CPU time of this thread (the worker runs in it): a loaded machine does not lengthen it.
        self.started = time.thread_time()
        self.excluded = 0.0
        self.latency = 0.0
        self.calls: Counter[str] = Counter()

    def seconds(self) -> float:
        cpu = time.thread_time() - self.started - self.excluded
        return max(0.0, cpu) * self.cpu_scale + self.latency

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.timeout_s - self.seconds()) * 1000)


class _Body:
    """A streamed S3 body whose reads cost the stated throughput."""

    def __init__(self, body: Any, owner: TimedS3) -> None:
        self._body, self._owner = body, owner

    def read(self, size: int | None = None) -> bytes:
        started = time.thread_time()
        data: bytes = self._body.read() if size is None else self._body.read(size)
        budget = self._owner.budget
        if budget is not None:
            budget.excluded += time.thread_time() - started
            budget.latency += len(data) / (self._owner.latency.s3_mb_per_s * 1e6)
        return data


class TimedS3:
    """moto's S3 client, each call costing the stated latency instead of moto's own time."""

    def __init__(self, client: Any, latency: Latency) -> None:
        self._client, self.latency = client, latency
        self.budget: Budget | None = None
        self.requests: Counter[str] = Counter()
        #: Objects served from a file (bucket, key) -> path: moto's get_object hands the whole body
        #: over in memory, which AWS streams from the network (and tracemalloc would count).
        self.staged: dict[tuple[str, str], Path] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name == "get_object":
            method = self._get_object

        def call(**params: Any) -> Any:
            started = time.thread_time()
            answer = method(**params)
            self.requests[name] += 1
            budget = self.budget
            if budget is not None:
                budget.excluded += time.thread_time() - started
                body = params.get("Body")
                sent = len(body) if isinstance(body, (bytes, bytearray)) else 0
                budget.latency += self.latency.s3_request_ms / 1000 + sent / (self.latency.s3_mb_per_s * 1e6)
                budget.calls[f"S3 {name}"] += 1
            if name == "get_object":
                answer = {**answer, "Body": _Body(answer["Body"], self)}
            return answer

        return call

    def _get_object(self, **params: Any) -> Any:
        path = self.staged.get((str(params["Bucket"]), str(params["Key"])))
        if path is None:
            return self._client.get_object(**params)
        body = path.open("rb")
        start = int(str(params.get("Range", "bytes=0-")).removeprefix("bytes=").split("-", 1)[0] or 0)
        body.seek(start)  # a ranged GET, as S3 answers "bytes=<start>-"
        return {"Body": body, "ContentLength": path.stat().st_size - start}


class PagingDataZone:
    """DataZone's paging for one data source's latest run and for Search, O(page) per call, with
    the fields the service answers (the local endpoint's shapes) and opaque tokens."""

    def __init__(self, asset_ids: list[str], latency: Latency) -> None:
        self.asset_ids, self.latency = asset_ids, latency
        self.budget: Budget | None = None
        self.pages = 0
        self.finished = datetime(2025, 6, 1, tzinfo=UTC)

    def _cost(self) -> None:
        self.pages += 1
        if self.budget is not None:
            self.budget.latency += self.latency.datazone_page_ms / 1000
            self.budget.calls["DataZone page"] += 1

    def _page(self, params: dict[str, Any], item: Callable[[int, str], dict[str, Any]]) -> dict[str, Any]:
        from constructs_local.datazone.catalog import decode_token, encode_token  # noqa: PLC0415

        self._cost()
        scope = {"q": "catalog-bench"}
        offset = decode_token(params.get("nextToken"), DOMAIN_ID, scope)
        size = int(params.get("maxResults") or 50)
        end = min(offset + size, len(self.asset_ids))
        page: dict[str, Any] = {"items": [item(i, self.asset_ids[i]) for i in range(offset, end)]}
        if end < len(self.asset_ids):
            page["nextToken"] = encode_token(end, DOMAIN_ID, scope)
        return page

    def get_paginator(self, operation: str) -> Any:
        """botocore's own paginator over these methods, as the worker pages a real client."""
        import botocore.session  # noqa: PLC0415
        from botocore import xform_name  # noqa: PLC0415
        from botocore.paginate import Paginator  # noqa: PLC0415

        session = botocore.session.get_session()
        model = session.get_service_model("datazone")
        # A client takes the method's name (list_data_source_run_activities) for the operation's.
        name = next(op for op in model.operation_names if xform_name(op) == xform_name(operation))
        config = session.get_paginator_model("datazone").get_paginator(name)
        return Paginator(getattr(self, xform_name(name)), config, model.operation_model(name))

    def list_data_source_runs(self, **_: Any) -> dict[str, Any]:
        self._cost()
        return {"items": [{"id": "catalogrun1", "status": "SUCCESS", "createdAt": self.finished}]}

    def list_data_source_run_activities(self, **params: Any) -> dict[str, Any]:
        def activity(index: int, asset_id: str) -> dict[str, Any]:
            return {
                "database": "sales",
                "dataSourceRunId": "catalogrun1",
                "technicalName": f"table_{index:07d}",
                "dataAssetStatus": "SUCCEEDED_CREATED",
                "projectId": PROJECT_ID,
                "dataAssetId": asset_id,
                "createdAt": self.finished,
                "updatedAt": self.finished,
            }

        return self._page(params, activity)

    def search(self, **params: Any) -> dict[str, Any]:
        def found(index: int, asset_id: str) -> dict[str, Any]:
            return {
                "assetItem": {
                    "domainId": DOMAIN_ID,
                    "identifier": asset_id,
                    "name": f"table_{index:07d}",
                    "typeIdentifier": "amazon.datazone.GlueTableAssetType",
                    "typeRevision": "1",
                    "owningProjectId": PROJECT_ID,
                }
            }

        page = self._page(params, found)
        page["totalMatchCount"] = len(self.asset_ids)
        return page


# --- function level: select and summarize --------------------------------------------------------


@dataclass
class Step:
    """One worker invocation."""

    seconds: float  # its Lambda duration (scaled CPU + stated latency)
    peak_mb: float  # tracemalloc peak above what was allocated before it
    pages: int = 0
    records: int = 0
    join: bool = False
    calls: dict[str, int] = field(default_factory=dict)


@dataclass
class WorkerRun:
    action: str  # "select data source" | "select search" | "summarize"
    items: int
    steps: list[Step]
    wall_seconds: float
    state_bytes_max: int  # the largest state a step returned (Step Functions: 256 KiB payload)
    outcome: dict[str, Any]
    s3_requests: dict[str, int] = field(default_factory=dict)

    @property
    def lambda_seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    @property
    def peak_mb(self) -> float:
        return max((step.peak_mb for step in self.steps), default=0.0)

    @property
    def max_step_seconds(self) -> float:
        return max((step.seconds for step in self.steps), default=0.0)


@contextlib.contextmanager
def _worker_world(latency: Latency, asset_ids: list[str]) -> Iterator[tuple[Any, TimedS3, PagingDataZone]]:
    """moto's S3 with the results bucket, the stub DataZone, both installed as the worker's clients."""
    import boto3  # noqa: PLC0415
    import moto  # noqa: PLC0415

    from lambda_src.metadata_generation_run import common  # noqa: PLC0415

    worker, _, _ = _worker()
    clients = common.__dict__["_clients"]  # the worker's shared client cache
    saved = dict(clients)
    with moto.mock_aws():
        client = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106
        )
        client.create_bucket(Bucket=RESULTS_BUCKET)
        s3, datazone = TimedS3(client, latency), PagingDataZone(asset_ids, latency)
        clients.update(s3=s3, datazone=datazone)
        try:
            yield worker, s3, datazone
        finally:
            clients.clear()
            clients.update(saved)


def _measured_step(call: Callable[[Budget], dict[str, Any]], budget: Budget) -> tuple[dict[str, Any], float]:
    tracemalloc.reset_peak()
    floor = tracemalloc.get_traced_memory()[0]
    state = call(budget)
    peak = tracemalloc.get_traced_memory()[1] - floor
    return state, max(0, peak) / MIB


@contextlib.contextmanager
def _tracing() -> Iterator[None]:
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start(1)
    try:
        yield
    finally:
        if started:
            tracemalloc.stop()


def _batch_input(kind: str) -> dict[str, Any]:
    selection: dict[str, Any] = (
        {"Kind": "DATA_SOURCE", "DataSourceId": SOURCE_ID} if kind == "DATA_SOURCE" else {"Kind": "SEARCH"}
    )
    return {
        "domainId": DOMAIN_ID,
        "projectId": PROJECT_ID,
        "selection": selection,
        "resultsBucket": RESULTS_BUCKET,
        "prefix": PREFIX,
        "failureTolerance": 10,
        "executionArn": f"arn:aws:states:{REGION}:000000000000:execution:Batch:run-1",
    }


def catalog_ids(count: int) -> list[str]:
    """Asset ids in the local endpoint's generated form (``glue<tag><index>``)."""
    from constructs_local.seed import generated_asset_ids  # noqa: PLC0415

    return generated_asset_ids(DOMAIN_ID, PROJECT_ID, count)


def measure_select(
    count: int, kind: str = "DATA_SOURCE", latency: Latency = Latency(), max_steps: int = 10_000
) -> WorkerRun:
    """The workflow's Select loop (``Select`` → ``Selected?`` → ``Select`` ...) over ``count`` assets."""
    timeout_s, memory_mb = worker_limits()
    cpu_scale = MB_PER_VCPU / memory_mb
    batch = _batch_input(kind)
    steps: list[Step] = []
    started = time.perf_counter()
    largest = 0
    with _tracing(), _worker_world(latency, catalog_ids(count)) as (worker, s3, datazone):
        state: dict[str, Any] = {}
        while len(steps) < max_steps:
            budget = Budget(timeout_s, cpu_scale)
            s3.budget = datazone.budget = budget
            pages_before = datazone.pages
            joining = bool(state.get("paged"))
            given = dict(state)

            def step(context: Budget, given: dict[str, Any] = given) -> dict[str, Any]:
                answer: dict[str, Any] = worker.select(batch, given, context)
                return answer

            state, peak = _measured_step(step, budget)
            pages = datazone.pages - pages_before
            steps.append(Step(budget.seconds(), peak, pages=pages, join=joining, calls=dict(budget.calls)))
            largest = max(largest, len(json.dumps(state)))
            if state.get("done"):
                break
        s3.budget = datazone.budget = None
        items = state.get("count", 0)
        written = s3.requests
    return WorkerRun(
        f"select {'data source' if kind == 'DATA_SOURCE' else 'search'}",
        int(items),
        steps,
        time.perf_counter() - started,
        largest,
        {k: v for k, v in state.items() if k != "items"},
        dict(written),
    )


def _result_entry(index: int, asset_id: str, failed: bool) -> dict[str, Any]:
    """One child execution as the Distributed Map's ResultWriter lists it (its fields and sizes)."""
    execution = f"arn:aws:states:{REGION}:000000000000:execution:Batch/ForEachAsset:run-1:{index:08x}-child"
    child_input = {
        "assetId": asset_id,
        "domainId": DOMAIN_ID,
        "projectId": PROJECT_ID,
        "types": ["BUSINESS_DESCRIPTIONS"],
        "tokenSeed": "LocalCatalogBench/Catalog/1a2b3c4d5e6f7a8b9c0d",
        "pollSeconds": 10,
        "runTimeoutSeconds": 1800,
        "predictions": {"mode": "NONE"},
        "resultsBucket": RESULTS_BUCKET,
        "prefix": PREFIX,
    }
    run_id = f"run{index:011d}"
    record: dict[str, Any] = {"assetId": asset_id, "runId": run_id, "status": "FAILED" if failed else "SUCCEEDED"}
    if failed:
        record["run"] = {
            "DomainId": DOMAIN_ID,
            "Id": run_id,
            "Status": "FAILED",
            "Type": "BUSINESS_DESCRIPTIONS",
            "Target": {"Type": "ASSET", "Identifier": asset_id, "Revision": "1"},
            "TypeStats": [{"Type": "BUSINESS_DESCRIPTIONS", "ErrorMessage": "the model could not describe the table"}],
            "CreatedAt": "2025-06-01T00:00:00Z",
            "CreatedBy": "arn:aws:sts::000000000000:assumed-role/Batch/states",
        }
    return {
        "ExecutionArn": execution,
        "Input": json.dumps(child_input),
        "InputDetails": {"Included": True},
        "Name": f"{index:08x}-child",
        "Output": json.dumps(record),
        "OutputDetails": {"Included": True},
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": "2025-06-01T00:00:00.000Z",
        "StateMachineArn": f"arn:aws:states:{REGION}:000000000000:stateMachine:Batch/ForEachAsset",
        "Status": "SUCCEEDED",
        "StopDate": "2025-06-01T00:06:00.000Z",
    }


def _stage_results(s3: TimedS3, scratch: Path, count: int, failure_every: int) -> tuple[str, int]:
    """A manifest and one SUCCEEDED result file of ``count`` children (every ``failure_every``-th
    a FAILED record), as AWS writes them (one file holds up to 5 GB); the manifest's key and the
    file's bytes."""
    ids = catalog_ids(count)

    def entries() -> Iterator[bytes]:
        yield b"["
        for index, asset_id in enumerate(ids):
            if index:
                yield b","
            yield json.dumps(_result_entry(index, asset_id, failure_every > 0 and index % failure_every == 0)).encode()
        yield b"]"

    key = "results/maprun1/SUCCEEDED_0.json"
    path = scratch / "SUCCEEDED_0.json"
    with path.open("wb") as file:
        for chunk in entries():
            file.write(chunk)
    s3.staged[(RESULTS_BUCKET, key)] = path
    size = path.stat().st_size
    manifest = {
        "DestinationBucket": RESULTS_BUCKET,
        "MapRunArn": "arn:aws:states:us-east-1:000000000000:mapRun:Batch/ForEachAsset:maprun1",
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": key, "Size": size}]},
    }
    manifest_key = "results/maprun1/manifest.json"
    s3._client.put_object(Bucket=RESULTS_BUCKET, Key=manifest_key, Body=json.dumps(manifest).encode())
    return manifest_key, size


def measure_summarize(
    count: int, failure_percent: float = 5.0, latency: Latency = Latency(), max_steps: int = 1_000
) -> WorkerRun:
    """The workflow's Summarize loop over one result file of ``count`` records."""
    timeout_s, memory_mb = worker_limits()
    cpu_scale = MB_PER_VCPU / memory_mb
    batch = _batch_input("DATA_SOURCE")
    failure_every = round(100 / failure_percent) if failure_percent else 0
    steps: list[Step] = []
    largest = 0
    with (
        _tracing(),
        _worker_world(latency, []) as (worker, s3, _),
        tempfile.TemporaryDirectory(prefix="bench-results-") as scratch,
    ):
        manifest_key, file_bytes = _stage_results(s3, Path(scratch), count, failure_every)
        results = {"Bucket": RESULTS_BUCKET, "Key": manifest_key}
        started = time.perf_counter()
        state: dict[str, Any] = {}
        read = 0
        while len(steps) < max_steps:
            budget = Budget(timeout_s, cpu_scale)
            s3.budget = budget
            given = dict(state)

            def step(context: Budget, given: dict[str, Any] = given) -> dict[str, Any]:
                answer: dict[str, Any] = worker.summarize(batch, results, given, context)
                return answer

            state, peak = _measured_step(step, budget)
            done_records = count if state.get("done") else sum((state.get("counts") or {}).values())
            steps.append(Step(budget.seconds(), peak, records=done_records - read, calls=dict(budget.calls)))
            read = done_records
            largest = max(largest, len(json.dumps(state)))
            if state.get("done"):
                break
        wall = time.perf_counter() - started
        written = dict(s3.requests)
        # What a resumed step pays before its first new record: it reads on from the byte after
        # the last record counted (a ranged GET). One step resumed before the file's last record.
        budget = Budget(timeout_s, cpu_scale)
        s3.budget = budget
        staged = s3.staged[(RESULTS_BUCKET, "results/maprun1/SUCCEEDED_0.json")].read_bytes()
        last = staged.rindex(b'{"ExecutionArn"')
        resumed = {"file": 0, "offset": staged.rindex(b",", 0, last), "counts": {}, "shown": [], "parts": 0}
        worker.summarize(batch, results, resumed, budget)
        s3.budget = None
        skip_ms = budget.seconds() * 1000 / max(1, count - 1)
    outcome = {k: v for k, v in state.items() if k != "message"}
    outcome["resultFileBytes"] = file_bytes
    outcome["skipMsPerRecord"] = skip_ms
    return WorkerRun("summarize", count, steps, wall, largest, outcome, written)


def id_set_mb(count: int) -> float:
    """Memory of the join's id set (``worker._join_parts``'s ``seen``) for ``count`` ids of the
    generated form, measured with tracemalloc (the strings as json.loads makes them, and the set)."""
    with _tracing():
        tracemalloc.reset_peak()
        floor = tracemalloc.get_traced_memory()[0]
        seen: set[str] = set()
        for start in range(0, count, 100_000):
            part = json.loads(json.dumps(catalog_ids_range(start, min(count, start + 100_000))))
            seen.update(part)
            del part
        held = tracemalloc.get_traced_memory()[0] - floor
        del seen
    return held / MIB


def catalog_ids_range(start: int, end: int) -> list[str]:
    """``catalog_ids(end)[start:end]`` without building the head."""
    import hashlib  # noqa: PLC0415

    tag = hashlib.sha256(f"{DOMAIN_ID}\n{PROJECT_ID}".encode()).hexdigest()[:8]
    return [f"glue{tag}{index:06d}" for index in range(start + 1, end + 1)]


@dataclass
class Bound:
    """The figures at ``assets`` (DataZone's quota), computed from the measured run at N."""

    assets: int
    select_steps: int
    select_lambda_seconds: float
    join_seconds: float
    id_set_mb: float
    join_peak_mb: float
    summarize_steps: int
    summarize_lambda_seconds: float
    notes: list[str] = field(default_factory=list)


def bound(select: WorkerRun, summarize: WorkerRun, assets: int = DOMAIN_ASSETS_QUOTA) -> Bound:
    """Paging steps grow with the pages (each step pages as long as its budget lasts); the join
    reads every part and holds the id set; summarize resumes by record (see its note)."""
    timeout_s, _ = worker_limits()
    worker, _, _ = _worker()
    scale = assets / max(1, select.items)
    paging = [s for s in select.steps if not s.join]
    join = next((s for s in select.steps if s.join), None)
    pages_needed = math.ceil(assets / worker.PAGE_SIZE)
    # Full steps: the measured pages of the fullest step (bounded by the time left, PAGES_PER_CALL).
    per_step = max((s.pages for s in paging), default=1)
    select_steps = math.ceil(pages_needed / per_step) + 1
    set_mb = id_set_mb(assets)
    join_seconds = (join.seconds if join else 0.0) * scale
    join_peak = (join.peak_mb if join else 0.0) - id_set_mb(select.items) + set_mb
    per_record = summarize.lambda_seconds / max(1, summarize.items)
    usable = timeout_s - worker.RESERVE_SECONDS
    # A resumed step reads on from the byte after its last record (worker: a ranged GET); what it
    # pays before its first new record is measured (skipMsPerRecord, per record before it). Steps
    # until the whole file is read, one file (AWS writes up to 5 GB per result file: a catalog's
    # results fit in one).
    summarize_steps, done, total_seconds = 0, 0, 0.0
    skip_per_record = float(summarize.outcome.get("skipMsPerRecord", per_record * 1000)) / 1000
    while done < assets and summarize_steps < 10_000:
        summarize_steps += 1
        skip_seconds = done * skip_per_record
        fresh = max(0, int((usable - skip_seconds) / per_record))
        if fresh == 0:
            break
        done = min(assets, done + fresh)
        total_seconds += min(usable, skip_seconds + fresh * per_record)
    notes = [
        f"select: {pages_needed:,} pages at {per_step:,} pages per full step (measured at {select.items:,}), "
        "plus the join step",
        f"join: time scaled linearly from {select.items:,}; peak = measured join peak - its id set at "
        f"{select.items:,} + the id set measured at {assets:,}",
        f"summarize: {per_record * 1000:.2f} ms Lambda per record (measured), {usable} s usable per step; "
        f"a resumed step reads on from its byte offset: {skip_per_record * 1000:.4f} ms Lambda per record before "
        "it (measured: one step resumed before the last record)",
    ]
    if done < assets:
        notes.append(f"summarize: a step re-reading the head no longer gets past it after {done:,} records")
    return Bound(
        assets,
        select_steps,
        select.lambda_seconds / max(1, select.items) * assets,
        join_seconds,
        set_mb,
        join_peak,
        summarize_steps if done >= assets else -1,
        total_seconds,
        notes,
    )


def endpoint_page_seconds(count: int) -> tuple[float, float]:
    """Real seconds the local DataZone endpoint's backend takes for the first page of a data source
    run listing ``count`` activities (it builds them all, once) and for the next page."""
    from constructs_local import DataZoneBackend, SimulatedClock, default_seed  # noqa: PLC0415
    from constructs_local.seed import with_generated_assets  # noqa: PLC0415

    seed = default_seed()
    seed["generatedAssets"] = count
    seed["domains"][DOMAIN_ID]["dataSources"] = {
        SOURCE_ID: {"project": PROJECT_ID, "type": "GLUE", "name": "tables", "firstRun": "finished"}
    }
    backend = DataZoneBackend(seed=with_generated_assets(seed), clock=SimulatedClock())
    principal = backend.default_principal
    runs = backend.handle(
        "ListDataSourceRuns", {"domainIdentifier": DOMAIN_ID, "dataSourceIdentifier": SOURCE_ID}, principal
    )
    run_id = runs["items"][0]["id"]
    params: dict[str, Any] = {"domainIdentifier": DOMAIN_ID, "identifier": run_id, "maxResults": 50}
    backend.knobs.latency_seconds = 0.0
    started = time.perf_counter()
    first = backend.handle("ListDataSourceRunActivities", params, principal)
    middle = time.perf_counter()
    backend.handle("ListDataSourceRunActivities", {**params, "nextToken": first["nextToken"]}, principal)
    return middle - started, time.perf_counter() - middle


@dataclass
class FunctionLevel:
    assets: int
    latency: Latency
    select_data_source: WorkerRun
    select_search: WorkerRun
    summarize: WorkerRun
    failure_percent: float
    bound: Bound
    #: The local endpoint's first page (it builds a finished run's activities then) and next page.
    endpoint_page_s: tuple[float, float] | None
    timeout_s: int
    memory_mb: int
    reserve_s: int
    runtime_baseline_mb: int


def function_level(
    assets: int = 100_000, failure_percent: float = 5.0, latency: Latency = Latency(), log: Log = _quiet
) -> FunctionLevel:
    worker, _, _ = _worker()
    timeout_s, memory_mb = worker_limits()
    log(f"  worker select over a data source run of {assets:,} activities")
    by_source = measure_select(assets, "DATA_SOURCE", latency)
    log(f"    {len(by_source.steps)} steps, {by_source.wall_seconds:.0f} s wall")
    log(f"  worker select over a search of {assets:,} assets")
    by_search = measure_select(assets, "SEARCH", latency)
    log(f"    {len(by_search.steps)} steps, {by_search.wall_seconds:.0f} s wall")
    log(f"  worker summarize over {assets:,} result records ({failure_percent:g} % failed)")
    summary = measure_summarize(assets, failure_percent, latency)
    log(f"    {len(summary.steps)} steps, {summary.wall_seconds:.0f} s wall")
    log(f"  bound at {DOMAIN_ASSETS_QUOTA:,} assets; one page of the local endpoint at {assets:,}")
    computed = bound(by_source, summary)
    try:
        page_s: tuple[float, float] | None = endpoint_page_seconds(assets)
    except Exception:  # a diagnostic only: the figure is then left out
        page_s = None
    try:
        from constructs_local.awslambda.runtime import RUNTIME_BASELINE_MB  # noqa: PLC0415

        baseline = int(RUNTIME_BASELINE_MB)
    except ImportError:
        baseline = 80
    return FunctionLevel(
        assets,
        latency,
        by_source,
        by_search,
        summary,
        failure_percent,
        computed,
        page_s,
        timeout_s,
        memory_mb,
        int(worker.RESERVE_SECONDS),
        baseline,
    )


# --- the local dry run, end to end ---------------------------------------------------------------


@dataclass(frozen=True)
class DryRunSettings:
    """A data-source batch with default props; only the endpoint's run durations are shortened.
    Time is the replay's simulated :class:`~constructs_local.clock.EventClock`: every thread
    (moto's workflow, the endpoint, the handler, the worker) on one timeline that moves only when
    all of them wait, so the wall time is the work the machine does, not a speed factor."""

    assets: int = 10_000
    #: How long a local run stays SUBMITTED, then IN_PROGRESS (simulated seconds): the fast knob.
    #: Realistic runs (minutes) are priced by the cost model from the measured states per asset.
    submitted_seconds: float = 2.0
    in_progress_seconds: float = 6.0
    #: Give up waiting for the execution after this many real seconds.
    wall_limit_seconds: float = 1800.0
    #: The harness's per-execution history-event count (moto adapter fix "history"), as AWS
    #: fails an execution at 25,000 events. Since e9a525f it counts each Distributed Map child on
    #: its own (74455b7 added up a map run's children: ~1,700 assets failed); False leaves it out.
    count_history: bool = True


@dataclass
class Invoked:
    function: str
    action: str
    peak_mb: float | None
    seconds: float
    failed: bool


@dataclass
class DryRun:
    settings: DryRunSettings
    stack_status: str
    reason: str | None
    execution_status: str
    wall_seconds: float
    deploy_wall_seconds: float
    simulated_seconds: float
    summary: dict[str, Any]
    calls: dict[str, int]
    states: dict[str, int]
    retries: int
    invocations: list[Invoked]
    function_memory_mb: dict[str, int]
    selected: int
    limited_by: str = ""
    #: The replay's own simulated seconds for the deploy (its clock may differ from the endpoint's).
    replay_simulated_seconds: float | None = None
    #: The EventClock's counters: sleeps registered, advances, checks that found a thread at work,
    #: most sleepers at once.
    clock: dict[str, int] = field(default_factory=dict)

    @property
    def assets(self) -> int:
        return self.selected or self.settings.assets

    @property
    def transitions(self) -> int:
        return sum(self.states.values()) + self.retries

    def per_asset(self, value: float) -> float:
        return value / max(1, self.assets)


def _seed(assets: int) -> dict[str, Any]:
    from constructs_local import default_seed  # noqa: PLC0415
    from constructs_local.seed import generated_asset_ids, with_generated_assets  # noqa: PLC0415

    seed = default_seed()
    seed["generatedAssets"] = assets
    seed = with_generated_assets(seed, (DOMAIN_ID, PROJECT_ID))
    seed["domains"][DOMAIN_ID]["dataSources"] = {
        SOURCE_ID: {
            "project": PROJECT_ID,
            "type": "GLUE",
            "name": "catalog",
            "assets": generated_asset_ids(DOMAIN_ID, PROJECT_ID, assets),
            "firstRun": "finished",
        }
    }
    return seed


def synth_app(outdir: Path) -> Path:
    """One ``MetadataGenerationBatch`` over a data source, every other prop at its default."""
    import aws_cdk as cdk  # noqa: PLC0415

    from constructs_lib import AssetSelection, MetadataGenerationBatch  # noqa: PLC0415

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, DRY_RUN_STACK)
    MetadataGenerationBatch(
        stack, "Catalog", domain_id=DOMAIN_ID, project_id=PROJECT_ID, assets=AssetSelection.data_source(SOURCE_ID)
    )
    app.synth()
    return outdir


@contextlib.contextmanager
def _invocation_memory() -> Iterator[None]:
    """tracemalloc around every LocalFunction invocation, when the harness is told not to measure
    it (it does by default: each invocation's peak, tracing only while one runs). Invocations are
    serialized, but moto's and the endpoint's threads allocate meanwhile: an upper bound of the
    function's own peak."""
    from constructs_local.awslambda import runtime as lambda_runtime  # noqa: PLC0415

    if lambda_runtime.ENFORCE_MEMORY:
        yield  # measured by the harness; tracing for the whole run here would cost 4 times the time
        return
    original = lambda_runtime.LocalFunction.invoke

    def invoke(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracemalloc.reset_peak()
        floor = tracemalloc.get_traced_memory()[0]
        invocation = original(self, *args, **kwargs)
        invocation.peak_mb = max(0, tracemalloc.get_traced_memory()[1] - floor) / MIB
        return invocation

    if not tracemalloc.is_tracing():
        tracemalloc.start(1)
    lambda_runtime.LocalFunction.invoke = invoke  # type: ignore[method-assign]
    try:
        yield
    finally:
        lambda_runtime.LocalFunction.invoke = original  # type: ignore[method-assign]


def _invoked(function: Any, kind: str) -> list[Invoked]:
    found = []
    for invocation in function.invocations:
        event = invocation.event if isinstance(invocation.event, dict) else {}
        action = str(event.get("action") or event.get("RequestType") or "?")
        peak = getattr(invocation, "peak_mb", None)
        found.append(
            Invoked(
                kind,
                action,
                float(peak) if peak is not None else None,
                float(invocation.duration_seconds),
                invocation.error is not None,
            )
        )
    return found


def dry_run(settings: DryRunSettings = DryRunSettings(), log: Log = _quiet) -> DryRun:
    """Deploy one data-source batch of ``settings.assets`` locally and wait for its execution."""
    from constructs_local import (  # noqa: PLC0415
        EventClock,
        Knobs,
        LocalCloudFormation,
        LocalDataZone,
    )

    from bench.cost import function_settings  # noqa: PLC0415

    logging.getLogger("moto").setLevel(logging.ERROR)
    knobs = Knobs(
        submitted_seconds=settings.submitted_seconds,
        in_progress_seconds=settings.in_progress_seconds,
        data_source_running_seconds=20,
    )
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as scratch:
        assembly = synth_app(Path(scratch) / "cdk.out")
        template = json.loads((assembly / f"{DRY_RUN_STACK}.template.json").read_text())
        memory = {
            logical: function_settings(template, logical).memory_mb
            for logical, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function"
        }
        clock = EventClock()
        with (
            _invocation_memory(),
            LocalDataZone(seed=_seed(settings.assets), clock=clock, knobs=knobs) as endpoint,
            _step_functions(endpoint.url, clock, settings) as world,
            counting_states() as (states, retries),
        ):
            simulated_start = clock.now()
            started = time.monotonic()
            [result] = LocalCloudFormation(assembly, endpoint=endpoint, stepfunctions=world).deploy([DRY_RUN_STACK])
            deploy_wall = time.monotonic() - started
            log(f"    deploy {result.status} after {deploy_wall:.0f} s wall")
            data = result.requests[-1].response.data if result.requests else {}
            status, limited = _wait_for_execution(world, data, started + settings.wall_limit_seconds, log)
            wall = time.monotonic() - started
            simulated = clock.now() - simulated_start
            summary = _read_json(world, data.get("Summary"))
            calls = Counter(c.operation for c in endpoint.calls)
            functions = {id(f): f for f in world.adapter.functions.values()}.values()
            invoked = [i for f in functions for i in _invoked(f, "worker")]
            invoked += [
                i for record in result.requests for run in record.runs for i in _invoked(run, "custom resource handler")
            ]
            state_counts, retry_count = dict(states), retries[0]
            counters = {
                "sleeps": clock.sleeps,
                "advances": clock.advances,
                "busy_checks": clock.busy_checks,
                "max_sleepers": clock.max_sleepers,
                **_late_polls(endpoint, knobs.latency_seconds),
            }
    selected = sum(1 for c in endpoint.calls if c.operation == "StartMetadataGenerationRun" and c.status == 200)
    return DryRun(
        settings,
        result.status,
        result.reason,
        status,
        wall,
        deploy_wall,
        simulated,
        summary,
        dict(calls),
        state_counts,
        retry_count,
        invoked,
        memory,
        int(summary.get("total") or selected),
        limited,
        getattr(result, "simulated_seconds", None),
        counters,
    )


def _late_polls(endpoint: Any, latency: float) -> dict[str, int]:
    """How many first polls came later than the workflow's schedule says, and by how much (ms).

    Between a run's Start and its first Poll the child execution waits ``pollSeconds`` on the
    clock and nothing else takes simulated time: the Poll is recorded exactly ``pollSeconds`` +
    one call's latency after the Start. A later one means virtual time moved while a thread of
    that child was not waiting (a response in flight, a state being interpreted): a false
    advance. It can only show here, not be hidden: the figure is a lower bound of them."""
    from lambda_src.metadata_generation_run import contract  # noqa: PLC0415

    expected = contract.POLL_INTERVAL_SECONDS + latency
    first_poll: dict[str, float] = {}
    for call in endpoint.calls:
        if call.operation == "GetMetadataGenerationRun" and call.status == 200:
            first_poll.setdefault(str(call.params.get("identifier")), call.at)
    lateness = [
        first_poll[run.id] - run.created_at - expected for run in endpoint.backend.runs.values() if run.id in first_poll
    ]
    late = [seconds for seconds in lateness if seconds > 1e-6]
    return {
        "first_polls": len(lateness),
        "late_first_polls": len(late),
        "latest_ms": round(max(late, default=0.0) * 1000),
    }


@contextlib.contextmanager
def _step_functions(datazone_url: str, clock: Any, settings: DryRunSettings) -> Iterator[Any]:
    from constructs_local.stepfunctions import interpreter as stepfunctions  # noqa: PLC0415

    world = stepfunctions.LocalStepFunctions(datazone_url=datazone_url, clock=clock)
    fixes: frozenset[str] = getattr(stepfunctions, "FIXES", frozenset())
    if not settings.count_history and "history" in fixes:
        world.adapter = stepfunctions.MotoAdapter(
            datazone_url=datazone_url, clock=clock, fixes=frozenset(fixes - {"history"})
        )
    with world:
        yield world


def _wait_for_execution(world: Any, data: dict[str, Any], deadline: float, log: Log) -> tuple[str, str]:
    arn = data.get("ExecutionArn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return "NONE", "the deploy started no execution"
    sfn = world.client("stepfunctions", REGION)
    last = 0.0
    while True:
        status = str(sfn.describe_execution(executionArn=arn)["status"])
        if status != "RUNNING":
            return status, ""
        now = time.monotonic()
        if now >= deadline:
            return status, "the wall-time limit of the bench (DryRunSettings.wall_limit_seconds)"
        if now - last > 60:
            log(f"    execution still RUNNING ({world.running_executions()} executions)")
            last = now
        # A real-time poll: simulated time goes on meanwhile as fast as the workflow's threads let it.
        time.sleep(0.2)


def _read_json(world: Any, location: Any) -> dict[str, Any]:
    if not isinstance(location, str) or not location.startswith("s3://"):
        return {}
    bucket, _, key = location.removeprefix("s3://").partition("/")
    try:
        body = world.client("s3", REGION).get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # no summary (yet) is a figure of its own
        return {}
    found: dict[str, Any] = json.loads(body)
    return found


# --- the whole section ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    assets: int = 100_000
    failure_percent: float = 5.0
    dry_run_sizes: tuple[int, ...] = (2_000, 10_000)
    dry_run: DryRunSettings = DryRunSettings()
    run_minutes: tuple[float, ...] = (5.0, 10.0)


@dataclass
class Results:
    options: Options
    function_level: FunctionLevel | None = None
    dry_runs: list[DryRun] = field(default_factory=list)
    seconds: float = 0.0


def run(options: Options = Options(), log: Log = _quiet) -> Results:
    started = time.perf_counter()
    results = Results(options)
    if options.assets:
        log(f"catalog: worker steps at {options.assets:,} assets (function level)")
        results.function_level = function_level(options.assets, options.failure_percent, log=log)
    for assets in options.dry_run_sizes:
        log(f"catalog: local dry run of a data-source batch of {assets:,} assets, default props")
        settings = DryRunSettings(
            assets=assets,
            submitted_seconds=options.dry_run.submitted_seconds,
            in_progress_seconds=options.dry_run.in_progress_seconds,
            wall_limit_seconds=options.dry_run.wall_limit_seconds,
        )
        results.dry_runs.append(dry_run(settings, log))
    results.seconds = time.perf_counter() - started
    return results
