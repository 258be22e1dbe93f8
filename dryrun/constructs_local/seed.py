"""What the local DataZone endpoint knows before anyone calls it.

The ids match the example app's documented defaults (``app.py``), so ``cdk synth`` followed by a
local deploy works with no configuration. Pass your own seed (same layout, e.g. a JSON file to
``serve --seed`` or ``deploy --seed``) to try other ids; :func:`load_seed` reads and checks one.

Layout::

    {
      "account": "000000000000",              # the local AWS account in every ARN
      "defaultPrincipal": "<iam arn>",        # who a request with unregistered dummy credentials is
      "generatedAssets": 0,                   # optional: N Glue tables made up (see generate_assets)
      "domains": {
        "<domain id>": {
          "projects": {"<project id>": {"members": {"<iam arn>": "<designation>"}}},
          "assets": {
            "<asset id>": {
              "project": "<owning project id>",
              "typeIdentifier": "amazon.datazone.GlueTableAssetType",
              "revision": 1,                  # latest revision (revisions 1..n exist)
              "supportsGeneration": true,     # asset type and schema allow metadata generation
              "outcome": "SUCCEEDED",         # optional: how runs for this asset end
              "name": "orders"                # optional: the name Search and imports show
            }
          },
          "dataSources": {
            "<data source id>": {
              "project": "<project id>",
              "type": "GLUE",                 # or REDSHIFT
              "name": "sales-tables",
              "database": "sales",            # optional: what activities name as the database
              "assets": ["<asset id>"],       # optional: what its runs import (default: the
                                              # project's assets of its type, generated ones too)
              "firstRun": "finished"          # or "onCreate" / "none"
            }
          }
        }
      }
    }
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_local.cloudformation.datazone_resources import ASSET_ID, DATA_SOURCE_ID, DOMAIN_ID, PROJECT_ID
from constructs_local.datazone.catalog import FIRST_RUN, GLUE_TABLE, IMPORTED_TYPE_PREFIX
from constructs_local.knobs import FINAL, NEVER

LOCAL_ACCOUNT = "000000000000"
#: More would make a state file of tens of megabytes; the bench's largest batch is 10,000.
MAX_GENERATED = 100_000
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
                    "typeIdentifier": "amazon.datazone.GlueTableAssetType",
                    "revision": 1,
                    "supportsGeneration": True,
                },
                "exampleasset2": {
                    "project": "exampleproject1",
                    "typeIdentifier": "amazon.datazone.GlueTableAssetType",
                    "revision": 3,
                    "supportsGeneration": True,
                },
                "exampleobjects1": {
                    "project": "exampleproject1",
                    "typeIdentifier": "amazon.datazone.S3ObjectCollectionAssetType",
                    "revision": 1,
                    "supportsGeneration": False,
                },
                "otherasset1": {
                    "project": "otherproject1",
                    "typeIdentifier": "amazon.datazone.GlueTableAssetType",
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


_DOMAIN_KEYS = ("projects", "assets", "dataSources")
_PROJECT_KEYS = ("members",)
_ASSET_KEYS = ("project", "typeIdentifier", "typeName", "name", "revision", "supportsGeneration", "outcome")
_DATA_SOURCE_KEYS = ("project", "type", "name", "database", "assets", "firstRun")
_TOP_KEYS = ("account", "defaultPrincipal", "generatedAssets", "domains")
GENERATED = "generated"


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
        raise SeedError(
            f"seed file {file}: {len(problems)} problem(s):\n  {listed}\n(format: docs/local-dry-run.md, Seed file)"
        )
    result: dict[str, Any] = seed
    return result


def seed_problems(seed: Any) -> list[str]:
    """What is wrong with a seed (empty when nothing is), each as ``<where>: <what>``."""
    if not isinstance(seed, Mapping):
        return [f'top level: expected an object with a "domains" object, got {type(seed).__name__}']
    problems = _unknown_keys("top level", seed, _TOP_KEYS)
    for key in ("account", "defaultPrincipal"):
        if key in seed and not isinstance(seed[key], str):
            problems.append(f"{key}: expected a string, got {seed[key]!r}")
    generated = seed.get("generatedAssets", 0)
    if isinstance(generated, bool) or not isinstance(generated, int) or not 0 <= generated <= MAX_GENERATED:
        problems.append(f"generatedAssets: expected a whole number from 0 to {MAX_GENERATED}, got {generated!r}")
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
        problems += _data_sources_problems(where, domain.get("dataSources", {}), domain.get("assets", {}))
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
    problems: list[str] = []
    for asset_id, asset in assets.items():
        at = f"{where}.assets.{asset_id}"
        if not ASSET_ID.fullmatch(asset_id):
            problems.append(f"{at}: an asset id matches [a-zA-Z0-9_-]{{1,36}}")
        if not isinstance(asset, Mapping):
            problems.append(f'{at}: expected an object with at least "project"')
            continue
        problems += _unknown_keys(at, asset, _ASSET_KEYS) + _asset_fields_problems(at, asset)
    return problems


def _asset_fields_problems(at: str, asset: Mapping[str, Any]) -> list[str]:
    outcomes = (*FINAL, NEVER)
    problems = _owner_problems(at, asset)
    revision = asset.get("revision", 1)
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        problems.append(f"{at}.revision: expected a whole number >= 1, got {revision!r}")
    if not isinstance(asset.get("supportsGeneration", True), bool):
        problems.append(f"{at}.supportsGeneration: expected true or false, got {asset['supportsGeneration']!r}")
    problems += _names_problems(at, asset, ("typeIdentifier", "typeName", "name"))
    if "outcome" in asset and asset["outcome"] not in outcomes:
        problems.append(f"{at}.outcome: expected one of {', '.join(outcomes)}, got {asset['outcome']!r}")
    return problems


def _owner_problems(at: str, entry: Mapping[str, Any]) -> list[str]:
    # The owning project may be one the stack creates, so it need not be listed in the seed.
    if not isinstance(entry.get("project"), str) or not PROJECT_ID.fullmatch(entry["project"]):
        return [f"{at}.project: expected the owning project's id, got {entry.get('project')!r}"]
    return []


def _names_problems(at: str, entry: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [
        f"{at}.{key}: expected a non-empty string"
        for key in keys
        if not isinstance(entry.get(key, "x"), str) or not entry.get(key, "x")
    ]


def _data_sources_problems(where: str, sources: Any, assets: Any) -> list[str]:
    if not isinstance(sources, Mapping):
        return [f"{where}.dataSources: expected an object of data source id -> data source"]
    known_assets = set(assets) if isinstance(assets, Mapping) else set()
    problems: list[str] = []
    for source_id, source in sources.items():
        at = f"{where}.dataSources.{source_id}"
        if not DATA_SOURCE_ID.fullmatch(source_id):
            problems.append(f"{at}: a data source id matches [a-zA-Z0-9_-]{{1,36}}")
        if not isinstance(source, Mapping):
            problems.append(f'{at}: expected an object with at least "project"')
            continue
        problems += _unknown_keys(at, source, _DATA_SOURCE_KEYS) + _owner_problems(at, source)
        if source.get("type", "GLUE") not in IMPORTED_TYPE_PREFIX:
            problems.append(f"{at}.type: expected one of {', '.join(IMPORTED_TYPE_PREFIX)}, got {source['type']!r}")
        if source.get("firstRun", FIRST_RUN[0]) not in FIRST_RUN:
            problems.append(f"{at}.firstRun: expected one of {', '.join(FIRST_RUN)}, got {source['firstRun']!r}")
        problems += _names_problems(at, source, ("name", "database"))
        problems += _imported_problems(at, source.get("assets", []), known_assets)
    return problems


def _imported_problems(at: str, listed: Any, known_assets: set[str]) -> list[str]:
    if not isinstance(listed, list) or not all(isinstance(a, str) for a in listed):
        return [f"{at}.assets: expected a list of asset ids"]
    missing = [a for a in listed if a not in known_assets]
    return [f"{at}.assets: {', '.join(missing)} not among the domain's assets"] if missing else []


def generated_asset_ids(domain_id: str, project_id: str, count: int) -> list[str]:
    """Ids of the assets :func:`generate_assets` makes: stable per project, so a second deploy
    finds the ones the first made."""
    tag = hashlib.sha256(f"{domain_id}\n{project_id}".encode()).hexdigest()[:8]
    return [f"glue{tag}{index:06d}" for index in range(1, count + 1)]


def generate_assets(domain_id: str, project_id: str, count: int) -> dict[str, Any]:
    """``count`` Glue-table assets of a project (seed layout), for catalogs larger than a seed
    file should spell out."""
    return {
        asset_id: {
            "project": project_id,
            "typeIdentifier": GLUE_TABLE,
            "name": f"table_{index:06d}",
            "revision": 1,
            GENERATED: True,
        }
        for index, asset_id in enumerate(generated_asset_ids(domain_id, project_id, count), start=1)
    }


def data_source_target(seed: Mapping[str, Any]) -> tuple[str, str] | None:
    """(domain, project) of the seed's first data source without an explicit asset list."""
    for domain_id, domain in seed.get("domains", {}).items():
        for source in domain.get("dataSources", {}).values():
            if "assets" not in source:
                return domain_id, str(source["project"])
    return None


def default_target(seed: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where a seed's generated assets go when the app does not say: the project of its first data
    source without an explicit asset list, else its first project."""
    found = data_source_target(seed)
    if found is not None:
        return found
    for domain_id, domain in seed.get("domains", {}).items():
        for project_id in domain.get("projects", {}):
            return domain_id, str(project_id)
    return None


def with_generated_assets(seed: Mapping[str, Any], target: tuple[str, str] | None = None) -> dict[str, Any]:
    """A copy of ``seed`` with its ``generatedAssets`` made, in ``target`` (domain, project) or
    :func:`default_target`."""
    result = copy.deepcopy(dict(seed))
    count = int(result.get("generatedAssets", 0))
    where = target or default_target(result)
    if count and where is not None:
        domain = result.setdefault("domains", {}).setdefault(where[0], {"projects": {}, "assets": {}})
        domain.setdefault("assets", {}).update(generate_assets(where[0], where[1], count))
    return result
