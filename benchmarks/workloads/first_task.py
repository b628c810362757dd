"""Child of bench_worker_start.py: ``first_task.py METHOD ROUNDS``.

Each round makes a fresh one-worker ProcessPoolExecutor and times submit() -> first result: the
start of a new worker process up to its first task done. One untimed round first, so the fork
server (forkserver) is already running when the timed rounds begin.

Nothing from concurrent.futures is imported at module level on purpose: workers import this file
as their main module, and under forkserver the fork server preloads it. Importing the executor
here would load concurrent.futures.process (and fire the shim's import hook) once in the fork
server instead of in every worker, hiding exactly the per-worker cost this measures.
"""

import json
import sys
import time


def main(method, rounds):
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context(method)
    samples = []
    for round_number in range(rounds + 1):
        executor = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        started = time.perf_counter()
        future = executor.submit(abs, -1)
        future.result(timeout=120)
        elapsed = time.perf_counter() - started
        executor.shutdown(wait=True)
        if round_number:
            samples.append(elapsed)
    # Asked after the timed rounds: the hook hands over to the implementation without loading
    # the public package, so its absence from sys.modules says nothing.
    try:
        import backport_gh115634
    except ImportError:  # the venv without the package
        applied = False
    else:
        applied = backport_gh115634.status().applied
    print("BENCH-RESULT: " + json.dumps({"samples": samples, "shim_applied": applied}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
