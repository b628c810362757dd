"""The child process of the model-based test (tests/test_model.py): a small command server.

Started fresh for every Hypothesis example as ``python -S model_child.py EXPECTED`` with
BACKPORT_GH115634=1 and the package on PYTHONPATH. EXPECTED is a JSON object, what a fresh
process of this interpreter reports when nothing races: ``{"shape": ..., "affected": ...}``.

At start it arms the start-up hook exactly as the installed ``.pth`` line would, so
``concurrent.futures.process`` is not imported yet: the first import of the pool module, which
happens once per process, is one of the operations the model races. Then it reads one JSON
command a line from stdin and answers each with one line on stdout, prefixed with REPLY_PREFIX
(anything else on stdout, from a pool worker say, is ignored by the parent):

``{"cmd": "round", "ops": [{"op": NAME, "delay_ms": N, ...}, ...]}``
    Start every operation in a thread of its own at once (a barrier), each after its own delay,
    then join them with a timeout, check the invariants at that quiet point and report the
    facts. The parent judges them.
``{"cmd": "final"}``
    ``apply()``, then a recycling pool ``ProcessPoolExecutor(1, max_tasks_per_child=2)`` with 6
    tasks that must complete (where the pool has max_tasks_per_child and the stdlib is known).
``{"cmd": "quit"}``
    Answer, then leave at once (``os._exit``: a stuck pool's manager thread must not hold us).

Only the package's public API is used (``apply``, ``revert``, ``status``, the ``backport_gh115634``
logger and ``backport_gh115634_startup.activate``), with ``concurrent.futures.process`` itself,
``importlib.reload``, ``logging`` and ``multiprocessing``: the package's insides may move.

No operation may hang this process for good: every thread is joined with a timeout, a pool's
wait is bounded, and the invariant check runs in a thread of its own. SIGUSR1 dumps every
thread's stack to stderr (the parent sends it before killing a child that stopped answering).
"""

import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback

REPLY_PREFIX = "MODEL-REPLY: "
TARGET = "concurrent.futures.process"
LOGGER_NAME = "backport_gh115634"
# Names whose objects count as our seams when found on the pool's classes (the package may move
# its implementation into a private package; "__init__" is the deferral's stand-in, not a seam).
OUR_MODULES = ("backport_gh115634", "_backport_gh115634")
# Replacements a fixed stdlib makes silently: at most one INFO-or-higher record each per process.
# What a fixed stdlib does silently: one INFO record of these per process, the rest DEBUG.
ROUTINE_FIXES = ("gh-115634", "gh-119592", "gh-109047", "cancelled-future")
# Operations after which a running pool may legitimately follow the stock code (and strand):
# revert() puts the stock code back, reload() makes new, unpatched classes, and a pretended
# bootstrapping child defers the fix.
UNPROTECTING_OPS = ("revert", "reload", "defer_import")


def _seconds(name, default):
    return float(os.environ.get(name) or default)


# A non-pool operation is a few calls: not back within this, it is hung.
OP_TIMEOUT = _seconds("BACKPORT_MODEL_OP_TIMEOUT", 10)
# A pool: no future resolved for POOL_STALL seconds, or its whole run past POOL_LIMIT, is hung.
POOL_STALL = _seconds("BACKPORT_MODEL_POOL_STALL", 15)
POOL_LIMIT = _seconds("BACKPORT_MODEL_POOL_LIMIT", 60)
# Futures pending and no worker in the pool's table for this long: stranded, as the stock code
# strands a pool (a pool that must complete gets longer: a replacement may start slowly).
STRANDED_AFTER = {True: 5.0, False: 1.0}
CHECK_TIMEOUT = 10.0


def square(value):
    """The pool's task (module level: spawn workers import this file as __mp_main__)."""
    return value * value


