"""One synthesized app shared by the construct tests: each jsii round trip costs, synth most."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_datazone as datazone
from aws_cdk.assertions import Template

import app as example_app
from constructs_lib import MetadataGenerationRun

EXAMPLE_STACK = "DataZoneMetadataGenerationExample"
DOMAIN = "dzd_abc123"
PROJECT = "proj123"


@dataclass(frozen=True)
class Synthesized:
    """Templates of the stacks built once per session."""

    outdir: Path
    templates: dict[str, dict[str, Any]]

    def template(self, stack_name: str) -> Template:
        return Template.from_json(self.templates[stack_name])


def _runs(stack: cdk.Stack, count: int, **kwargs: Any) -> list[MetadataGenerationRun]:
    return [
        MetadataGenerationRun(
            stack, f"Run{i}", domain_id=DOMAIN, project_id=PROJECT, asset_id=f"asset{i}", create_outputs=False, **kwargs
        )
        for i in range(count)
    ]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    example_app.build_app(app)

    # Resource growth per run: 1, 2 and 20 runs of one project, outputs off.
    for count in (1, 2, 20):
        _runs(cdk.Stack(app, f"Runs{count}"), count)

    # Runs whose ids are tokens, in two projects of one domain, plus a second run per project.
    tokens = cdk.Stack(app, "Tokens")
    domain = datazone.CfnDomain(
        tokens, "Domain", name="d", domain_execution_role="arn:aws:iam::111111111111:role/dz-execution"
    )
    for project_name in ("A", "B"):
        project = datazone.CfnProject(
            tokens, f"Project{project_name}", domain_identifier=domain.attr_id, name=project_name
        )
        for i in range(2):
            MetadataGenerationRun(
                tokens,
                f"Run{project_name}{i}",
                domain_id=domain.attr_id,
                project_id=project.attr_id,
                asset_id=f"asset{i}",
                create_outputs=False,
            )

    # Every optional prop set away from its default.
    full = cdk.Stack(app, "AllProps")
    MetadataGenerationRun(
        full,
        "Full",
        domain_id=DOMAIN,
        project_id=PROJECT,
        asset_id="asset1",
        asset_revision="7",
        types=["BUSINESS_NAMES", "BUSINESS_GLOSSARY_ASSOCIATIONS"],
        wait_for_completion=False,
        timeout=cdk.Duration.minutes(45),
        fail_on_partial_success=True,
        cancel_on_delete=False,
        rerun_token="schema-hash-1",
        grant_project_access=False,
    )

    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return Synthesized(outdir, templates)


@pytest.fixture(scope="session")
def example(synthesized: Synthesized) -> Template:
    return synthesized.template(EXAMPLE_STACK)
