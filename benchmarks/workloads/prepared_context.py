"""The start of every recycling workload: the context, the shim, a running fork server.

Shared by recycle.py and replacement.py, which run as the main module of a child process.
"""
import multiprocessing


def prepared_context(method, argv, preload_module, warm_target):
    """Return (context, applied) ready for timing.

    --preload (forkserver only, and only where preload_module is given): the fork server
    imports __main__ and preload_module once, so workers are forked with them loaded.
    --apply: backport_gh115634.apply() first; applied is its status().applied, else None.
    The fork server (if any) is started by running warm_target(0) in one process before the
    clock starts: every contender pays that once per program, and it is no part of recycling.
    """
    context = multiprocessing.get_context(method)
    if "--preload" in argv and method == "forkserver" and preload_module:
        context.set_forkserver_preload(["__main__", preload_module])
    applied = None
    if "--apply" in argv:
        import backport_gh115634

        applied = backport_gh115634.apply().applied
    warm = context.Process(target=warm_target, args=(0,))
    warm.start()
    warm.join(120)
    return context, applied
