"""What MetadataGenerationBatch puts in the template: the shared workflow, the custom resource's
properties, dependencies, IAM, outputs, and template size independent of the number of ids."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from constructs_lib import AssetSelection, MetadataGenerationBatch
from constructs_lib._handler import contract
from constructs_lib._handler.contract import BATCH_RESOURCE_TYPE, SERVICE_TIMEOUT_SECONDS
from constructs_lib._provider import DATAZONE_ACTIONS
from constructs_lib.metadata_generation_run import RESOURCE_TYPE
from tests.construct.conftest import (
    BATCHES_STACK,
    DOMAIN,
    GLUE_TABLE,
    MANY_IDS,
    PROJECT,
    SEARCH_TEXT,
    TEN_IDS,
    Synthesized,
)

WORKFLOW = "DataZoneMetadataGenerationBatchWorkflow"
HANDLER_ROLE = "DataZoneMetadataGenerationRunProviderHandlerRole"
ASSETS_BUCKET = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}
SELECTION_ACTIONS = {
    "datazone:Search",
    "datazone:ListDataSourceRuns",
    "datazone:ListDataSourceRunActivities",
}
PREDICTION_ACTIONS = {"datazone:AcceptPredictions", "datazone:RejectPredictions"}


def _resources(template: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def _one(resources: dict[str, Any]) -> tuple[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def _batch_machines(template: dict[str, Any]) -> dict[str, Any]:
    """The batch workflow's state machines (the provider framework's waiter is another one)."""
    return {
        k: v
        for k, v in _resources(template, "AWS::StepFunctions::StateMachine").items()
        if "ForEachAsset" in json.dumps(v["Properties"]["DefinitionString"])
    }


def _batches(template: dict[str, Any]) -> dict[str, Any]:
    return _resources(template, BATCH_RESOURCE_TYPE)


def _batch(template: dict[str, Any], construct_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [v for k, v in _batches(template).items() if k.startswith(construct_id)]
    assert len(found) == 1, construct_id
    return found[0]


def _datazone_actions(template: dict[str, Any]) -> set[str]:
    return {
        action
        for policy in _resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
        if action.startswith("datazone:")
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def batches_template(batches: Synthesized) -> dict[str, Any]:
    return batches.templates[BATCHES_STACK]


def test_three_batches_and_a_run_share_one_workflow_bucket_and_executions_policy(
    batches_template: dict[str, Any],
) -> None:
    assert len(_batches(batches_template)) == 3
    assert len(_resources(batches_template, RESOURCE_TYPE)) == 1
    machine_id, _ = _one(_batch_machines(batches_template))
    assert machine_id.startswith(f"{WORKFLOW}StateMachine")
    bucket_id, bucket = _one(_resources(batches_template, "AWS::S3::Bucket"))
    assert bucket_id.startswith(f"{WORKFLOW}Results")
    assert bucket["DeletionPolicy"] == "Retain"
    executions = {k: v for k, v in _resources(batches_template, "AWS::IAM::Policy").items() if "Executions" in k}
    executions_id, _ = _one(executions)
    assert executions_id.startswith(f"{WORKFLOW}Executions")
    # One provider: its waiter and the batch workflow are the only state machines.
    assert len(_resources(batches_template, "AWS::StepFunctions::StateMachine")) == 2
    # The provider's onEvent/isComplete, the framework's three, the workflow's worker and (for
    # the continuous Source batch) the intake.
    assert len(_resources(batches_template, "AWS::Lambda::Function")) == 7
    (worker_id,) = [
        k for k in _resources(batches_template, "AWS::Lambda::Function") if k.startswith(f"{WORKFLOW}Worker")
    ]
    worker = batches_template["Resources"][worker_id]["Properties"]
    assert worker["Handler"] == "entry.batch_worker"
    assert worker["Timeout"] == contract.WORKER_TIMEOUT_SECONDS
    assert worker["MemorySize"] == contract.WORKER_MEMORY_MB
    assert worker["Role"]["Fn::GetAtt"][0].startswith(HANDLER_ROLE)


def test_every_batch_stack_has_exactly_one_workflow(batches: Synthesized) -> None:
    for name, template in batches.templates.items():
        assert len(_batch_machines(template)) == 1, name
        assert len(_resources(template, "AWS::S3::Bucket")) == 1, name


def test_one_membership_per_project_shared_by_runs_and_batches(batches_template: dict[str, Any]) -> None:
    memberships = _resources(batches_template, "AWS::DataZone::ProjectMembership")
    assert len(memberships) == 2
    by_project = {json.dumps(m["Properties"]["ProjectIdentifier"]): k for k, m in memberships.items()}
    token_project = by_project[json.dumps({"Fn::GetAtt": ["Project", "Id"]})]
    literal_project = by_project[json.dumps(PROJECT)]
    (executions_id,) = [k for k in batches_template["Resources"] if k.startswith(f"{WORKFLOW}Executions")]
    expected = {"Ids": token_project, "Source": token_project, "Search": literal_project}
    for construct_id, membership_id in expected.items():
        batch = _batch(batches_template, construct_id)
        assert sorted(batch["DependsOn"]) == sorted([executions_id, membership_id]), construct_id
    (run,) = _resources(batches_template, RESOURCE_TYPE).values()
    assert run["DependsOn"] == [token_project]
    for membership in memberships.values():
        assert membership["Properties"]["Designation"] == "PROJECT_CONTRIBUTOR"
        assert membership["Properties"]["Member"]["UserIdentifier"]["Fn::GetAtt"][0].startswith(HANDLER_ROLE)


def _common(template: dict[str, Any]) -> dict[str, Any]:
    (machine_id,) = _batch_machines(template)
    (bucket_id,) = _resources(template, "AWS::S3::Bucket")
    return {
        "ServiceToken": {"Fn::GetAtt": [next(k for k in template["Resources"] if "frameworkonEvent" in k), "Arn"]},
        "ServiceTimeout": str(SERVICE_TIMEOUT_SECONDS),
        "StateMachineArn": {"Ref": machine_id},
        "ResultsBucket": {"Ref": bucket_id},
    }


def test_ids_batch_properties(batches_template: dict[str, Any]) -> None:
    batch = _batch(batches_template, "Ids")
    selection = batch["Properties"]["Selection"]
    assert selection["Key"].endswith(".json")
    assert batch["Properties"] == {
        **_common(batches_template),
        "DomainId": {"Fn::GetAtt": ["Domain", "Id"]},
        "ProjectId": {"Fn::GetAtt": ["Project", "Id"]},
        "Types": ["BUSINESS_DESCRIPTIONS", "BUSINESS_NAMES"],
        "Selection": {"Kind": "IDS", "Count": len(TEN_IDS), "Bucket": ASSETS_BUCKET, "Key": selection["Key"]},
        "MaxConcurrency": 25,
        "FailureTolerancePercent": 5,
        "TimeoutSeconds": 2700,
        "RunTimeoutSeconds": 7200,
        "WaitForCompletion": True,
        "CancelOnDelete": True,
        "RerunToken": "catalog-v1",
        "Predictions": {"Action": "ACCEPT", "Rule": "ALL", "Threshold": 0.8},
    }


def test_data_source_batch_properties_and_defaults(batches_template: dict[str, Any]) -> None:
    batch = _batch(batches_template, "Source")
    assert batch["Properties"] == {
        **_common(batches_template),
        "DomainId": {"Fn::GetAtt": ["Domain", "Id"]},
        "ProjectId": {"Fn::GetAtt": ["Project", "Id"]},
        "Types": ["BUSINESS_DESCRIPTIONS"],
        "Selection": {"Kind": "DATA_SOURCE", "DataSourceId": {"Fn::GetAtt": ["DataSource", "Id"]}},
        "MaxConcurrency": 10,
        "FailureTolerancePercent": 0,
        "TimeoutSeconds": 1800,
        "RunTimeoutSeconds": 1800,
        "WaitForCompletion": False,
        "CancelOnDelete": False,
        "Continuous": True,
    }


def test_search_batch_properties(batches_template: dict[str, Any]) -> None:
    props = _batch(batches_template, "Search")["Properties"]
    assert props["DomainId"] == DOMAIN
    assert props["ProjectId"] == PROJECT
    assert props["Selection"] == {"Kind": "SEARCH", "Text": SEARCH_TEXT, "AssetTypes": [GLUE_TABLE]}
    assert props["Predictions"] == {
        "Action": "REJECT",
        "Rule": "NONE",
        "Choices": [{"PredictionTarget": "description"}],
    }
    assert "RerunToken" not in props
    for key, value in _common(batches_template).items():
        assert props[key] == value, key


def test_search_without_filters_selects_the_whole_inventory(batches: Synthesized) -> None:
    props = _batch(batches.templates["BatchSearch"], "Batch")["Properties"]
    assert props["Selection"] == {"Kind": "SEARCH"}


@pytest.mark.parametrize(
    ("stack_name", "expected"),
    [
        ("BatchIds10", set()),
        ("BatchIds10000", set()),
        ("BatchSource", {"datazone:ListDataSourceRuns", "datazone:ListDataSourceRunActivities"}),
        ("BatchSearch", {"datazone:Search"}),
        # Its data-source batch is continuous: the intake confirms each run with GetDataSourceRun.
        (BATCHES_STACK, SELECTION_ACTIONS | PREDICTION_ACTIONS | {"datazone:GetDataSourceRun"}),
    ],
)
def test_datazone_actions_are_only_those_the_selection_and_policy_use(
    batches: Synthesized, stack_name: str, expected: set[str]
) -> None:
    assert _datazone_actions(batches.templates[stack_name]) == set(DATAZONE_ACTIONS) | expected


def test_datazone_actions_stay_in_one_wildcard_statement(batches_template: dict[str, Any]) -> None:
    statements = [
        statement
        for policy in _resources(batches_template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith("datazone:") for a in _as_list(statement["Action"]))
    ]
    (statement,) = statements
    assert statement["Resource"] == "*"
    assert len(statement["Action"]) == len(set(statement["Action"]))


def _trusted(template: dict[str, Any]) -> set[str]:
    (role,) = [v for k, v in _resources(template, "AWS::IAM::Role").items() if k.startswith(HANDLER_ROLE)]
    return {
        service
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for service in _as_list(statement["Principal"]["Service"])
    }


def test_handler_role_trusts_step_functions_only_when_the_stack_has_a_batch(
    batches: Synthesized, synthesized: Synthesized
) -> None:
    for name, template in batches.templates.items():
        assert _trusted(template) == {"lambda.amazonaws.com", "states.amazonaws.com"}, name
    for name, template in synthesized.templates.items():
        assert _trusted(template) == {"lambda.amazonaws.com"}, name


def test_executions_policy_names_only_this_workflow(batches_template: dict[str, Any]) -> None:
    (machine_id,) = _batch_machines(batches_template)
    (policy,) = [v for k, v in batches_template["Resources"].items() if k.startswith(f"{WORKFLOW}Executions")]
    assert policy["Properties"]["Roles"][0]["Ref"].startswith(HANDLER_ROLE)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert actions == sorted(
        [
            "states:StartExecution",
            "states:ListExecutions",
            "states:DescribeExecution",
            "states:StopExecution",
            "states:DescribeMapRun",
            "states:UpdateMapRun",
            "states:ListMapRuns",
            "lambda:InvokeFunction",
        ]
    )
    for statement in statements:
        if statement["Action"] == "lambda:InvokeFunction":
            # The workflow's own worker, and no other function.
            (worker_id,) = [k for k in batches_template["Resources"] if k.startswith(f"{WORKFLOW}Worker")]
            assert statement["Resource"] == {"Fn::GetAtt": [worker_id, "Arn"]}
            continue
        # Every resource is the machine itself or an ARN built from its name: no other machine.
        assert machine_id in json.dumps(statement["Resource"])


def test_outputs_expose_execution_arn_and_counts(batches_template: dict[str, Any]) -> None:
    outputs = batches_template["Outputs"]
    batch_ids = set(_batches(batches_template))
    by_batch: dict[str, set[str]] = {}
    for output in outputs.values():
        resource, attribute = output["Value"]["Fn::GetAtt"]
        if resource in batch_ids:
            by_batch.setdefault(resource, set()).add(attribute)
            assert "DataZone metadata-generation batch" in output["Description"]
    # Ids and Source create outputs; Search passed create_outputs=False.
    assert sorted(by_batch) == sorted(k for k in batch_ids if not k.startswith("Search"))
    for attributes in by_batch.values():
        assert attributes == {"ExecutionArn", "SucceededCount", "FailedCount", "Summary"}
    assert len(outputs) == 2 * 4 + 2  # and the run's two


def test_no_outputs_with_create_outputs_false(batches: Synthesized) -> None:
    for name in ("BatchIds10", "BatchIds10000", "BatchSource", "BatchSearch"):
        assert "Outputs" not in batches.templates[name], name


def test_every_batch_sets_cloudformation_service_timeout(batches: Synthesized) -> None:
    for name, template in batches.templates.items():
        for batch in _batches(template).values():
            assert batch["Properties"]["ServiceTimeout"] == str(SERVICE_TIMEOUT_SECONDS), name


# --- Scale: explicit ids are an S3 asset, not template text.


def _asset_file(batches: Synthesized, selection: dict[str, Any]) -> Path:
    return batches.outdir / f"asset.{selection['Key']}"


def test_template_bytes_for_10_and_10000_ids_differ_by_under_2_kb(batches: Synthesized) -> None:
    ten = batches.templates["BatchIds10"]
    many = batches.templates["BatchIds10000"]
    difference = len(json.dumps(many, indent=1)) - len(json.dumps(ten, indent=1))
    assert 0 <= difference < 2048
    assert "asset00009" not in json.dumps(many)

    def policy_bytes(template: dict[str, Any]) -> int:
        policies = _resources(template, "AWS::IAM::Policy")
        return sum(len(json.dumps(p["Properties"]["PolicyDocument"], separators=(",", ":"))) for p in policies.values())

    assert policy_bytes(ten) == policy_bytes(many)
    assert _batch(many, "Batch")["Properties"]["Selection"]["Count"] == len(MANY_IDS)


@pytest.mark.parametrize(("stack_name", "ids"), [("BatchIds10", TEN_IDS), ("BatchIds10000", MANY_IDS)])
def test_ids_asset_is_the_json_array_of_ids(batches: Synthesized, stack_name: str, ids: list[str]) -> None:
    selection = _batch(batches.templates[stack_name], "Batch")["Properties"]["Selection"]
    assert selection["Bucket"] == ASSETS_BUCKET
    assert json.loads(_asset_file(batches, selection).read_text()) == ids
    # The stack's asset manifest publishes that file to the key the resource names.
    manifest = json.loads((batches.outdir / f"{stack_name}.assets.json").read_text())
    published = [
        destination["objectKey"]
        for file_asset in manifest["files"].values()
        if file_asset["source"]["path"] == f"asset.{selection['Key']}"
        for destination in file_asset["destinations"].values()
    ]
    assert published
    assert set(published) == {selection["Key"]}


def test_same_ids_give_the_same_asset_and_other_ids_another(batches: Synthesized) -> None:
    key = _batch(batches.templates["BatchIds10"], "Batch")["Properties"]["Selection"]["Key"]
    same = _batch(batches.templates[BATCHES_STACK], "Ids")["Properties"]["Selection"]["Key"]
    other = _batch(batches.templates["BatchIds10000"], "Batch")["Properties"]["Selection"]["Key"]
    assert key == same
    assert key != other


def test_ids_asset_holds_the_ids_even_if_the_staging_file_is_stale(tmp_path: Path) -> None:
    ids = [f"stale-{uuid.uuid4().hex}"]
    body = json.dumps(ids).encode()
    digest = hashlib.sha256(body).hexdigest()
    staged = Path(tempfile.gettempdir()) / "datazone-metadata-generation-batch" / f"{digest}.json"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b'["truncated')  # e.g. an earlier synth killed mid-write
    try:
        app = cdk.App(outdir=str(tmp_path))
        stack = cdk.Stack(app, "Stale")
        MetadataGenerationBatch(
            stack, "Batch", domain_id=DOMAIN, project_id=PROJECT, assets=AssetSelection.ids(ids), create_outputs=False
        )
        # The asset is staged into the outdir when constructed: no synth needed.
        (asset_file,) = tmp_path.glob("asset.*.json")
        assert asset_file.read_bytes() == body
    finally:
        os.unlink(staged)
