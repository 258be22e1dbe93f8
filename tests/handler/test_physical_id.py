"""The physical id (``contract.PhysicalId``): one format for runs and batches, typed by kind.

``<name>:<inputs>[:<status>[:<outcome>]][!<previous>]``: a run's name is its run id and its outcome
the asset revision its predictions produced; a batch's name is its execution's and its outcome
``<succeeded>.<failed>``. CloudFormation keeps the text with every deployed resource: the ids
earlier releases wrote must parse, and an Update that keeps a resource's work must answer with
exactly the id it carried (another id means a replacement, and a Delete of the old one).
"""

from __future__ import annotations

from typing import Any

import pytest

from lambda_src.metadata_generation_run import batch, contract, index
from tests.handler.helpers import (
    EXECUTION_NAME,
    NEW_RUN_ID,
    RUN_ID,
    FakeContext,
    batch_event,
    batch_inputs,
    batch_props,
    execution_name_for,
    inputs_of,
    make_event,
    make_props,
    pid,
)

PhysicalId = contract.PhysicalId
HASH = inputs_of()
OTHER_HASH = inputs_of(make_props(RerunToken="v9"))
OLD_NAME = execution_name_for("r0")

# ---------------------------------------------------------------------------------------------
# What earlier releases wrote (0.1: a bare run id; since then, this format for runs and for
# batches), byte for byte, with the inputs hashes of the helpers' properties.

RUN_INPUTS = "a24e4c06d9caeea9"  # make_props()
OTHER_RUN_INPUTS = "020cd7b2be5df8f3"  # make_props(RerunToken="v9")
BATCH_INPUTS = "185b88832162199c"  # batch_props()
OTHER_BATCH_INPUTS = "c713b562553047d7"  # batch_props(RerunToken="v2")
OLD_RUN_IDS = [
    "run_0123456789abcdef",
    "run_0123456789abcdef:a24e4c06d9caeea9",
    "run_0123456789abcdef:a24e4c06d9caeea9:SUCCEEDED",
    "run_0123456789abcdef:a24e4c06d9caeea9:PARTIALLY_SUCCEEDED:4",
    "run_0123456789abcdef:a24e4c06d9caeea9:SUCCEEDED:a%3Ab%21c%25!run_fedcba9876543210:020cd7b2be5df8f3:FAILED",
    "run_0123456789abcdef:a24e4c06d9caeea9!run_fedcba9876543210:020cd7b2be5df8f3:SUCCEEDED:3",
]
OLD_BATCH_IDS = [
    "mgb-5c9061b8ed797c07316438c2d1f2b3be:185b88832162199c",
    "mgb-5c9061b8ed797c07316438c2d1f2b3be:185b88832162199c:RUNNING",
    "mgb-5c9061b8ed797c07316438c2d1f2b3be:185b88832162199c:SUCCEEDED:3.1",
    "mgb-5c9061b8ed797c07316438c2d1f2b3be:185b88832162199c:SUCCEEDED:3.1"
    "!mgb-46c8b6647d5a4602f53a102283ee18b8:c713b562553047d7:SUCCEEDED:0.0",
    "mgb-5c9061b8ed797c07316438c2d1f2b3be:185b88832162199c"
    "!mgb-46c8b6647d5a4602f53a102283ee18b8:c713b562553047d7:SUCCEEDED:12.0",
]


def test_the_inputs_hashes_of_deployed_ids_never_change() -> None:
    # Deployed physical ids carry these: a new encoding would make every Update start anew.
    assert (inputs_of(), OTHER_HASH) == (RUN_INPUTS, OTHER_RUN_INPUTS)
    assert (batch_inputs(), batch_inputs(batch_props(RerunToken="v2"))) == (BATCH_INPUTS, OTHER_BATCH_INPUTS)
    assert (EXECUTION_NAME, OLD_NAME) == (
        "mgb-5c9061b8ed797c07316438c2d1f2b3be",
        "mgb-46c8b6647d5a4602f53a102283ee18b8",
    )


@pytest.mark.parametrize(("kind", "text"), [("RUN", t) for t in OLD_RUN_IDS] + [("BATCH", t) for t in OLD_BATCH_IDS])
def test_ids_earlier_releases_wrote_parse_and_are_written_back_byte_for_byte(kind: contract.Kind, text: str) -> None:
    physical = PhysicalId.parse(kind, text)
    assert physical is not None
    assert physical.kind == kind
    assert str(physical) == text