if __name__ == "__mp_main__":
    # A spawn worker, or the fork server preloading __main__: the installed .pth line would have
    # armed the hook in this process too, before unpickling imports the pool module.
    import backport_gh115634_startup

    backport_gh115634_startup.activate("startup hook")


# --- what the child records between replies (cumulative: a failure stays visible) ----------

_record_lock = threading.Lock()
THREAD_ERRORS = []  # every exception that escaped a thread (stdlib manager threads included)
# Exceptions of the stdlib's own making after a reload, by their signature: a pool whose objects
# are of the old classes cannot pickle them once the module holds new ones of the same name
# ("Can't pickle <class 'concurrent.futures.process._SafeQueue'>: it's not the same object").
RELOAD_ERRORS = []
RELOADED = []
ERRORS = []  # every exception our calls raised
WARNINGS = []  # warnings shown (not judged: reported for the reader)
ROUTINE_COUNTS = dict.fromkeys(ROUTINE_FIXES, 0)  # while the counting handler is on
HANDLERS = []  # handlers the log_* operations added to the package's logger
_local = threading.local()


def _record(bucket, entry):
    with _record_lock:
        bucket.append(entry)


def _on_thread_exception(args):
    if args.exc_type is SystemExit:
        return
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    _record(
        RELOAD_ERRORS if RELOADED and _stale_class(str(args.exc_value)) else THREAD_ERRORS,
        {
            "thread": getattr(args.thread, "name", None),
            "error": "%s: %s" % (args.exc_type.__name__, args.exc_value),
            "traceback": text[-3000:],
        },
    )
    sys.stderr.write("exception in thread %s:\n%s" % (getattr(args.thread, "name", "?"), text))


def _stale_class(message):
    return "not the same object as concurrent.futures.process." in message


def _on_warning(message, category, filename, lineno, file=None, line=None):
    _record(WARNINGS, "%s: %s (%s:%s)" % (category.__name__, message, filename, lineno))


# --- reading the state, without the package's help -------------------------------------------


def pool_module():
    """The pool module, if it has been imported completely (not mid-import in some thread)."""
    module = sys.modules.get(TARGET)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def seams_on_classes():
    """Names of the attributes of ours found on the pool module's classes right now."""
    module = sys.modules.get(TARGET)
    found = []
    for class_name in ("ProcessPoolExecutor", "_ExecutorManagerThread"):
        cls = getattr(module, class_name, None) if module is not None else None
        if cls is None:
            continue
        for name, value in list(vars(cls).items()):
            owner = getattr(value, "__module__", None)
            if name != "__init__" and isinstance(owner, str) and owner.startswith(OUR_MODULES):
                found.append("%s.%s" % (class_name, name))
    return found


def status_fields(status):
    return {
        "applied": status.applied,
        "shape": status.shape,
        "affected": status.affected,
        "error": status.error,
        "reason": status.reason[:200],
    }


# --- the operations: each returns a JSON-able dict; raising is recorded as an error ----------


def op_import_pool(spec, context):
    first = TARGET not in sys.modules
    import concurrent.futures.process  # noqa: F401

    return {"first": first}


def op_import_package(spec, context):
    first = "backport_gh115634" not in sys.modules
    import backport_gh115634  # noqa: F401

    return {"first": first}


def op_status(spec, context):
    import backport_gh115634

    return status_fields(backport_gh115634.status())


def op_apply(spec, context):
    import backport_gh115634

    return status_fields(backport_gh115634.apply())


def op_revert(spec, context):
    import backport_gh115634

    return status_fields(backport_gh115634.revert())


def op_reload(spec, context):
    import importlib

    module = pool_module()
    if module is None:
        return {"skipped": "the pool module is not imported"}
    RELOADED.append(True)
    importlib.reload(module)
    return {"reloaded": True}


