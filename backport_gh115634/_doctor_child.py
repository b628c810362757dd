"""The doctor's child: the gh-115634 reproducer under a watchdog, run by path.

The doctor (``_doctor.py``) runs this file as ``python [flags] /path/to/_doctor_child.py
deadline=SECONDS [import_package=1] ...``, in a child process of its own interpreter, started
the way the user's programs start. Run so, it imports nothing of backport_gh115634 (a start-up
hook may load the implementation on its own, as in any program) unless import_package=1 asks it
to, as a program activated by import only must. The doctor and the tests import this module
for its names; that runs nothing.

It prints LINE_PREFIX + one JSON object a line: "start" (what the process found patched),
"result" per result, then "done" (the results, the child's own time and its intervention
counts); or, when it stops itself, "stranded" or "deadline" (with the workers it killed). Exit
status: 0 done; CHILD_STRANDED when the pool was left with work pending and no worker for
STRANDED_AFTER seconds, a state no pool leaves by itself (the stock pool's gh-115634 hang), so
the hang is reported at once instead of at the deadline; CHILD_TIMED_OUT when the watchdog
stopped it at its deadline (as timeout(1) exits). Both kill the pool's worker processes first:
where there is no process group for the doctor to kill (Windows), a spawned worker holds both
ends of its call queue, so it would never see end-of-file and would wait forever.

Not on the start-up path, but on the path of every worker the reproducer spawns (they import
the main module, this file, as __mp_main__): module level imports only what multiprocessing
imports anyway, and runs nothing.
"""

import json
import os
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

LINE_PREFIX = "BACKPORT-DOCTOR "
TASKS = 10
# The child's exit status when its watchdog stopped it at the deadline (as timeout(1) exits),
# and when it stopped because its pool was stranded: neither is a crash.
CHILD_TIMED_OUT = 124
CHILD_STRANDED = 125
# How long the watchdog waits to see the workers it killed end, before it exits anyway.
WORKER_END_WAIT = 2.0
# Stranded: work pending and no worker in the pool's process table, the manager thread in its
# wait, continuously for this long (a replacement follows a worker's exit a moment later where
# the pool has the fix, so one look is not enough), looked at every POLL seconds. As
# tests/stranded.py decides it.
STRANDED_AFTER = 1.5
POLL = 0.05
# The manager loop's one blocking wait: the stdlib's method, or the package's seam of that name.
MANAGER_WAIT = "wait_result_broken_or_wakeup"


def say(**fields: "Any") -> None:
    """One event line, flushed at once: the process may end with os._exit() next."""
    sys.stdout.write(LINE_PREFIX + json.dumps(fields) + "\n")
    sys.stdout.flush()


# --- the watchdog -----------------------------------------------------------------------------
# It imports nothing, as the main thread may be inside an import when it fires.


def pool_workers(executor: "Any", modules: "Optional[Mapping[str, Any]]" = None) -> "List[Any]":
    """The executor's worker processes, then this process's other multiprocessing children.
    executor._processes is None after shutdown(), and changes while the manager thread starts or
    reaps a worker: copied whole, again if it changed meanwhile."""
    modules = sys.modules if modules is None else modules
    workers: "List[Any]" = []
    for _attempt in range(50):
        try:
            table = getattr(executor, "_processes", None)
            workers = list(table.values()) if table else []
            break
        except RuntimeError:  # changed size during iteration
            time.sleep(0.001)
    mp = modules.get("multiprocessing")
    try:
        workers += mp.active_children() if mp is not None else []
    except Exception:
        pass
    found: "Dict[Any, Any]" = {}
    for worker in workers:
        found.setdefault(getattr(worker, "pid", None) or id(worker), worker)
    return list(found.values())


def stop_workers(
    executor: "Any", wait: float, modules: "Optional[Mapping[str, Any]]" = None
) -> "Tuple[List[Any], List[Any]]":
    """Kill the pool's workers, then wait up to `wait` seconds to see them end.
    Returns (the pids killed, the pids not seen to end)."""
    modules = sys.modules if modules is None else modules
    workers = pool_workers(executor, modules)
    for worker in workers:
        try:
            worker.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        except Exception:
            pass
    pending = {}
    for worker in workers:
        try:
            pending[worker.sentinel] = worker  # ready once the process has ended
        except Exception:  # never started, or closed already
            pass
    connection = modules.get("multiprocessing.connection")
    give_up = time.monotonic() + wait
    while pending and connection is not None and time.monotonic() < give_up:
        try:
            ready = connection.wait(list(pending), max(0.0, give_up - time.monotonic()))
        except Exception:
            break
        for sentinel in ready:
            pending.pop(sentinel, None)
    return (
        [getattr(worker, "pid", None) for worker in workers],
        [worker.pid for worker in pending.values()],
    )