def test_an_earlier_run_id_reads_as_a_run() -> None:
    assert PhysicalId.parse("RUN", OLD_RUN_IDS[4]) == PhysicalId.run(
        RUN_ID, RUN_INPUTS, "SUCCEEDED", "a:b!c%", PhysicalId.run(NEW_RUN_ID, OTHER_RUN_INPUTS, "FAILED")
    )
    assert PhysicalId.parse("RUN", OLD_RUN_IDS[0]) == PhysicalId.run(RUN_ID, None)


def test_an_earlier_batch_id_reads_its_counts_as_counts() -> None:
    assert PhysicalId.parse("BATCH", OLD_BATCH_IDS[3]) == PhysicalId.batch(
        EXECUTION_NAME,
        BATCH_INPUTS,
        "SUCCEEDED",
        (3, 1),
        PhysicalId.batch(OLD_NAME, OTHER_BATCH_INPUTS, "SUCCEEDED", (0, 0)),
    )


@pytest.mark.parametrize("text", OLD_RUN_IDS[1:])
def test_an_update_keeping_an_earlier_run_answers_with_the_id_it_carried(text: str, context: FakeContext) -> None:
    # Inputs unchanged: no call at all (the stubbers refuse any), and the very same id.
    event = make_event("Update", make_props(), old_props=make_props(TimeoutSeconds="60"), physical_id=text)
    assert index.on_event(event, context)["PhysicalResourceId"] == text


def test_an_update_keeping_a_0_1_run_answers_with_its_bare_id(context: FakeContext) -> None:
    event = make_event("Update", make_props(), old_props=make_props(TimeoutSeconds="60"), physical_id=RUN_ID)
    assert index.on_event(event, context) == {"PhysicalResourceId": RUN_ID, "Data": {"RunId": RUN_ID}}


@pytest.mark.parametrize(
    ("text", "status", "counts"),
    [
        (OLD_BATCH_IDS[0], "UNKNOWN", ("UNKNOWN", "UNKNOWN")),
        (OLD_BATCH_IDS[1], "RUNNING", ("UNKNOWN", "UNKNOWN")),
        (OLD_BATCH_IDS[2], "SUCCEEDED", ("3", "1")),
        (OLD_BATCH_IDS[3], "SUCCEEDED", ("3", "1")),
        (OLD_BATCH_IDS[4], "UNKNOWN", ("UNKNOWN", "UNKNOWN")),
    ],
)
def test_an_update_keeping_an_earlier_batch_answers_with_the_id_it_carried(
    text: str, status: str, counts: tuple[str, str], context: FakeContext
) -> None:
    event = batch_event("Update", batch_props(), old_props=batch_props(MaxConcurrency="5"), physical_id=text)
    result = batch.on_event(event, context)
    assert result["PhysicalResourceId"] == text
    data = result.get("Data") or {}
    assert (data["Status"], data["SucceededCount"], data["FailedCount"]) == (status, *counts)


def test_a_rollback_carrying_an_earlier_failed_batch_id_returns_its_previous_byte_for_byte(
    context: FakeContext,
) -> None:
    previous = "mgb-46c8b6647d5a4602f53a102283ee18b8:c713b562553047d7:SUCCEEDED:12.0"
    event = batch_event("Update", batch_props(RerunToken="v2"), old_props=batch_props(), physical_id=OLD_BATCH_IDS[4])
    result = batch.on_event(event, context)
    assert result["PhysicalResourceId"] == previous
    data = result.get("Data") or {}
    assert (data["Status"], data["SucceededCount"], data["FailedCount"]) == ("SUCCEEDED", "12", "0")


def test_a_rollback_carrying_an_earlier_failed_run_id_returns_its_previous_byte_for_byte(
    context: FakeContext,
) -> None:
    previous = "run_fedcba9876543210:020cd7b2be5df8f3:SUCCEEDED:3"
    event = make_event("Update", make_props(RerunToken="v9"), old_props=make_props(), physical_id=OLD_RUN_IDS[5])
    assert index.on_event(event, context)["PhysicalResourceId"] == previous


# ---------------------------------------------------------------------------------------------
# Runs

ROUND_TRIPS = [
    PhysicalId.run(RUN_ID, None),
    PhysicalId.run(RUN_ID, HASH),
    PhysicalId.run(RUN_ID, HASH, "SUCCEEDED"),
    PhysicalId.run(RUN_ID, HASH, "PARTIALLY_SUCCEEDED", "4"),
    PhysicalId.run(RUN_ID, HASH, "SUCCEEDED", ""),
    PhysicalId.run(RUN_ID, HASH, "SUCCEEDED", "r:1!x%2F é/?#&=+ \U0001f600"),
    PhysicalId.run(RUN_ID, HASH, "UNKNOWN"),
    PhysicalId.run("a", HASH, previous=PhysicalId.run(NEW_RUN_ID, OTHER_HASH, "SUCCEEDED", "3")),
    PhysicalId.run("A-b_" + "c" * 32, HASH, "SUCCEEDED", "5", PhysicalId.run(NEW_RUN_ID, OTHER_HASH)),
    PhysicalId.run(
        RUN_ID,
        HASH,
        previous=PhysicalId.run(NEW_RUN_ID, OTHER_HASH, "FAILED", previous=PhysicalId.run("x", HASH)),
    ),
]


