"""Clocks shared by the local DataZone endpoint, the provider-framework emulation and the handler.

A deploy-time custom resource lives on CloudFormation's clock: the provider polls every 10 s and a
run takes minutes. Locally the same sequence plays on a *simulated* clock: virtual time advances
only when somebody waits (the waiter between polls, botocore between retries, added latency), and
each virtual second costs ``time_scale`` real seconds (0: none at all). Everything that reads the
time reads the same clock, so runs progress, time out and get polled exactly as they would, in a
fraction of the wall time and with the same number of calls every time.

:class:`SimulatedClock` serves one thread (each sleep moves time on at once); :class:`EventClock`
serves many (a batch's workflow on moto's threads, the endpoint's server threads, the replay):
discrete-event time that jumps to the earliest deadline only when every thread waits.
:class:`RealClock` (optionally sped up) is for ``serve``, whose clients poll in real time.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol


class Clock(Protocol):
    """Epoch seconds, possibly virtual."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SimulatedClock:
    """Virtual time that moves only when someone sleeps on it.

    :param start: virtual epoch seconds to start at. Default: the wall clock now, in whole seconds
        (so steps of whole seconds never meet floating-point rounding).
    :param time_scale: real seconds spent per virtual second slept (0 = no real waiting).
    """

    def __init__(self, start: float | None = None, time_scale: float = 0.0) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale}")
        self._now = float(int(time.time())) if start is None else start
        self.time_scale = time_scale
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.time_scale:
            time.sleep(seconds * self.time_scale)
        with self._lock:
            self._now += seconds

    def advance_to(self, when: float) -> None:
        """Move forward to ``when`` (never backwards)."""
        with self._lock:
            self._now = max(self._now, when)


