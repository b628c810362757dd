"""Tell a stranded process pool by its state instead of waiting out a window.

gh-115634 strands a pool the same way every time: its workers have all exited and no replacement
was started, so the manager thread's process table is empty while work is pending, and stays so
(nothing but a submit(), or apply() on our side, starts a worker again). A pool that is merely
slow (a slow first start on PyPy or under coverage, a busy machine) has a process in its table.
So a pool whose table has been empty with work pending for `still` seconds on end is stranded:
a replacement follows a worker's exit at once, never 1.5 s later.

The one copy of this for the scenarios (scenarios/pool_scenario.py) and the programs the tests
run in venvs (test_activation.py sends its source along): stdlib only, no pytest, nothing of
the package, so a program that must import nothing of ours can run it as it is.
"""

import time

# A replacement is spawned by the manager thread right after it reaps the worker that exited:
# the table is empty for the time of one Process.start(), far below this.
STILL_WINDOW = 1.5


def wait_done_or_stranded(futures, managers, limit, still=STILL_WINDOW):
    """Wait until every future is done, until the pools are stranded (work pending and no worker
    process left in any manager's table for `still` seconds on end), or `limit` seconds.

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
        if any(manager.processes for manager in managers):
            stranded_since = None
        elif stranded_since is None:
            stranded_since = time.monotonic()
        elif time.monotonic() - stranded_since > still:
            return done, True
        time.sleep(0.01)
    return sum(future.done() for future in futures), False
