"""Clocks shared by the local DataZone endpoint, the provider-framework emulation and the handler.

A deploy-time custom resource lives on CloudFormation's clock: the provider polls every 10 s and a
run takes minutes. Locally the same sequence plays on a *simulated* clock: virtual time advances
only when somebody waits (the waiter between polls, botocore between retries, added latency), and
each virtual second costs ``time_scale`` real seconds (0: none at all). Everything that reads the
time reads the same clock, so runs progress, time out and get polled exactly as they would, in a
fraction of the wall time and with the same number of calls every time.
"""

from __future__ import annotations

import threading
import time
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


class HybridClock:
    """One timeline for a whole replay command: simulated while only the replay's own scheduler
    waits on it, real time sped up ``speed`` times while other threads wait on it too.

    A batch's workflow runs on moto's threads, whose ``Wait`` states and back-offs sleep in real
    time (``seconds / speed``); a simulated clock that moves only when the replay waits cannot
    follow them. Everything else (the stacks without a batch, and the batch stacks before their
    workflows start and after they end) runs on simulated time, free and exact. Both modes read
    and advance the same virtual time, so every participant (the endpoint's runs, the provider's
    waiter, CloudFormation's ServiceTimeout, each handler's own deadline) sees the same seconds in
    either mode: a timeout fires at its simulated moment (in real mode within the scheduling jitter
    of the threads times ``speed``).

    :param start: virtual epoch seconds to start at (default: now, in whole seconds).
    :param time_scale: real seconds per simulated second in simulated mode (0: no waiting).
    :param speed: simulated seconds per real second in real mode.
    """

    def __init__(self, start: float | None = None, *, time_scale: float = 0.0, speed: float = 30.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, not {speed}")
        self._simulated = SimulatedClock(start=start, time_scale=time_scale)
        self.speed = speed
        self.time_scale = time_scale
        self._real: RealClock | None = None
        self._switch = threading.Lock()
        #: How many times real mode was entered (the tests' evidence of where time was simulated).
        self.real_mode_entries = 0

    @property
    def real_time(self) -> bool:
        return self._real is not None

    def now(self) -> float:
        real = self._real
        return real.now() if real is not None else self._simulated.now()

    def sleep(self, seconds: float) -> None:
        real = self._real
        if real is not None:
            real.sleep(seconds)
        else:
            self._simulated.sleep(seconds)

    def advance_to(self, when: float) -> None:
        if self._real is None:
            self._simulated.advance_to(when)

    def use_real_time(self, real: bool) -> None:
        """Switch modes, keeping the virtual time where it is (never backwards)."""
        with self._switch:
            if real and self._real is None:
                self._real = RealClock(speed=self.speed, start=self._simulated.now())
                self.real_mode_entries += 1
            elif not real and self._real is not None:
                now = self._real.now()
                self._real = None
                self._simulated.advance_to(now)
