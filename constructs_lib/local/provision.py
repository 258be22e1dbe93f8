"""Make the local endpoint know every domain, project and asset a user's app needs, before a deploy.

On AWS, a run needs its domain, project and asset to exist: the stack creates some
(``AWS::DataZone::Domain`` / ``AWS::DataZone::Project``) and expects the others. Locally, the
stack's own domains and projects get ids from :mod:`constructs_lib.local.datazone_resources` and
are created in the endpoint; ids the app merely references (run properties, project
memberships) and the seed does not know are created on the fly, one notice each, so that any
app deploys with no seed at all. ``strict`` refuses them instead, for when the seed is meant to
be the whole truth.

Entries created on the fly carry ``"onTheFly": true`` in the endpoint's world: a later
``--strict`` deploy still counts them as unknown, and a seed that names them replaces them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.request import Request, urlopen

from constructs_lib._handler.contract import RESOURCE_TYPE, Prop
from constructs_lib.local import datazone_resources as dzr
from constructs_lib.local.assembly import AssemblyError, ResolveError, Resolver, StackArtifact

MEMBERSHIP_TYPE = "AWS::DataZone::ProjectMembership"
ON_THE_FLY = "onTheFly"
ASSET_TYPE_NAME = "amazon.datazone.GlueTableAssetType"
_TEMPLATE_REGION = "us-east-1"  # ids do not depend on it; only ARNs would, and none is read here
_TEMPLATE_ACCOUNT = "000000000000"


class UnknownIdsError(AssemblyError):
    """``strict``: the app references ids that neither the seed nor the app itself provides."""


class World(Protocol):
    """The endpoint's domains, projects and assets (seed layout): read, and add to."""

    def world_snapshot(self) -> dict[str, Any]: ...

    def merge_world(self, domains: Mapping[str, Any]) -> None: ...


