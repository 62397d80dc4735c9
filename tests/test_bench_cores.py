"""bench/cores.py: make bench-gateway's "own cores" rounds really give the model its own CPU."""

import os
import subprocess
import sys

import psutil
import pytest

from bench.cores import can_split, own_cores

pytestmark = pytest.mark.skipif(not can_split(), reason="needs two CPUs")
#: a process with a second thread, like a model worker's predict thread
THREADED = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); " \
    "print('up', flush=True); time.sleep(60)"  # fmt: skip


def _spawn() -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    return proc


def _affinities(proc: subprocess.Popen) -> set[frozenset[int]]:
    threads = psutil.Process(proc.pid).threads()
    assert len(threads) >= 2
    return {frozenset(os.sched_getaffinity(t.id)) for t in threads}


def test_the_model_gets_the_last_cpu_and_the_rest_the_others() -> None:
    every = os.sched_getaffinity(0)
    last, others = max(every), every - {max(every)}
    # both are this process's children, as the bench's model server and gateway are
    model, rest = _spawn(), _spawn()
    try:
        with own_cores([model.pid], [rest.pid]) as how:
            assert _affinities(model) == {frozenset({last})}
            assert _affinities(rest) == {frozenset(others)}
            assert os.sched_getaffinity(0) == others  # and so the wrk it starts
            child = subprocess.run(
                [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert child.stdout.strip() == str(sorted(others))
            assert f"CPU {last}" in how
        for proc in (model, rest):
            assert _affinities(proc) == {frozenset(every)}
        assert os.sched_getaffinity(0) == every
    finally:
        for proc in (model, rest):
            proc.kill()
            proc.wait()
