"""Lambda entry points: the provider's (one function serves both resource types), the batch
workflow's worker and a continuous batch's intake (its EventBridge rule's target).

``Custom::DataZoneMetadataGenerationRun`` goes to :mod:`index`, ``Custom::DataZoneMetadataGenerationBatch``
to :mod:`batch`.
"""

from __future__ import annotations

from typing import Any

try:
    from . import batch, continuous, contract, index, worker
except ImportError:  # Lambda loads this file as a top-level module, next to the others
    import batch  # type: ignore[import-not-found, no-redef]
    import continuous  # type: ignore[no-redef, import-not-found]
    import contract  # type: ignore[no-redef, import-not-found]
    import index  # type: ignore[no-redef, import-not-found]
    import worker  # type: ignore[no-redef, import-not-found]


def _module(event: dict[str, Any]) -> Any:
    return batch if event.get("ResourceType") == contract.BATCH_RESOURCE_TYPE else index


def on_event(event: dict[str, Any], context: Any) -> Any:
    """Provider framework onEvent: Create, Update, Delete."""
    response = _module(event).on_event(event, context)
    if event.get("ResourceType") == contract.BATCH_RESOURCE_TYPE and event.get("RequestType") == "Delete":
        # A continuous batch's Delete also stops the executions its data source's runs started.
        response = continuous.on_delete(event, dict(event.get("ResourceProperties") or {}), response)  # type: ignore[arg-type]
    return response


def is_complete(event: dict[str, Any], context: Any) -> Any:
    """Provider framework isComplete."""
    return _module(event).is_complete(event, context)


def batch_worker(event: dict[str, Any], context: Any) -> Any:
    """The batch workflow's steps that grow with the number of assets (:mod:`worker`)."""
    return worker.handler(event, context)  # type: ignore[arg-type]


def continuous_intake(event: dict[str, Any], context: Any) -> Any:
    """A continuous batch's rule target: a data-source run ended (:mod:`continuous`)."""
    return continuous.intake(event, context)
