"""Ids and attributes of the DataZone resources an app may create itself (``CfnDomain``, ``CfnProject``).

The replay gives other resources CloudFormation-style generated names, but the handler and the
endpoint validate DataZone ids (``dzd_...`` for domains), so a domain or project declared in the
same stack needs an id of the real shape. Ids derive from the stack name and logical id: an
update keeps them, as CloudFormation keeps a resource's physical id.

``Ref`` follows CloudFormation: a domain's is its id; a project's is ``<domain id>|<project id>``.
"""

from __future__ import annotations

import hashlib
import re

DOMAIN_TYPE = "AWS::DataZone::Domain"
PROJECT_TYPE = "AWS::DataZone::Project"
TYPES = (DOMAIN_TYPE, PROJECT_TYPE)

# The patterns of the DataZone API (and of AWS::DataZone::ProjectMembership's properties).
DOMAIN_ID = re.compile(r"dzd[-_][a-zA-Z0-9_-]{1,36}")
PROJECT_ID = re.compile(r"[a-zA-Z0-9_-]{1,36}")
ASSET_ID = PROJECT_ID

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


def _digest(stack_name: str, logical_id: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\n{stack_name}\n{logical_id}".encode()).hexdigest()[:14]


def local_domain_id(stack_name: str, logical_id: str) -> str:
    return f"dzd_{_digest(stack_name, logical_id, DOMAIN_TYPE)}"


def local_project_id(stack_name: str, logical_id: str) -> str:
    return _digest(stack_name, logical_id, PROJECT_TYPE)


def project_ref(domain_id: str, project_id: str) -> str:
    return f"{domain_id}|{project_id}"


def split_project_ref(ref: str) -> tuple[str, str]:
    domain_id, _, project_id = ref.rpartition("|")
    return domain_id, project_id


def attribute(kind: str, physical_id: str, name: str, *, region: str, account: str, partition: str) -> str | None:
    """``Fn::GetAtt`` of a domain or project from its physical id (None: no such attribute)."""
    if kind == DOMAIN_TYPE:
        domain = {
            "Id": physical_id,
            "Arn": f"arn:{partition}:datazone:{region}:{account}:domain/{physical_id}",
            "Status": "AVAILABLE",
            "PortalUrl": f"https://{physical_id}.datazone.{region}.on.aws",
            "ManagedAccountId": account,
            "RootDomainUnitId": f"{physical_id.split('_', 1)[-1][:10]}root",
            "CreatedAt": _TIMESTAMP,
            "LastUpdatedAt": _TIMESTAMP,
        }
        return domain.get(name)
    if kind == PROJECT_TYPE:
        domain_id, project_id = split_project_ref(physical_id)
        project = {
            "Id": project_id,
            "DomainId": domain_id,
            "ProjectStatus": "ACTIVE",
            "CreatedBy": f"arn:{partition}:iam::{account}:user/local-developer",
            "CreatedAt": _TIMESTAMP,
            "LastUpdatedAt": _TIMESTAMP,
        }
        return project.get(name)
    return None