class HttpWorld:
    """The world of a ``serve`` process, through its ``/_local/`` control routes."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def world_snapshot(self) -> dict[str, Any]:
        with urlopen(f"{self.url}/_local/state", timeout=10) as answer:  # noqa: S310 - loopback, checked by the replay
            world: dict[str, Any] = json.loads(answer.read())["world"]
        return world

    def merge_world(self, domains: Mapping[str, Any]) -> None:
        body = json.dumps({"domains": domains}).encode()
        request = Request(f"{self.url}/_local/world", data=body, method="POST")  # noqa: S310 - loopback
        request.add_header("Content-Type", "application/json")
        with urlopen(request, timeout=10):  # noqa: S310 - loopback
            pass


@dataclass
class _Needs:
    """What the selected stacks create and reference, keyed so that each id is reported once."""

    declared_domains: dict[str, str] = field(default_factory=dict)  # domain -> resource path
    declared_projects: dict[tuple[str, str], str] = field(default_factory=dict)  # (domain, project) -> path
    domains: dict[str, str] = field(default_factory=dict)  # referenced domain -> first user
    projects: dict[tuple[str, str], str] = field(default_factory=dict)
    assets: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)  # -> (project, revision, user)


def provision(
    stacks: Sequence[StackArtifact],
    world: World,
    *,
    seed: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> list[str]:
    """Add what ``stacks`` need to ``world``; the notices, one line per id added.

    :param seed: entries to add when the world lacks them (or has them only on the fly): the
        state file keeps the endpoint's world between commands, so a seed edited since is
        merged in rather than ignored.
    :raises UnknownIdsError: with ``strict``, naming every referenced id the seed lacks.
    """
    current = world.world_snapshot()
    additions: dict[str, Any] = {}
    if seed is not None:
        _merge(additions, _missing_from(current, seed.get("domains", {})))
    needs = _needs(stacks)
    notices: list[str] = []
    unknown: list[tuple[str, str]] = []  # (what, who uses it)
    principal = str(current.get("defaultPrincipal", f"arn:aws:iam::{_TEMPLATE_ACCOUNT}:user/local-developer"))

    def entry(*path: str) -> Mapping[str, Any] | None:
        added = _lookup(additions, *path)
        return added if added is not None else _lookup(current.get("domains", {}), *path)

    def known(*path: str) -> bool:
        # With strict, what an earlier deploy made on the fly is still not the seed's.
        found = entry(*path)
        return found is not None and not (strict and found.get(ON_THE_FLY, False))

    for domain, where in needs.declared_domains.items():
        if entry(domain) is None:
            _merge(additions, {domain: {"projects": {}, "assets": {}}})
            notices.append(f"notice: {where} (AWS::DataZone::Domain) is domain {domain} in the local endpoint")
    for (domain, project), where in needs.declared_projects.items():
        if entry(domain, "projects", project) is None:
            # The creator of a project is its owner, as on AWS.
            _merge(additions, {domain: {"projects": {project: {"members": {principal: "PROJECT_OWNER"}}}}})
            notices.append(
                f"notice: {where} (AWS::DataZone::Project) is project {project} of domain {domain} "
                "in the local endpoint"
            )
    for domain, user in needs.domains.items():
        if not known(domain):
            unknown.append((f"domain {domain}", user))
            if entry(domain) is None:
                _merge(additions, {domain: {ON_THE_FLY: True, "projects": {}, "assets": {}}})
    for (domain, project), user in needs.projects.items():
        if not known(domain, "projects", project):
            unknown.append((f"project {project} of domain {domain}", user))
            if entry(domain, "projects", project) is None:
                _merge(additions, {domain: {"projects": {project: {ON_THE_FLY: True, "members": {}}}}})
    for (domain, asset), (project, revision, user) in needs.assets.items():
        found = entry(domain, "assets", asset)
        if not known(domain, "assets", asset):
            unknown.append((f"asset {asset} of domain {domain} (owned by project {project})", user))
        made_here = found is None or (found.get(ON_THE_FLY, False) and int(found.get("revision", 1)) < revision)
        if made_here:
            # An asset made on the fly follows the app: a run asking for revision 3 finds revision 3.
            fresh = {
                ON_THE_FLY: True,
                "project": project,
                "typeName": ASSET_TYPE_NAME,
                "revision": revision,
                "supportsGeneration": True,
            }
            _merge(additions, {domain: {"assets": {asset: fresh}}})
    if strict and unknown:
        listed = "\n  ".join(f"{what}, used by {user}" for what, user in unknown)
        raise UnknownIdsError(
            f"--strict: the app references ids that the seed does not know:\n  {listed}\n"
            "Add them to your seed file (--seed FILE; the format is in README.md, section 'Local dry run'), "
            "or deploy without --strict to have them created on the fly."
        )
    notices += [
        f"notice: {what} is not in the seed: created it on the fly (--strict refuses; see README, Local dry run)"
        for what, _ in unknown
    ]
    if additions:
        world.merge_world(additions)
    return notices


def _needs(stacks: Iterable[StackArtifact]) -> _Needs:
    needs = _Needs()
    for stack in stacks:
        resolver = Resolver(
            stack.template,
            stack_name=stack.stack_name,
            stack_id="",
            region=stack.region or _TEMPLATE_REGION,
            account=stack.account or _TEMPLATE_ACCOUNT,
        )
        for logical, resource in stack.template.get("Resources", {}).items():
            if not _included(resolver, resource):
                continue
            kind = resource.get("Type")
            where = str(resource.get("Metadata", {}).get("aws:cdk:path", f"{stack.stack_name}/{logical}"))
            value = _resolver_text(resolver, resource.get("Properties", {}))
            _note(needs, resolver, logical, str(kind), where=where, value=value)
    return needs


def _note(
    needs: _Needs, resolver: Resolver, logical: str, kind: str, *, where: str, value: Callable[[str], str | None]
) -> None:
    if kind == dzr.DOMAIN_TYPE:
        needs.declared_domains.setdefault(resolver.physical_id(logical), where)
    elif kind == dzr.PROJECT_TYPE:
        domain, project = dzr.split_project_ref(resolver.physical_id(logical))
        if dzr.DOMAIN_ID.fullmatch(domain):
            needs.declared_projects.setdefault((domain, project), where)
    elif kind == MEMBERSHIP_TYPE:
        _add(needs, where, value("DomainIdentifier"), value("ProjectIdentifier"))
    elif kind == RESOURCE_TYPE:
        run_domain, run_project, asset = value(Prop.DOMAIN_ID), value(Prop.PROJECT_ID), value(Prop.ASSET_ID)
        _add(needs, where, run_domain, run_project)
        if run_domain and run_project and asset and _valid(run_domain, run_project, asset):
            revision = _revision(value(Prop.ASSET_REVISION))
            earlier = needs.assets.get((run_domain, asset))
            if earlier is not None:
                revision = max(revision, earlier[1])
            needs.assets[(run_domain, asset)] = (earlier[0] if earlier else run_project, revision, where)


def _valid(domain: str, project: str, asset: str) -> bool:
    return bool(dzr.DOMAIN_ID.fullmatch(domain) and dzr.PROJECT_ID.fullmatch(project) and dzr.ASSET_ID.fullmatch(asset))


def _revision(text: str | None) -> int:
    """The asset revision a run asks for, so that an asset made on the fly has it (default: 1)."""
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else 1


def _add(needs: _Needs, where: str, domain: str | None, project: str | None) -> None:
    # Malformed or unresolvable ids are left for the endpoint to reject, as DataZone would.
    if domain is None or not dzr.DOMAIN_ID.fullmatch(domain):
        return
    needs.domains.setdefault(domain, where)
    if project is not None and dzr.PROJECT_ID.fullmatch(project):
        needs.projects.setdefault((domain, project), where)


def _included(resolver: Resolver, resource: Mapping[str, Any]) -> bool:
    condition = resource.get("Condition")
    try:
        return condition is None or resolver.condition(condition)
    except ResolveError:
        return True


def _resolver_text(resolver: Resolver, properties: Mapping[str, Any]) -> Callable[[str], str | None]:
    """A property's resolved text; None when it is absent or cannot be known before the deploy."""

    def value(name: str) -> str | None:
        if name not in properties:
            return None
        try:
            resolved = resolver.resolve(properties[name])
        except ResolveError:
            return None  # e.g. another custom resource's attribute: known only once it answered
        return resolved if isinstance(resolved, str) else None

    return value


