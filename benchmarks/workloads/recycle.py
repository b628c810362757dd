"""Child of bench_recycling.py:
``recycle.py CONTENDER METHOD WORKERS TASKS_PER_CHILD TASKS [--apply] [--preload]``.

Times TASKS trivial tasks (operator.mul) from pool creation to the pool joined, workers recycled
every TASKS_PER_CHILD tasks. CONTENDER is one of

* executor:  concurrent.futures.ProcessPoolExecutor(max_tasks_per_child=...), submit()/result();
             --apply calls backport_gh115634.apply() first;
* mp-pool:   multiprocessing.Pool(maxtasksperchild=...), apply_async()/get();
* pebble:    pebble.ProcessPool(max_tasks=...), schedule()/result();
* bare:      the floor: as many bare processes as the pool needs (TASKS / TASKS_PER_CHILD), at
             most WORKERS alive at once, each running its share of the tasks in-process, started
             and joined with the same context.

--preload (forkserver only) has the fork server import the contender's module once, so workers
are forked with it loaded instead of importing it each (see BENCHMARKS.md, recycling).

Nothing but the stdlib basics is imported at module level: workers import this file as their
main module, and the fork server preloads it.
"""

import json
import operator
import sys
import time


def run_share(count):
    for i in range(count):
        operator.mul(i, 2)


def executor_run(context, workers, per_child, tasks):
    import concurrent.futures

    executor = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, max_tasks_per_child=per_child
    )
    futures = [executor.submit(operator.mul, i, 2) for i in range(tasks)]
    for future in futures:
        future.result(timeout=600)
    executor.shutdown(wait=True)


def mp_pool_run(context, workers, per_child, tasks):
    pool = context.Pool(workers, maxtasksperchild=per_child)
    results = [pool.apply_async(operator.mul, (i, 2)) for i in range(tasks)]
    for result in results:
        result.get(timeout=600)
    pool.close()
    pool.join()


def pebble_run(context, workers, per_child, tasks):
    import pebble

    pool = pebble.ProcessPool(max_workers=workers, max_tasks=per_child, context=context)
    futures = [pool.schedule(operator.mul, args=(i, 2)) for i in range(tasks)]
    for future in futures:
        future.result(timeout=600)
    pool.close()
    pool.join(timeout=600)


def bare_run(context, workers, per_child, tasks):
    from multiprocessing.connection import wait

    shares = [min(per_child, tasks - start) for start in range(0, tasks, per_child)]
    running = []
    for share in shares:
        if len(running) == workers:
            ready = wait([process.sentinel for process in running], timeout=600)
            for process in [p for p in running if p.sentinel in ready]:
                process.join()
                running.remove(process)
        process = context.Process(target=run_share, args=(share,))
        process.start()
        running.append(process)
    for process in running:
        process.join(600)
    return len(shares)


RUNS = {"executor": executor_run, "mp-pool": mp_pool_run, "pebble": pebble_run, "bare": bare_run}


def main(argv):
    contender, method, workers, per_child, tasks = argv[:5]
    workers, per_child, tasks = int(workers), int(per_child), int(tasks)
    from prepared_context import prepared_context  # not at top: workers import this file

    context, applied = prepared_context(method, argv, contender, run_share)
    started = time.perf_counter()
    RUNS[contender](context, workers, per_child, tasks)
    elapsed = time.perf_counter() - started
    print("BENCH-RESULT: " + json.dumps({"seconds": elapsed, "applied": applied}))


if __name__ == "__main__":
    main(sys.argv[1:])
