"""Ids and attributes of the DataZone resources an app may create itself (``CfnDomain``,
``CfnProject``, ``CfnDataSource``).

The replay gives other resources CloudFormation-style generated names, but the handler and the
endpoint validate DataZone ids (``dzd_...`` for domains), so a domain or project declared in the
same stack needs an id of the real shape. Ids derive from the stack name and logical id: an
update keeps them, as CloudFormation keeps a resource's physical id.

``Ref`` follows CloudFormation: a domain's is its id; a project's is ``<domain id>|<project id>``, a
data source's ``<domain id>|<data source id>`` (both have DomainId and Id as primary identifier).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

DOMAIN_TYPE = "AWS::DataZone::Domain"
PROJECT_TYPE = "AWS::DataZone::Project"
DATA_SOURCE_TYPE = "AWS::DataZone::DataSource"
TYPES = (DOMAIN_TYPE, PROJECT_TYPE, DATA_SOURCE_TYPE)

# The patterns of the DataZone API (and of AWS::DataZone::ProjectMembership's properties).
DOMAIN_ID = re.compile(r"dzd[-_][a-zA-Z0-9_-]{1,36}")
PROJECT_ID = re.compile(r"[a-zA-Z0-9_-]{1,36}")
ASSET_ID = PROJECT_ID
DATA_SOURCE_ID = PROJECT_ID

# Timestamps are not tracked locally; a fixed one keeps the resolved templates stable between deploys.
_TIMESTAMP = "2024-01-01T00:00:00Z"

DOMAIN_ATTRIBUTES = (
    "Id",
    "Arn",
    "Status",
    "PortalUrl",
    "ManagedAccountId",
    "RootDomainUnitId",
    "CreatedAt",
    "LastUpdatedAt",
)
PROJECT_ATTRIBUTES = ("Id", "DomainId", "ProjectStatus", "CreatedBy", "CreatedAt", "LastUpdatedAt")
DATA_SOURCE_ATTRIBUTES = (
    "Id",
    "DomainId",
    "ProjectId",
    "EnvironmentId",
    "ConnectionId",
    "Status",
    "CreatedAt",
    "UpdatedAt",
    "LastRunStatus",
    "LastRunAt",
    "LastRunAssetCount",
)


def _digest(stack_name: str, logical_id: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\n{stack_name}\n{logical_id}".encode()).hexdigest()[:14]


def local_domain_id(stack_name: str, logical_id: str) -> str:
    return f"dzd_{_digest(stack_name, logical_id, DOMAIN_TYPE)}"


def local_project_id(stack_name: str, logical_id: str) -> str:
    return _digest(stack_name, logical_id, PROJECT_TYPE)


def local_data_source_id(stack_name: str, logical_id: str) -> str:
    return _digest(stack_name, logical_id, DATA_SOURCE_TYPE)


def project_ref(domain_id: str, project_id: str) -> str:
    return f"{domain_id}|{project_id}"


def split_project_ref(ref: str) -> tuple[str, str]:
    domain_id, _, project_id = ref.rpartition("|")
    return domain_id, project_id


def attribute(
    kind: str,
    physical_id: str,
    name: str,
    *,
    region: str,
    account: str,
    partition: str,
    properties: Mapping[str, Any] | None = None,
) -> str | None:
    """``Fn::GetAtt`` of a domain, project or data source from its physical id and resolved
    properties (None: no such attribute)."""
    if kind == DOMAIN_TYPE:
        values = _domain_attributes(physical_id, region=region, account=account, partition=partition)
    elif kind == PROJECT_TYPE:
        domain_id, project_id = split_project_ref(physical_id)
        values = {
            "Id": project_id,
            "DomainId": domain_id,
            "ProjectStatus": "ACTIVE",
            "CreatedBy": f"arn:{partition}:iam::{account}:user/local-developer",
            "CreatedAt": _TIMESTAMP,
            "LastUpdatedAt": _TIMESTAMP,
        }
    elif kind == DATA_SOURCE_TYPE:
        values = _data_source_attributes(physical_id, properties or {})
    else:
        return None
    return values.get(name)


def _domain_attributes(physical_id: str, *, region: str, account: str, partition: str) -> dict[str, str]:
    return {
        "Id": physical_id,
        "Arn": f"arn:{partition}:datazone:{region}:{account}:domain/{physical_id}",
        "Status": "AVAILABLE",
        "PortalUrl": f"https://{physical_id}.datazone.{region}.on.aws",
        "ManagedAccountId": account,
        "RootDomainUnitId": f"{physical_id.split('_', 1)[-1][:10]}root",
        "CreatedAt": _TIMESTAMP,
        "LastUpdatedAt": _TIMESTAMP,
    }


def _data_source_attributes(physical_id: str, properties: Mapping[str, Any]) -> dict[str, str]:
    domain_id, source_id = split_project_ref(physical_id)
    values = {
        "Id": source_id,
        "DomainId": domain_id,
        "ProjectId": str(properties.get("ProjectIdentifier", "")),
        "EnvironmentId": str(properties.get("EnvironmentIdentifier", "")),
        "ConnectionId": str(properties.get("ConnectionIdentifier", "")),
        "Status": "READY",
        "CreatedAt": _TIMESTAMP,
        "UpdatedAt": _TIMESTAMP,
        # What CloudFormation reads right after creating it: the first run has just been requested.
        "LastRunStatus": "REQUESTED" if properties.get("EnableSetting", "ENABLED") != "DISABLED" else "",
        "LastRunAt": _TIMESTAMP,
        "LastRunAssetCount": "0",
    }
    return {key: value for key, value in values.items() if value}


def data_source_database(properties: Mapping[str, Any]) -> str | None:
    """The first Glue database (or Redshift schema) a data source's configuration names."""
    configuration = properties.get("Configuration") or {}
    for run_key, filter_key in (
        ("GlueRunConfiguration", "RelationalFilterConfigurations"),
        ("RedshiftRunConfiguration", "RelationalFilterConfigurations"),
    ):
        filters = (configuration.get(run_key) or {}).get(filter_key) or []
        for entry in filters:
            if isinstance(entry, Mapping) and isinstance(entry.get("DatabaseName"), str):
                return str(entry["DatabaseName"])
    return None
