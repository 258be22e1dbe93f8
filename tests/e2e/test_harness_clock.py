"""The dry run's :class:`EventClock`: discrete-event simulated time shared by many threads (issue
15, must hold 6). Virtual time moves only when every thread is blocked, to the earliest deadline;
never while one computes or while a request is in flight between two threads."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from constructs_local.clock import EventClock, Interrupt, QuietFrames, ThreadStates
from constructs_local.stepfunctions.interpreter import MotoAdapter, moto_only

START = 1_800_000_000.0


def _started(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _woken_in_order(clock: EventClock) -> list[tuple[str, float]]:
    woken: list[tuple[str, float]] = []
    lock = threading.Lock()

    def sleeper(name: str, seconds: float) -> Callable[[], None]:
        def run() -> None:
            clock.sleep(seconds)
            with lock:
                woken.append((name, clock.now() - START))

        return run

    threads = [_started(sleeper(name, seconds), name) for name, seconds in (("c", 3.0), ("a", 1.0), ("b", 2.0))]
    for thread in threads:
        thread.join(timeout=30)
    return woken


def test_sleepers_on_many_threads_wake_in_deadline_order_at_their_simulated_second() -> None:
    clock = EventClock(start=START)
    assert _woken_in_order(clock) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert clock.advances == 3
    assert clock.pending() == 0


def test_the_portable_fallback_keeps_the_order_too() -> None:
    # Without /proc: over a quiet period every thread either sits in a known blocking spot (the
    # main thread in Thread.join) or did not move at all (jsii's stderr reader, in a pipe read).
    clock = EventClock(start=START, quiescence=QuietFrames(quiet_seconds=0.005))
    assert _woken_in_order(clock) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


@pytest.fixture
def ticking() -> Iterator[EventClock]:
    """A clock with a thread that sleeps 10 ms after 10 ms on it for as long as the test runs:
    were time ever advanced while something else is not blocked, the ticker's deadline would be
    what it advanced to, and the test would see the extra time."""
    if not ThreadStates.available():
        pytest.skip("needs /proc/self/task (Linux)")
    clock = EventClock(start=START)
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            clock.sleep(0.01)

    ticker = _started(tick, "ticker")
    yield clock
    stop.set()
    ticker.join(timeout=30)


def test_time_stands_still_while_a_thread_computes(ticking: EventClock) -> None:
    # A Lambda handler computing is not charged for anyone's sleep: its timeout stays where it is.
    before = ticking.now()
    spin_until = time.perf_counter() + 0.3
    count = 0
    while time.perf_counter() < spin_until:
        count += 1
    assert ticking.now() == before
    # ...and once it waits, the ticker's time goes on.
    ticking.sleep(1.0)
    assert ticking.now() == before + 1.0
    assert ticking.advances >= 100


def test_a_request_in_flight_on_a_loopback_socket_holds_time(ticking: EventClock) -> None:
    # A client sends a byte, the server thread sleeps 0.1 s on the clock (the endpoint's latency)
    # and echoes it. Between the send and the server's sleep, and between the echo and the
    # client's read, both threads are busy or runnable: a jump there would add a tick or more.
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while connection.recv(1):
                ticking.sleep(0.1)
                connection.sendall(b"x")

    _started(serve, "server")
    calls = 200
    with socket.create_connection(server.getsockname()[:2]) as client:
        started = ticking.now()
        for _ in range(calls):
            client.sendall(b"x")
            assert client.recv(1) == b"x"
        elapsed = ticking.now() - started
    server.close()
    # (Within float rounding at epoch 1.8e9: a jump would add 0.01 s or more.)
    assert elapsed == pytest.approx(calls * 0.1, abs=1e-4)
    assert ticking.busy_checks > 0  # the checks did meet threads at work, and refused


def test_an_interrupt_ends_a_sleep_at_the_current_simulated_time() -> None:
    clock = EventClock(start=START)
    interrupt = Interrupt()
    outcome: list[tuple[bool, float]] = []

    def wait() -> None:
        outcome.append((clock.sleep_interruptibly(100.0, interrupt), clock.now() - START))

    waiter = _started(wait, "wait-state")
    # Spin (not sleep) until it sleeps: a blocked main thread would let time jump to its deadline.
    while clock.pending() == 0:
        pass
    clock.interrupt(interrupt)
    waiter.join(timeout=30)
    assert outcome == [(True, 0.0)]
    # Sticky: a later sleep with a fired interrupt returns at once, at the same time.
    assert clock.sleep_interruptibly(5.0, interrupt) is True
    assert clock.now() == START


class _BusyAtFirst:
    """Finds a thread at work at the first ``busy`` checks (as a server's 20 ms poll often is)."""

    def __init__(self, busy: int) -> None:
        self.busy = busy

    def quiescent(self, exclude: set[int]) -> bool:
        self.busy -= 1
        return self.busy < 0


def test_time_scale_spends_real_seconds_per_simulated_second_once() -> None:
    # The scaled wait is spent once per stretch of virtual time, not again after each check that
    # found a thread at work (the CLI's 0.01 made a 398-second batch deploy wait 66 s, not 4).
    clock = EventClock(start=START, time_scale=0.002, quiescence=_BusyAtFirst(5))
    started = time.monotonic()
    clock.sleep(50.0)
    spent = time.monotonic() - started
    assert clock.now() == START + 50.0
    assert 0.1 <= spent < 0.3  # 6 x 0.1 s if each of the 6 checks waited again


def test_at_quiescence_runs_its_action_only_once_no_other_thread_runs() -> None:
    if not ThreadStates.available():
        pytest.skip("needs /proc/self/task (Linux)")
    clock = EventClock(start=START)
    spun: list[float] = []

    def spin() -> None:
        until = time.perf_counter() + 0.3
        while time.perf_counter() < until:
            pass
        spun.append(time.perf_counter())

    spinner = _started(spin, "spinner")
    time.sleep(0.01)  # the spinner runs
    ran: list[float] = []
    assert clock.at_quiescence(lambda: ran.append(time.perf_counter())) is True
    spinner.join(timeout=30)
    assert ran
    assert spun
    assert ran[0] >= spun[0]
    assert clock.now() == START  # running the action is not a reason to advance time


def test_the_fallback_promises_no_quiet_moment() -> None:
    clock = EventClock(start=START, quiescence=QuietFrames())
    ran: list[bool] = []
    assert clock.at_quiescence(lambda: ran.append(True)) is False
    assert ran == []


def test_stop_execution_ends_a_wait_state_on_the_clock_at_once() -> None:
    # StopExecution must end a Wait where it is (Step Functions does), not at its deadline: were
    # the sleeper left on the clock, time would jump 1,000 s as soon as every thread waits.
    if not ThreadStates.available():
        pytest.skip("needs /proc/self/task (Linux)")
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    clock = EventClock(start=START)
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1000, "End": True}}}
    with moto_only(), MotoAdapter(datazone_url="http://127.0.0.1:9", clock=clock):
        sfn = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
        role = "arn:aws:iam::000000000000:role/wait"
        arn = sfn.create_state_machine(name="wait", definition=json.dumps(wait), roleArn=role)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        # Spin, never block, until the Wait sleeps: a blocked main thread lets time jump.
        spin_until = time.monotonic() + 30
        while clock.pending() == 0:
            assert time.monotonic() < spin_until
        sfn.stop_execution(executionArn=execution)
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)  # every thread waits: a sleeper left behind would be woken at +1,000 s
    assert clock.pending() == 0
    assert clock.now() == START
