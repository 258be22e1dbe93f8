"""The local endpoint's catalog: data sources, their runs and activities, Search, seeds with data
sources and generated assets, and the replay's provisioning of an app's CfnDataSource and of a
batch's explicit ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_datazone as datazone
from botocore.exceptions import ClientError
from constructs_local import DataZoneBackend, LocalDataZone, default_seed
from constructs_local.cli import _seed as cli_seed
from constructs_local.cli import build_parser
from constructs_local.cloudformation.assembly import load_assembly
from constructs_local.cloudformation.datazone_resources import local_data_source_id, local_domain_id
from constructs_local.cloudformation.provision import UnknownIdsError, provision
from constructs_local.datazone.models import Knobs as KnobsFromBackend
from constructs_local.knobs import Knobs
from constructs_local.seed import SeedError, generated_asset_ids, load_seed, seed_problems

from constructs_lib import AssetSelection, MetadataGenerationBatch, MetadataGenerationType
from tests.e2e.conftest import DOMAIN, PROJECT

SOURCE = "salessource1"
STACK = "CatalogApp"


def _seed(**source: Any) -> dict[str, Any]:
    seed = default_seed()
    seed["domains"][DOMAIN]["dataSources"] = {SOURCE: {"project": PROJECT, "name": "sales-tables", **source}}
    return seed


@pytest.fixture
def catalog() -> Iterator[LocalDataZone]:
    with LocalDataZone(seed=_seed(database="sales")) as endpoint:
        yield endpoint


def _runs(client: Any, **params: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_data_source_runs").paginate(
        domainIdentifier=DOMAIN, dataSourceIdentifier=SOURCE, **params
    )
    return [run for page in pages for run in page["items"]]


def _activities(client: Any, run_id: str, **params: Any) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_data_source_run_activities").paginate(
        domainIdentifier=DOMAIN, identifier=run_id, **params
    )
    return [item for page in pages for item in page["items"]]


def test_knobs_moved_but_still_importable_from_the_backend() -> None:
    assert KnobsFromBackend is Knobs
    with pytest.raises(ValueError, match="data_source_final_status"):
        Knobs().update({"data_source_final_status": {SOURCE: "DONE"}})


def test_a_seeded_data_source_has_imported_its_projects_glue_assets(catalog: LocalDataZone) -> None:
    client = catalog.client()
    (run,) = _runs(client)
    assert run["status"] == "SUCCESS"
    assert run["dataSourceId"] == SOURCE
    assert run["runStatisticsForAssets"]["added"] == 2
    activities = _activities(client, run["id"], PaginationConfig={"PageSize": 1})
    # Glue tables of the project only: not the S3 object collection, not another project's table.
    assert [(a["dataAssetId"], a["dataAssetStatus"], a["database"]) for a in activities] == [
        ("exampleasset1", "SUCCEEDED_CREATED", "sales"),
        ("exampleasset2", "SUCCEEDED_CREATED", "sales"),
    ]
    assert _activities(client, run["id"], status="FAILED") == []


def test_a_run_progresses_on_the_clock_and_a_second_import_is_unchanged(catalog: LocalDataZone) -> None:
    client = catalog.client()
    knobs = catalog.knobs
    run_id = catalog.backend.start_data_source_run(DOMAIN, SOURCE)
    assert [r["status"] for r in _runs(client)] == ["REQUESTED", "SUCCESS"]  # newest first
    assert _activities(client, run_id) == []  # nothing listed until the run ends
    catalog.clock.sleep(knobs.data_source_requested_seconds)
    assert [r["id"] for r in _runs(client, status="RUNNING")] == [run_id]
    catalog.clock.sleep(knobs.data_source_running_seconds)
    assert next(r["id"] for r in _runs(client, status="SUCCESS")) == run_id
    assert {a["dataAssetStatus"] for a in _activities(client, run_id)} == {"UNCHANGED"}
    # ISO 8601 on the wire, as the model marks these members; botocore parses them.
    assert _runs(client)[0]["createdAt"].tzinfo is not None


@pytest.mark.parametrize("outcome", ["FAILED", "PARTIALLY_SUCCEEDED"])
def test_forced_data_source_outcomes(catalog: LocalDataZone, outcome: str) -> None:
    catalog.knobs.data_source_final_status = {SOURCE: outcome}
    run_id = catalog.backend.start_data_source_run(DOMAIN, SOURCE)
    catalog.clock.sleep(catalog.knobs.data_source_requested_seconds + catalog.knobs.data_source_running_seconds)
    client = catalog.client()
    run = next(r for r in _runs(client) if r["id"] == run_id)
    assert run["status"] == outcome
    activities = _activities(client, run_id)
    if outcome == "FAILED":
        assert run["errorMessage"]["errorType"] == "INTERNAL_SERVER_EXCEPTION"
        assert activities == []
    else:
        assert [a["dataAssetStatus"] for a in activities] == ["UNCHANGED", "FAILED"]
        assert "dataAssetId" not in activities[-1]


def test_data_source_errors_are_the_services(catalog: LocalDataZone) -> None:
    client = catalog.client()
    with pytest.raises(ClientError) as missing:
        client.list_data_source_runs(domainIdentifier=DOMAIN, dataSourceIdentifier="nosuchsource")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as run_missing:
        client.list_data_source_run_activities(domainIdentifier=DOMAIN, identifier="nosuchrun")
    assert run_missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    outsider = "arn:aws:iam::000000000000:user/outsider"
    catalog.backend.register_principal("OUTSIDER", outsider)
    with pytest.raises(ClientError) as denied:
        catalog.client(access_key_id="OUTSIDER").list_data_source_runs(
            domainIdentifier=DOMAIN, dataSourceIdentifier=SOURCE
        )
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as too_many:
        client.list_data_source_runs(domainIdentifier=DOMAIN, dataSourceIdentifier=SOURCE, maxResults=51)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as bad_status:  # botocore leaves enums to the service
        client.list_data_source_runs(domainIdentifier=DOMAIN, dataSourceIdentifier=SOURCE, status="DONE")
    assert bad_status.value.response["Error"]["Code"] == "ValidationException"
    first = client.search(domainIdentifier=DOMAIN, searchScope="ASSET", maxResults=1)
    with pytest.raises(ClientError) as other_query:  # a token is for the query that made it
        client.list_data_source_runs(domainIdentifier=DOMAIN, dataSourceIdentifier=SOURCE, nextToken=first["nextToken"])
    assert other_query.value.response["Error"]["Code"] == "ValidationException"


def test_search_pages_through_a_projects_assets(catalog: LocalDataZone) -> None:
    client = catalog.client()
    pages = client.get_paginator("search").paginate(
        domainIdentifier=DOMAIN, owningProjectIdentifier=PROJECT, searchScope="ASSET", PaginationConfig={"PageSize": 2}
    )
    items = [item["assetItem"] for page in pages for item in page["items"]]
    assert [i["identifier"] for i in items] == ["exampleasset1", "exampleasset2", "exampleobjects1"]
    assert {i["owningProjectId"] for i in items} == {PROJECT}
    assert items[2]["typeIdentifier"] == "amazon.datazone.S3ObjectCollectionAssetType"
    found = client.search(domainIdentifier=DOMAIN, searchScope="ASSET", searchText="ASSET2")
    assert [i["assetItem"]["identifier"] for i in found["items"]] == ["exampleasset2"]
    assert client.search(domainIdentifier=DOMAIN, searchScope="GLOSSARY")["items"] == []
    with pytest.raises(ClientError) as unsupported:
        client.search(
            domainIdentifier=DOMAIN, searchScope="ASSET", filters={"filter": {"attribute": "x", "value": "y"}}
        )
    assert "does not implement" in unsupported.value.response["Error"]["Message"]


# -- seeds --------------------------------------------------------------------------------------


def test_seed_data_source_problems_name_the_entry(tmp_path: Path) -> None:
    seed = _seed(assets=["exampleasset1", "nosuchasset"], type="S3", firstRun="later", surprise=1)
    problems = seed_problems(seed)
    where = f"domains.{DOMAIN}.dataSources.{SOURCE}"
    assert f"{where}.assets: nosuchasset not among the domain's assets" in problems
    assert any(p.startswith(f"{where}.type") for p in problems)
    assert any(p.startswith(f"{where}.firstRun") for p in problems)
    assert any(p.startswith(f"{where}: unknown key 'surprise'") for p in problems)
    file = tmp_path / "seed.json"
    file.write_text(json.dumps({**seed, "generatedAssets": -1}))
    with pytest.raises(SeedError, match=str(file)) as error:
        load_seed(file)
    assert "generatedAssets" in str(error.value)


def test_an_explicit_list_is_what_a_data_source_imports() -> None:
    backend = DataZoneBackend(seed=_seed(assets=["exampleasset2"]))
    (run,) = backend.data_source_runs.values()
    assert [asset for asset, _, _ in run.assets] == ["exampleasset2"]


def test_seed_assets_on_the_cli_go_to_the_seeds_data_source(tmp_path: Path) -> None:
    file = tmp_path / "seed.json"
    file.write_text(json.dumps(_seed()))
    args = build_parser().parse_args(["serve", "--seed", str(file), "--seed-assets", "120"])
    seed = cli_seed(args)
    assert seed is not None
    backend = DataZoneBackend(seed=seed)
    (run,) = backend.data_source_runs.values()
    generated = generated_asset_ids(DOMAIN, PROJECT, 120)
    assert len(run.assets) == 122  # the two seeded Glue tables and the generated ones
    assert {asset for asset, _, _ in run.assets} >= set(generated)


# -- the replay's provisioning -------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stack with its own domain, project and Glue data source, a batch over the data source and
    one over 1,000 explicit ids no seed knows."""
    outdir = tmp_path_factory.mktemp("catalog-cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    domain = datazone.CfnDomain(
        stack, "Domain", name="catalog", domain_execution_role="arn:aws:iam::123456789012:role/dz-exec"
    )
    project = datazone.CfnProject(stack, "Project", domain_identifier=domain.attr_id, name="analytics")
    source = datazone.CfnDataSource(
        stack,
        "Tables",
        name="sales-tables",
        type="GLUE",
        domain_identifier=domain.attr_id,
        project_identifier=project.attr_id,
        environment_identifier="env1",
        configuration=datazone.CfnDataSource.DataSourceConfigurationInputProperty(
            glue_run_configuration=datazone.CfnDataSource.GlueRunConfigurationInputProperty(
                relational_filter_configurations=[
                    datazone.CfnDataSource.RelationalFilterConfigurationProperty(database_name="sales")
                ]
            )
        ),
    )
    types = [MetadataGenerationType.BUSINESS_DESCRIPTIONS]
    MetadataGenerationBatch(
        stack,
        "Imported",
        domain_id=domain.attr_id,
        project_id=project.attr_id,
        assets=AssetSelection.data_source(source.attr_id),
        types=types,
    )
    MetadataGenerationBatch(
        stack,
        "Listed",
        domain_id=domain.attr_id,
        project_id=project.attr_id,
        assets=AssetSelection.ids([f"listed{i:05d}" for i in range(1000)]),
        types=types,
    )
    cdk.CfnOutput(stack, "SourceRef", value=source.ref)
    cdk.CfnOutput(stack, "SourceId", value=source.attr_id)
    app.synth()
    return outdir


