"""A thread pool for sops processes that bounds how much waits in memory.

sops is one process per file, so threads suffice (they wait on pipes, not on the GIL). The bound
keeps a long run's memory flat: at most ``limit`` tasks are queued, and ``ordered`` keeps at most
``window`` results ahead of the consumer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from types import TracebackType
from typing import ParamSpec, TypeVar

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


class Pool:
    def __init__(self, jobs: int, limit: int) -> None:
        self.jobs = jobs
        self._executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="isp-sops")
        self._slots = threading.BoundedSemaphore(limit)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Queue ``fn(*args, **kwargs)``; blocks while ``limit`` tasks are already waiting or running."""
        self._slots.acquire()
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return list(self._executor.map(fn, items))

    def ordered(self, fn: Callable[[T], R], items: Iterable[T], window: int) -> Iterator[R]:
        """``fn`` over ``items`` in parallel, results in order, at most ``window`` results ahead."""
        source = iter(items)
        pending: deque[Future[R]] = deque(self.submit(fn, item) for item in islice(source, window))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(self.submit(fn, item) for item in islice(source, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()
