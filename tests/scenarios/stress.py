"""Stress our own state from many threads at once: ``stress.py MODE START_METHOD``.

Runs in a child process (tests/test_stress.py gives it a hard deadline). Meaningful without the
GIL (a free-threaded build), run everywhere. The last line printed is ``STRESS-RESULT: {json}``.

MODE "import": several threads import concurrent.futures.process for the first time at once,
with the start-up hook armed. The hook must fire exactly once and apply once.

MODE "pools": threads submit to several recycling pools at once while other threads call
apply() / revert() / status(). After the racers stop and a last apply(), every future must
resolve with its own result; nothing may raise.
"""

import json
import sys
import threading
import time

RESULT_PREFIX = "STRESS-RESULT: "
gil_at_start = getattr(sys, "_is_gil_enabled", lambda: True)()


def report(**fields):
    fields["gil_at_start"] = gil_at_start
    fields["gil_at_end"] = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(RESULT_PREFIX + json.dumps(fields), flush=True)


def mode_import(threads=8):
    import _backport_gh115634.patch as patch
    import backport_gh115634_startup as startup

    # Count what the start-up module's loader reports executed and what it hands over.
    executed, handed = [], []
    real_executed, real_on_import = startup._executed, patch.on_import

    def counting_executed(module):
        executed.append(module is not None)
        return real_executed(module)

    def counting_on_import(module=None):
        handed.append(module is not None)
        return real_on_import(module)

    startup._executed = counting_executed
    patch.on_import = counting_on_import
    startup.activate("startup hook")
    barrier = threading.Barrier(threads)
    errors = []

    def importer():
        try:
            barrier.wait(30)
            import concurrent.futures.process as process

            assert process.ProcessPoolExecutor is not None
        except BaseException as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=importer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    status = patch.status()
    originals = sorted(
        {
            type(value).__name__ + ":" + getattr(value, "__module__", "?")
            for value in patch.originals().values()
        }
    )
    report(
        errors=errors,
        alive=sum(w.is_alive() for w in workers),
        fired=len(executed),
        handed=len(handed),
        hook_error=startup.hook_error,
        applied=status.applied,
        originals=originals,
        finders=sum(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path),
    )


def square(value):
    return value * value


def mode_pools(method, pools=3, submitters=4, tasks=60, racers=3, race_seconds=3.0):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import backport_gh115634

    backport_gh115634.apply()
    context = multiprocessing.get_context(method)
    executors = [
        ProcessPoolExecutor(2, mp_context=context, max_tasks_per_child=2) for _ in range(pools)
    ]
    futures, errors, toggles = [], [], [0]
    lock = threading.Lock()
    stop = threading.Event()
    barrier = threading.Barrier(submitters + racers)

    def submitter(index):
        try:
            barrier.wait(30)
            for n in range(tasks):
                value = index * 1000 + n
                future = executors[(index + n) % pools].submit(square, value)
                with lock:
                    futures.append((value, future))
        except BaseException as exc:
            errors.append("submitter: %r" % exc)

    def racer(index):
        try:
            barrier.wait(30)
            calls = (backport_gh115634.apply, backport_gh115634.revert, backport_gh115634.status)
            n = index
            while not stop.is_set():
                calls[n % len(calls)]()
                n += 1
                with lock:
                    toggles[0] += 1
                time.sleep(0.001)
        except BaseException as exc:
            errors.append("racer: %r" % exc)

    threads = [threading.Thread(target=submitter, args=(i,)) for i in range(submitters)]
    threads += [threading.Thread(target=racer, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    time.sleep(race_seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    final = backport_gh115634.apply()  # rescues a pool a revert() window left without a worker
    deadline = time.monotonic() + 60
    wrong, pending, failed = [], 0, []
    for value, future in futures:
        try:
            result = future.result(timeout=max(0.0, deadline - time.monotonic()))
            if result != value * value:
                wrong.append([value, result])
        except TimeoutError:
            pending += 1
        except Exception as exc:
            failed.append("%s: %s" % (type(exc).__name__, exc))
    for executor in executors:
        if pending:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
        executor.shutdown(wait=not pending, cancel_futures=bool(pending))
    report(
        errors=errors,
        alive=sum(t.is_alive() for t in threads),
        submitted=len(futures),
        expected=submitters * tasks,
        wrong=wrong,
        pending=pending,
        failed=failed[:5],
        toggles=toggles[0],
        applied=final.applied,
        error=final.error,
    )


if __name__ == "__main__":
    if sys.argv[1] == "import":
        mode_import()
    else:
        mode_pools(sys.argv[2])
