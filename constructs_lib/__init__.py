"""CDK constructs that run Amazon DataZone metadata generation at deploy time."""

from constructs_lib.metadata_generation_run import (
    MetadataGenerationRun,
    MetadataGenerationRunProvider,
    MetadataGenerationType,
)

__all__ = ["MetadataGenerationRun", "MetadataGenerationRunProvider", "MetadataGenerationType"]
