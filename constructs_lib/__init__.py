"""CDK constructs that run Amazon DataZone metadata generation at deploy time.

The public names are imported on first use: the local dry run (``constructs_local``, a
distribution of its own) imports the wire contract and the workflow definition from here and
needs no aws-cdk-lib, and importing it starts the jsii Node kernel (about a second).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The one definition of the version (pyproject.toml reads it). 0.1.0 is the last release
#: (CHANGELOG.md); what is on this branch is the work toward 0.2.0, hence a development release
#: of it: errors and the README say "removed in 0.2.0" of what 0.1.0 still had.
__version__ = "0.2.0.dev0"

if TYPE_CHECKING:
    from constructs_lib.batch import AssetSelection, MetadataGenerationBatch, WorkflowLogging
    from constructs_lib.metadata_generation_run import (
        MetadataGenerationRun,
        MetadataGenerationType,
    )
    from constructs_lib.predictions import AcceptChoice, AcceptPredictions, RejectChoice, RejectPredictions

_EXPORTS = {
    "AssetSelection": "constructs_lib.batch",
    "MetadataGenerationBatch": "constructs_lib.batch",
    "MetadataGenerationRun": "constructs_lib.metadata_generation_run",
    "MetadataGenerationType": "constructs_lib.metadata_generation_run",
    "AcceptChoice": "constructs_lib.predictions",
    "AcceptPredictions": "constructs_lib.predictions",
    "RejectChoice": "constructs_lib.predictions",
    "RejectPredictions": "constructs_lib.predictions",
    "WorkflowLogging": "constructs_lib.batch",
}

__all__ = [
    "AcceptChoice",
    "AcceptPredictions",
    "AssetSelection",
    "MetadataGenerationBatch",
    "MetadataGenerationRun",
    "MetadataGenerationType",
    "RejectChoice",
    "RejectPredictions",
    "WorkflowLogging",
]


if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above: a misspelt name stays an error.
    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)