def op_defer_import(spec, context):
    """The first import of the pool module as a spawn or forkserver pool worker makes it: while
    the process is still unpickling its task (multiprocessing's _inheriting flag)."""
    import multiprocessing.process

    me = multiprocessing.process.current_process()
    first = TARGET not in sys.modules
    me._inheriting = True
    try:
        import concurrent.futures.process  # noqa: F401
    finally:
        try:
            del me._inheriting
        except AttributeError:  # another defer_import of this round deleted it first
            pass
    return {"first": first}


def _counting_subclass(base):
    calls = [0]

    class SubPool(base):
        def _spawn_process(self):
            calls[0] += 1
            return super()._spawn_process()

    return SubPool, calls


def op_pool(spec, context):
    """Run a small recycling pool to completion, or until it is clearly stuck.

    The pool must complete when the stdlib has the fix natively or our seams are on its classes
    once it is made, and nothing in the round can put the stock code back (UNPROTECTING_OPS);
    the final check's pool must complete whatever the round. Otherwise a stranded pool is
    recorded, not judged: that is the stock code, as documented."""
    import concurrent.futures.process  # noqa: F401
    import multiprocessing

    module = sys.modules[TARGET]
    mp_context = multiprocessing.get_context(spec["method"]) if spec.get("method") else None
    cls, spawn_calls = module.ProcessPoolExecutor, None
    if spec.get("subclass"):
        cls, spawn_calls = _counting_subclass(cls)
    workers = spec["workers"]
    executor = cls(workers, mp_context=mp_context, max_tasks_per_child=spec["max_tasks"])
    seams = seams_on_classes()
    must_complete = bool(spec.get("final")) or (
        (context["expected"]["affected"] is False or bool(seams)) and not context["unprotecting"]
    )
    result = {
        "workers": workers,
        "must_complete": must_complete,
        "final": bool(spec.get("final")),
        "seams_at_start": seams,
    }

    peak = [0]
    stop = threading.Event()

    def monitor():
        while True:
            processes = executor._processes
            count = len(processes) if processes is not None else 0
            if count > peak[0]:
                peak[0] = count
            if stop.wait(0.002):
                return

    watcher = threading.Thread(target=monitor, name="pool-monitor", daemon=True)
    watcher.start()
    started = time.monotonic()
    futures = []
    try:
        futures = [executor.submit(square, n) for n in range(spec["tasks"])]
        result["stopped"] = _wait_bounded(executor, futures, must_complete, started)
    finally:
        stop.set()
        watcher.join(5)
        result["peak"] = peak[0]
        result["seconds"] = round(time.monotonic() - started, 3)
        if spawn_calls is not None:
            result["spawn_process_calls"] = spawn_calls[0]
        outcomes = {}
        wrong = []
        for n, future in enumerate(futures):
            if not future.done():
                kind = "pending"
            elif future.cancelled():
                kind = "cancelled"
            elif future.exception() is not None:
                kind = "error: %s" % type(future.exception()).__name__
            elif future.result() != n * n:
                kind = "wrong"
                wrong.append([n, future.result()])
            else:
                kind = "ok"
            outcomes[kind] = outcomes.get(kind, 0) + 1
        result["outcomes"] = outcomes
        result["unresolved"] = outcomes.get("pending", 0)
        result["wrong"] = wrong
        context["pools"].append(result)
        _close(executor, all(future.done() for future in futures))
    return {"stopped": result.get("stopped"), "pool": len(context["pools"]) - 1}


