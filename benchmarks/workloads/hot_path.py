"""Child of bench_hot_path.py: ``hot_path.py TASKS REPS CHUNKSIZE WORKERS METHOD``.

Patched against stock in this one process: before each timed run the shim is apply()'d or
revert()'ed (the order alternating from one repetition to the next), then a fresh executor
without max_tasks_per_child has all its workers started (untimed) and runs TASKS trivial tasks:

* "batch":     submit() them all, then result() each;
* "roundtrip": submit() one, wait for its result(), then the next (every submit() then goes
               through the _adjust_process_count seam, and every result through the manager's);
* "map":       executor.map(abs, ..., chunksize=CHUNKSIZE).

The shim sits on the manager thread's wait and on submit()'s process-count check, so these are
the paths a cost would show on.
"""

import json
import sys
import time

MODES = ("batch", "roundtrip", "map")


def run_mode(executor, mode, tasks, chunksize):
    if mode == "batch":
        futures = [executor.submit(abs, -i) for i in range(tasks)]
        for future in futures:
            future.result(timeout=120)
    elif mode == "roundtrip":
        for i in range(tasks):
            executor.submit(abs, -i).result(timeout=120)
    else:
        for _ in executor.map(abs, range(tasks), chunksize=chunksize, timeout=120):
            pass


def main(tasks, reps, chunksize, workers, method):
    import concurrent.futures
    import multiprocessing

    import backport_gh115634 as shim

    context = multiprocessing.get_context(method)
    samples = {mode: {"patched": [], "stock": []} for mode in MODES}
    patched_status = shim.apply()
    for rep in range(reps):
        for mode in MODES:
            order = ["patched", "stock"] if rep % 2 == 0 else ["stock", "patched"]
            for state in order:
                if state == "patched":
                    shim.apply()
                else:
                    shim.revert()
                executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)
                # Start every worker before timing: sleeping tasks keep each one busy, so
                # submit() has to spawn the next.
                for future in [executor.submit(time.sleep, 0.05) for _ in range(workers)]:
                    future.result(timeout=120)
                started = time.perf_counter()
                run_mode(executor, mode, tasks, chunksize)
                samples[mode][state].append(time.perf_counter() - started)
                executor.shutdown(wait=True)
    shim.revert()
    print(
        "BENCH-RESULT: "
        + json.dumps(
            {
                "samples": samples,
                "patched": patched_status.applied,
                "shape": patched_status.shape,
                "python": patched_status.python,
            }
        )
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:5]), sys.argv[5])
