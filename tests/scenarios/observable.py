"""Programs that report what a program can observe of a process pool: the threads left after
shutdown(), the state a forked child starts from, the log records of each logger, the time to
exit, the pool's width under recycling, and whether a sub-interpreter that ran a pool ends.

``observable.py NAME START_METHOD [ARG]``; the last line printed is ``OBSERVED: {json}``.
tests/test_invisible.py runs each program twice, under a hard deadline: on a fixed CPython
without the package (the oracle), and on the interpreter under test with the package applied by
``import backport_gh115634``; the two must agree on everything but what the program asks the
package for (status(), the records of its logger). The package is imported where it is on the
path; the oracle run has it nowhere.
"""

import gc
import json
import logging
import multiprocessing
import multiprocessing.util
import operator
import os
import sys
import threading
import time
import warnings

PREFIX = "OBSERVED: "
WAIT = 30.0  # the longest any one future may take before the program gives up on it
OURS = "backport_gh115634"
STARTED = time.monotonic()

try:
    import backport_gh115634
except ImportError:  # the oracle: a fixed stdlib, nothing of ours
    backport_gh115634 = None
else:
    backport_gh115634.apply()  # the test runs us with the start-up activation off


def report(**fields):
    fields["elapsed"] = round(time.monotonic() - STARTED, 3)
    print(PREFIX + json.dumps(fields), flush=True)


def interventions():
    if backport_gh115634 is None:
        return 0
    return sum(backport_gh115634.status().interventions.values())


def thread_names():
    return sorted(thread.name for thread in threading.enumerate())


def run_pool(method, workers=1, max_tasks=2, tasks=10, cls=None, fn=operator.mul):
    from concurrent.futures import ProcessPoolExecutor

    cls = cls or ProcessPoolExecutor
    context = multiprocessing.get_context(method)
    with cls(workers, mp_context=context, max_tasks_per_child=max_tasks) as executor:
        futures = [executor.submit(fn, i, 2) for i in range(tasks)]
        return [future.result(timeout=WAIT) for future in futures]


class Recorder(logging.Handler):
    """Keeps (logger, level) of every record it is given; delay: seconds each one takes, as a log
    sink in an outage would."""

    def __init__(self, level=logging.DEBUG, delay=0.0):
        super().__init__(level)
        self.delay = delay
        self.records = []

    def emit(self, record):
        self.records.append([record.name, record.levelname])
        time.sleep(self.delay)


def split(records):
    """(the records of every other logger, the levels of ours)."""
    return [r for r in records if r[0] != OURS], [r[1] for r in records if r[0] == OURS]


def program_recycle(method, config):
    """A recycling pool, logging as configured: "default" (none), "info" (the root logger at INFO,
    as services run), or "slow" (our logger at DEBUG, into a handler that takes 1 s a record).
    """
    recorder = None
    if config == "info":
        recorder = Recorder()
        logging.basicConfig(level=logging.INFO, handlers=[recorder])
    elif config == "slow":
        recorder = Recorder(delay=1.0)
        logger = logging.getLogger(OURS)
        logger.addHandler(recorder)
        logger.setLevel(logging.DEBUG)
    out = run_pool(method, workers=1, max_tasks=2, tasks=16)
    others, ours = split(recorder.records if recorder else [])
    report(
        results=out == [i * 2 for i in range(16)],
        threads=thread_names(),
        others=others,
        ours=ours,
    )


def _hold_at_fork(locks):
    """A thread that holds every lock given while the main thread forks; returns a release."""
    held, release = threading.Event(), threading.Event()

    def hold():
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(WAIT)
        for lock in reversed(locks):
            lock.release()

    thread = threading.Thread(target=hold, name="holder", daemon=True)
    thread.start()
    held.wait(WAIT)

    def done():
        release.set()
        thread.join(WAIT)

    return done


def _our_locks():
    """The package's locks, as a thread of the program could hold them at a fork."""
    if backport_gh115634 is None:
        return []
    import backport_gh115634_startup
    from _backport_gh115634 import interventions as records
    from _backport_gh115634 import patch

    return [patch._lock, backport_gh115634_startup._lock, records._lock]


