"""Data sources, their runs and run activities, and inventory search: what a batch's selection reads.

Protocol-free like :mod:`constructs_local.datazone.models`, which owns the state and the lock and
calls in here. What the service does, from the API reference and the service model:

* a data source run goes REQUESTED -> RUNNING -> SUCCESS | PARTIALLY_SUCCEEDED | FAILED on the
  shared clock (``Knobs.data_source_*``); it records one activity per asset it imported
  (``SUCCEEDED_CREATED`` the first time a data source imports an asset, ``SUCCEEDED_UPDATED``
  when the asset's ``schemaVersion`` moved since the data source's previous run, ``UNCHANGED``
  otherwise); :func:`stage_import` makes new tables and changes schemas for the next run;
* ``Search`` over ``ASSET`` returns ``assetItem`` entries of the projects the caller belongs to.

Assumptions (the documentation is silent; the stricter choice): activities are listed once the
run has finished, not while it runs; listing runs or activities, and searching a project, needs
membership of the data source's (or searched) project.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from constructs_local.datazone.exceptions import ServiceError, validation_error

GLUE_TABLE = "amazon.datazone.GlueTableAssetType"
#: Asset types a data source of each type imports (by prefix of the type identifier).
IMPORTED_TYPE_PREFIX = {"GLUE": "amazon.datazone.Glue", "REDSHIFT": "amazon.datazone.Redshift"}
#: ``firstRun`` of a data source entry: already imported when the endpoint starts (the seed's
#: default), started when the entry is added (a data source the app creates), or never.
FIRST_RUN = ("finished", "onCreate", "none")
_WAITING = ("REQUESTED", "RUNNING")
FAILED_RUN_MESSAGE = "data source run failed (injected by the local endpoint)"


def asset_type(asset: Mapping[str, Any]) -> str:
    """An asset's type identifier (``typeName`` is the seed key of earlier versions)."""
    return str(asset.get("typeIdentifier") or asset.get("typeName") or GLUE_TABLE)


def asset_name(asset_id: str, asset: Mapping[str, Any]) -> str:
    return str(asset.get("name") or asset_id)


