"""Local dry run of ``MetadataGenerationRun``: a DataZone endpoint on 127.0.0.1 and a replay of the
CloudFormation + provider-framework lifecycle against a synthesized cloud assembly.

* :class:`LocalDataZone` — DataZone's rest-json API (metadata-generation runs, predictions) with
  model-derived validation and fault injection (:class:`Knobs`).
* :class:`LocalCloudFormation` — ``deploy`` / ``destroy`` of the custom resources in ``cdk.out``,
  driving the packaged Lambda asset the way CloudFormation and the Provider framework do.
* ``python -m constructs_lib.local serve|deploy|destroy|cases`` — the same from the command line.

Needs boto3/botocore (the ``local`` extra); importing this package works without them.
"""

from constructs_lib.local.backend import Call, DataZoneBackend, PredictionDecision
from constructs_lib.local.clock import EventClock, HybridClock, RealClock, SimulatedClock
from constructs_lib.local.knobs import Knobs
from constructs_lib.local.replay import LocalCloudFormation, StackResult
from constructs_lib.local.seed import default_seed
from constructs_lib.local.server import LocalDataZone

__all__ = [
    "Call",
    "DataZoneBackend",
    "EventClock",
    "HybridClock",
    "Knobs",
    "LocalCloudFormation",
    "LocalDataZone",
    "PredictionDecision",
    "RealClock",
    "SimulatedClock",
    "StackResult",
    "default_seed",
]
