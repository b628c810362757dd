"""One seeded fault run, in its own process: ``fault_run.py SEED [--start-method M] [--stock]``.

Builds the workload and faults from the seed (fault_plan.py), applies the shim (unless --stock),
runs the pool while injecting the faults, then checks what must hold after any abuse:

* every future is resolved (result, exception or cancelled), and with an outcome the injected
  faults allow (no BrokenProcessPool without a fault that breaks the pool, no cancellation
  without a cancelling one, every returned value right);
* the manager thread has exited, no worker process is alive, no thread died with an exception;
* (apply/revert race) apply() and revert() never raised, the final revert() put back exactly
  the stdlib objects found at the start, and no pool was left stranded: whatever a reverted
  window stranded, the apply() that ends it wakes the manager threads, which resume the pool
  (the shim's rescue; counted in status().interventions["rescue"], reported in the verdict).

SIGKILL is injected at points where a worker holds no queue lock: a task that kills its own
worker, or a "victim" task killed from outside while it runs. A worker killed inside a queue
operation (after sending its last result, before releasing the result queue's write lock) leaves
that lock held forever and deadlocks the other workers, in every CPython version, fixed or not:
the stdlib cannot survive it and no shim can, so the suite does not inject it.

Upstream bugs outside the shim's scope are recognised by signature (known_stock_bugs()) and
reported instead of failing the run; every future must still resolve, except the one form of
3.11's terminate_broken() race that strands a future submitted as the pool broke.

The last line printed is ``FAULT-VERDICT: {json}``; the exit status is 1 when it lists
violations. The parent (seed_run.py) also reads stderr for the resource tracker's "leaked
semaphore" report, printed when this process exits. Every wait here has a timeout; a pool that
never resolves its futures is killed and reported, and the parent's deadline is the backstop.

Worker processes import this file as their main module: keep its top level free of side effects
and of imports beyond the stdlib.
"""

import concurrent.futures
import errno
import gc
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import weakref

import fault_plan
from proc_state import live_descendants, process_state, thread_state

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import failing_start

VERDICT_PREFIX = "FAULT-VERDICT: "
# The form of 3.11's terminate_broken() race that leaves a future unresolved (known_stock_bugs()).
STRANDED_FORM = "futures stranded as the pool broke"
HANG_WINDOW = float(os.environ.get("BACKPORT_FAULT_HANG_WINDOW", "30"))


# --- what runs in the workers -------------------------------------------------------------

if __name__ == "__mp_main__":
    # A worker (or the fork server, whose children inherit this): SIGUSR1 prints its stacks to
    # stderr, which the parent shows when a run fails with work left pending.
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)

VICTIM_WAIT = 60  # a victim task is killed long before this
VICTIM_PATIENCE = 5  # how long a sigkill_worker fault waits for its victim to start


def task(index, duration, action, scratch):
    if action == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "victim":
        path = os.path.join(scratch, "victim-%d" % index)
        with open(path + ".tmp", "w") as out:
            out.write(str(os.getpid()))
        os.replace(path + ".tmp", path)  # the runner never reads a half-written pid
        time.sleep(VICTIM_WAIT)
    if duration:
        time.sleep(duration)
    if action == "raise":
        raise ValueError("injected task failure %d" % index)
    return index * 7 + 1


def expected_value(index):
    return index * 7 + 1


