#!/usr/bin/env python3
"""Example app: one stack that generates business descriptions and names for one asset.

Deploy for real with your own ids:
    cdk deploy -c domain_id=dzd_xxxx -c project_id=xxxx -c asset_id=xxxx
Without them it synthesizes with the documented example ids below.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from constructs_lib import MetadataGenerationRun, MetadataGenerationType

EXAMPLE_CONTEXT = {
    "domain_id": "dzd_example123",
    "project_id": "exampleproject1",
    "asset_id": "exampleasset1",
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


def build_app(app: cdk.App | None = None) -> cdk.App:
    app = app or cdk.App()
    ids = {key: str(app.node.try_get_context(key) or default) for key, default in EXAMPLE_CONTEXT.items()}
    MetadataGenerationExampleStack(app, "DataZoneMetadataGenerationExample", **ids)
    return app


if __name__ == "__main__":
    build_app().synth()
