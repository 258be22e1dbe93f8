"""A deterministic scheduler: concurrent CloudFormation work as generators on one clock.

CloudFormation runs independent resources in parallel, and a request's waiter keeps polling after
CloudFormation stopped waiting for it. Threads would make the order of calls (and the e2e table)
depend on luck; here every piece of concurrent work is a generator that yields how long it waits
(seconds) or a :class:`Join` on another task, and the scheduler always resumes the task that wakes
first (ties: the one spawned first). Only one task runs at a time, so the calls a step makes are
that task's calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs_local.clock import Clock


@dataclass
class Join:
    """Wait until ``task`` is done, or until ``deadline`` (clock time) at the latest."""

    task: Task
    deadline: float | None = None


Steps = Generator["float | Join", None, Any]


@dataclass(eq=False)
class Task:
    name: str
    steps: Steps
    seq: int
    wake: float
    calls: list[Any] = field(default_factory=list)
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    waiting_on: Task | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class Scheduler:
    """Runs tasks on ``clock``; ``call_log`` (if given) is where the calls made during a step land."""

    def __init__(self, clock: Clock, call_log: Callable[[], Sequence[Any]] | None = None) -> None:
        self.clock = clock
        self._call_log = call_log
        self._tasks: list[Task] = []
        self._seq = 0

    def spawn(self, steps: Steps, name: str, calls: list[Any] | None = None) -> Task:
        self._seq += 1
        task = Task(name, steps, self._seq, self.clock.now(), calls if calls is not None else [])
        self._tasks.append(task)
        return task

    def cancel(self, task: Task) -> None:
        """Stop a task where it waits (its generator is closed; it never finishes)."""
        if task in self._tasks:
            self._tasks.remove(task)
            task.steps.close()
            task.done = True

    @property
    def pending(self) -> bool:
        return bool(self._tasks)

    def run(self, task: Task) -> Any:
        """Run until ``task`` is done (others interleaved); return its result or raise its error."""
        self.run_until(lambda: task.done)
        return task.outcome()

    def drive(self, steps: Steps, name: str) -> Any:
        return self.run(self.spawn(steps, name))

    def drain(self) -> None:
        self.run_until(lambda: False)

    def run_until(self, finished: Callable[[], bool]) -> None:
        while not finished():
            if not self._tasks:
                return
            task = min(self._tasks, key=lambda t: (t.wake, t.seq))
            if math.isinf(task.wake):
                raise RuntimeError(f"deadlock: every task waits for another ({', '.join(t.name for t in self._tasks)})")
            now = self.clock.now()
            if task.wake > now:
                self.clock.sleep(task.wake - now)
            self._step(task)

    def _step(self, task: Task) -> None:
        task.waiting_on = None
        before = len(self._call_log()) if self._call_log is not None else 0
        try:
            wanted = next(task.steps)
        except StopIteration as stop:
            self._finish(task, stop.value, None)
            return
        except Exception as error:
            self._finish(task, None, error)
            return
        finally:
            if self._call_log is not None:
                task.calls.extend(self._call_log()[before:])
        now = self.clock.now()
        if isinstance(wanted, Join):
            if wanted.task.done:
                task.wake = now
            else:
                task.waiting_on = wanted.task
                task.wake = wanted.deadline if wanted.deadline is not None else math.inf
                task.wake = max(task.wake, now)
        else:
            task.wake = now + max(0.0, float(wanted))

    def _finish(self, task: Task, result: Any, error: BaseException | None) -> None:
        task.done, task.result, task.error = True, result, error
        self._tasks.remove(task)
        now = self.clock.now()
        for other in self._tasks:
            if other.waiting_on is task:
                other.waiting_on = None
                other.wake = now
