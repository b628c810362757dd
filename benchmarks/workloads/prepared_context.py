"""The start of every recycling workload: the context, the shim, a running fork server.

Shared by recycle.py and replacement.py, which run as the main module of a child process.
"""

import multiprocessing

# The module each contender's workers import to run their first task: what --preload loads.
PRELOAD = {
    "executor": "concurrent.futures.process",
    "mp-pool": "multiprocessing.pool",
    "pebble": "pebble",
}


def prepared_context(method, argv, contender, warm_target):
    """Return (context, applied) ready for timing.

    --preload (forkserver only, and only for a contender in PRELOAD): the fork server imports
    __main__ and the contender's module once, so workers are forked with them loaded.
    --apply: backport_gh115634.apply() first; applied is its status().applied, else None.
    The fork server (if any) is started by running warm_target(0) in one process before the
    clock starts: every contender pays that once per program, and it is no part of recycling.
    """
    context = multiprocessing.get_context(method)
    if "--preload" in argv and method == "forkserver" and contender in PRELOAD:
        context.set_forkserver_preload(["__main__", PRELOAD[contender]])
    applied = None
    if "--apply" in argv:
        import backport_gh115634

        applied = backport_gh115634.apply().applied
    warm = context.Process(target=warm_target, args=(0,))
    warm.start()
    warm.join(120)
    return context, applied
