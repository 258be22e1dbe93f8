"""Reading a synthesized cloud assembly (``cdk.out``) the way the CDK CLI and CloudFormation would.

* :func:`load_assembly` — the stacks of ``manifest.json`` in deployment order, with their templates.
* :class:`Resolver` — CloudFormation intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, ...)
  over fake physical ids, so properties, environment variables and outputs get their values.
* :func:`find_provider` — from a custom resource's ``ServiceToken`` to the Provider framework's
  pieces: the user onEvent / isComplete functions (handler, packaged asset folder, timeout,
  environment) and the waiter state machine's poll interval and attempts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_local.cloudformation import datazone_resources

PROVIDER_ON_EVENT_ENV = "USER_ON_EVENT_FUNCTION_ARN"
PROVIDER_IS_COMPLETE_ENV = "USER_IS_COMPLETE_FUNCTION_ARN"
PROVIDER_WAITER_ENV = "WAITER_STATE_MACHINE_ARN"


class AssemblyError(Exception):
    """The cloud assembly cannot be replayed (missing, unsupported, inconsistent)."""


@dataclass
class StackArtifact:
    name: str  # the artifact id, which is what ``cdk deploy`` prints
    stack_name: str
    template: dict[str, Any]
    template_path: Path
    assembly_dir: Path
    region: str | None
    account: str | None
    dependencies: list[str] = field(default_factory=list)


def load_assembly(assembly_dir: str | Path) -> list[StackArtifact]:
    """The CloudFormation stacks of a cloud assembly, dependencies first."""
    root = Path(assembly_dir)
    manifest_path = root / "manifest.json"
    if not root.is_dir():
        raise AssemblyError(
            f"{root}: no such directory: run `cdk synth` first in your CDK app (it writes cdk.out), "
            "or pass --app DIR, the cloud assembly `cdk synth -o DIR` wrote"
        )
    if not manifest_path.is_file():
        raise AssemblyError(
            f"{root} is not a synthesized cloud assembly (no manifest.json): run `cdk synth` first "
            "in your CDK app (it writes cdk.out), or pass --app DIR, the cloud assembly `cdk synth -o DIR` wrote"
        )
    manifest = json.loads(manifest_path.read_text())
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly":
            raise AssemblyError(f"nested cloud assembly {artifact_id!r} (a Stage) is not supported by the local replay")
        if kind != "aws:cloudformation:stack":
            continue
        props = artifact.get("properties", {})
        template_path = root / props["templateFile"]
        account, region = _environment(artifact.get("environment", ""))
        stacks[artifact_id] = StackArtifact(
            name=artifact_id,
            stack_name=props.get("stackName", artifact_id),
            template=json.loads(template_path.read_text()),
            template_path=template_path,
            assembly_dir=root,
            region=region,
            account=account,
            dependencies=[d for d in artifact.get("dependencies", []) if d in manifest.get("artifacts", {})],
        )
    return _ordered(stacks)


def _environment(env: str) -> tuple[str | None, str | None]:
    found = re.fullmatch(r"aws://([^/]+)/([^/]+)", env)
    if found is None:
        return None, None
    account, region = found.groups()
    return (None if account.startswith("unknown") else account), (None if region.startswith("unknown") else region)


def _ordered(stacks: Mapping[str, StackArtifact]) -> list[StackArtifact]:
    done: list[StackArtifact] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in stacks:
            return
        seen.add(name)
        for dep in stacks[name].dependencies:
            visit(dep)
        done.append(stacks[name])

    for name in stacks:
        visit(name)
    return done


# ---------------------------------------------------------------------------------------------
# Intrinsic functions


class ResolveError(AssemblyError):
    """A value cannot be resolved locally (e.g. an attribute the resource does not have yet)."""


def _short_hash(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:length].upper()


def fake_physical_name(stack_name: str, logical_id: str, max_length: int = 64) -> str:
    """A CloudFormation-style generated name (``stack-logicalId-SUFFIX``), stable per stack and id."""
    suffix = _short_hash(stack_name, logical_id)
    room = max_length - len(suffix) - 2
    stack_part = stack_name[: room // 2]
    return f"{stack_part}-{logical_id[: room - len(stack_part)]}-{suffix}"


class Resolver:
    """Resolves a template's intrinsic functions against (fake) deployed resources.

    ``physical_ids`` and ``attributes`` describe what is deployed; anything not there yet gets a
    deterministic fake id. ``custom_attributes`` is asked for ``Fn::GetAtt`` of custom resources
    (their response ``Data``) and raises when the attribute is missing, as CloudFormation does.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str,
        stack_id: str,
        region: str,
        account: str,
        partition: str = "aws",
        physical_ids: Mapping[str, str] | None = None,
        custom_attributes: Callable[[str, str], str] | None = None,
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.stack_id = stack_id
        self.region = region
        self.account = account
        self.partition = partition
        self.physical_ids = dict(physical_ids or {})
        self.custom_attributes = custom_attributes
        self._conditions: dict[str, bool] = {}

    # -- resources ----------------------------------------------------------------------------------

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        resources = self.template.get("Resources", {})
        if logical_id not in resources:
            raise ResolveError(f"template has no resource {logical_id!r}")
        resource: Mapping[str, Any] = resources[logical_id]
        return resource

    def physical_id(self, logical_id: str) -> str:
        if logical_id in self.physical_ids:
            return self.physical_ids[logical_id]
        kind = self.resource(logical_id).get("Type", "")
        if kind == datazone_resources.DOMAIN_TYPE:
            return datazone_resources.local_domain_id(self.stack_name, logical_id)
        if kind in (datazone_resources.PROJECT_TYPE, datazone_resources.DATA_SOURCE_TYPE):
            # Both Refs are "<domain id>|<id>" (DomainId and Id are their primary identifier).
            domain = self.resolve(self.resource(logical_id).get("Properties", {}).get("DomainIdentifier", ""))
            make = (
                datazone_resources.local_project_id
                if kind == datazone_resources.PROJECT_TYPE
                else datazone_resources.local_data_source_id
            )
            return datazone_resources.project_ref(str(domain), make(self.stack_name, logical_id))
        name = fake_physical_name(self.stack_name, logical_id)
        # A state machine's physical id (its Ref) is its ARN; most others are a generated name.
        return self.arn("states", f"stateMachine:{name}") if kind == "AWS::StepFunctions::StateMachine" else name

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def attribute(self, logical_id: str, name: str) -> str:
        kind = str(self.resource(logical_id).get("Type", ""))
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            if self.custom_attributes is None:
                raise ResolveError(f"custom resource {logical_id} has not answered yet")
            return self.custom_attributes(logical_id, name)
        physical = self.physical_id(logical_id)
        if kind in datazone_resources.TYPES:
            properties = None
            if kind == datazone_resources.DATA_SOURCE_TYPE:
                properties = self.resolve(self.resource(logical_id).get("Properties", {}))
            value = datazone_resources.attribute(
                kind,
                physical,
                name,
                region=self.region,
                account=self.account,
                partition=self.partition,
                properties=properties,
            )
            if value is None:
                raise ResolveError(f"{logical_id} ({kind}) has no attribute {name!r} in the local replay")
            return value
        if kind == "AWS::StepFunctions::StateMachine" and name == "Arn":
            return physical
        if kind == "AWS::SQS::Queue" and name in ("Arn", "QueueName", "QueueUrl"):
            # Its physical id (Ref) is the queue URL once the replay made it; the ARN ends in the name.
            queue = physical.rsplit("/", 1)[-1]
            return {"Arn": self.arn("sqs", queue), "QueueName": queue}.get(name, physical)
        if name == "Arn":
            service_and_path = {
                "AWS::Lambda::Function": ("lambda", f"function:{physical}", True),
                "AWS::IAM::Role": ("iam", f"role/{physical}", False),
                "AWS::Logs::LogGroup": ("logs", f"log-group:{physical}:*", True),
                "AWS::StepFunctions::StateMachine": ("states", f"stateMachine:{physical}", True),
            }.get(kind)
            if service_and_path is not None:
                service, path, regional = service_and_path
                return self.arn(service, path, regional=regional)
            service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
            return self.arn(service, f"{kind.rsplit('::', maxsplit=1)[-1].lower()}/{physical}")
        return f"{physical}.{name}"

    # -- conditions and values ----------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise ResolveError(f"template has no condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        """``Ref``: a pseudo parameter, a parameter's default, or a resource's physical id (None: AWS::NoValue)."""
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return None
        if name in pseudo:
            return pseudo[name]
        if name.startswith("AWS::"):
            raise ResolveError(f"unsupported pseudo parameter {name}")
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            parameter = parameters[name]
            if "Default" not in parameter:
                raise ResolveError(f"parameter {name} has no default; the local replay takes no parameters")
            if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
                return f"<ssm:{parameter['Default']}>"
            return parameter["Default"]
        return self.physical_id(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg)
            if key in _UNSUPPORTED:
                raise ResolveError(f"{key} is not supported by the local replay")
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}

    def _ref(self, arg: Any) -> Any:
        resolved = self.ref(arg)
        return _NO_VALUE if resolved is None else resolved

    def _get_att(self, arg: Any) -> Any:
        logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return self.attribute(logical, self.resolve(attr))

    def _join(self, arg: Any) -> str:
        sep, items = arg
        return str(sep).join(str(_scalar_text(v)) for v in self.resolve(items))

    def _select(self, arg: Any) -> Any:
        index, items = self.resolve(arg)
        return items[int(index)]

    def _split(self, arg: Any) -> list[str]:
        sep, text = self.resolve(arg)
        return str(text).split(sep)

    def _if(self, arg: Any) -> Any:
        name, yes, no = arg
        return self.resolve(yes if self.condition(name) else no)

    def _equals(self, arg: Any) -> bool:
        left, right = self.resolve(arg)
        return bool(left == right)

    def _find_in_map(self, arg: Any) -> Any:
        table, first, second = self.resolve(arg)
        return self.template["Mappings"][table][first][second]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.attribute(logical, attr))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE: Any = _NoValue()

