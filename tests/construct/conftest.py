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
from constructs_lib import (
    AcceptPredictions,
    AssetSelection,
    MetadataGenerationBatch,
    MetadataGenerationRun,
    MetadataGenerationType,
    RejectChoice,
    RejectPredictions,
)

EXAMPLE_STACK = "DataZoneMetadataGenerationExample"
DOMAIN = "dzd_abc123"
PROJECT = "proj123"

#: The stack with a batch of each selection kind, a run, and tokens for ids (see add_batch_stacks).
BATCHES_STACK = "Batches"
#: Explicit ids of the ``BatchIds10`` stack's batch and of ``Batches/Ids`` (same ids, same asset).
TEN_IDS = [f"asset{i:02d}" for i in range(10)]
MANY_IDS = [f"asset{i:05d}" for i in range(10_000)]
SEARCH_TEXT = "orders"
GLUE_TABLE = "amazon.datazone.GlueTableAssetType"


@dataclass(frozen=True)
class Synthesized:
    """Templates of the stacks built once per session."""

    outdir: Path
    templates: dict[str, dict[str, Any]]

    def template(self, stack_name: str) -> Template:
        return Template.from_json(self.templates[stack_name])


@dataclass(frozen=True)
class Session:
    """The session's one app: the run stacks (``runs``) and the batch stacks (``batches``), apart
    so that checks over every run stack do not meet a stack of batches only."""

    runs: Synthesized
    batches: Synthesized


def _runs(stack: cdk.Stack, count: int, **kwargs: Any) -> list[MetadataGenerationRun]:
    return [
        MetadataGenerationRun(
            stack, f"Run{i}", domain_id=DOMAIN, project_id=PROJECT, asset_id=f"asset{i}", create_outputs=False, **kwargs
        )
        for i in range(count)
    ]


def add_batch_stacks(app: cdk.App, *, one_kind_stacks: bool = True) -> None:
    """The batch stacks: ``Batches`` (one batch per selection kind, a run, token ids) and, unless
    ``one_kind_stacks=False``, one stack per IAM case and scale point, each with a single batch.
    Shared by the session's app and the cdk-nag checks (``test_batch_quality.py``, ``nag2_synth.py``)."""
    stack = cdk.Stack(app, BATCHES_STACK)
    domain = datazone.CfnDomain(
        stack, "Domain", name="d", domain_execution_role="arn:aws:iam::111111111111:role/dz-execution"
    )
    project = datazone.CfnProject(stack, "Project", domain_identifier=domain.attr_id, name="p")
    source = datazone.CfnDataSource(
        stack,
        "DataSource",
        domain_identifier=domain.attr_id,
        project_identifier=project.attr_id,
        environment_identifier="env123",
        name="glue",
        type="GLUE",
    )
    MetadataGenerationBatch(
        stack,
        "Ids",
        domain_id=domain.attr_id,
        project_id=project.attr_id,
        assets=AssetSelection.ids(TEN_IDS),
        types=[MetadataGenerationType.BUSINESS_DESCRIPTIONS, "BUSINESS_NAMES"],
        max_concurrency=25,
        failure_tolerance=5,
        timeout=cdk.Duration.minutes(45),
        run_timeout=cdk.Duration.hours(2),
        rerun_token="catalog-v1",
        accept_predictions=AcceptPredictions.all(threshold=0.8),
    )
    MetadataGenerationBatch(
        stack,
        "Source",
        domain_id=domain.attr_id,
        project_id=project.attr_id,
        assets=AssetSelection.data_source(source.attr_id),
        wait_for_completion=False,
        cancel_on_delete=False,
        # Its rule, the stack's intake and dead-letter queue: in the snapshot, and under cdk-nag.
        continuous=True,
    )
    MetadataGenerationRun(stack, "Run", domain_id=domain.attr_id, project_id=project.attr_id, asset_id="asset1")
    MetadataGenerationBatch(
        stack,
        "Search",
        domain_id=DOMAIN,
        project_id=PROJECT,
        assets=AssetSelection.search(text=SEARCH_TEXT, asset_types=[GLUE_TABLE]),
        reject_predictions=RejectPredictions.choices([RejectChoice(prediction_target="description")]),
        create_outputs=False,
    )

    if not one_kind_stacks:
        return
    # One selection kind per stack (for IAM), and the scale points of explicit ids.
    selections = {
        "BatchIds10": AssetSelection.ids(TEN_IDS),
        "BatchIds10000": AssetSelection.ids(MANY_IDS),
        "BatchSource": AssetSelection.data_source("source123"),
        "BatchSearch": AssetSelection.search(),
    }
    for name, selection in selections.items():
        MetadataGenerationBatch(
            cdk.Stack(app, name),
            "Batch",
            domain_id=DOMAIN,
            project_id=PROJECT,
            assets=selection,
            create_outputs=False,
        )


@pytest.fixture(scope="session")
def session_app(tmp_path_factory: pytest.TempPathFactory) -> Session:
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

    run_stacks = {stack.stack_name for stack in app.node.children if isinstance(stack, cdk.Stack)}
    add_batch_stacks(app)

    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return Session(
        runs=Synthesized(outdir, {k: v for k, v in templates.items() if k in run_stacks}),
        batches=Synthesized(outdir, {k: v for k, v in templates.items() if k not in run_stacks}),
    )


@pytest.fixture(scope="session")
def synthesized(session_app: Session) -> Synthesized:
    return session_app.runs


@pytest.fixture(scope="session")
def batches(session_app: Session) -> Synthesized:
    return session_app.batches


@pytest.fixture(scope="session")
def example(synthesized: Synthesized) -> Template:
    return synthesized.template(EXAMPLE_STACK)
