"""Reproduce, on a stock interpreter, 3.11's submit() / terminate_broken() race.

    python tests/faults/stock_submit_race.py [--rounds N] [--start-method M] [--shim]

No max_tasks_per_child, and no shim unless --shim (apply() first: the same rounds with the
package's terminate_broken() seam, to compare the rates): each round starts a two-worker pool,
lets one task kill its own worker, and keeps calling submit() from this thread while the
manager thread breaks the pool. 3.11's ``terminate_broken()`` fails and clears the pending work
without the executor's shutdown lock, which submit() holds while it checks ``_broken`` and
inserts its work item; so a submit() that passed the check can insert its item after the
clearing, and that future is never resolved (3.12 takes the lock there). PyPy 3.11 ships the
same ``process.py``.

A round counts as the race when a future whose submit() returned normally, with the pool
already marked broken by the time it returned, is still pending after the rest resolved: that is
the signature fault_run.known_stock_bugs() recognises. It also counts the race's other forms
(submit() raising OSError on the closed call queue; the manager thread dying or stuck). Every
wait is bounded, and SIGALRM ends the whole script if something still blocks.
"""

import argparse
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

ROUND_WAIT = 5.0  # a round's futures resolve in well under a second when nothing raced


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def one():
    return 1


def play_round(context):
    """One pool broken under a stream of submit()s; returns what the round showed."""
    pool = ProcessPoolExecutor(2, mp_context=context)
    pool.submit(one).result(timeout=30)  # both the manager and a worker are up
    manager = pool._executor_manager_thread
    futures, raced = [], []
    pool.submit(die)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            future = pool.submit(one)
        except BrokenProcessPool:
            break
        except OSError as exc:
            return "submit() raised %s" % type(exc).__name__, pool, manager
        futures.append(future)
        if pool._broken:
            raced.append(future)
    end = time.monotonic() + ROUND_WAIT
    while time.monotonic() < end and not all(future.done() for future in futures):
        time.sleep(0.01)
    stranded = [future for future in raced if not future.done()]
    others = [future for future in futures if not future.done() and future not in raced]
    if others:
        return "a future pending that was submitted before the pool broke", pool, manager
    if stranded:
        return "future stranded (submitted as the pool broke)", pool, manager
    manager.join(ROUND_WAIT)
    if manager.is_alive():
        return "manager thread stuck", pool, manager
    return None, pool, manager


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--start-method", default="forkserver", choices=mp.get_all_start_methods())
    parser.add_argument("--shim", action="store_true", help="apply backport_gh115634 first")
    args = parser.parse_args(argv)
    if args.shim:
        import backport_gh115634

        backport_gh115634.apply()
    signal.alarm(int(args.rounds * (ROUND_WAIT * 2 + 12)) + 60)  # the hard backstop
    context = mp.get_context(args.start_method)
    dead_threads = []
    threading.excepthook = lambda hook: dead_threads.append(
        "%s: %s" % (hook.exc_type.__name__, hook.exc_value)
    )
    seen = {}
    for number in range(args.rounds):
        found, pool, manager = play_round(context)
        if found:
            seen[found] = seen.get(found, 0) + 1
            print("round %d: %s" % (number, found), flush=True)
        pool.shutdown(wait=False)
        for process in list((pool._processes or {}).values()):
            process.kill()  # a worker nobody terminated would block the stuck manager
        manager.join(ROUND_WAIT)
    print(
        "%s %s, %s start, %s: %d rounds, %s; thread errors: %s"
        % (
            sys.implementation.name,
            sys.version.split()[0],
            args.start_method,
            "shim" if args.shim else "stock",
            args.rounds,
            ", ".join("%s %d" % item for item in sorted(seen.items())) or "no race seen",
            dead_threads or "none",
        ),
        flush=True,
    )
    # A stranded future or stuck manager would make interpreter exit wait: leave now.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