def initializer(claim_dir, fail_at):
    """Claim the next worker-start number (a file created exclusively); the fail_at-th raises."""
    number = 1
    while True:
        try:
            os.close(
                os.open(os.path.join(claim_dir, str(number)), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            )
            break
        except FileExistsError:
            number += 1
    if number == fail_at:
        raise RuntimeError("injected initializer failure at worker start %d" % number)


# --- a context whose replacement spawns can fail ------------------------------------------

SPAWN_FAILURE = {"fail_at": 0, "always": False, "count": 0}
_spawn_lock = threading.Lock()


def _before_start():
    # Only starts from the manager thread (replacements) fail: a start from submit() raising
    # would be the stdlib's own submit path, which the shim does not change.
    if threading.current_thread() is not threading.main_thread():
        with _spawn_lock:
            SPAWN_FAILURE["count"] += 1
            number = SPAWN_FAILURE["count"]
        fail_at = SPAWN_FAILURE["fail_at"]
        if fail_at and (number == fail_at or (SPAWN_FAILURE["always"] and number > fail_at)):
            raise OSError(errno.EAGAIN, "injected failure of replacement start %d" % number)


# --- bookkeeping ----------------------------------------------------------------------------


class Errors:
    """Exceptions from other threads and unraisable ones, recorded instead of printed."""

    def __init__(self):
        self.threads = []
        self.tracebacks = []
        self.unraisable = []

    def install(self):
        threading.excepthook = self._thread
        sys.unraisablehook = self._unraisable

    def _thread(self, args):
        self.threads.append(
            "%s in thread %s: %s"
            % (args.exc_type.__name__, getattr(args.thread, "name", "?"), args.exc_value)
        )
        self.tracebacks.append(
            "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))[
                -2500:
            ]
        )

    def _unraisable(self, args):
        self.unraisable.append(
            "%s: %s (%r)" % (getattr(args.exc_type, "__name__", "?"), args.exc_value, args.object)
        )


