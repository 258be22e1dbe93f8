"""What the local DataZone endpoint knows before anyone calls it.

The ids match the example app's documented defaults (``app.py``), so ``cdk synth`` followed by a
local deploy works with no configuration. Pass your own seed (same layout, e.g. a JSON file to
``serve --seed`` or ``deploy --seed``) to try other ids; :func:`load_seed` reads and checks one.

Layout::

    {
      "account": "000000000000",              # the local AWS account in every ARN
      "defaultPrincipal": "<iam arn>",        # who a request with unregistered dummy credentials is
      "domains": {
        "<domain id>": {
          "projects": {"<project id>": {"members": {"<iam arn>": "<designation>"}}},
          "assets": {
            "<asset id>": {
              "project": "<owning project id>",
              "typeName": "amazon.datazone.GlueTableAssetType",
              "revision": 1,                  # latest revision (revisions 1..n exist)
              "supportsGeneration": true,     # asset type and schema allow metadata generation
              "outcome": "SUCCEEDED"          # optional: how runs for this asset end
            }
          }
        }
      }
    }
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_lib.local.datazone_resources import ASSET_ID, DOMAIN_ID, PROJECT_ID
from constructs_lib.local.knobs import FINAL, NEVER

LOCAL_ACCOUNT = "000000000000"
LOCAL_DEVELOPER = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-developer"

_DEFAULT_SEED: dict[str, Any] = {
    "account": LOCAL_ACCOUNT,
    "defaultPrincipal": LOCAL_DEVELOPER,
    "domains": {
        "dzd_example123": {
            "projects": {
                "exampleproject1": {"members": {LOCAL_DEVELOPER: "PROJECT_OWNER"}},
                "otherproject1": {"members": {}},
            },
            "assets": {
                "exampleasset1": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 1,
                    "supportsGeneration": True,
                },
                "exampleasset2": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 3,
                    "supportsGeneration": True,
                },
                "exampleobjects1": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.S3ObjectCollectionAssetType",
                    "revision": 1,
                    "supportsGeneration": False,
                },
                "otherasset1": {
                    "project": "otherproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 1,
                    "supportsGeneration": True,
                },
            },
        }
    },
}


def default_seed() -> dict[str, Any]:
    """A fresh copy of the built-in seed (callers may change it)."""
    return copy.deepcopy(_DEFAULT_SEED)


class SeedError(ValueError):
    """A seed file that cannot be used; the message names the file and the offending entry."""


_DOMAIN_KEYS = ("projects", "assets")
_PROJECT_KEYS = ("members",)
_ASSET_KEYS = ("project", "typeName", "revision", "supportsGeneration", "outcome")


def load_seed(path: str | Path) -> dict[str, Any]:
    """A seed from a JSON file, checked: a mistake is reported with the file and where in it."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as error:
        raise SeedError(f"seed file {file}: cannot read it ({error.strerror or error})") from error
    try:
        seed = json.loads(text)
    except json.JSONDecodeError as error:
        raise SeedError(
            f"seed file {file}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    problems = seed_problems(seed)
    if problems:
        listed = "\n  ".join(problems)
        raise SeedError(f"seed file {file}: {len(problems)} problem(s):\n  {listed}\n(see README.md, Local dry run)")
    result: dict[str, Any] = seed
    return result


def seed_problems(seed: Any) -> list[str]:
    """What is wrong with a seed (empty when nothing is), each as ``<where>: <what>``."""
    if not isinstance(seed, Mapping):
        return [f'top level: expected an object with a "domains" object, got {type(seed).__name__}']
    problems = _unknown_keys("top level", seed, ("account", "defaultPrincipal", "domains"))
    for key in ("account", "defaultPrincipal"):
        if key in seed and not isinstance(seed[key], str):
            problems.append(f"{key}: expected a string")
    domains = seed.get("domains")
    if not isinstance(domains, Mapping):
        return [*problems, "domains: expected an object of domain id -> domain"]
    for domain_id, domain in domains.items():
        where = f"domains.{domain_id}"
        if not DOMAIN_ID.fullmatch(domain_id):
            problems.append(f"{where}: a domain id matches dzd[-_][a-zA-Z0-9_-]{{1,36}} (e.g. dzd_abc123)")
        if not isinstance(domain, Mapping):
            problems.append(f'{where}: expected an object with "projects" and "assets"')
            continue
        problems += _unknown_keys(where, domain, _DOMAIN_KEYS)
        projects = domain.get("projects", {})
        problems += _projects_problems(where, projects)
        problems += _assets_problems(where, domain.get("assets", {}))
    return problems


def _unknown_keys(where: str, value: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    return [f"{where}: unknown key {key!r} (known: {', '.join(known)})" for key in value if key not in known]


def _projects_problems(where: str, projects: Any) -> list[str]:
    if not isinstance(projects, Mapping):
        return [f"{where}.projects: expected an object of project id -> project"]
    problems: list[str] = []
    for project_id, project in projects.items():
        at = f"{where}.projects.{project_id}"
        if not PROJECT_ID.fullmatch(project_id):
            problems.append(f"{at}: a project id matches [a-zA-Z0-9_-]{{1,36}}")
        if not isinstance(project, Mapping):
            problems.append(f'{at}: expected an object (e.g. {{"members": {{}}}})')
            continue
        problems += _unknown_keys(at, project, _PROJECT_KEYS)
        members = project.get("members", {})
        if not isinstance(members, Mapping) or not all(isinstance(v, str) for v in members.values()):
            problems.append(f"{at}.members: expected an object of IAM principal ARN -> designation")
    return problems


def _assets_problems(where: str, assets: Any) -> list[str]:
    if not isinstance(assets, Mapping):
        return [f"{where}.assets: expected an object of asset id -> asset"]
    outcomes = (*FINAL, NEVER)
    problems: list[str] = []
    for asset_id, asset in assets.items():
        at = f"{where}.assets.{asset_id}"
        if not ASSET_ID.fullmatch(asset_id):
            problems.append(f"{at}: an asset id matches [a-zA-Z0-9_-]{{1,36}}")
        if not isinstance(asset, Mapping):
            problems.append(f'{at}: expected an object with at least "project"')
            continue
        problems += _unknown_keys(at, asset, _ASSET_KEYS)
        # The owning project may be one the stack creates, so it need not be listed in the seed.
        if not isinstance(asset.get("project"), str) or not PROJECT_ID.fullmatch(asset["project"]):
            problems.append(f"{at}.project: expected the owning project's id, got {asset.get('project')!r}")
        revision = asset.get("revision", 1)
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            problems.append(f"{at}.revision: expected a whole number >= 1, got {revision!r}")
        if not isinstance(asset.get("supportsGeneration", True), bool):
            problems.append(f"{at}.supportsGeneration: expected true or false")
        if not isinstance(asset.get("typeName", ""), str):
            problems.append(f"{at}.typeName: expected a string")
        if "outcome" in asset and asset["outcome"] not in outcomes:
            problems.append(f"{at}.outcome: expected one of {', '.join(outcomes)}")
    return problems
