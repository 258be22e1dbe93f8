"""Synthesize the example app plus extra stacks under cdk-nag 2.x and write what it reported as JSON.

Run by ``test_cdk_nag2.py`` in a subprocess whose PYTHONPATH puts a ``pip install --target`` copy
of cdk-nag 2.x ahead of the venv's cdk-nag 3: one Python process can import only one ``cdk_nag``.
Usage: ``python -m tests.construct.nag2_synth OUTDIR RESULT_JSON [--cdk-json-context] [--batches]``;
``--cdk-json-context`` synthesizes with the feature flags of cdk.json, as ``cdk synth`` and new
``cdk init`` projects do; ``--batches`` synthesizes the construct tests' stack with a batch of each
selection kind (``conftest.add_batch_stacks``) instead of the example app and the run stacks.
"""

from __future__ import annotations

import csv
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import cx_api

import app as example_app
from constructs_lib import AcceptPredictions, MetadataGenerationRun
from tests.construct.conftest import add_batch_stacks

# Imported by name so mypy, which sees the venv's cdk-nag 3, does not check the 2.x-only API.
cdk_nag: Any = importlib.import_module("cdk_nag")


def main(outdir: Path, result: Path, *, cdk_json_context: bool, batches: bool = False) -> None:
    context = json.loads(Path("cdk.json").read_text())["context"] if cdk_json_context else None
    app = cdk.App(outdir=str(outdir), context=context)
    cdk.Aspects.of(app).add(cdk_nag.AwsSolutionsChecks(verbose=True))
    if batches:
        add_batch_stacks(app, one_kind_stacks=False)
    else:
        _run_stacks(app)
    assembly = app.synth()
    _write_result(outdir, result, assembly)


def _run_stacks(app: cdk.App) -> None:
    example_app.build_app(app)
    more = cdk.Stack(app, "TwoRuns")
    for i in range(2):
        MetadataGenerationRun(more, f"Run{i}", domain_id="dzd_abc123", project_id=f"proj{i}", asset_id="a")
    predictions = cdk.Stack(app, "Predictions")
    MetadataGenerationRun(
        predictions,
        "Run",
        domain_id="dzd_abc123",
        project_id="proj1",
        asset_id="a",
        accept_predictions=AcceptPredictions.all(threshold=0.8),
    )


def _write_result(outdir: Path, result: Path, assembly: cx_api.CloudAssembly) -> None:
    # The CDK CLI fails synth on error annotations and prints warnings: both count as findings.
    findings = [
        {"level": message.level.value, "path": message.id, "text": str(message.entry.data)}
        for stack in assembly.stacks
        for message in stack.messages
        if message.level.value in ("error", "warning")
    ]
    suppressed = []
    for report in sorted(outdir.glob("AwsSolutions-*-NagReport.csv")):
        with report.open(newline="") as rows:
            suppressed += [row for row in csv.DictReader(rows) if row["Compliance"] == "Suppressed"]
    result.write_text(
        json.dumps({"version": cdk_nag.__file__, "findings": findings, "suppressed": suppressed}, indent=1)
    )


if __name__ == "__main__":
    options = sys.argv[3:]
    main(
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        cdk_json_context="--cdk-json-context" in options,
        batches="--batches" in options,
    )
