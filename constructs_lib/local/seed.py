"""What the local DataZone endpoint knows before anyone calls it.

The ids match the example app's documented defaults (``app.py``), so ``cdk synth`` followed by a
local deploy works with no configuration. Pass your own seed (same layout, e.g. a JSON file to
``serve --seed``) to try other ids.

Layout::

    {
      "account": "000000000000",              # the local AWS account in every ARN
      "defaultPrincipal": "<iam arn>",        # who a request with unregistered dummy credentials is
      "domains": {
        "<domain id>": {
          "projects": {"<project id>": {"members": {"<iam arn>": "<designation>"}}},
          "assets": {
            "<asset id>": {
              "project": "<owning project id>",
              "typeName": "amazon.datazone.GlueTableAssetType",
              "revision": 1,                  # latest revision (revisions 1..n exist)
              "supportsGeneration": true,     # asset type and schema allow metadata generation
              "outcome": "SUCCEEDED"          # optional: how runs for this asset end
            }
          }
        }
      }
    }
"""

from __future__ import annotations

import copy
from typing import Any

LOCAL_ACCOUNT = "000000000000"
LOCAL_DEVELOPER = f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-developer"

_DEFAULT_SEED: dict[str, Any] = {
    "account": LOCAL_ACCOUNT,
    "defaultPrincipal": LOCAL_DEVELOPER,
    "domains": {
        "dzd_example123": {
            "projects": {
                "exampleproject1": {"members": {LOCAL_DEVELOPER: "PROJECT_OWNER"}},
                "otherproject1": {"members": {}},
            },
            "assets": {
                "exampleasset1": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 1,
                    "supportsGeneration": True,
                },
                "exampleasset2": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 3,
                    "supportsGeneration": True,
                },
                "exampleobjects1": {
                    "project": "exampleproject1",
                    "typeName": "amazon.datazone.S3ObjectCollectionAssetType",
                    "revision": 1,
                    "supportsGeneration": False,
                },
                "otherasset1": {
                    "project": "otherproject1",
                    "typeName": "amazon.datazone.GlueTableAssetType",
                    "revision": 1,
                    "supportsGeneration": True,
                },
            },
        }
    },
}


def default_seed() -> dict[str, Any]:
    """A fresh copy of the built-in seed (callers may change it)."""
    return copy.deepcopy(_DEFAULT_SEED)