def _logical(assembly: Path, kind: str) -> str:
    resources = json.loads((assembly / f"{STACK}.template.json").read_text())["Resources"]
    return next(str(logical) for logical, resource in resources.items() if resource["Type"] == kind)


def test_an_apps_data_source_starts_its_first_run_on_creation(catalog_app: Path) -> None:
    seed = {**default_seed(), "generatedAssets": 30}
    backend = DataZoneBackend(seed=seed)
    notices = provision(load_assembly(catalog_app), backend, seed=seed)
    domain = local_domain_id(STACK, _logical(catalog_app, "AWS::DataZone::Domain"))
    source = local_data_source_id(STACK, _logical(catalog_app, "AWS::DataZone::DataSource"))
    (run,) = backend.data_source_runs.values()
    assert (run.domain_id, run.data_source_id, run.database) == (domain, source, "sales")
    assert backend.data_source_run_status(domain, run.id) == "REQUESTED"  # started now, not before
    # It imports the generated Glue tables, made in the data source's project.
    assert {asset for asset, _, _ in run.assets} == set(generated_asset_ids(domain, run.project_id, 30))
    assert any("generated 30 Glue-table assets" in n for n in notices)
    assert any(f"is data source {source}" in n for n in notices)
    # One summarized line for the batch's 1,000 unknown ids, not 1,000 lines.
    listed = [n for n in notices if "listed" in n]
    assert len(listed) == 1
    assert "1000 asset ids used by" in listed[0]
    assert backend.world["domains"][domain]["assets"]["listed00999"]["project"] == run.project_id
    # A second deploy finds everything there: no new run, no new notices about the source.
    again = provision(load_assembly(catalog_app), backend, seed=seed)
    assert len(backend.data_source_runs) == 1
    assert not any("data source" in n or "generated" in n for n in again)