def _save_coverage(modules: "Optional[Mapping[str, Any]]" = None) -> None:
    """os._exit() skips atexit, where coverage.py (when the tests measure this process) writes
    its data: write it first. Nothing happens where coverage is not running."""
    coverage = (sys.modules if modules is None else modules).get("coverage")
    try:
        current = coverage.Coverage.current() if coverage is not None else None
        if current is not None:
            current.stop()
            current.save()
    except Exception:
        pass


class Watchdog:
    """Stops this process at its deadline (a timer thread: expire()) or when the main thread
    finds the pool stranded (stranded()), after killing the pool's workers.

    The main thread calls finish() once the reproducer is done, settle() when it raised.
    _lock makes them and the stops exclusive: a child that finished is never stopped, and one
    being stopped neither reports "done" nor exits on the error its killing the workers raised
    in the main thread (both wait there for the os._exit()).
    """

    def __init__(self, started: float, modules: "Optional[Mapping[str, Any]]" = None) -> None:
        self.started = started
        self.executor: "Any" = None  # set by the main thread once the pool exists
        self.results: "List[Any]" = []
        self._modules = modules
        self._lock = threading.Lock()
        self._finished = False

    def finish(self) -> None:
        with self._lock:
            self._finished = True

    def settle(self) -> None:
        """Wait while the watchdog is stopping this process (the pool it breaks raises here)."""
        with self._lock:
            pass

    def stop(self, event: str, end_wait: float, exit_code: int, **fields: "Any") -> None:
        """Unless finished: kill the pool's workers, say `event` and exit with exit_code."""
        with self._lock:
            if self._finished:
                return
            killed, alive = stop_workers(self.executor, end_wait, self._modules)
            say(
                event=event,
                seconds=time.monotonic() - self.started,
                done=len(self.results),
                killed=killed,
                alive=alive,
                **fields,
            )
            _save_coverage(self._modules)
            os._exit(exit_code)

    def expire(self, end_wait: float, exit_code: int) -> None:
        self.stop("deadline", end_wait, exit_code)

    def watch(self, seconds: float, end_wait: float, exit_code: int) -> "threading.Timer":
        timer = threading.Timer(seconds, self.expire, (end_wait, exit_code))
        timer.daemon = True
        timer.start()
        return timer


# --- the stranded state -------------------------------------------------------------------------


def pool_state(executor: "Any") -> "Tuple[int, int]":
    """(worker processes in the pool's table, work items pending). Read from the manager thread,
    whose tables outlive shutdown(), else from the executor; (0, 0) before either exists. Only
    len() of the tables: taking them apart here would race the manager thread, and asking a
    worker is_alive() would reap it behind the manager's back."""
    manager = getattr(executor, "_executor_manager_thread", None)
    processes = getattr(manager, "processes", None)
    if processes is None:
        processes = getattr(executor, "_processes", None)
    pending = getattr(manager, "pending_work_items", None)
    if pending is None:
        pending = getattr(executor, "_pending_work_items", None)
    return len(processes or ()), len(pending or ())


def manager_waiting(executor: "Any") -> bool:
    """True if the pool's manager thread is in its loop's wait, or is not running (it starts no
    worker either way); False while it handles a result, joins a retiring worker or spawns one.
    The stdlib takes a retiring worker out of its table before it joins that process, whose
    interpreter may take a while to end: an empty table then is no strand. Where the
    interpreter cannot show another thread's stack, True (the table alone decides)."""
    manager = getattr(executor, "_executor_manager_thread", None)
    current_frames = getattr(sys, "_current_frames", None)
    if manager is None or current_frames is None or not manager.is_alive():
        return True
    frame = current_frames().get(manager.ident)
    while frame is not None:
        if frame.f_code.co_name == MANAGER_WAIT:
            return True
        frame = frame.f_back
    return False


class StrandedClock:
    """How long a pool has been stranded: work pending, no worker, the manager thread in its
    wait, and the pending count the same, on end. check() says so once that has lasted `after`
    seconds."""

    def __init__(self, after: float) -> None:
        self.after = after
        self.since: "Optional[float]" = None
        self._pending = -1

    def check(
        self, workers: int, pending: int, now: float, waiting: bool = True
    ) -> "Optional[float]":
        """Seconds stranded, once at least `after`; None before (or when not stranded).
        waiting: whether the manager thread is in its wait (manager_waiting)."""
        if not waiting:
            workers = 1  # joining or starting a worker: count it as one
        if workers or not pending or pending != self._pending:
            self.since = None if workers or not pending else now
            self._pending = pending
            return None
        if self.since is None:
            self.since = now
        stranded_for = now - self.since
        return stranded_for if stranded_for >= self.after else None


