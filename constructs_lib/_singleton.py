"""One construct of a kind per stack, found or made on first use (the provider, the batch workflow)."""

from __future__ import annotations

import weakref
from typing import Protocol, TypeVar

import aws_cdk as cdk
from constructs import Construct


class _StackChild(Protocol):
    def __init__(self, scope: Construct, construct_id: str) -> None: ...


T = TypeVar("T", bound=_StackChild)


def stack_singleton(
    cls: type[T], scope: Construct, construct_id: str, cache: weakref.WeakKeyDictionary[Construct, T], owner: str
) -> T:
    """The ``cls`` with id ``construct_id`` directly under ``scope``'s stack, made if missing.

    Cached per ``scope`` object: every ``Stack.of`` and ``try_find_child`` is a jsii round trip, so
    a stack of N constructs asks once, not N times. An unrelated construct holding the id is an
    error that says whose id it is (``owner``).
    """
    cached = cache.get(scope)
    if cached is not None:
        return cached
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if existing is not None and not isinstance(existing, cls):
        raise ValueError(f"construct id {construct_id!r} is reserved for {owner}: give your construct another id")
    found = existing if existing is not None else cls(stack, construct_id)
    cache[scope] = found
    return found
