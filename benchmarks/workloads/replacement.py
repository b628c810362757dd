"""Child of bench_replacement.py:
``replacement.py CONTENDER METHOD RECYCLES [--apply] [--preload]``, CONTENDER one of executor,
mp-pool, bare.

executor: a one-worker ProcessPoolExecutor(max_tasks_per_child=1) with RECYCLES + 1 tasks queued
at once, so each worker exits at its limit right after one task and its replacement runs the
next. Each task stamps its start and end; a done-callback (run by the manager thread as it takes
in the result) stamps the moment the parent has the result. Per recycle:

    gap      = next task's start - task's end   (the worker exiting -> its replacement working)
    to_parent = result in the parent - task's end (result transfer, manager wake-up)
    to_next  = next task's start - result in the parent (join the exited worker, start the
               replacement, its bootstrap and imports, fetching the next task)

mp-pool: the same with multiprocessing.Pool(1, maxtasksperchild=1) and apply_async(); its
result handler thread runs the callback that stamps the result's arrival. Its replacement path
(the pool's worker-handler thread notices the exit and starts a new process) is the reference the
executor's is compared with in benchmark 4(b).

bare: the floor for the same thing: a process runs an empty target that stamps its start and end
into a file, the parent joins it and starts the next one with the same context. gap as above;
start = target start - the parent's start() call.

Times are time.monotonic() (CLOCK_MONOTONIC, one clock for every process on the machine). One
untimed process first starts the fork server.
"""

import json
import os
import sys
import tempfile
import time


def stamp(index):
    started = time.monotonic()
    return index, started, time.monotonic()


def stamp_to_file(path):
    started = time.monotonic()
    with open(path, "w") as out:
        out.write("%r %r" % (started, time.monotonic()))


def executor_gaps(context, recycles):
    import concurrent.futures

    executor = concurrent.futures.ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1)
    received = {}

    def on_done(future, index):
        received[index] = time.monotonic()

    futures = []
    for index in range(recycles + 1):
        future = executor.submit(stamp, index)
        # Safe to add after submit(): the first result needs a worker process to start first.
        future.add_done_callback(lambda f, index=index: on_done(f, index))
        futures.append(future)
    stamps = [future.result(timeout=600) for future in futures]
    executor.shutdown(wait=True)
    return split_gaps(stamps, received)


def split_gaps(stamps, received):
    gaps = {"gap": [], "to_parent": [], "to_next": []}
    for (index, _, end), (_, next_start, _) in zip(stamps, stamps[1:]):
        gaps["gap"].append(next_start - end)
        gaps["to_parent"].append(received[index] - end)
        gaps["to_next"].append(next_start - received[index])
    return gaps


def mp_pool_gaps(context, recycles):
    received = {}

    def on_done(stamped):
        received[stamped[0]] = time.monotonic()

    pool = context.Pool(1, maxtasksperchild=1)
    results = [pool.apply_async(stamp, (index,), callback=on_done) for index in range(recycles + 1)]
    stamps = [result.get(timeout=600) for result in results]
    pool.close()
    pool.join()
    return split_gaps(stamps, received)


def bare_gaps(context, recycles):
    gaps = {"gap": [], "start": []}
    previous_end = None
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(recycles + 1):
            path = os.path.join(scratch, str(index))
            process = context.Process(target=stamp_to_file, args=(path,))
            called = time.monotonic()
            process.start()
            process.join(600)
            with open(path) as stamps:
                started, ended = map(float, stamps.read().split())
            gaps["start"].append(started - called)
            if previous_end is not None:
                gaps["gap"].append(started - previous_end)
            previous_end = ended
    return gaps


GAPS = {"executor": executor_gaps, "mp-pool": mp_pool_gaps, "bare": bare_gaps}


def main(argv):
    contender, method, recycles = argv[0], argv[1], int(argv[2])
    from prepared_context import prepared_context  # not at top: workers import this file

    context, applied = prepared_context(method, argv, contender, stamp)
    gaps = GAPS[contender](context, recycles)
    print("BENCH-RESULT: " + json.dumps({"gaps": gaps, "applied": applied}))


if __name__ == "__main__":
    main(sys.argv[1:])
