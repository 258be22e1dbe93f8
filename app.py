#!/usr/bin/env python3
"""Example app: generate business descriptions and names for one asset, and (with
``-c catalog=true``) for every table a Glue data source imports.

Deploy for real with your own ids:
    cdk deploy DataZoneMetadataGenerationExample -c domain_id=dzd_xxxx -c project_id=xxxx -c asset_id=xxxx
    cdk deploy DataZoneMetadataGenerationCatalogExample -c catalog=true -c domain_id=dzd_xxxx \
        -c project_id=xxxx -c environment_id=xxxx -c glue_database=sales
Without them it synthesizes with the documented example ids below.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_datazone as datazone
from constructs import Construct

from constructs_lib import (
    AcceptPredictions,
    AssetSelection,
    MetadataGenerationBatch,
    MetadataGenerationRun,
    MetadataGenerationType,
)

EXAMPLE_CONTEXT = {
    "domain_id": "dzd_example123",
    "project_id": "exampleproject1",
    "asset_id": "exampleasset1",
}
CATALOG_CONTEXT = {
    "environment_id": "exampleenv1",
    "glue_database": "sales",
}


class MetadataGenerationExampleStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, domain_id: str, project_id: str, asset_id: str, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        MetadataGenerationRun(
            self,
            "Descriptions",
            domain_id=domain_id,
            project_id=project_id,
            asset_id=asset_id,
            types=[MetadataGenerationType.BUSINESS_DESCRIPTIONS, MetadataGenerationType.BUSINESS_NAMES],
        )


class MetadataGenerationCatalogExampleStack(cdk.Stack):
    """A Glue data source and a batch over every table its run imports, predictions accepted, and
    over what each later run of the data source creates or updates (continuous)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_id: str,
        project_id: str,
        environment_id: str,
        glue_database: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        source = datazone.CfnDataSource(
            self,
            "Tables",
            name=f"{glue_database}-tables",
            type="GLUE",
            domain_identifier=domain_id,
            project_identifier=project_id,
            environment_identifier=environment_id,
            configuration=datazone.CfnDataSource.DataSourceConfigurationInputProperty(
                glue_run_configuration=datazone.CfnDataSource.GlueRunConfigurationInputProperty(
                    relational_filter_configurations=[
                        datazone.CfnDataSource.RelationalFilterConfigurationProperty(database_name=glue_database)
                    ]
                )
            ),
            enable_setting="ENABLED",
            publish_on_import=False,
        )
        MetadataGenerationBatch(
            self,
            "Catalog",
            domain_id=domain_id,
            project_id=project_id,
            assets=AssetSelection.data_source(source.attr_id),
            types=[MetadataGenerationType.BUSINESS_DESCRIPTIONS],
            max_concurrency=10,
            accept_predictions=AcceptPredictions.all(threshold=0.8),
            # And for every later run of the data source: what it creates or updates, no redeploy.
            continuous=True,
        )


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()

    def context(defaults: dict[str, str]) -> dict[str, str]:
        return {key: str(app.node.try_get_context(key) or default) for key, default in defaults.items()}

    ids = context(EXAMPLE_CONTEXT)
    MetadataGenerationExampleStack(app, "DataZoneMetadataGenerationExample", **ids)
    if str(app.node.try_get_context("catalog")).lower() == "true":
        MetadataGenerationCatalogExampleStack(
            app,
            "DataZoneMetadataGenerationCatalogExample",
            domain_id=ids["domain_id"],
            project_id=ids["project_id"],
            **context(CATALOG_CONTEXT),
        )
    return app


if __name__ == "__main__":
    build_app().synth()
