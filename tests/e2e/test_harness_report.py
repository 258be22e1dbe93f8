"""The dry-run report's numbers add up for a batch (issue 15, must hold 6): the DataZone calls its
workflow makes (moto's threads, as the state machine's role) are counted and shown beside the
handlers' own, with the most history events one execution wrote."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import aws_cdk as cdk
from constructs_local import Knobs, LocalCloudFormation
from constructs_local.report import print_result

from constructs_lib import AcceptPredictions, AssetSelection, MetadataGenerationBatch

IDS = [f"reportasset{i}" for i in range(4)]


def test_a_batch_reports_its_workflow_calls_and_history_events(tmp_path: Path) -> None:
    logging.getLogger("moto").setLevel(logging.ERROR)
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    MetadataGenerationBatch(
        cdk.Stack(app, "Report"),
        "Batch",
        domain_id="dzd_example123",
        project_id="exampleproject1",
        assets=AssetSelection.ids(IDS),
        accept_predictions=AcceptPredictions.all(),
    )
    app.synth()
    cfn = LocalCloudFormation(tmp_path / "cdk.out", knobs=Knobs(submitted_seconds=2, in_progress_seconds=6))
    [result] = cfn.deploy()
    assert result.status == "CREATE_COMPLETE", result.reason
    # Before: only the handlers' calls were counted ("AcceptPredictions x2" for a whole batch).
    assert result.workflow_calls["StartMetadataGenerationRun"] == len(IDS)
    assert result.workflow_calls["AcceptPredictions"] == len(IDS)
    assert 0 < result.max_history_events < 25_000
    out = io.StringIO()
    print_result(result, out)
    assert f"StartMetadataGenerationRun x{len(IDS)}" in out.getvalue()
    assert f"at most {result.max_history_events:,} in one execution" in out.getvalue()