def _wait_bounded(executor, futures, must_complete, started):
    """Wait for the futures; say why the wait stopped ("completed" or how the pool is stuck)."""
    import concurrent.futures

    last_progress, done_before, empty_since = started, 0, None
    while True:
        done = sum(future.done() for future in futures)
        now = time.monotonic()
        if done == len(futures):
            return "completed"
        if done > done_before:
            done_before, last_progress = done, now
        manager = getattr(executor, "_executor_manager_thread", None)
        # (all done: not a race with its last act)
        if (
            manager is not None
            and not manager.is_alive()
            and not all(future.done() for future in futures)
        ):
            return "its manager thread is dead with futures pending"
        processes = executor._processes
        if processes:
            empty_since = None
        else:
            empty_since = now if empty_since is None else empty_since
            if now - empty_since > STRANDED_AFTER[must_complete]:
                return "stranded: futures pending and no worker for %.1fs" % (now - empty_since)
        if now - last_progress > POOL_STALL:
            return "stalled: no future resolved for %.1fs" % (now - last_progress)
        if now - started > POOL_LIMIT:
            return "still running after %.1fs" % (now - started)
        concurrent.futures.wait(
            futures, timeout=0.02, return_when=concurrent.futures.FIRST_COMPLETED
        )


def _close(executor, completed):
    if completed:
        executor.shutdown(wait=True)  # a hang here leaves the round's thread alive: reported
        return
    # A stuck pool: kill its workers so its manager thread can notice, and let it go.
    for process in list((executor._processes or {}).values()):
        try:
            process.kill()
        except Exception:
            pass
    executor.shutdown(wait=False, cancel_futures=True)


_HANDLER_CLASSES = []


def _handler_classes():
    """(RaisingFilter, QuietHandler, SlowHandler, CountingHandler), made on first use: logging
    is not imported at start, as concurrent.futures imports it."""
    if _HANDLER_CLASSES:
        return _HANDLER_CLASSES[0]
    import logging

    class RaisingFilter(logging.Filter):
        def filter(self, record):
            # As a filter that reads a thread-local set by the application's request threads
            # would, on a thread that never set it (the pool's manager thread).
            return bool(_local.request_id)

    class QuietHandler(logging.Handler):
        def emit(self, record):
            pass

    class SlowHandler(logging.Handler):
        def emit(self, record):
            time.sleep(0.05)

    class CountingHandler(logging.Handler):
        """Counts each record once, however many counting handlers are on the logger."""

        seen: "set[tuple[float, int, str]]" = set()  # noqa: RUF012 - shared on purpose

        def emit(self, record):
            if record.levelno < logging.INFO:
                return
            message = record.getMessage()
            for fix in ROUTINE_FIXES:
                if message.startswith(fix):
                    with _record_lock:
                        key = (record.created, record.thread, message)
                        if key not in self.seen:
                            self.seen.add(key)
                            ROUTINE_COUNTS[fix] += 1

    _HANDLER_CLASSES.append((RaisingFilter, QuietHandler, SlowHandler, CountingHandler))
    return _HANDLER_CLASSES[0]


def _add_handler(handler):
    import logging

    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    with _record_lock:
        HANDLERS.append(handler)
    return {"handlers": len(HANDLERS)}


def op_log_raise(spec, context):
    raising_filter, quiet, _slow, _counting = _handler_classes()
    handler = quiet()
    handler.addFilter(raising_filter())
    return _add_handler(handler)


def op_log_slow(spec, context):
    return _add_handler(_handler_classes()[2]())


def op_log_count(spec, context):
    return _add_handler(_handler_classes()[3]())


def op_log_off(spec, context):
    import logging

    logger = logging.getLogger(LOGGER_NAME)
    with _record_lock:
        handlers = list(HANDLERS)
        del HANDLERS[:]
    for handler in handlers:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    return {"removed": len(handlers)}


FORK_LIMIT = 40.0  # the forked child's whole check: status(), a small pool, its threads