# --- the program ------------------------------------------------------------------------------


def _drop_own_directory() -> None:
    """Run by path, Python put this file's directory first on sys.path: the package directory,
    whose modules (_doctor, __main__) would import as top-level names from there. Put there what
    ``python -c`` (how the doctor ran this program before it was a file) puts: "" for the
    current directory. Where nothing was put (-I, -P, PYTHONSAFEPATH), there is nothing to
    replace. The imports above are stdlib names this directory does not hold."""
    here = os.path.dirname(os.path.realpath(__file__))
    if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == here:
        sys.path[0] = ""


def parse(argv: "Sequence[str]") -> "Dict[str, Any]":
    """key=value arguments: deadline, wait (seconds, per result), stranded_after (seconds, 0:
    never), end_wait (seconds), import_package (0 or 1)."""
    options: "Dict[str, Any]" = {
        "deadline": 60.0,
        "wait": None,
        "stranded_after": STRANDED_AFTER,
        "end_wait": WORKER_END_WAIT,
        "import_package": False,
    }
    for argument in argv:
        name, _, value = argument.partition("=")
        if name not in options or not value:
            raise SystemExit("_doctor_child.py: bad argument %r" % argument)
        options[name] = value == "1" if name == "import_package" else float(value)
    if options["wait"] is None:
        options["wait"] = options["deadline"] + 70.0  # both deadlines come first
    return options


def run(options: "Mapping[str, Any]") -> None:
    started = time.monotonic()
    dog = Watchdog(started)
    dog.watch(options["deadline"], options["end_wait"], CHILD_TIMED_OUT)
    if options["import_package"]:
        import backport_gh115634  # noqa: F401  (as a program activated by import only does)
    import concurrent.futures.process as process
    import operator
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    startup = sys.modules.get("backport_gh115634_startup")
    manager_cls = getattr(process, "_ExecutorManagerThread", object)
    seams = sorted(
        "%s.%s" % (cls.__name__, name)
        for cls in (ProcessPoolExecutor, manager_cls)
        for name, value in vars(cls).items()
        if "backport_gh115634" in (getattr(value, "__module__", None) or "")
    )
    say(
        event="start",
        patched=bool(seams),
        seams=seams,
        calls=list(getattr(startup, "calls", [])),
        requested_by=list(getattr(startup, "requested_by", [])),
        disabled_by_env=bool(getattr(startup, "disabled_by_env", False)),
        hook_error=getattr(startup, "hook_error", None),
    )
    clock = StrandedClock(options["stranded_after"])
    try:
        # max_tasks_per_child: 3.11+; mypy checks as 3.9, and the doctor runs no child there.
        executor = ProcessPoolExecutor(1, max_tasks_per_child=2)  # type: ignore[call-overload]
        dog.executor = executor
        futures = [executor.submit(operator.mul, i, 2) for i in range(TASKS)]
        for future in futures:
            give_up = time.monotonic() + options["wait"]
            while True:
                try:
                    dog.results.append(future.result(timeout=POLL))
                    break
                except FutureTimeout:
                    now = time.monotonic()
                    if now > give_up:
                        raise
                    workers, pending = pool_state(executor)
                    waiting = manager_waiting(executor)
                    stranded_for = clock.check(workers, pending, now, waiting)
                    if options["stranded_after"] and stranded_for is not None:
                        dog.stop(
                            "stranded",
                            options["end_wait"],
                            CHILD_STRANDED,
                            pending=pending,
                            stranded_for=stranded_for,
                        )
            say(event="result", done=len(dog.results))
        executor.shutdown(wait=True)
    except BaseException:
        dog.settle()  # the watchdog's killing the workers broke the pool: let it finish
        raise
    dog.finish()
    seconds = time.monotonic() - started
    # What the shim did here that the stock pool would not have. A start-up hook may have
    # applied it without this program importing the package (it loads the implementation
    # alone): read it only if something loaded that.
    implementation = sys.modules.get("_backport_gh115634.patch")
    interventions: "Any"
    try:
        interventions = (
            dict(implementation.status().interventions) if implementation is not None else None
        )
    except Exception as exc:
        interventions = "%s: %s" % (type(exc).__name__, exc)
    say(event="done", results=dog.results, seconds=seconds, interventions=interventions)


def main(argv: "Sequence[str]") -> None:
    _drop_own_directory()
    run(parse(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