def iso(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class DataSourceRun:
    domain_id: str
    id: str
    data_source_id: str
    project_id: str
    created_at: float
    requested_seconds: float
    running_seconds: float
    outcome: str
    #: (asset id, technical name, whether an earlier run of the data source imported it)
    assets: list[tuple[str, str, bool]] = field(default_factory=list)
    database: str = "default"
    run_type: str = "PRIORITIZED"
    #: Asset ids this run updated (their schema changed since the data source's previous run).
    updated: list[str] = field(default_factory=list)
    #: The schema version of each asset as this run saw it (the next run compares).
    versions: dict[str, int] = field(default_factory=dict)
    #: Whether its end was announced to EventBridge (DataZone's "Data Source Run ..." event).
    #: True by default: runs that ended before the endpoint existed, or in a state file older
    #: than this field, announce nothing.
    announced: bool = True

    @property
    def finished_at(self) -> float:
        return self.created_at + self.requested_seconds + self.running_seconds

    def status(self, now: float) -> str:
        if now < self.created_at + self.requested_seconds:
            return "REQUESTED"
        if now < self.finished_at:
            return "RUNNING"
        return self.outcome

    def _failed_index(self) -> int | None:
        # A partial import fails its last asset: one failure is enough to exercise the path.
        return len(self.assets) - 1 if self.outcome == "PARTIALLY_SUCCEEDED" and self.assets else None

    def summary(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        result: dict[str, Any] = {
            "id": self.id,
            "dataSourceId": self.data_source_id,
            "type": self.run_type,
            "status": status,
            "projectId": self.project_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(min(now, self.finished_at)),
        }
        if status != "REQUESTED":
            result["startedAt"] = iso(self.created_at + self.requested_seconds)
        if status in _WAITING:
            return result
        result["stoppedAt"] = iso(self.finished_at)
        if status == "FAILED":
            result["errorMessage"] = {"errorType": "INTERNAL_SERVER_EXCEPTION", "errorDetail": FAILED_RUN_MESSAGE}
            return result
        failed_index = self._failed_index()
        statuses = [self._status(i, asset, failed_index) for i, asset in enumerate(self.assets)]
        result["runStatisticsForAssets"] = {
            "added": statuses.count("SUCCEEDED_CREATED"),
            "updated": statuses.count("SUCCEEDED_UPDATED"),
            "unchanged": statuses.count("UNCHANGED"),
            "skipped": 0,
            "failed": statuses.count("FAILED"),
        }
        return result

    def _status(self, index: int, asset: tuple[str, str, bool], failed_index: int | None) -> str:
        asset_id, _, before = asset
        if index == failed_index:
            return "FAILED"
        if not before:
            return "SUCCEEDED_CREATED"
        return "SUCCEEDED_UPDATED" if asset_id in self.updated else "UNCHANGED"

    def activities(self, now: float) -> list[dict[str, Any]]:
        """The run's activities. A finished run's never change: they are built once and kept, so
        paging through N of them costs O(page) a call (rebuilt on every page, 10,000 assets cost
        200 pages x 10,000 items)."""
        if self.status(now) in (*_WAITING, "FAILED"):
            return []
        # Not a dataclass field: export_state (asdict) leaves it out.
        built: list[dict[str, Any]] | None = self.__dict__.get("_activities")
        if built is None:
            built = self.__dict__["_activities"] = self._build_activities()
        return built

    def activities_in(self, now: float, status: str | None) -> list[dict[str, Any]]:
        """The run's activities of ``status`` (all for None), each filtered list kept too."""
        every = self.activities(now)
        if status is None or not every:
            return every
        kept: dict[str, list[dict[str, Any]]] = self.__dict__.setdefault("_activities_in", {})
        if status not in kept:
            kept[status] = [item for item in every if item["dataAssetStatus"] == status]
        return kept[status]

    def _build_activities(self) -> list[dict[str, Any]]:
        failed_index = self._failed_index()
        items = []
        for index, (asset_id, name, before) in enumerate(self.assets):
            item: dict[str, Any] = {
                "database": self.database,
                "dataSourceRunId": self.id,
                "technicalName": name,
                "dataAssetStatus": self._status(index, (asset_id, name, before), None),
                "projectId": self.project_id,
                "dataAssetId": asset_id,
                "createdAt": iso(self.finished_at),
                "updatedAt": iso(self.finished_at),
            }
            if index == failed_index:
                del item["dataAssetId"]
                item["dataAssetStatus"] = "FAILED"
                item["errorMessage"] = {"errorType": "VALIDATION_EXCEPTION", "errorDetail": FAILED_RUN_MESSAGE}
            items.append(item)
        return items


def imported_assets(domain: Mapping[str, Any], source: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(id, technical name) of what a run of ``source`` imports: its explicit ``assets`` list,
    else every asset of its project whose type the data source's type imports (seeded or
    generated, not made on the fly)."""
    assets: Mapping[str, Any] = domain.get("assets", {})
    listed = source.get("assets")
    if listed is not None:
        return [(str(a), asset_name(str(a), assets.get(a, {}))) for a in listed]
    prefix = IMPORTED_TYPE_PREFIX.get(str(source.get("type", "GLUE")), "amazon.datazone.Glue")
    return [
        (asset_id, asset_name(asset_id, asset))
        for asset_id, asset in sorted(assets.items())
        if asset.get("project") == source.get("project")
        and asset_type(asset).startswith(prefix)
        # Ids the app names (a run's, a batch's list) stand for assets of their own: made on the
        # fly so that those calls work, not tables this data source found.
        and not asset.get("onTheFly", False)
    ]


def stage_import(
    domain: dict[str, Any], source_id: str, imported: list[str], *, created: int, updated: int, new_id: Any
) -> tuple[list[str], list[str]]:
    """Prepare the data source's next run: ``created`` new Glue tables in its project (and in its
    explicit asset list, if it has one), and a new schema version for ``updated`` of the assets it
    ``imported`` before (the first ones by id). The new and the changed asset ids."""
    source = domain["dataSources"][source_id]
    assets = domain.setdefault("assets", {})
    changed = sorted(a for a in set(imported) if a in assets)[:updated]
    if len(changed) < updated:
        problem = f"data source {source_id} imported {len(changed)} assets before: cannot update {updated}"
        raise validation_error([problem])
    made = []
    for _ in range(created):
        asset_id = new_id()
        prefix = IMPORTED_TYPE_PREFIX.get(str(source.get("type", "GLUE")), "amazon.datazone.Glue")
        assets[asset_id] = {
            "project": source.get("project"),
            "typeIdentifier": GLUE_TABLE if prefix.endswith("Glue") else f"{prefix}TableAssetType",
            "revision": 1,
            "supportsGeneration": True,
            "name": f"table_{asset_id}",
        }
        if source.get("assets") is not None:
            source["assets"].append(asset_id)
        made.append(asset_id)
    for asset_id in changed:
        assets[asset_id]["schemaVersion"] = int(assets[asset_id].get("schemaVersion", 1)) + 1
    return made, changed


def search_items(
    domain_id: str, domain: Mapping[str, Any], params: Mapping[str, Any], projects: set[str]
) -> list[dict[str, Any]]:
    """``assetItem`` results of an ASSET search over ``projects``, by name."""
    text = str(params.get("searchText") or "").lower()
    items = []
    for asset_id, asset in domain.get("assets", {}).items():
        project = str(asset.get("project"))
        name = asset_name(asset_id, asset)
        if project not in projects or (text and text not in name.lower() and text not in asset_id.lower()):
            continue
        items.append(
            {
                "assetItem": {
                    "domainId": domain_id,
                    "identifier": asset_id,
                    "name": name,
                    "typeIdentifier": asset_type(asset),
                    "typeRevision": "1",
                    "owningProjectId": project,
                }
            }
        )
    items.sort(key=lambda item: (item["assetItem"]["name"], item["assetItem"]["identifier"]))
    return items


def page(items: list[Any], params: Mapping[str, Any], scope: str, filters: Mapping[str, Any]) -> dict[str, Any]:
    """One page of ``items`` (``maxResults``, default 50) and the token of the next, if any."""
    offset = decode_token(params.get("nextToken"), scope, filters)
    size = int(params.get("maxResults") or 50)
    result: dict[str, Any] = {"items": items[offset : offset + size]}
    if offset + size < len(items):
        result["nextToken"] = encode_token(offset + size, scope, filters)
    return result


def encode_token(offset: int, scope: str, filters: Mapping[str, Any]) -> str:
    raw = json.dumps({"o": offset, "d": scope, "f": filters}, sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str | None, scope: str, filters: Mapping[str, Any]) -> int:
    """The offset a token stands for; a token of another query is refused, as the service does."""
    if token is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if decoded["d"] != scope or decoded["f"] != dict(filters):
            raise ValueError("token of another query")
        return int(decoded["o"])
    except (ValueError, KeyError, TypeError) as error:
        raise validation_error(
            [f"Value '{token}' at 'nextToken' failed to satisfy constraint: Member must be a valid pagination token"]
        ) from error


def not_found(what: str, ident: str, domain_id: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"{what} {ident} not found in domain {domain_id}.")