def _forked_child(writer, expected):
    """In a child forked while the round's other operations run: it must start from a clean slate
    (no counts of its parent's, no lock of ours held for good) and make a pool of its own."""
    import concurrent.futures
    import multiprocessing

    import backport_gh115634

    facts = {}
    me = threading.current_thread()
    module = sys.modules.get(TARGET)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        # Forked while another thread was (re)executing the pool module: the stdlib's own hazard
        # (its module lock stays with a thread this child does not have), not ours to judge.
        facts["skipped"] = "forked during an import of the pool module"
        return facts
    status = backport_gh115634.status()
    facts["interventions_at_start"] = sum(status.interventions.values())
    facts["error"] = status.error
    if expected.get("pools"):
        backport_gh115634.apply()
        context = multiprocessing.get_context("spawn")  # the parent's fork server is its own
        executor = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=context, max_tasks_per_child=2
        )
        futures = [executor.submit(square, value) for value in range(4)]
        _, pending = concurrent.futures.wait(futures, timeout=FORK_LIMIT / 2)
        facts["unresolved"] = len(pending)
        executor.shutdown(wait=not pending, cancel_futures=True)
        facts["threads"] = sorted(t.name for t in threading.enumerate() if t is not me)
    return facts


def op_fork(spec, context):
    """os.fork() from this operation's thread, while the others of the round run."""
    if not hasattr(os, "fork"):
        return {"skipped": "no os.fork()"}
    import select
    import warnings

    reader, writer = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads
        pid = os.fork()
    if pid == 0:
        os.close(reader)
        # The watchdog is a signal, not a thread: a lock held for good must still end the child.
        signal.signal(signal.SIGALRM, lambda *args: os._exit(3))
        signal.alarm(int(FORK_LIMIT))
        try:
            facts = _forked_child(writer, context["expected"])
        except BaseException:
            facts = {"raised": traceback.format_exc()[-3000:]}
        os.write(writer, json.dumps(facts).encode())
        os._exit(0)
    os.close(writer)
    chunks, deadline = [], time.monotonic() + FORK_LIMIT + 10
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([reader], [], [], 0.5)
            if ready:
                chunk = os.read(reader, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(reader)
    code = None
    while time.monotonic() < deadline + 5:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            code = (
                os.waitstatus_to_exitcode(status)
                if hasattr(os, "waitstatus_to_exitcode")
                else status
            )
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    text = b"".join(chunks).decode() or "{}"
    return {"forked": json.loads(text), "exit": code}


OPERATIONS = {
    "fork": op_fork,
    "import_pool": op_import_pool,
    "import_package": op_import_package,
    "status": op_status,
    "apply": op_apply,
    "revert": op_revert,
    "reload": op_reload,
    "defer_import": op_defer_import,
    "pool": op_pool,
    "log_raise": op_log_raise,
    "log_slow": op_log_slow,
    "log_count": op_log_count,
    "log_off": op_log_off,
}


# --- rounds and the invariant check ------------------------------------------------------------


def _stacks(threads):
    frames = sys._current_frames()
    return {
        thread.name: "".join(traceback.format_stack(frames[thread.ident]))[-4000:]
        for thread in threads
        if thread.ident in frames
    }


def run_round(ops, expected):
    """Run ops concurrently; return (results, the threads still alive after their timeouts)."""
    context = {
        "expected": expected,
        "unprotecting": any(spec["op"] in UNPROTECTING_OPS for spec in ops),
        "pools": [],
    }
    results = [None] * len(ops)
    barrier = threading.Barrier(len(ops))

    def run(index, spec):
        entry = {"op": spec["op"]}
        try:
            barrier.wait(30)
            time.sleep(spec.get("delay_ms", 0) / 1000.0)
            began = time.monotonic()
            try:
                entry.update(OPERATIONS[spec["op"]](spec, context))
            finally:
                entry["ms"] = round((time.monotonic() - began) * 1000, 1)
        except BaseException as exc:
            entry["raised"] = "%s: %s" % (type(exc).__name__, exc)
            if spec["op"] == "pool" and RELOADED and _stale_class(str(exc)):
                # A pool made while the module re-executed mixes old and new classes: the
                # stdlib's own failure (see RELOAD_ERRORS), not ours.
                entry["raised_with_reload"] = entry.pop("raised")
                results[index] = entry
                return
            _record(
                ERRORS,
                {
                    "op": spec["op"],
                    "error": entry["raised"],
                    "traceback": traceback.format_exc()[-3000:],
                },
            )
        results[index] = entry

    threads = [
        threading.Thread(
            target=run, args=(index, spec), daemon=True, name="op%d-%s" % (index, spec["op"])
        )
        for index, spec in enumerate(ops)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread, spec in zip(threads, ops):
        bound = {"pool": POOL_LIMIT + 30, "fork": FORK_LIMIT + 15}.get(spec["op"], OP_TIMEOUT)
        thread.join(max(0.0, started + spec.get("delay_ms", 0) / 1000.0 + bound - time.monotonic()))
    alive = [thread for thread in threads if thread.is_alive()]
    return results, context["pools"], alive


def check(alive):
    """The facts at a quiet point, for the parent to judge: status() (which may first apply a
    pending deferral) and, after it, whether our seams are on the classes in sys.modules."""
    facts = {"imported": pool_module() is not None, "status": None, "seams": None, "checker": "ok"}
    if alive:
        facts["checker"] = "skipped: a thread of the round is still running"
        return facts, alive
    if not facts["imported"]:
        facts["checker"] = "skipped: the pool module is not imported yet"
        return facts, alive

    def run():
        try:
            import backport_gh115634

            facts["status"] = status_fields(backport_gh115634.status())
            facts["seams"] = seams_on_classes()
        except BaseException as exc:
            facts["checker"] = "raised %s: %s" % (type(exc).__name__, exc)
            _record(
                ERRORS,
                {
                    "op": "status() of the checker",
                    "error": facts["checker"],
                    "traceback": traceback.format_exc()[-3000:],
                },
            )

    checker = threading.Thread(target=run, name="checker", daemon=True)
    checker.start()
    checker.join(CHECK_TIMEOUT)
    if checker.is_alive():
        facts["checker"] = "hung: status() did not return within %ss" % CHECK_TIMEOUT
        return facts, [checker]
    return facts, alive


def reply_for(results, pools, alive):
    facts, alive = check(alive)
    with _record_lock:
        facts.update(
            {
                "ops": results,
                "pools": pools,
                "alive": [thread.name for thread in alive],
                "stacks": _stacks(alive),
                "thread_errors": list(THREAD_ERRORS),
                "reload_errors": len(RELOAD_ERRORS),
                "errors": list(ERRORS),
                "warnings": list(WARNINGS),
                "routine_records": dict(ROUTINE_COUNTS),
            }
        )
    return facts


def final(expected):
    results, pools, alive = run_round([{"op": "apply", "delay_ms": 0}], expected)
    if not alive and expected.get("pools"):
        more, pools, alive = run_round(
            [
                {
                    "op": "pool",
                    "delay_ms": 0,
                    "final": True,
                    "workers": 1,
                    "max_tasks": 2,
                    "tasks": 6,
                }
            ],
            expected,
        )
        results += more
    return reply_for(results, pools, alive)


def send(reply):
    sys.stdout.write(REPLY_PREFIX + json.dumps(reply, default=repr) + "\n")
    sys.stdout.flush()


def main():
    expected = json.loads(sys.argv[1])
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # As the installed backport_gh115634.pth does, before any of the program's own imports.
    import backport_gh115634_startup

    backport_gh115634_startup.activate("startup hook")
    threading.excepthook = _on_thread_exception
    import warnings

    warnings.showwarning = _on_warning
    send({"ready": True, "pid": os.getpid(), "pool_module_imported": TARGET in sys.modules})
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            if command["cmd"] == "round":
                reply = reply_for(*run_round(command["ops"], expected))
            elif command["cmd"] == "final":
                reply = final(expected)
            else:
                reply = {"bye": True}
        except BaseException:
            reply = {"child_error": traceback.format_exc()}
        send(reply)
        if command["cmd"] == "quit":
            break
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