_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Sub": Resolver._sub,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::If": Resolver._if,
    "Fn::Equals": Resolver._equals,
    "Fn::Not": lambda self, arg: not self.resolve(arg[0]),
    "Fn::And": lambda self, arg: all(self.resolve(arg)),
    "Fn::Or": lambda self, arg: any(self.resolve(arg)),
    "Condition": Resolver.condition,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::GetAZs": lambda self, _arg: [f"{self.region}{letter}" for letter in "abc"],
    "Fn::Base64": lambda self, arg: base64.b64encode(str(self.resolve(arg)).encode()).decode(),
}
_UNSUPPORTED = ("Fn::ImportValue", "Fn::Transform", "Fn::Cidr", "Fn::ToJsonString", "Fn::Length")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stringify(value: Any) -> Any:
    """Custom-resource properties as CloudFormation delivers them: numbers and booleans as strings."""
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def references(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, Fn::Sub), for ordering."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {
                    m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", str(text)) if not m.startswith("AWS::")
                }
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def deployment_order(template: Mapping[str, Any]) -> list[str]:
    """Logical ids in an order CloudFormation could create them (dependencies first, else template order)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(logical: str) -> None:
        if state.get(logical) == 2:
            return
        if state.get(logical) == 1:
            raise AssemblyError(f"circular dependency involving {logical}")
        state[logical] = 1
        resource = resources[logical]
        depends = resource.get("DependsOn", [])
        for dep in [depends] if isinstance(depends, str) else depends:
            if dep in resources:
                visit(dep)
        for dep in sorted(references(resource.get("Properties", {}))):
            if dep in resources:
                visit(dep)
        state[logical] = 2
        order.append(logical)

    for logical in resources:
        visit(logical)
    return order


# ---------------------------------------------------------------------------------------------
# The Provider framework behind a custom resource


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function of the template, with its code found in the cloud assembly."""

    logical_id: str
    handler: str
    code_dir: Path
    timeout_seconds: float
    memory_mb: int
    runtime: str
    environment: Mapping[str, Any]  # unresolved template values


