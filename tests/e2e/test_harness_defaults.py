"""The local endpoint's defaults are DataZone's plausible ones (issue 15, must hold 6-7): a call
takes time, and metadata generation takes minutes, so a dry run cannot look faster than AWS."""

from __future__ import annotations

import boto3
from constructs_local import Knobs, LocalDataZone, SimulatedClock

DOMAIN, PROJECT, ASSET = "dzd_example123", "exampleproject1", "exampleasset1"


def test_defaults_are_a_tenth_of_a_second_a_call_and_runs_of_about_five_minutes() -> None:
    knobs = Knobs()
    assert knobs.latency_seconds == 0.1
    assert knobs.submitted_seconds + knobs.in_progress_seconds == 296
    # A run ends between two of the provider's 10 s polls, never on one.
    assert (knobs.submitted_seconds + knobs.in_progress_seconds) % 10 not in (0, 10)


def test_a_run_on_the_default_endpoint_takes_minutes_and_every_call_takes_time() -> None:
    clock = SimulatedClock(start=1_800_000_000.0)
    with LocalDataZone(clock=clock) as dz:
        client = boto3.client("datazone", endpoint_url=dz.url, region_name="us-east-1")
        before = clock.now()
        run = client.start_metadata_generation_run(
            domainIdentifier=DOMAIN,
            owningProjectIdentifier=PROJECT,
            target={"type": "ASSET", "identifier": ASSET},
            types=["BUSINESS_DESCRIPTIONS"],
        )
        assert abs(clock.now() - before - 0.1) < 1e-6  # the call's own latency, on the shared clock
        statuses = []
        for _ in range(40):
            clock.sleep(10)
            statuses.append(client.get_metadata_generation_run(domainIdentifier=DOMAIN, identifier=run["id"])["status"])
    ended = statuses.index("SUCCEEDED")
    # Polled every 10 s (plus each Get's 0.1 s): still going after 4 minutes, done within 5.
    assert set(statuses[:24]) <= {"SUBMITTED", "IN_PROGRESS"}
    assert 24 <= ended <= 30