def call_with_timeout(function, timeout, tick=None):
    """Run function on a daemon thread; return (finished, error text or None). tick, if given,
    is called every 10 ms meanwhile."""
    outcome = {}

    def target():
        try:
            function()
        except BaseException as exc:
            outcome["error"] = "%s: %s" % (type(exc).__name__, exc)

    thread = threading.Thread(target=target, name="fault-call", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        if tick is not None:
            tick()
        thread.join(0.01)
    return not thread.is_alive(), outcome.get("error")


def helper_pids():
    """The fork server and resource tracker: long-lived by design, they exit with us."""
    pids = []
    try:
        from multiprocessing import forkserver

        pids.append(getattr(forkserver._forkserver, "_forkserver_pid", None))
    except ImportError:
        pass
    from multiprocessing import resource_tracker

    pids.append(getattr(resource_tracker._resource_tracker, "_pid", None))
    return [pid for pid in pids if pid]


# --- the apply/revert race ------------------------------------------------------------------


class Racer:
    """Threads that revert() and apply() in a loop until stopped; apply() always comes last."""

    def __init__(self, shim, parameters):
        self.shim = shim
        self.parameters = parameters
        self.stop_event = threading.Event()
        self.errors = []
        self.toggles = 0
        self.threads = [
            threading.Thread(
                target=self._loop, args=(parameters["seed"] + n,), name="racer-%d" % n, daemon=True
            )
            for n in range(parameters["threads"])
        ]

    def start(self):
        for thread in self.threads:
            thread.start()

    def _loop(self, seed):
        rng = random.Random(seed)
        while not self.stop_event.is_set():
            try:
                self.shim.revert()
                time.sleep(rng.uniform(0, self.parameters["reverted_max"]))
                self.shim.apply()
                self.toggles += 1
            except Exception as exc:
                self.errors.append("%s: %s" % (type(exc).__name__, exc))
                return
            self.stop_event.wait(rng.uniform(0, self.parameters["applied_max"]))

    def stop(self):
        """Stop every thread, then apply() from here so the fix is in place from now on."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        for thread in self.threads:
            thread.join(10)
            if thread.is_alive():
                self.errors.append("racer thread %s did not stop" % thread.name)
        try:
            self.shim.apply()
        except Exception as exc:
            self.errors.append("final apply(): %s: %s" % (type(exc).__name__, exc))


# --- the run --------------------------------------------------------------------------------


class FaultRun:
    def __init__(self, plan, shim, errors):
        self.plan = plan
        self.faults = plan["faults"]
        self.shim = shim
        self.errors = errors
        self.executor = None
        self.executor_ref = None
        self.manager_thread = None
        self.futures = {}  # task index -> future
        self.submit_errors = []
        self.submitted_as_broke = []  # submit() returned normally, the pool broken by then
        self.fired = []  # names of the faults that took effect
        self.notes = []  # faults that found nothing to act on, and why
        self.handled = set()  # triggered faults already fired (or found nothing to do)
        self.victim_killed = False
        self.submitting = True
        self.racer = None
        self.scratch = tempfile.mkdtemp(prefix="fault-run-")
        self.verdict = {
            "seed": plan["seed"],
            "plan": fault_plan.describe(plan),
            "faults_planned": list(self.faults),
        }

    # building and feeding the pool

    def _context(self):
        method = self.plan["start_method"]
        spawn = self.faults.get("spawn_fails")
        if spawn is None:
            return mp.get_context(method)
        SPAWN_FAILURE.update(fail_at=spawn["fail_at"], always=spawn["always"], count=0)
        failing_start.before_start = _before_start
        return failing_start.failing_context(method)

    def _build(self):
        kwargs = {
            "mp_context": self._context(),
            "max_tasks_per_child": self.plan["max_tasks_per_child"],
        }
        if self.plan["use_initializer"]:
            claim_dir = os.path.join(self.scratch, "starts")
            os.mkdir(claim_dir)
            fail_at = self.faults.get("initializer_raises", {}).get("fail_at", 0)
            kwargs.update(initializer=initializer, initargs=(claim_dir, fail_at))
        self.executor = concurrent.futures.ProcessPoolExecutor(self.plan["max_workers"], **kwargs)
        self.executor_ref = weakref.ref(self.executor)

    def _submit(self, index):
        try:
            future = self.executor.submit(
                task,
                index,
                self.plan["durations"][index],
                self.plan["task_actions"][index],
                self.scratch,
            )
        except Exception as exc:
            # Only the type and text are kept: the traceback would keep the executor alive.
            self.submit_errors.append([index, type(exc).__name__, str(exc)])
            self.submitting = False
            return
        self.futures[index] = future
        if self.executor._broken:
            # It passed submit()'s broken check before the pool broke (a check after the
            # break raises): on 3.11 its work item may be inserted after terminate_broken()
            # failed and cleared the pending work (see known_stock_bugs()).
            self.submitted_as_broke.append(index)
        if self.manager_thread is None:
            self.manager_thread = self.executor._executor_manager_thread

    def _triggered_at(self, index):
        return [
            (name, parameters)
            for name, parameters in self.faults.items()
            if name in fault_plan.TRIGGERED and parameters["at"] == index
        ]

    def _kill_victim(self):
        """Kill the worker running the victim task if it has started; True once killed."""
        if self.victim_killed:
            return True
        kill = self.faults.get("sigkill_worker")
        path = os.path.join(self.scratch, "victim-%d" % kill["victim"])
        if not os.path.exists(path):
            return False
        with open(path) as source:
            pid = int(source.read())
        self.victim_killed = True
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # a broken pool terminated it first
            self.notes.append("sigkill_worker: the victim's worker was already gone")
            return True
        self.fired.append("sigkill_worker")
        return True

    def _tick(self):
        """While waiting for the pool: a victim that starts after its fault fired dies too."""
        if "sigkill_worker" in self.faults and "sigkill_worker" in self.handled:
            self._kill_victim()

    def _await_victim(self, index):
        """Wait (bounded) for the victim task to start and kill its worker. Gives up when it
        cannot start any more (cancelled, failed); _wait() kills it if it starts later."""
        future = self.futures.get(index)
        deadline = time.monotonic() + VICTIM_PATIENCE
        while time.monotonic() < deadline:
            if self._kill_victim():
                return
            if future is None or future.done():
                break
            time.sleep(0.002)
        self.notes.append("sigkill_worker: the victim task had not started when the fault fired")

    def _fire(self, name, parameters):
        if name in self.handled:
            return
        self.handled.add(name)
        kill = self.faults.get("sigkill_worker")
        if name in fault_plan.ENDING and kill and kill["victim"] in self.futures:
            # The victim waits to be killed: kill it first, or a shutdown(wait=True) would
            # wait for it.
            self._fire("sigkill_worker", dict(kill, delay=0))
        if name == "sigkill_worker":
            if parameters["delay"]:
                time.sleep(parameters["delay"])
            # Needs no executor: a dropped executor's workers still run its queued tasks.
            self._await_victim(parameters["victim"])
            return
        if parameters["delay"]:
            time.sleep(parameters["delay"])
        if name in fault_plan.ENDING and self.racer is not None:
            # From the first ending fault on, the fix stays applied (see the module docstring
            # of seed_run.py for why a race run ends this way).
            self.racer.stop()
        executor = self.executor
        if executor is None:
            self.notes.append(name + ": skipped, the executor was dropped")
            return
        if name == "shutdown_nowait":
            executor.shutdown(wait=False)
        elif name == "shutdown_cancel":
            if parameters["wait"] and self.racer is None:
                finished, _error = call_with_timeout(
                    lambda: executor.shutdown(wait=True, cancel_futures=True),
                    HANG_WINDOW,
                    self._tick,
                )
                if not finished:
                    self.verdict["shutdown_hung"] = True
            else:
                executor.shutdown(wait=False, cancel_futures=True)
        elif name == "drop_executor":
            del executor
            self.executor = None
            # A collection can find the manager thread holding the executor for a moment.
            # Reference counting frees it once that goes; without (PyPy) only a later GC does,
            # and an idle pool may never see one: collect until it is gone (bounded).
            for _ in range(100):
                gc.collect()
                if self.executor_ref() is None:
                    break
                time.sleep(0.05)
            self.verdict["collected"] = self.executor_ref() is None
        elif name == "terminate_workers":
            executor.terminate_workers()
        elif name == "kill_workers":
            executor.kill_workers()
        self.fired.append(name)
        if name in fault_plan.ENDING:
            self.submitting = False

    # waiting

    def _wait(self):
        """Wait for every future; return "done", or "hung" once HANG_WINDOW passed with none
        resolving. A stall, not the total: on a loaded machine a run that recycles a worker
        per task can take longer than the window while it keeps resolving futures (PyPy's
        seed 31 took 42 s at load 8-12); a hang resolves none. The parent's deadline bounds
        the whole."""
        pending = set(self.futures.values())
        last_progress = time.monotonic()
        while True:
            # done(), not wait()'s verdict: wait() never counts a future that
            # shutdown(cancel_futures=True) cancelled, since nobody notifies it.
            still = {future for future in pending if not future.done()}
            if not still:
                return "done"
            if len(still) < len(pending):
                last_progress = time.monotonic()
            pending = still
            if time.monotonic() - last_progress > HANG_WINDOW:
                return "hung"
            self._tick()
            concurrent.futures.wait(pending, timeout=0.1, return_when="FIRST_COMPLETED")

    # the whole run

    def execute(self):
        self._build()
        if "race" in self.faults:
            self.racer = Racer(self.shim, self.faults["race"])
            self.racer.start()
        started = time.monotonic()
        for index in range(len(self.plan["durations"]) + 1):
            for name, parameters in self._triggered_at(index):
                self._fire(name, parameters)
            if index < len(self.plan["durations"]) and self.submitting:
                self._submit(index)
        if self.racer is not None:
            remaining = self.faults["race"]["stop_after"] - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
            self.racer.stop()
        state = self._wait()
        self.verdict["wait"] = state
        if state == "done" and self.executor is not None:
            executor = self.executor
            finished, error = call_with_timeout(
                lambda: executor.shutdown(wait=True), HANG_WINDOW, self._tick
            )
            del executor
            if not finished:
                self.verdict["shutdown_hung"] = True
            if error:
                self.verdict["shutdown_error"] = error
        if self.manager_thread is not None:
            stuck = state != "done" or self.verdict.get("shutdown_hung")
            self.manager_thread.join(1 if stuck else HANG_WINDOW)
        self.verdict["elapsed"] = round(time.monotonic() - started, 3)
        self._collect_evidence()
        shutil.rmtree(self.scratch, ignore_errors=True)
        return self.verdict

    def _collect_evidence(self):
        verdict = self.verdict
        verdict["faults_fired"] = self.fired
        verdict["notes"] = self.notes
        verdict["submit_errors"] = self.submit_errors
        verdict["submitted_as_broke"] = self.submitted_as_broke
        verdict["outcomes"] = {index: outcome(future) for index, future in self.futures.items()}
        verdict["manager_alive"] = bool(self.manager_thread and self.manager_thread.is_alive())
        if verdict["manager_alive"]:
            # Where it is stuck: the first thing to know when reading a failure.
            frame = sys._current_frames().get(self.manager_thread.ident)
            verdict["manager_stack"] = traceback.format_stack(frame) if frame else None
            manager = self.manager_thread
            verdict["manager_state"] = {
                "processes": {
                    pid: process.is_alive() for pid, process in dict(manager.processes).items()
                },
                "pending_work_items": sorted(dict(manager.pending_work_items)),
            }
            # Below the Python stack: the system call it sits in (vfork? futex?).
            verdict["manager_native"] = thread_state(manager.native_id)
        deadline = time.monotonic() + 10
        helpers = helper_pids()
        alive = live_descendants(helpers)
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            mp.active_children()  # reaps exited workers
            alive = live_descendants(helpers)
        verdict["children_alive"] = alive
        if verdict["manager_alive"] and alive:
            # A child that has not exec'd yet still shows our command line.
            verdict["children_native"] = {pid: process_state(pid) for pid in alive[:8]}
        verdict["thread_errors"] = self.errors.threads
        verdict["thread_tracebacks"] = self.errors.tracebacks
        verdict["unraisable"] = self.errors.unraisable
        verdict["interventions"] = dict(self.shim.status().interventions)
        if self.racer is not None:
            verdict["racer_errors"] = self.racer.errors
            verdict["racer_toggles"] = self.racer.toggles


def outcome(future):
    if not future.done():
        return ["pending"]
    if future.cancelled():
        return ["cancelled"]
    error = future.exception()
    if error is not None:
        return ["error", type(error).__name__, str(error)[:120]]
    return ["ok", future.result()]


# --- judging --------------------------------------------------------------------------------


def _closed_queue_error(name, message):
    # spawn: the closed pipe fails when pickled ("handle is closed") or when passed to the child
    # (fds_to_keep); forkserver: sending its fd to the fork server fails with EBADF.
    return (
        name == "OSError"
        and ("handle is closed" in message or "[Errno %d]" % errno.EBADF in message)
    ) or (name == "ValueError" and "bad value(s) in fds_to_keep" in message)


def known_stock_bugs(verdict, plan=None):
    """Upstream bugs outside what the shim backports, recognised by their exact signature.

    Returns {name: the violations it explains}. They are reported in the verdict (and counted
    by fault_batch.py) instead of failing the run; the futures must still all resolve, but for
    the stranded form below, excused only for futures submitted as the pool broke. Remove an
    entry once the shim covers its bug.

    3.11's race is one the shim covers now (its terminate_broken() seam, gh-109047): it is
    excused only where the stock code ran, in a --stock run or in the revert() windows of a run
    with the apply/revert race; anywhere else it is a regression.
    """
    found = {}
    status = verdict.get("status", {})
    stock_break_path = not status.get("applied") or "race" in (plan or {}).get("faults", {})
    if stock_break_path and status.get("python", "").startswith(("CPython 3.11.", "PyPy 3.11.")):
        # (PyPy 3.11 ships CPython 3.11's concurrent/futures/process.py, this bug included.)
        # 3.11's _ExecutorManagerThread.terminate_broken() runs without the shutdown lock
        # (3.12 takes it), so a submit() racing with a pool that just broke spawns a worker
        # while the manager iterates self.processes (the manager thread dies on "dictionary
        # changed size during iteration", leaving workers unterminated) or after it did (the
        # manager joins a worker nobody terminated, forever), or the submit() itself fails to
        # start a worker with the call queue whose reader the manager has just closed.
        # Reproduced without the shim and without max_tasks_per_child (SIGKILL one worker of a
        # forkserver pool, then submit() in a loop): 1 of 26 rounds raised OSError(EBADF) from
        # submit(), and a later round hung.
        explained = set()
        if any(
            "in terminate_broken" in text and "changed size during iteration" in text
            for text in verdict["thread_tracebacks"]
        ):
            explained |= {"thread error in terminate_broken", "children alive"}
        stack = "".join(verdict.get("manager_stack") or ())
        if "in terminate_broken" in stack and "in join_executor_internals" in stack:
            explained |= {"manager alive", "children alive", "shutdown hung"}
        if any(_closed_queue_error(name, message) for _, name, message in verdict["submit_errors"]):
            explained.add("submit error on a closed call queue")
        pending = {
            int(index) for index, result in verdict["outcomes"].items() if result == ["pending"]
        }
        if (
            pending
            and pending <= set(verdict.get("submitted_as_broke", ()))
            and not verdict["manager_alive"]
        ):
            # The third form: a submit() that passed the broken check inserted its work item
            # after terminate_broken() had failed and cleared the pending ones, and the manager
            # thread, gone, never sees it. Only futures submitted as the pool broke qualify.
            # Reproduced on stock PyPy 3.11 (1 of 200 rounds of stock_submit_race.py).
            explained.add(STRANDED_FORM)
        if explained:
            found["3.11 terminate_broken() races with submit() (no shutdown lock)"] = explained
    return found


def violations(plan, verdict):
    """What went wrong, as sentences; empty when the run upheld every invariant."""
    faults = plan["faults"]
    fired = set(verdict["faults_fired"])
    task_level = {
        name for name in ("sigkill_task", "initializer_raises", "spawn_fails") if name in faults
    }
    may_break = bool((fired | task_level) & set(fault_plan.BREAKING))
    may_cancel = bool(fired & set(fault_plan.CANCELLING))
    known = known_stock_bugs(verdict, plan)
    verdict["known_stock_bugs"] = sorted(known)
    excused = set().union(*known.values()) if known else set()
    verdict["stock_bug_forms"] = sorted(excused)
    found = []
    pending = [index for index, result in verdict["outcomes"].items() if result == ["pending"]]
    if pending and STRANDED_FORM not in excused:
        found.append(
            "%d futures never resolved (tasks %s)"
            % (len(pending), ", ".join(map(str, sorted(pending))))
        )
    for index, result in sorted(verdict["outcomes"].items()):
        action = plan["task_actions"][index]
        kind = result[0]
        if kind == "ok":
            if action in ("sigkill", "victim"):
                found.append("task %d killed its worker yet returned %r" % (index, result[1]))
            elif result[1] != expected_value(index):
                found.append(
                    "task %d returned %r, not %r" % (index, result[1], expected_value(index))
                )
        elif kind == "cancelled" and not may_cancel:
            found.append("task %d cancelled without a cancelling fault" % index)
        elif kind == "error":
            if result[1] == "ValueError" and action == "raise":
                continue
            if result[1] == "BrokenProcessPool" and may_break:
                continue
            found.append("task %d failed unexpectedly: %s: %s" % (index, result[1], result[2]))
    for index, name, message in verdict["submit_errors"]:
        if name == "BrokenProcessPool" and may_break:
            continue
        if (
            "submit error on a closed call queue" in excused
            and may_break
            and _closed_queue_error(name, message)
        ):
            continue
        found.append("submit(%d) raised %s: %s" % (index, name, message))
    if verdict.get("shutdown_hung") and "shutdown hung" not in excused:
        found.append("shutdown() did not return within %ss" % HANG_WINDOW)
    if verdict.get("shutdown_error"):
        found.append("shutdown() raised " + verdict["shutdown_error"])
    if verdict["manager_alive"] and "manager alive" not in excused:
        found.append("the manager thread is still alive")
    if verdict["children_alive"] and "children alive" not in excused:
        found.append("processes left alive: %s" % verdict["children_alive"])
    found += [
        "thread error: " + text
        for text, trace in zip(verdict["thread_errors"], verdict["thread_tracebacks"])
        if not ("thread error in terminate_broken" in excused and "in terminate_broken" in trace)
    ]
    found += ["unraisable: " + text for text in verdict["unraisable"]]
    found += ["apply()/revert() race: " + text for text in verdict.get("racer_errors", ())]
    if verdict["interventions"]["rescue"] and "race" not in faults:
        # Only the stock code strands a pool; with the fix applied throughout, none is.
        found.append("a pool was rescued without a race: %s" % verdict["interventions"])
    if verdict.get("restored") is False:
        found.append("revert() after the race did not restore the stdlib objects")
    return found


# --- main -----------------------------------------------------------------------------------


def snapshot(process):
    """The attributes of the classes the shim may patch, to compare after the race."""
    return {
        cls.__name__: dict(vars(cls))
        for cls in (process.ProcessPoolExecutor, process._ExecutorManagerThread)
    }


def finish(verdict, found, manager_thread):
    verdict["violations"] = found
    if verdict["children_alive"]:
        # Nothing will tell a leftover worker to stop, and interpreter exit would join it; a
        # manager thread stuck joining it gets going again once it is gone. First its stacks.
        for pid in verdict["children_alive"]:
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        for pid in live_descendants(helper_pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        mp.active_children()
        if manager_thread is not None:
            manager_thread.join(10)
            if verdict["manager_alive"]:
                # A manager waiting in vfork() for a child that never exec'd is freed by the
                # child's death; one blocked on something of its own is not.
                verdict["manager_freed_by_kill"] = not manager_thread.is_alive()
    print(VERDICT_PREFIX + json.dumps(verdict), flush=True)
    if (manager_thread is not None and manager_thread.is_alive()) or any(
        item == ["pending"] for item in verdict["outcomes"].values()
    ):
        # Interpreter exit would join the stuck manager thread forever: leave now (with the
        # verdict's status: a stranded future that known_stock_bugs() explains is no failure).
        os._exit(1 if found else 0)
    return 1 if found else 0


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=int)
    parser.add_argument("--start-method", choices=fault_plan.START_METHODS)
    parser.add_argument(
        "--stock",
        action="store_true",
        help="leave the stdlib unpatched (to see what the stock pool does)",
    )
    args = parser.parse_args(argv)

    errors = Errors()
    errors.install()
    import concurrent.futures.process as process
    import warnings

    import backport_gh115634

    # revert() warns only when someone else replaced our functions: here that is a bug.
    warnings.simplefilter("error", backport_gh115634.BackportWarning)
    before = snapshot(process)
    status = backport_gh115634.status() if args.stock else backport_gh115634.apply()
    plan = fault_plan.make_plan(
        args.seed, hasattr(process.ProcessPoolExecutor, "kill_workers"), args.start_method
    )
    if args.stock and "race" in plan["faults"]:
        del plan["faults"]["race"]
    run = FaultRun(plan, backport_gh115634, errors)
    verdict = run.execute()
    verdict["status"] = {"shape": status.shape, "applied": status.applied, "python": status.python}
    if "race" in plan["faults"]:
        backport_gh115634.revert()
        verdict["restored"] = snapshot(process) == before
    return finish(verdict, violations(plan, verdict), run.manager_thread)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