@dataclass(frozen=True)
class WaiterSpec:
    """The provider's Step Functions waiter: Retry of the isComplete task on States.ALL."""

    interval_seconds: float
    max_attempts: int
    backoff_rate: float

    @property
    def total_timeout_seconds(self) -> float:
        return sum(self.interval_seconds * self.backoff_rate**n for n in range(self.max_attempts))


@dataclass(frozen=True)
class ProviderSpec:
    framework_logical_id: str
    on_event: FunctionSpec
    is_complete: FunctionSpec | None
    waiter: WaiterSpec | None


def _function_logical_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        arg = value["Fn::GetAtt"]
        logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return str(logical) if attr == "Arn" else None
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def asset_dir(stack: StackArtifact, logical_id: str, cache_dir: Path | None = None) -> Path:
    """The folder of a Lambda function's packaged code in the cloud assembly.

    Found from the resource's ``aws:asset:path`` metadata when the synth wrote it, else from the
    code's S3 key (``<asset hash>.zip``) through the stack's ``*.assets.json`` manifest. A zip
    file asset is extracted (into ``cache_dir``).
    """
    resource = stack.template["Resources"][logical_id]
    path_in_assembly = resource.get("Metadata", {}).get("aws:asset:path")
    if path_in_assembly is None:
        code = resource.get("Properties", {}).get("Code", {})
        key = code.get("S3Key")
        if "ZipFile" in code:
            raise AssemblyError(f"{logical_id} has inline code (ZipFile); only packaged assets are replayed")
        if not isinstance(key, str):
            raise AssemblyError(f"{logical_id}'s code is not an asset of this cloud assembly (S3Key {key!r})")
        asset_hash = key.split(".", 1)[0]
        for manifest in sorted(stack.assembly_dir.glob("*.assets.json")):
            files = json.loads(manifest.read_text()).get("files", {})
            if asset_hash in files:
                path_in_assembly = files[asset_hash]["source"]["path"]
                break
        else:
            raise AssemblyError(f"asset {asset_hash} of {logical_id} is in no *.assets.json of {stack.assembly_dir}")
    found = stack.assembly_dir / str(path_in_assembly)
    if found.is_dir():
        return found
    if found.is_file() and zipfile.is_zipfile(found):
        target = (cache_dir or stack.assembly_dir / ".local-replay") / found.stem
        if not target.is_dir():
            with zipfile.ZipFile(found) as archive:
                archive.extractall(target)
        return target
    raise AssemblyError(f"asset {found} of {logical_id} is missing from the cloud assembly")


