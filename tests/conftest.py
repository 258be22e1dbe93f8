"""Shared test settings: offline, quiet jsii, dummy AWS credentials that can reach nothing."""

from __future__ import annotations

import os
import socket
from collections.abc import Generator
from typing import Any

import pytest

# Set before anything imports aws_cdk (jsii reads them when its kernel starts) or boto3.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

#: The only hosts a test process may resolve: the local endpoints listen on loopback.
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_resolve = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    # A client that missed its local endpoint (or its stub) would otherwise try AWS itself: fail
    # at once, naming the host. Subprocesses (pip, the CDK CLI, jsii) are not affected.
    if host not in LOOPBACK:
        raise OSError(f"tests are offline: refused to resolve {host!r} (only loopback is allowed)")
    return _resolve(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


# --- Mutation testing (scripts/mutation) -------------------------------------------------------
# mutmut learns which tests cover a function by recording, per test, the functions run between
# the test's start and its teardown. A session or module fixture runs once, inside the first test
# that asks for it, so the synthesis the construct tests share would be credited to that one test
# and its functions' mutants tested by it alone. These hooks record what each shared fixture ran
# and credit it to every test that uses the fixture. They do nothing outside mutmut's stats run.


def _mutmut_hits() -> set[str] | None:
    """mutmut's set of functions run by the current test, during its stats run only."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    from mutmut.state import state  # noqa: PLC0415 (mutmut is a dev tool, absent from a user's install)

    return state()._stats


class _SharedFixtureCredit:
    """Registered as a plugin rather than written as this conftest's hooks: pytest asks only the
    root's conftest and plugins to set up a session fixture, not tests/conftest.py."""

    def __init__(self) -> None:
        self.hits: dict[str, set[str]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> Generator[Any]:
        hits = _mutmut_hits()
        if hits is None or fixturedef.scope == "function":
            return (yield)
        before = set(hits)
        hits.clear()
        try:
            return (yield)
        finally:
            self.hits.setdefault(fixturedef.argname, set()).update(hits)
            hits.update(before)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        hits = _mutmut_hits()
        if hits is None:
            return
        for name in getattr(item, "fixturenames", ()):
            hits.update(self.hits.get(name, ()))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SharedFixtureCredit(), "shared-fixture-credit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """While mutmut tests a mutant, run the selected tests cheapest first: it stops at the first
    failure, so a killed mutant should cost its cheapest killing test. Tests that need no
    session-wide synthesis go first; of those that do, the snapshot comparisons (one whole
    template or log decides most mutants there); then by the durations mutmut's stats run took."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if mutant in ("", "stats", "fail", "list_all_tests", "mutant_generation"):
        return
    from mutmut.state import state  # noqa: PLC0415

    durations = state().duration_by_test

    def cost(item: pytest.Item) -> tuple[bool, bool, float]:
        names = getattr(item, "fixturenames", ())
        definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        # Our own session fixtures (a plugin's, such as syrupy's, have no baseid).
        shared = any(d.scope == "session" and d.baseid for name in names for d in definitions.get(name, ()))
        return (shared, "snapshot" not in names, durations.get(item.nodeid, 0.0))

    items.sort(key=cost)
