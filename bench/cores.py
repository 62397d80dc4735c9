"""Give the model its own CPU during a benchmark run, as a cluster gives it a pod of its own.

On a small machine the model, the gateway, PostgreSQL and wrk share every core, so whatever CPU
the gateway spends is taken from the model: a throughput ratio measured that way says how one
box divides its cores, not what the gateway costs the model. ``own_cores`` pins every thread of
the model's processes to the last CPU and everything else of the run (the gateway, PostgreSQL,
this process and so the wrk it starts) to the others, then gives all of them every CPU again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psutil


def _threads(pids: list[int], children: bool = True) -> list[int]:
    """Every thread id of the processes ``pids`` and (unless not ``children``) their children."""
    found: list[int] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *(root.children(recursive=True) if children else ())]:
                found += [thread.id for thread in proc.threads()]
        except psutil.NoSuchProcess:
            continue
    return found


def _pin(tids: list[int], cpus: set[int]) -> None:
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, cpus)


def _affinity(tid: int) -> set[int] | None:
    try:
        return os.sched_getaffinity(tid)
    except ProcessLookupError:
        return None


def can_split() -> bool:
    """Whether this process may run on two CPUs or more: one for the model, the rest for the
    others."""
    return len(os.sched_getaffinity(0)) >= 2


@contextlib.contextmanager
def own_cores(model: list[int], rest: list[int]) -> Iterator[str]:
    """Pin ``model``'s process trees to the last CPU and ``rest``'s (and this process) to the
    others; yields how, in words. New threads and forked processes inherit their parent's."""
    every = os.sched_getaffinity(0)
    last = max(every)
    others = every - {last}
    mine = _threads([os.getpid()], children=False)  # its children include the model's servers
    rest_cpus = ", ".join(map(str, sorted(others)))
    try:
        _pin(_threads(model), {last})
        _pin([*_threads(rest), *mine], others)
        if any(_affinity(tid) not in ({last}, None) for tid in _threads(model)):
            raise RuntimeError(f"the model's threads are not all pinned to CPU {last}")
        yield f"the model on CPU {last}; the gateway, PostgreSQL and wrk on CPU {rest_cpus}"
    finally:  # also when the check failed: nothing stays pinned
        _pin([*_threads(model), *_threads(rest), *mine], every)
