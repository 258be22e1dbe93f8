"""Local dry run of ``MetadataGenerationRun`` and ``MetadataGenerationBatch``: a DataZone endpoint on
127.0.0.1 and a replay of the CloudFormation + provider-framework lifecycle against a synthesized
cloud assembly. A distribution of its own (``datazone-metadata-generation-dryrun``): the construct
library's wheel holds none of it.

* :class:`LocalDataZone` — DataZone's rest-json API (metadata-generation runs, predictions) with
  model-derived validation and fault injection (:class:`Knobs`).
* :class:`LocalCloudFormation` — ``deploy`` / ``destroy`` of the custom resources in ``cdk.out``,
  driving the packaged Lambda asset the way CloudFormation and the Provider framework do.
* ``python -m constructs_local serve|deploy|destroy|cases`` — the same from the command line.

Layout: ``datazone`` (the service, as a moto service is laid out), ``cloudformation`` (the replay
and the provider framework), ``awslambda`` and ``stepfunctions`` (the runtimes the assembly's
functions and workflows run in), ``events`` (EventBridge for continuous batches), and the command
line, clock, knobs and seed at the top.
"""

#: Released together with the construct library of the same version (tests check they match).
__version__ = "0.2.0.dev0"

from constructs_local.clock import EventClock, RealClock, SimulatedClock
from constructs_local.cloudformation.replay import LocalCloudFormation, StackResult
from constructs_local.datazone.models import Call, DataZoneBackend, PredictionDecision
from constructs_local.datazone.server import LocalDataZone
from constructs_local.knobs import Knobs
from constructs_local.seed import default_seed

__all__ = [
    "Call",
    "DataZoneBackend",
    "EventClock",
    "Knobs",
    "LocalCloudFormation",
    "LocalDataZone",
    "PredictionDecision",
    "RealClock",
    "SimulatedClock",
    "StackResult",
    "default_seed",
]
