"""CDK constructs that run Amazon DataZone metadata generation at deploy time."""

from constructs_lib.metadata_generation_run import (
    MetadataGenerationRun,
    MetadataGenerationRunProvider,
    MetadataGenerationType,
)
from constructs_lib.predictions import AcceptChoice, AcceptPredictions, RejectChoice, RejectPredictions

__all__ = [
    "AcceptChoice",
    "AcceptPredictions",
    "MetadataGenerationRun",
    "MetadataGenerationRunProvider",
    "MetadataGenerationType",
    "RejectChoice",
    "RejectPredictions",
]
