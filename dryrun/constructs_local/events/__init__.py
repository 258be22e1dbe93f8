"""EventBridge for the local replay: the default bus (:mod:`.models`, rules matched by moto's
EventPattern), the local DataZone endpoint's events (:mod:`.datazone`), and what a deploy makes of
rules, queues and Lambda permissions (:mod:`.replay`)."""

from constructs_local.events.models import DefaultBus, Delivery, Rule, Target, transform

__all__ = ["DefaultBus", "Delivery", "Rule", "Target", "transform"]