def test_strict_refuses_a_batchs_unknown_ids(catalog_app: Path) -> None:
    backend = DataZoneBackend()
    with pytest.raises(UnknownIdsError) as error:
        provision(load_assembly(catalog_app), backend, strict=True)
    message = str(error.value)
    assert "asset listed00000" in message
    assert "... and 980 more" in message


def test_data_source_ref_and_attributes_resolve(catalog_app: Path) -> None:
    from constructs_local.cloudformation.assembly import Resolver  # noqa: PLC0415

    (stack,) = load_assembly(catalog_app)
    resolver = Resolver(stack.template, stack_name=STACK, stack_id="", region="us-east-1", account="000000000000")
    logical = _logical(catalog_app, "AWS::DataZone::DataSource")
    domain = local_domain_id(STACK, _logical(catalog_app, "AWS::DataZone::Domain"))
    source = local_data_source_id(STACK, logical)
    outputs = {name: resolver.resolve(stack.template["Outputs"][name]["Value"]) for name in ("SourceRef", "SourceId")}
    assert outputs["SourceRef"] == f"{domain}|{source}"
    assert outputs["SourceId"] == source
    assert resolver.attribute(logical, "EnvironmentId") == "env1"
    assert resolver.attribute(logical, "Status") == "READY"


def test_documented_seed_example_serves_its_data_source() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "local-dry-run.md"
    section = doc.read_text().split("\n## Seed file", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    seed = json.loads(example)
    assert seed_problems(seed) == []
    with LocalDataZone(seed=seed) as endpoint:
        client = endpoint.client()
        (run,) = client.list_data_source_runs(domainIdentifier="dzd_mycatalog1", dataSourceIdentifier="salestables1")[
            "items"
        ]
        activities = client.list_data_source_run_activities(domainIdentifier="dzd_mycatalog1", identifier=run["id"])
        assert [(a["dataAssetId"], a["technicalName"]) for a in activities["items"]] == [("orders1", "orders")]
