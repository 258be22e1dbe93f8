"""Make the local endpoint know every domain, project and asset a user's app needs, before a deploy.

On AWS, a run needs its domain, project and asset to exist: the stack creates some
(``AWS::DataZone::Domain`` / ``AWS::DataZone::Project``) and expects the others. Locally, the
stack's own domains and projects get ids from :mod:`constructs_local.cloudformation.datazone_resources` and
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

from constructs_lib._handler.contract import BATCH_RESOURCE_TYPE, RESOURCE_TYPE, BatchProp, Prop
from constructs_local.cloudformation import datazone_resources as dzr
from constructs_local.cloudformation.assembly import (
    AssemblyError,
    ResolveError,
    Resolver,
    StackArtifact,
    file_asset_path,
)
from constructs_local.seed import GENERATED, default_target, generate_assets

MEMBERSHIP_TYPE = "AWS::DataZone::ProjectMembership"
ON_THE_FLY = "onTheFly"
ASSET_TYPE_NAME = "amazon.datazone.GlueTableAssetType"
_TEMPLATE_REGION = "us-east-1"  # ids do not depend on it; only ARNs would, and none is read here
_TEMPLATE_ACCOUNT = "000000000000"
_SECTIONS = ("projects", "assets", "dataSources")
#: More unknown ids than this from one resource (a batch's explicit ids) make one notice, not one each.
NOTICES_PER_USER = 5
UNKNOWN_LISTED = 20
_HINT = "(--strict refuses; see docs/local-dry-run.md, Seed file)"


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
class _Source:
    """A data source the app creates (``AWS::DataZone::DataSource``)."""

    project: str
    name: str
    kind: str
    database: str | None
    enabled: bool
    where: str


@dataclass
class _Needs:
    """What the selected stacks create and reference, keyed so that each id is reported once."""

    declared_domains: dict[str, str] = field(default_factory=dict)  # domain -> resource path
    declared_projects: dict[tuple[str, str], str] = field(default_factory=dict)  # (domain, project) -> path
    declared_sources: dict[tuple[str, str], _Source] = field(default_factory=dict)  # (domain, source id)
    domains: dict[str, str] = field(default_factory=dict)  # referenced domain -> first user
    projects: dict[tuple[str, str], str] = field(default_factory=dict)
    assets: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)  # -> (project, revision, user)
    sources: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # -> (project, user)
    #: (domain, project) of batches and runs, in template order: where generated assets go.
    users: list[tuple[str, str]] = field(default_factory=list)


def provision(
    stacks: Sequence[StackArtifact],
    world: World,
    *,
    seed: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> list[str]:
    """Add what ``stacks`` need to ``world``; the notices, one line per id added (one line per
    resource for the many assets of a batch's explicit ids).

    :param seed: entries to add when the world lacks them (or has them only on the fly): the
        state file keeps the endpoint's world between commands, so a seed edited since is
        merged in rather than ignored.
    :raises UnknownIdsError: with ``strict``, naming every referenced id the seed lacks.
    """
    return _Provisioning(world.world_snapshot(), seed, strict).run(_needs(stacks), world)


class _Provisioning:
    def __init__(self, current: Mapping[str, Any], seed: Mapping[str, Any] | None, strict: bool) -> None:
        self.current = current
        self.seed = seed
        self.strict = strict
        self.additions: dict[str, Any] = {}
        self.notices: list[str] = []
        self.unknown: list[tuple[str, str, str]] = []  # (kind of id, the id and where, who uses it)
        self.principal = str(current.get("defaultPrincipal", f"arn:aws:iam::{_TEMPLATE_ACCOUNT}:user/local-developer"))
        if seed is not None:
            _merge(self.additions, _missing_from(current, seed.get("domains", {})))

    def run(self, needs: _Needs, world: World) -> list[str]:
        self._declared(needs)
        self._referenced(needs)
        self._generated(needs)
        if self.strict and self.unknown:
            raise UnknownIdsError(
                f"--strict: the app references ids that the seed does not know:\n  {self._unknown_list()}\n"
                "Add them to your seed file (--seed FILE; the format is in docs/local-dry-run.md, Seed file), "
                "or deploy without --strict to have them created on the fly."
            )
        self.notices += self._unknown_notices()
        if self.additions:
            world.merge_world(self.additions)
        return self.notices

    # -- what the world has ------------------------------------------------------------------------

    def entry(self, *path: str) -> Mapping[str, Any] | None:
        added = _lookup(self.additions, *path)
        return added if added is not None else _lookup(self.current.get("domains", {}), *path)

    def known(self, *path: str) -> bool:
        # With strict, what an earlier deploy made on the fly is still not the seed's.
        found = self.entry(*path)
        return found is not None and not (self.strict and found.get(ON_THE_FLY, False))

    def add(self, domain: str, content: Mapping[str, Any]) -> None:
        _merge(self.additions, {domain: content})

    # -- what the app creates ------------------------------------------------------------------------

    def _declared(self, needs: _Needs) -> None:
        for domain, where in needs.declared_domains.items():
            if self.entry(domain) is None:
                self.add(domain, {"projects": {}, "assets": {}})
                self.notices.append(f"notice: {where} (AWS::DataZone::Domain) is domain {domain} in the local endpoint")
        for (domain, project), where in needs.declared_projects.items():
            if self.entry(domain, "projects", project) is None:
                # The creator of a project is its owner, as on AWS.
                self.add(domain, {"projects": {project: {"members": {self.principal: "PROJECT_OWNER"}}}})
                self.notices.append(
                    f"notice: {where} (AWS::DataZone::Project) is project {project} of domain {domain} "
                    "in the local endpoint"
                )
        for (domain, source_id), source in needs.declared_sources.items():
            if self.entry(domain, "dataSources", source_id) is None:
                # Created with the stack: with EnableSetting ENABLED, its first run starts now.
                entry = {
                    "project": source.project,
                    "type": source.kind,
                    "name": source.name,
                    "firstRun": "onCreate" if source.enabled else "none",
                    **({"database": source.database} if source.database else {}),
                }
                self.add(domain, {"dataSources": {source_id: entry}})
                self.notices.append(
                    f"notice: {source.where} (AWS::DataZone::DataSource) is data source {source_id} of project "
                    f"{source.project} in domain {domain}" + ("; its first run starts now" if source.enabled else "")
                )

    # -- what the app references -----------------------------------------------------------------

    def _referenced(self, needs: _Needs) -> None:
        for domain, user in needs.domains.items():
            fresh: dict[str, Any] = {"projects": {}, "assets": {}}
            self._unknown_entry(domain, (), fresh, unknown=("domain", f"domain {domain}", user))
        for (domain, project), user in needs.projects.items():
            what = f"project {project} of domain {domain}"
            self._unknown_entry(domain, ("projects", project), {"members": {}}, unknown=("project", what, user))
        for (domain, asset), (project, revision, user) in needs.assets.items():
            self._asset(domain, asset, project, revision, user)
        for (domain, source_id), (project, user) in needs.sources.items():
            # One that existed before the app: it has imported its project's assets already.
            fresh = {"project": project, "type": "GLUE", "name": source_id}
            what = f"data source {source_id} of domain {domain}"
            self._unknown_entry(domain, ("dataSources", source_id), fresh, unknown=("data source", what, user))

    def _unknown_entry(
        self,
        domain: str,
        path: tuple[str, str] | tuple[()],
        fresh: dict[str, Any],
        *,
        unknown: tuple[str, str, str],
    ) -> None:
        """Record an id the seed does not know (``unknown``: kind, what, used by), and make it on
        the fly unless an earlier deploy did."""
        if self.known(domain, *path):
            return
        self.unknown.append(unknown)
        if self.entry(domain, *path) is None:
            entry = {ON_THE_FLY: True, **fresh}
            self.add(domain, {path[0]: {path[1]: entry}} if path else entry)

    def _asset(self, domain: str, asset: str, project: str, revision: int, user: str) -> None:
        found = self.entry(domain, "assets", asset)
        if not self.known(domain, "assets", asset):
            self.unknown.append(("asset", f"asset {asset} of domain {domain} (owned by project {project})", user))
        if found is None or (found.get(ON_THE_FLY, False) and int(found.get("revision", 1)) < revision):
            # An asset made on the fly follows the app: a run asking for revision 3 finds revision 3.
            fresh = {
                ON_THE_FLY: True,
                "project": project,
                "typeIdentifier": ASSET_TYPE_NAME,
                "revision": revision,
                "supportsGeneration": True,
            }
            self.add(domain, {"assets": {asset: fresh}})

    def _unknown_list(self) -> str:
        lines = [f"{what}, used by {user}" for _, what, user in self.unknown[:UNKNOWN_LISTED]]
        if len(self.unknown) > UNKNOWN_LISTED:
            lines.append(f"... and {len(self.unknown) - UNKNOWN_LISTED} more")
        return "\n  ".join(lines)

    def _unknown_notices(self) -> list[str]:
        """One line per id; one line per (kind, user) when a user references many (a batch's ids)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for kind, what, user in self.unknown:
            groups.setdefault((kind, user), []).append(what)
        notices = []
        for (kind, user), whats in groups.items():
            if len(whats) > NOTICES_PER_USER:
                notices.append(
                    f"notice: {len(whats)} {kind} ids used by {user} are not in the seed: created them on the fly "
                    f"(first: {whats[0]}) {_HINT}"
                )
                continue
            notices += [f"notice: {what} is not in the seed: created it on the fly {_HINT}" for what in whats]
        return notices

    # -- --seed-assets ------------------------------------------------------------------------------

    def _generated(self, needs: _Needs) -> None:
        count = int((self.seed or self.current).get("generatedAssets", 0) or 0)
        if not count or _has_generated(self.current) or _has_generated({"domains": self.additions}):
            return
        target = next(
            (
                (domain, source.project)
                for (domain, _), source in needs.declared_sources.items()
                if dzr.PROJECT_ID.fullmatch(source.project)
            ),
            None,
        )
        target = target or (needs.users[0] if needs.users else None) or default_target(self.current)
        if target is None:
            return
        domain, project = target
        self.add(domain, {"assets": generate_assets(domain, project, count)})
        self.notices.append(
            f"notice: generated {count} Glue-table assets in project {project} of domain {domain} (--seed-assets)"
        )


def _has_generated(world: Mapping[str, Any]) -> bool:
    return any(
        asset.get(GENERATED)
        for domain in world.get("domains", {}).values()
        for asset in domain.get("assets", {}).values()
    )


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
            if kind == BATCH_RESOURCE_TYPE:
                _note_batch(needs, stack, resolver, resource.get("Properties", {}), where=where, value=value)
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
    elif kind == dzr.DATA_SOURCE_TYPE:
        _note_data_source(needs, resolver, logical, where=where, value=value)
    elif kind == MEMBERSHIP_TYPE:
        _add(needs, where, value("DomainIdentifier"), value("ProjectIdentifier"))
    elif kind == RESOURCE_TYPE:
        run_domain, run_project, asset = value(Prop.DOMAIN_ID), value(Prop.PROJECT_ID), value(Prop.ASSET_ID)
        _add(needs, where, run_domain, run_project, user=True)
        if run_domain and run_project and asset and _valid(run_domain, run_project, asset):
            _need_asset(
                needs, run_domain, run_project, asset, revision=_revision(value(Prop.ASSET_REVISION)), where=where
            )


def _note_data_source(
    needs: _Needs, resolver: Resolver, logical: str, *, where: str, value: Callable[[str], str | None]
) -> None:
    domain, source_id = dzr.split_project_ref(resolver.physical_id(logical))
    project = value("ProjectIdentifier")
    if not dzr.DOMAIN_ID.fullmatch(domain) or project is None:
        return  # left for the replay's own checks, as DataZone would reject it
    _add(needs, where, domain, project)
    try:
        properties = resolver.resolve(resolver.resource(logical).get("Properties", {}))
    except ResolveError:
        properties = {}
    needs.declared_sources.setdefault(
        (domain, source_id),
        _Source(
            project=project,
            name=value("Name") or source_id,
            kind=value("Type") or "GLUE",
            database=dzr.data_source_database(properties),
            enabled=value("EnableSetting") != "DISABLED",
            where=where,
        ),
    )


def _note_batch(
    needs: _Needs,
    stack: StackArtifact,
    resolver: Resolver,
    properties: Mapping[str, Any],
    *,
    where: str,
    value: Callable[[str], str | None],
) -> None:
    domain, project = value(Prop.DOMAIN_ID), value(Prop.PROJECT_ID)
    _add(needs, where, domain, project, user=True)
    if not domain or not project or not _valid(domain, project, project):
        return
    try:
        selection = resolver.resolve(properties.get(BatchProp.SELECTION, {}))
    except ResolveError:
        return
    if not isinstance(selection, Mapping):
        return
    source = selection.get("DataSourceId")
    if (
        selection.get("Kind") == "DATA_SOURCE"
        and isinstance(source, str)
        and dzr.DATA_SOURCE_ID.fullmatch(source)
        and (domain, source) not in needs.declared_sources
    ):
        needs.sources.setdefault((domain, source), (project, where))
    if selection.get("Kind") == "IDS" and isinstance(selection.get("Key"), str):
        for asset in _selection_ids(stack, str(selection["Key"])):
            if dzr.ASSET_ID.fullmatch(asset):
                _need_asset(needs, domain, project, asset, revision=1, where=where)


def _selection_ids(stack: StackArtifact, key: str) -> list[str]:
    """The asset ids of an ``AssetSelection.ids``: the JSON file asset the construct staged."""
    path = file_asset_path(stack.assembly_dir, key)
    if path is None or not path.is_file():
        raise AssemblyError(f"the batch's asset ids ({key}) are in no *.assets.json of {stack.assembly_dir}")
    ids = json.loads(path.read_text())
    if not isinstance(ids, list):
        raise AssemblyError(f"{path}: expected a JSON array of asset ids")
    return [str(i) for i in ids]


def _need_asset(needs: _Needs, domain: str, project: str, asset: str, *, revision: int, where: str) -> None:
    earlier = needs.assets.get((domain, asset))
    if earlier is not None:
        revision = max(revision, earlier[1])
    needs.assets[(domain, asset)] = (earlier[0] if earlier else project, revision, earlier[2] if earlier else where)


def _valid(domain: str, project: str, asset: str) -> bool:
    return bool(dzr.DOMAIN_ID.fullmatch(domain) and dzr.PROJECT_ID.fullmatch(project) and dzr.ASSET_ID.fullmatch(asset))


def _revision(text: str | None) -> int:
    """The asset revision a run asks for, so that an asset made on the fly has it (default: 1)."""
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else 1


def _add(needs: _Needs, where: str, domain: str | None, project: str | None, *, user: bool = False) -> None:
    # Malformed or unresolvable ids are left for the endpoint to reject, as DataZone would.
    if domain is None or not dzr.DOMAIN_ID.fullmatch(domain):
        return
    needs.domains.setdefault(domain, where)
    if project is not None and dzr.PROJECT_ID.fullmatch(project):
        needs.projects.setdefault((domain, project), where)
        if user and (domain, project) not in needs.users:
            needs.users.append((domain, project))


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
        for section in _SECTIONS:
            for key, entry in content.get(section, {}).items():
                existing = have.get(section, {}).get(key)
                if existing is None or existing.get(ON_THE_FLY):
                    missing.setdefault(domain, {}).setdefault(section, {})[key] = copy.deepcopy(entry)
    return missing


def _merge(into: dict[str, Any], domains: Mapping[str, Any]) -> None:
    for domain, content in domains.items():
        target = into.setdefault(domain, {})
        for key, value in content.items():
            if key in _SECTIONS:
                target.setdefault(key, {}).update(copy.deepcopy(value))
            else:
                target[key] = value
