"""The events the local DataZone endpoint sends its account's default bus when a data-source run
ends: ``Data Source Run Succeeded`` (SUCCESS or PARTIALLY_SUCCEEDED: an assumption, the event
reference names no "partially" type) and ``Data Source Run Failed``.

The detail's shape is DataZone's as public samples read it (the user guide lists ``metadata`` and
``data`` without documenting each type's members): ``metadata.id`` is the run id, with
``metadata.domain``, ``metadata.owningProjectId``, ``metadata.typeName``, ``metadata.version``
and ``metadata.awsAccountId``; ``data`` has ``dataSourceId``, ``dataSourceRunType`` and, here,
``status`` and ``errorMessage`` (what a consumer may be tempted to trust; the construct's intake
reads the run id and the domain only, and asks GetDataSourceRun for the rest).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from constructs_local.datazone.catalog import DataSourceRun
from constructs_local.events.models import DATAZONE_SOURCE

SUCCEEDED = "Data Source Run Succeeded"
FAILED = "Data Source Run Failed"


def data_source_run_event(run: DataSourceRun, *, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event announcing ``run``'s end."""
    status = run.outcome
    data: dict[str, Any] = {"dataSourceId": run.data_source_id, "dataSourceRunType": run.run_type, "status": status}
    summary = run.summary(run.finished_at)
    if "errorMessage" in summary:
        data["errorMessage"] = summary["errorMessage"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": FAILED if status == "FAILED" else SUCCEEDED,
        "source": DATAZONE_SOURCE,
        "account": account,
        "time": datetime.fromtimestamp(run.finished_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {
            "version": "1",
            "metadata": {
                "id": run.id,
                "version": "1",
                "typeName": "DataSourceRunType",
                "domain": run.domain_id,
                "owningProjectId": run.project_id,
                "awsAccountId": account,
            },
            "data": data,
        },
    }
