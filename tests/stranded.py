"""Tell a stranded process pool by its state instead of waiting out a window.

gh-115634 strands a pool the same way every time: its workers have all exited and no replacement
was started, so the manager thread's process table is empty while work is pending, and stays so
(nothing but a submit(), or apply() on our side, starts a worker again). A pool that is merely
slow (a slow first start on PyPy or under coverage, a busy machine) has a process in its table.
So a pool whose table has been empty with work pending for `still` seconds on end, its manager
thread blocked in its wait all along, is stranded. The manager takes a retiring worker out of
its table before it joins that process, and a spawned worker's interpreter can take a while to
end (a loaded machine, a slow interpreter, coverage saving its data): an empty table while the
manager is joining or replacing a worker is no strand.

The one copy of this for the scenarios (scenarios/pool_scenario.py) and the programs the tests
run in venvs (test_activation.py sends its source along): stdlib only, no pytest, nothing of
the package, so a program that must import nothing of ours can run it as it is.
"""

import sys
import time

# A replacement is spawned by the manager thread right after it reaps the worker that exited:
# with the manager back in its wait, the table is empty for the time of one Process.start() at
# most, far below this.
STILL_WINDOW = 1.5
# The manager loop's one blocking wait (the stdlib's method, or a seam of the same name).
WAIT_METHOD = "wait_result_broken_or_wakeup"


def running_in(thread, names):
    """True if the thread is, right now, inside a function whose name is among names."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name in names:
            return True
        frame = frame.f_back
    return False


def in_its_wait(manager):
    """True if the manager thread is inside its loop's wait, or has ended (it starts no worker
    either way); False while it handles a result, joins a worker or spawns one."""
    return not manager.is_alive() or running_in(manager, (WAIT_METHOD,))


def wait_done_or_stranded(futures, managers, limit, still=STILL_WINDOW):
    """Wait until every future is done, until the pools are stranded (work pending and no worker
    process left in any manager's table, every manager in its wait, for `still` seconds on
    end), or `limit` seconds.

    `managers` are the pools' manager threads (executor._executor_manager_thread, taken after
    the first submit()): they keep their process table even after shutdown(wait=False), where
    the executor drops its own. Returns (done, stranded): how many futures are done, and whether
    the wait ended because the pools were stranded."""
    deadline = time.monotonic() + limit
    stranded_since = None
    while time.monotonic() < deadline:
        done = sum(future.done() for future in futures)
        if done == len(futures):
            return done, False
        if any(manager.processes for manager in managers) or not all(
            in_its_wait(manager) for manager in managers
        ):
            stranded_since = None
        elif stranded_since is None:
            stranded_since = time.monotonic()
        elif time.monotonic() - stranded_since > still:
            return done, True
        time.sleep(0.01)
    return sum(future.done() for future in futures), False