@pytest.mark.parametrize("physical", ROUND_TRIPS, ids=str)
def test_run_id_round_trips(physical: contract.PhysicalId) -> None:
    text = str(physical)
    assert PhysicalId.parse("RUN", text) == physical
    assert str(PhysicalId.parse("RUN", text)) == text
    assert len(text) <= 1024


@pytest.mark.parametrize(
    ("physical", "text"),
    [
        (PhysicalId.run(RUN_ID, None), RUN_ID),
        (PhysicalId.run(RUN_ID, HASH), f"{RUN_ID}:{HASH}"),
        (PhysicalId.run(RUN_ID, HASH, "SUCCEEDED", "4"), f"{RUN_ID}:{HASH}:SUCCEEDED:4"),
        (PhysicalId.run(RUN_ID, HASH, "SUCCEEDED", "a:b!c%"), f"{RUN_ID}:{HASH}:SUCCEEDED:a%3Ab%21c%25"),
        (
            PhysicalId.run(RUN_ID, HASH, previous=PhysicalId.run(NEW_RUN_ID, OTHER_HASH, "SUCCEEDED")),
            f"{RUN_ID}:{HASH}!{NEW_RUN_ID}:{OTHER_HASH}:SUCCEEDED",
        ),
        # A revision without a status cannot be written (the status comes first).
        (PhysicalId.run(RUN_ID, HASH, None, "4"), f"{RUN_ID}:{HASH}"),
    ],
)
def test_run_id_format(physical: contract.PhysicalId, text: str) -> None:
    assert str(physical) == text


def test_helpers_write_the_same_physical_id_as_the_handler() -> None:
    previous = PhysicalId.run(NEW_RUN_ID, OTHER_HASH, "SUCCEEDED", "a:b")
    physical = PhysicalId.run(RUN_ID, HASH, "PARTIALLY_SUCCEEDED", "7", previous)
    expected = pid(
        status="PARTIALLY_SUCCEEDED",
        revision="7",
        previous=pid(make_props(RerunToken="v9"), NEW_RUN_ID, status="SUCCEEDED", revision="a:b"),
    )
    assert str(physical) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
        "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID",
        "MyStack-DescriptionsResourceABC-1A2B3C4D5E6F",
        "x" * 37,
        "has space",
        f"{RUN_ID}:",
        f"{RUN_ID}:nothex0123456789",
        f"{RUN_ID}:{HASH.upper()}",
        f"{RUN_ID}:{HASH}0",
        f"{RUN_ID}:{HASH[:-1]}",
        f"{RUN_ID}:{HASH}:",
        f"{RUN_ID}:{HASH}::4",
        f"{RUN_ID}:{HASH}:SUCCEEDED:4:extra",
        f":{HASH}",
        f"bad id:{HASH}",
        f"{RUN_ID}!{NEW_RUN_ID}",  # a bare id has no previous
        f"{RUN_ID}:{HASH}!not a run",
        f"{RUN_ID}:{HASH}!{NEW_RUN_ID}:nothex",
        f"{RUN_ID}:{HASH}!{NEW_RUN_ID}!x",
        "\ud800:" + HASH,
    ],
)
def test_malformed_run_ids_are_not_ours(text: str | None) -> None:
    assert PhysicalId.parse("RUN", text) is None


def test_bare_run_id_is_a_0_1_physical_id() -> None:
    assert PhysicalId.parse("RUN", RUN_ID) == PhysicalId("RUN", RUN_ID, None)


def test_finishing_a_run_records_its_status_and_revision() -> None:
    started = PhysicalId.run(RUN_ID, HASH, previous=PhysicalId.run(NEW_RUN_ID, OTHER_HASH))
    assert started.finished("SUCCEEDED", revision="5") == PhysicalId.run(
        RUN_ID, HASH, "SUCCEEDED", "5", PhysicalId.run(NEW_RUN_ID, OTHER_HASH)
    )
    assert started.alone() == PhysicalId.run(RUN_ID, HASH)


# ---------------------------------------------------------------------------------------------
# Batches


