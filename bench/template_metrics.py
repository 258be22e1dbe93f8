"""Figures read from a synthesized cloud assembly: no CDK import, plain JSON and files."""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import STACK_NAME

#: CloudFormation and IAM limits that decide whether a stack can deploy at all.
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_ROLE_POLICY_CHARS = 10_240
MAX_TEMPLATE_BYTES = 1_000_000  # template body from S3 (the CDK CLI uploads large templates)

LAMBDA_TYPE = "AWS::Lambda::Function"
POLICY_TYPE = "AWS::IAM::Policy"
ZLIB_DEFAULT_LEVEL = 6
ROLE_TYPE = "AWS::IAM::Role"


@dataclass(frozen=True)
class AssetSize:
    path: str
    raw_bytes: int
    zip_bytes: int
    functions: tuple[str, ...]


@dataclass(frozen=True)
class TemplateMetrics:
    resources: int
    outputs: int
    template_bytes: int
    #: Minified inline-policy characters per role logical id (AWS::IAM::Policy + Role.Policies).
    role_policy_chars: dict[str, int]
    assets: tuple[AssetSize, ...] = field(default=())

    @property
    def max_role_policy_chars(self) -> int:
        return max(self.role_policy_chars.values(), default=0)

    @property
    def total_policy_chars(self) -> int:
        return sum(self.role_policy_chars.values())

    @property
    def lambda_zip_bytes(self) -> int:
        return sum(asset.zip_bytes for asset in self.assets)

    def violations(self) -> list[str]:
        """Which offline-checkable deploy limits this template breaks (empty: deployable)."""
        found = []
        if self.resources > MAX_RESOURCES:
            found.append(f"{self.resources} resources > {MAX_RESOURCES}")
        if self.outputs > MAX_OUTPUTS:
            found.append(f"{self.outputs} outputs > {MAX_OUTPUTS}")
        if self.max_role_policy_chars > MAX_ROLE_POLICY_CHARS:
            found.append(f"{self.max_role_policy_chars} inline-policy characters on one role > {MAX_ROLE_POLICY_CHARS}")
        if self.template_bytes > MAX_TEMPLATE_BYTES:
            found.append(f"{self.template_bytes} template bytes > {MAX_TEMPLATE_BYTES}")
        return found


def template_path(outdir: str | os.PathLike[str]) -> Path:
    return Path(outdir) / f"{STACK_NAME}.template.json"


def load_template(outdir: str | os.PathLike[str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(template_path(outdir).read_text())
    return loaded


def minified_chars(document: Any) -> int:
    """Characters IAM counts for a policy document: its JSON without whitespace.

    Intrinsics (``Fn::GetAtt`` ...) are counted as written in the template; IAM sees the resolved
    ARNs, which are typically a little longer. Policies with ``"*"`` resources, the ones that grow
    with N here, have no intrinsics.
    """
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))


def role_policy_chars(template: dict[str, Any]) -> dict[str, int]:
    resources: dict[str, Any] = template.get("Resources", {})
    chars = {name: 0 for name, res in resources.items() if res.get("Type") == ROLE_TYPE}
    for name, res in resources.items():
        props = res.get("Properties", {})
        if res.get("Type") == ROLE_TYPE:
            for inline in props.get("Policies", []):
                chars[name] += minified_chars(inline.get("PolicyDocument"))
        elif res.get("Type") == POLICY_TYPE:
            size = minified_chars(props.get("PolicyDocument"))
            for role in props.get("Roles", []):
                if isinstance(role, dict) and "Ref" in role:
                    chars[role["Ref"]] = chars.get(role["Ref"], 0) + size
    return chars


def zip_directory(directory: Path) -> bytes:
    """Zip a directory the way the CDK CLI packages a ``zip`` file asset.

    The CLI (aws-cdk 2.1148, ``writeZipFile``) adds files only, with yazl's deflate (zlib's
    default level) and a fixed 1980 DOS timestamp; so does this.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZLIB_DEFAULT_LEVEL) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=ZLIB_DEFAULT_LEVEL)
    return buffer.getvalue()


def lambda_assets(outdir: str | os.PathLike[str], template: dict[str, Any]) -> tuple[AssetSize, ...]:
    """The zip assets that the template's Lambda functions run, matched by S3 object key."""
    manifest = json.loads((Path(outdir) / f"{STACK_NAME}.assets.json").read_text())
    by_key: dict[str, str] = {}
    for entry in manifest.get("files", {}).values():
        if entry["source"].get("packaging") != "zip":
            continue
        for destination in entry["destinations"].values():
            by_key[destination["objectKey"]] = entry["source"]["path"]
    users: dict[str, list[str]] = {}
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != LAMBDA_TYPE:
            continue
        key = res["Properties"].get("Code", {}).get("S3Key")
        if isinstance(key, str) and key in by_key:
            users.setdefault(by_key[key], []).append(name)
    sizes = []
    for rel, functions in sorted(users.items()):
        directory = Path(outdir) / rel
        raw = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        sizes.append(AssetSize(rel, raw, len(zip_directory(directory)), tuple(functions)))
    return tuple(sizes)


def measure(outdir: str | os.PathLike[str], *, with_assets: bool = True) -> TemplateMetrics:
    template = load_template(outdir)
    return TemplateMetrics(
        resources=len(template.get("Resources", {})),
        outputs=len(template.get("Outputs", {})),
        template_bytes=template_path(outdir).stat().st_size,
        role_policy_chars=role_policy_chars(template),
        assets=lambda_assets(outdir, template) if with_assets else (),
    )
