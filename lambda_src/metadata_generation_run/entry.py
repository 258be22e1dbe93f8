"""Lambda entry points: the provider's (one function serves both resource types) and the batch
workflow's worker.

``Custom::DataZoneMetadataGenerationRun`` goes to :mod:`index`, ``Custom::DataZoneMetadataGenerationBatch``
to :mod:`batch`.
"""

from __future__ import annotations

from typing import Any

try:
    from . import batch, contract, index, worker
except ImportError:  # Lambda loads this file as a top-level module, next to the others
    import batch  # type: ignore[import-not-found, no-redef]
    import contract  # type: ignore[no-redef, import-not-found]
    import index  # type: ignore[no-redef, import-not-found]
    import worker  # type: ignore[no-redef, import-not-found]


def _module(event: dict[str, Any]) -> Any:
    return batch if event.get("ResourceType") == contract.BATCH_RESOURCE_TYPE else index


def on_event(event: dict[str, Any], context: Any) -> Any:
    """Provider framework onEvent: Create, Update, Delete."""
    return _module(event).on_event(event, context)


def is_complete(event: dict[str, Any], context: Any) -> Any:
    """Provider framework isComplete."""
    return _module(event).is_complete(event, context)


def batch_worker(event: dict[str, Any], context: Any) -> Any:
    """The batch workflow's steps that grow with the number of assets (:mod:`worker`)."""
    return worker.handler(event, context)  # type: ignore[arg-type]