BATCH_ROUND_TRIPS = [
    PhysicalId.batch(EXECUTION_NAME, HASH),
    PhysicalId.batch(EXECUTION_NAME, HASH, "RUNNING"),
    PhysicalId.batch(EXECUTION_NAME, HASH, "SUCCEEDED", (0, 0)),
    PhysicalId.batch(EXECUTION_NAME, HASH, "FAILED", (999_999, 1_000_000)),
    PhysicalId.batch(EXECUTION_NAME, HASH, previous=PhysicalId.batch(OLD_NAME, OTHER_HASH, "SUCCEEDED", (3, 0))),
]


@pytest.mark.parametrize("physical", BATCH_ROUND_TRIPS, ids=str)
def test_batch_id_round_trips(physical: contract.PhysicalId) -> None:
    text = str(physical)
    assert PhysicalId.parse("BATCH", text) == physical
    assert str(PhysicalId.parse("BATCH", text)) == text


def test_batch_id_format() -> None:
    physical = PhysicalId.batch(
        EXECUTION_NAME, HASH, "SUCCEEDED", (9, 1), PhysicalId.batch(OLD_NAME, OTHER_HASH, "SUCCEEDED", (3, 0))
    )
    assert str(physical) == f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:9.1!{OLD_NAME}:{OTHER_HASH}:SUCCEEDED:3.0"
    # Counts without a status cannot be written (the status comes first).
    assert str(PhysicalId.batch(EXECUTION_NAME, HASH, None, (1, 2))) == f"{EXECUTION_NAME}:{HASH}"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        f"{EXECUTION_NAME}!{OLD_NAME}:{HASH}",  # a bare name has no previous
        f"{EXECUTION_NAME}-cancel:{HASH}",  # a cancel execution is no batch's
        f"{RUN_ID}:{HASH}",  # a run id
        "Demo-CatalogBatchA1B2C3D4-1A2B3C4D5E6F",  # invented for a Delete: it would pass for a run id
        f"mgb-{'A' * 32}:{HASH}",
        f"mgb-{'a' * 31}:{HASH}",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:4",  # a revision is no count
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:3.",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:.3",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:03.1",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:3.01",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:-1.2",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:1.2.3",
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:\u0663.1",  # an Arabic-Indic digit three
        f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:3.1:x",
        f"{EXECUTION_NAME}:{HASH}:",
        f"{EXECUTION_NAME}:{HASH}!{RUN_ID}:{HASH}",  # a previous of another kind
    ],
)
def test_malformed_batch_ids_are_not_ours(text: str | None) -> None:
    assert PhysicalId.parse("BATCH", text) is None


def test_a_bare_execution_name_names_that_execution() -> None:
    assert PhysicalId.parse("BATCH", EXECUTION_NAME) == PhysicalId("BATCH", EXECUTION_NAME, None)
    assert str(PhysicalId.batch(EXECUTION_NAME, None, "SUCCEEDED", (1, 0))) == EXECUTION_NAME


def test_a_batch_name_is_no_run_id_and_a_run_id_is_no_batch_name() -> None:
    # Each handler reads its own kind: the same text is one kind's or none.
    text = f"{EXECUTION_NAME}:{HASH}:SUCCEEDED:3.1"
    run = PhysicalId.parse("RUN", text)
    assert run is not None
    assert (run.kind, run.revision, run.counts) == ("RUN", "3.1", None)
    assert PhysicalId.parse("BATCH", f"{RUN_ID}:{HASH}:SUCCEEDED:3.1") is None


def test_finishing_a_batch_records_its_status_and_counts() -> None:
    started = PhysicalId.batch(EXECUTION_NAME, HASH, previous=PhysicalId.batch(OLD_NAME, OTHER_HASH, "SUCCEEDED"))
    finished = started.finished("SUCCEEDED", counts=(7, 2))
    assert (finished.status, finished.counts, finished.revision) == ("SUCCEEDED", (7, 2), None)
    assert finished.previous == started.previous
    assert started.alone() == PhysicalId.batch(EXECUTION_NAME, HASH)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "RUN", "name": RUN_ID, "inputs": HASH, "counts": (1, 0)},
        {"kind": "BATCH", "name": EXECUTION_NAME, "inputs": HASH, "revision": "3"},
    ],
)
def test_each_kind_holds_only_its_own_fields(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="physical id has"):
        PhysicalId(**fields)


def test_a_run_cannot_finish_with_counts_nor_a_batch_with_a_revision() -> None:
    with pytest.raises(ValueError, match=r"^a run's physical id has no counts$"):
        PhysicalId.run(RUN_ID, HASH).finished("SUCCEEDED", counts=(1, 0))
    with pytest.raises(ValueError, match=r"^a batch's physical id has no revision$"):
        PhysicalId.batch(EXECUTION_NAME, HASH).finished("SUCCEEDED", revision="3")