def program_fork(method):
    """A parent that made a recycling pool (and so, where the package works, counted and logged
    interventions) forks while another thread holds every lock of ours; the child reads status(),
    makes a recycling pool of its own with the root logger at INFO, and reports."""
    recorder = Recorder()
    logging.basicConfig(level=logging.INFO, handlers=[recorder])
    run_pool(method)
    parent_counts = interventions()
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running
    release = _hold_at_fork(_our_locks())
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        # As multiprocessing's own children do: the parent's finalisers are not the child's.
        multiprocessing.util._finalizer_registry.clear()
        os.close(reader)
        try:
            recorder.records.clear()
            at_start = interventions()
            # spawn: the parent's fork server, if any, belongs to the parent.
            out = run_pool("spawn")
            # os._exit() runs no finaliser: release the pool's semaphores now, or the resource
            # tracker the child shares with its parent reports them leaked. Collecting is not
            # enough everywhere: under coverage on free-threaded 3.13.5t the pool's five were
            # still alive (reported leaked once in CI), so the child runs the finalisers that
            # unlink them, as a multiprocessing child does before its own os._exit().
            gc.collect()
            multiprocessing.util._run_finalizers(0)
            others, ours = split(recorder.records)
            child = {
                "at_start": at_start,
                "results": out == [i * 2 for i in range(10)],
                "threads": thread_names(),
                "others": others,
                "ours": ours,
            }
        except BaseException as exc:
            child = {"error": "%s: %s" % (type(exc).__name__, exc)}
        os.write(writer, json.dumps(child).encode())
        os._exit(0)
    release()
    os.close(writer)
    chunks = []
    deadline = time.monotonic() + 2 * WAIT
    while time.monotonic() < deadline:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    child = json.loads(b"".join(chunks) or b'{"error": "no report"}')
    report(parent_counted=parent_counts > 0, child=child)


def busy(i, factor):
    started = time.monotonic()
    time.sleep(0.05)
    return started, time.monotonic()


def _width(spans):
    """How many workers were busy on average: the time spent in tasks over the time they span."""
    first = min(start for start, _ in spans)
    last = max(end for _, end in spans)
    return sum(end - start for start, end in spans) / (last - first)


def program_width(method):
    """Recycling width of a plain pool and of a subclass whose _adjust_process_count only adds a
    metric and delegates with super()."""
    from concurrent.futures import ProcessPoolExecutor

    class Metered(ProcessPoolExecutor):
        adjusted = 0

        def _adjust_process_count(self):
            Metered.adjusted += 1
            super()._adjust_process_count()

    recorder = Recorder(logging.WARNING)
    logging.getLogger(OURS).addHandler(recorder)
    widths = {}
    for name, cls in (("plain", None), ("subclass", Metered)):
        spans = run_pool(method, workers=2, max_tasks=2, tasks=24, cls=cls, fn=busy)
        widths[name] = _width(spans)
    report(widths=widths, warnings=len(recorder.records))


SUBINTERPRETER_CODE = """
import json, multiprocessing, operator
try:
    import backport_gh115634
except ImportError:
    pass
else:
    backport_gh115634.apply()
from concurrent.futures import ProcessPoolExecutor
context = multiprocessing.get_context(%(method)r)
with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=2) as executor:
    out = list(executor.map(operator.mul, range(10), [2] * 10, timeout=%(wait)r))
with open(%(path)r, "w") as handle:
    json.dump(out, handle)
"""


def program_subinterpreter(method):
    """A recycling pool inside a legacy sub-interpreter (shared GIL, threads and fork allowed),
    as mod_wsgi runs applications; the sub-interpreter must then end cleanly."""
    import _testcapi
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.json")
        code = SUBINTERPRETER_CODE % {"method": method, "wait": WAIT, "path": path}
        status = _testcapi.run_in_subinterp(code)
        with open(path) as handle:
            out = json.load(handle)
    report(status=status, results=out == [i * 2 for i in range(10)], threads=thread_names())


def main(argv):
    name, method, *rest = argv
    {
        "recycle": program_recycle,
        "fork": program_fork,
        "width": program_width,
        "subinterpreter": program_subinterpreter,
    }[name](method, *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