def file_asset_path(assembly_dir: Path, object_key: str) -> Path | None:
    """The file in the cloud assembly that ``cdk deploy`` would upload as ``object_key`` (found
    through the ``*.assets.json`` manifests), or None when no manifest names that key."""
    for manifest in sorted(assembly_dir.glob("*.assets.json")):
        for entry in json.loads(manifest.read_text()).get("files", {}).values():
            keys = {d.get("objectKey") for d in entry.get("destinations", {}).values()}
            if object_key in keys:
                return assembly_dir / str(entry["source"]["path"])
    return None


def function_spec(stack: StackArtifact, logical_id: str) -> FunctionSpec:
    resource = stack.template["Resources"].get(logical_id)
    if resource is None or resource.get("Type") != "AWS::Lambda::Function":
        raise AssemblyError(f"{logical_id} is not an AWS::Lambda::Function of {stack.name}")
    props = resource.get("Properties", {})
    return FunctionSpec(
        logical_id=logical_id,
        handler=str(props.get("Handler", "index.handler")),
        code_dir=asset_dir(stack, logical_id),
        timeout_seconds=float(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        runtime=str(props.get("Runtime", "")),
        environment=dict(props.get("Environment", {}).get("Variables", {})),
    )


def waiter_spec(stack: StackArtifact, logical_id: str) -> WaiterSpec:
    """Poll interval, attempts and backoff from the waiter state machine's definition."""
    resource = stack.template["Resources"].get(logical_id, {})
    definition = resource.get("Properties", {}).get("DefinitionString")
    if isinstance(definition, dict) and "Fn::Join" in definition:
        sep, parts = definition["Fn::Join"]
        definition = sep.join(p if isinstance(p, str) else "ARN" for p in parts)
    if not isinstance(definition, str):
        raise AssemblyError(f"cannot read the waiter state machine definition of {logical_id}")
    states = json.loads(definition).get("States", {})
    for state in states.values():
        for retry in state.get("Retry", []):
            if "States.ALL" in retry.get("ErrorEquals", []):
                # Step Functions defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0.
                return WaiterSpec(
                    interval_seconds=float(retry.get("IntervalSeconds", 1)),
                    max_attempts=int(retry.get("MaxAttempts", 3)),
                    backoff_rate=float(retry.get("BackoffRate", 2.0)),
                )
    raise AssemblyError(f"the waiter state machine {logical_id} has no Retry on States.ALL")


def find_provider(stack: StackArtifact, service_token: Any) -> ProviderSpec:
    """The Provider framework behind a custom resource's ServiceToken (``Fn::GetAtt [fn, Arn]``)."""
    framework = _function_logical_id(service_token)
    if framework is None:
        raise AssemblyError(f"ServiceToken {service_token!r} does not name a Lambda function of the stack")
    resource = stack.template["Resources"].get(framework, {})
    variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    user_on_event = _function_logical_id(variables.get(PROVIDER_ON_EVENT_ENV))
    if user_on_event is None:
        raise AssemblyError(
            f"{framework} is not an aws-cdk-lib custom_resources.Provider framework function "
            f"(no {PROVIDER_ON_EVENT_ENV}); only Provider-backed custom resources are replayed"
        )
    user_is_complete = _function_logical_id(variables.get(PROVIDER_IS_COMPLETE_ENV))
    waiter_logical = _function_logical_id(variables.get(PROVIDER_WAITER_ENV))
    return ProviderSpec(
        framework_logical_id=framework,
        on_event=function_spec(stack, user_on_event),
        is_complete=function_spec(stack, user_is_complete) if user_is_complete else None,
        waiter=waiter_spec(stack, waiter_logical) if user_is_complete and waiter_logical else None,
    )