class RealClock:
    """Wall-clock time, optionally running ``speed`` times faster (for ``serve``).

    ``now()`` starts at the wall clock (or ``start``) and advances ``speed`` virtual seconds per
    real second; ``sleep(s)`` waits ``s / speed`` real seconds.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, not {speed}")
        self.speed = speed
        self._anchor_real = time.monotonic()
        self._anchor_virtual = time.time() if start is None else start

    def now(self) -> float:
        return self._anchor_virtual + (time.monotonic() - self._anchor_real) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)


class WallClock(RealClock):
    """Wall time whose waits are scaled (for a separate endpoint process, or AWS)."""

    def __init__(self, time_scale: float) -> None:
        super().__init__(speed=1.0)
        self.time_scale = time_scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.time_scale)


class Interrupt:
    """Ends :meth:`EventClock.sleep_interruptibly` early, from another thread (StopExecution ending
    a ``Wait`` state). Sticky: once fired, later sleeps with it return at once."""

    def __init__(self) -> None:
        self.fired = False
        self._sleepers: list[_Sleeper] = []


class _Sleeper:
    __slots__ = ("deadline", "done", "event", "interrupted", "tid")

    def __init__(self, deadline: float, tid: int) -> None:
        self.deadline = deadline
        self.tid = tid
        self.event = threading.Event()
        self.done = False
        self.interrupted = False


class Quiescence(Protocol):
    """Whether every thread of the process but ``exclude`` is blocked, and none ran meanwhile."""

    def quiescent(self, exclude: set[int]) -> bool: ...


class ThreadStates:
    """The kernel's word on it (Linux): each thread's scheduler state and how often it was
    scheduled, read twice from ``/proc/self/task/<tid>/{stat,schedstat}``.

    Quiescent means every thread (``exclude`` aside) was sleeping (``S``: in a lock, a condition,
    a socket read, ``select``) at both readings and was not scheduled in between, so at one moment
    between the readings none was running or runnable. A thread woken by a loopback send, a
    released lock or a set event is runnable (``R``) from the moment it is woken, before it runs:
    a handoff in flight is never mistaken for quiet. A thread waiting for the GIL also sleeps in
    the kernel; the reader drops the GIL between the readings (every read does), which wakes such
    a thread, so it then shows as runnable or as scheduled. ``D`` (disk I/O) counts as busy.
    """

    _TASKS = "/proc/self/task"

    def __init__(self) -> None:
        self._files: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._quiet: dict[str, bytes] = {}  # the second reading of the last quiet check
        self._buffer = ctypes.create_string_buffer(512)
        # ctypes.PyDLL calls C without releasing the GIL: a reading no Python thread interleaves.
        self._pread = ctypes.PyDLL(None).pread
        self._pread.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
        self._pread.restype = ctypes.c_ssize_t

    @classmethod
    def available(cls) -> bool:
        tid = threading.get_native_id()
        return os.path.exists(f"{cls._TASKS}/{tid}/schedstat") and os.path.exists(f"{cls._TASKS}/{tid}/stat")

    def quiescent(self, exclude: set[int]) -> bool:
        with self._lock:
            skip = {str(tid) for tid in exclude}
            tids = [tid for tid in os.listdir(self._TASKS) if tid not in skip]
            first = self._read(tids)
            if first is None:
                return False
            time.sleep(0)  # drop the GIL: a thread waiting for it wakes (and shows)
            second = self._read(first)
            if second != first:
                return False
            # A thread started between the readings was not read at all.
            self._quiet = second
            return {tid for tid in os.listdir(self._TASKS) if tid not in skip} <= set(first)

    def still_quiescent(self) -> bool:
        """Read the threads of the last quiet check again without ever releasing the GIL: True
        when none ran since. Until the caller releases the GIL, no other thread runs any code at
        all (a thread woken from here on waits for the GIL before it does anything)."""
        if not self._lock.acquire(blocking=False):
            return False  # another clock's check: waiting for it would release the GIL
        try:
            for tid, scheduled in self._quiet.items():
                files = self._files.get(tid)
                if files is None:
                    return False
                stat = self._held_read(files[0])
                if stat is None:
                    continue  # ended (an exiting thread was not sleeping: it would have shown)
                state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
                schedstat = self._held_read(files[1])
                if state != b"S" or schedstat is None or schedstat.split()[2] != scheduled:
                    return False
            return True
        finally:
            self._lock.release()

    def _held_read(self, fd: int) -> bytes | None:
        size = self._pread(fd, self._buffer, len(self._buffer), 0)
        return self._buffer.raw[:size] if size > 0 else None

    def _read(self, tids: Iterable[str]) -> dict[str, bytes] | None:
        """tid -> times scheduled, or None as soon as one thread is not sleeping."""
        seen: dict[str, bytes] = {}
        for tid in tids:
            files = self._open(tid)
            if files is None:
                continue  # gone: it ended
            try:
                stat = os.pread(files[0], 512, 0)
                schedstat = os.pread(files[1], 128, 0)
            except OSError:
                self._forget(tid)
                continue
            if not stat:
                continue
            state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
            if state in (b"Z", b"X"):
                continue  # exiting
            if state != b"S":
                return None
            seen[tid] = schedstat.split()[2]
        self._prune(seen)
        return seen

    def _open(self, tid: str) -> tuple[int, int] | None:
        files = self._files.get(tid)
        if files is None:
            try:
                stat = os.open(f"{self._TASKS}/{tid}/stat", os.O_RDONLY)
            except OSError:
                return None
            try:
                schedstat = os.open(f"{self._TASKS}/{tid}/schedstat", os.O_RDONLY)
            except OSError:
                os.close(stat)
                return None
            files = self._files[tid] = (stat, schedstat)
        return files

    def _forget(self, tid: str) -> None:
        for fd in self._files.pop(tid, ()):
            os.close(fd)

    def _prune(self, seen: Mapping[str, bytes]) -> None:
        # Threads come and go (moto starts several per state); keep descriptors of live ones only.
        if len(self._files) > 2 * len(seen) + 64:
            for tid in [tid for tid in self._files if tid not in seen]:
                self._forget(tid)

    def close(self) -> None:
        with self._lock:
            for tid in list(self._files):
                self._forget(tid)


#: Where a thread's innermost Python frame sits while it blocks (file name suffix, function):
#: what :class:`QuietFrames` accepts as blocked where the kernel cannot be asked.
BLOCKING_FRAMES = frozenset(
    {
        ("threading.py", "wait"),
        ("threading.py", "_wait_for_tstate_lock"),
        ("threading.py", "join"),
        ("selectors.py", "select"),
        ("socket.py", "readinto"),
        ("socket.py", "accept"),
        ("socketserver.py", "serve_forever"),
        ("queue.py", "get"),
        ("ssl.py", "read"),
        ("lambda_runtime.py", "invoke"),  # waiting for INVOKE_LOCK
    }
)


class QuietFrames:
    """The portable fallback (no ``/proc``): every thread is either at one of
    :data:`BLOCKING_FRAMES` or did not move at all (same frame, same instruction: inside one C
    call, such as a read of a pipe) over ``quiet_seconds`` of real time. It cannot tell a thread
    blocked in a C call from one computing in C or waiting for the GIL for that long, so it
    waits longer and may advance early (which makes things look slower, never faster)."""

    def __init__(self, quiet_seconds: float = 0.02) -> None:
        self.quiet_seconds = quiet_seconds

    def quiescent(self, exclude: set[int]) -> bool:
        before = self._where(exclude)
        time.sleep(self.quiet_seconds)
        for ident, (frame, instruction, place) in self._where(exclude).items():
            moved = before.get(ident) != (frame, instruction, place)
            if moved and place not in BLOCKING_FRAMES:
                return False
        return True

    @staticmethod
    def _where(exclude: set[int]) -> dict[int, tuple[int, int, tuple[str, str]]]:
        native = {thread.ident: thread.native_id for thread in threading.enumerate()}
        return {
            ident: (id(frame), frame.f_lasti, (os.path.basename(frame.f_code.co_filename), frame.f_code.co_name))
            for ident, frame in sys._current_frames().items()
            if native.get(ident) not in exclude
        }


_SHARED: list[Quiescence] = []


def default_quiescence() -> Quiescence:
    """One :class:`ThreadStates` for the process (it keeps a descriptor per thread open), else
    :class:`QuietFrames`."""
    if not _SHARED:
        _SHARED.append(ThreadStates() if ThreadStates.available() else QuietFrames())
    return _SHARED[0]


class EventClock:
    """Discrete-event simulated time for many threads: a batch's workflow on moto's threads, the
    endpoint's server threads, Lambda invocations and the replay's scheduler on one timeline.

    A sleep registers its deadline and blocks. Virtual time moves only when every thread of the
    process is blocked (asleep on this clock, or waiting on a socket, a lock, an event) and none is
    runnable (:class:`Quiescence`): then it jumps to the earliest deadline and wakes those
    sleepers. A thread that computes holds time still, so nothing that runs (a Lambda handler, a
    request in flight between two threads) is charged for another's sleep: each timeout fires at
    the simulated second it would on AWS, however slow the machine. Real waits that are not on
    this clock (a server's ``select`` timeout, a poll in a test) count as blocked.

    :param start: virtual epoch seconds to start at (default: now, in whole seconds).
    :param time_scale: real seconds spent per virtual second advanced (0: none; for watching).
    :param quiescence: how "every thread is blocked" is decided (default: :class:`ThreadStates`
        where ``/proc`` has it, else :class:`QuietFrames`).
    """

    #: An advancer with nothing to do for this long (real seconds) ends; the next sleep starts one.
    IDLE_SECONDS = 1.0
    #: Longest pause (real seconds) between two checks while some thread runs.
    MAX_BACKOFF_SECONDS = 0.002

    def __init__(
        self, start: float | None = None, *, time_scale: float = 0.0, quiescence: Quiescence | None = None
    ) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, not {time_scale}")
        self._now = float(int(time.time())) if start is None else start
        self._paid = self._now  # virtual time up to which time_scale's real time was spent
        self.time_scale = time_scale
        self.quiescence = quiescence if quiescence is not None else default_quiescence()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._checking = threading.Lock()
        self._heap: list[tuple[float, int, _Sleeper]] = []
        self._asleep: dict[int, _Sleeper] = {}
        self._seq = itertools.count()
        self._generation = 0  # bumped by every registration, wake-up and interrupt
        self._hooks: list[tuple[Callable[[], None], threading.Event]] = []
        self._advancer: threading.Thread | None = None
        #: Counters (the tests' and the bench's evidence): sleeps registered, advances made,
        #: checks that found a thread running, interrupts, and the most sleepers at once.
        self.sleeps = 0
        self.advances = 0
        self.busy_checks = 0
        self.interrupts = 0
        self.max_sleepers = 0
        #: Names of the threads that slept on this clock (a workflow's threads among them).
        self.sleeper_threads: set[str] = set()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds, None)

    def sleep_interruptibly(self, seconds: float, interrupt: Interrupt) -> bool:
        """Sleep like :meth:`sleep` unless ``interrupt`` fires first; True when it did."""
        return self._sleep(seconds, interrupt)

    def interrupt(self, interrupt: Interrupt) -> None:
        """Fire ``interrupt``: its sleepers wake now, at the current virtual time."""
        with self._lock:
            interrupt.fired = True
            for sleeper in interrupt._sleepers:
                if not sleeper.done:
                    sleeper.interrupted = True
                    self._wake(sleeper)
            interrupt._sleepers.clear()
            self.interrupts += 1
            self._generation += 1

    def at_quiescence(self, action: Callable[[], None], *, wait: bool = True) -> bool:
        """Run ``action`` (in the clock's checking thread, holding the GIL) at a moment when no
        other thread of the process runs or can run before it returns: what starting and
        stopping ``tracemalloc`` need (its hooks are swapped non-atomically, a race with a thread
        allocating without the GIL). ``wait``: return once it ran. False (and nothing runs) when
        this clock cannot promise such a moment (no ``/proc``: see :class:`QuietFrames`)."""
        if not isinstance(self.quiescence, ThreadStates):
            return False
        done = threading.Event()
        with self._lock:
            self._hooks.append((action, done))
            self._ensure_advancer()
            self._changed.notify()
        if wait:
            done.wait()
        return True

    def pending(self) -> int:
        """How many sleepers wait for virtual time to move."""
        with self._lock:
            return len(self._asleep)

    # -- internals ------------------------------------------------------------------------------

    def _sleep(self, seconds: float, interrupt: Interrupt | None) -> bool:
        if seconds <= 0 or (interrupt is not None and interrupt.fired):
            return bool(interrupt is not None and interrupt.fired)
        sleeper = _Sleeper(self._now + seconds, threading.get_native_id())
        with self._lock:
            if interrupt is not None:
                if interrupt.fired:
                    return True
                # One interrupt serves all the Wait states of an execution frame: forget the past ones.
                interrupt._sleepers = [past for past in interrupt._sleepers if not past.done]
                interrupt._sleepers.append(sleeper)
            heapq.heappush(self._heap, (sleeper.deadline, next(self._seq), sleeper))
            self._asleep[sleeper.tid] = sleeper
            self.sleeps += 1
            self.max_sleepers = max(self.max_sleepers, len(self._asleep))
            self.sleeper_threads.add(threading.current_thread().name)
            self._generation += 1
            self._ensure_advancer()
            self._changed.notify()
        # The last thread to go to sleep usually finds everyone else blocked: it advances time
        # itself, without a round trip through the advancer.
        if not self.time_scale:
            self._try_advance()
        sleeper.event.wait()
        return sleeper.interrupted

    def _ensure_advancer(self) -> None:
        if self._advancer is None:
            self._advancer = threading.Thread(target=self._advance_loop, name="event-clock", daemon=True)
            self._advancer.start()

    def _wake(self, sleeper: _Sleeper) -> None:
        sleeper.done = True
        if self._asleep.get(sleeper.tid) is sleeper:
            del self._asleep[sleeper.tid]
        sleeper.event.set()

    def _earliest(self) -> float | None:
        while self._heap and self._heap[0][2].done:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _try_advance(self) -> bool:
        """One check; when everything is blocked, run the pending hooks, or else advance to the
        earliest deadline. True if it did either."""
        if not self._checking.acquire(blocking=False):
            return False
        try:
            with self._lock:
                target = self._earliest()
                if target is None and not self._hooks:
                    return False
                generation = self._generation
                exclude = set(self._asleep) | {threading.get_native_id()}
            if self.time_scale and target is not None and target > self._paid and not self._hooks:
                # Real time is spent once per stretch of virtual time, not again for every check
                # that finds a thread at work (a server's poll wakes one every 20 ms).
                time.sleep((target - max(self._now, self._paid)) * self.time_scale)
                self._paid = target
            if not self.quiescence.quiescent(exclude):
                self.busy_checks += 1
                return False
            if self._hooks:
                return self._run_hooks()
            with self._lock:
                if self._generation != generation or target is None:
                    return False  # a thread registered or woke meanwhile: it was not blocked
                self._now = max(self._now, target)
                while self._heap and self._heap[0][0] <= target:
                    sleeper = heapq.heappop(self._heap)[2]
                    if not sleeper.done:
                        self._wake(sleeper)
                self.advances += 1
                self._generation += 1
            return True
        finally:
            self._checking.release()

    def _run_hooks(self) -> bool:
        # Straight after the check, and nothing that may release the GIL until the actions ran:
        # the lock is only tried (held means someone runs), the recheck reads with the GIL held.
        if not self._lock.acquire(blocking=False):
            return False
        try:
            states = self.quiescence
            if not (isinstance(states, ThreadStates) and states.still_quiescent()):
                return False
            hooks, self._hooks = self._hooks, []
        finally:
            self._lock.release()
        for action, done in hooks:
            try:
                action()
            finally:
                done.set()
        return True

    def _advance_loop(self) -> None:
        backoff = 0.0
        while True:
            with self._lock:
                while self._earliest() is None and not self._hooks:
                    if not self._changed.wait(self.IDLE_SECONDS) and self._earliest() is None and not self._hooks:
                        self._advancer = None
                        return
                generation = self._generation
            if self._try_advance():
                backoff = 0.0
                continue
            # Someone runs: check again when a thread goes to sleep, or after a short pause (a
            # thread may block on a socket or a lock instead; nothing announces that).
            backoff = min(max(backoff * 2, 0.00005), self.MAX_BACKOFF_SECONDS)
            with self._lock:
                if self._generation == generation:
                    self._changed.wait(backoff)


#: The name of the clock this one replaced (simulated time except while a batch ran, then sped-up
#: real time); kept for code that imports it. It is an :class:`EventClock` now.
HybridClock = EventClock