def _lookup(domains: Mapping[str, Any], domain: str, *path: str) -> Mapping[str, Any] | None:
    entry: Any = domains.get(domain)
    for key in path:
        if not isinstance(entry, Mapping):
            return None
        entry = entry.get(key)
    return entry if isinstance(entry, Mapping) else None


def _missing_from(current: Mapping[str, Any], seed_domains: Mapping[str, Any]) -> dict[str, Any]:
    """The seed's domains, projects and assets that the world lacks or has only on the fly."""
    world_domains = current.get("domains", {})
    missing: dict[str, Any] = {}
    for domain, content in seed_domains.items():
        have = world_domains.get(domain)
        if have is None or have.get(ON_THE_FLY):
            missing[domain] = {**copy.deepcopy(content), ON_THE_FLY: False}
            continue
        for section in ("projects", "assets"):
            for key, entry in content.get(section, {}).items():
                existing = have.get(section, {}).get(key)
                if existing is None or existing.get(ON_THE_FLY):
                    missing.setdefault(domain, {}).setdefault(section, {})[key] = copy.deepcopy(entry)
    return missing


def _merge(into: dict[str, Any], domains: Mapping[str, Any]) -> None:
    for domain, content in domains.items():
        target = into.setdefault(domain, {})
        for key, value in content.items():
            if key in ("projects", "assets"):
                target.setdefault(key, {}).update(copy.deepcopy(value))
            else:
                target[key] = value
