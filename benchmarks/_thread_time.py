"""Thread-seconds spent inside chosen functions while some work runs: where the time of a
multi-threaded pipeline goes, summed over its threads (a sampling profiler may not attach
on a device machine; this needs nothing but the functions' names)."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time


@contextlib.contextmanager
def thread_seconds(targets: dict):
    """Time every call of ``targets`` ({name: (owner, attribute)}) while the block runs;
    yields a dict that then holds, per name, the seconds summed over threads and the calls,
    and ``wall_s`` and ``process_cpu_s`` of the whole block."""
    report: dict = {name: {"seconds": 0.0, "calls": 0} for name in targets}
    lock = threading.Lock()
    originals = {name: getattr(owner, attr) for name, (owner, attr) in targets.items()}

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with lock:
                    report[name]["seconds"] += time.perf_counter() - started
                    report[name]["calls"] += 1

        return wrapper

    for name, (owner, attr) in targets.items():
        setattr(owner, attr, timed(name, originals[name]))
    started, cpu = time.perf_counter(), _cpu_seconds()
    try:
        yield report
    finally:
        report["wall_s"] = round(time.perf_counter() - started, 2)
        report["process_cpu_s"] = round(_cpu_seconds() - cpu, 2)
        for name, (owner, attr) in targets.items():
            setattr(owner, attr, originals[name])
            report[name]["seconds"] = round(report[name]["seconds"], 4)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system
