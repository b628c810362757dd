"""Benchmark 2: worker start. The time from submit() on a fresh executor to its first result
(a new worker process starting and running one task), under spawn and forkserver, in a venv with
the package installed against the same venv without it. Goal: time ratio <= 1.02.

In the venv with the package every worker runs the start-up hook, and the hook applies the shim
when the worker imports concurrent.futures.process: an eager heavy import on that path would show
here. Children alternate between the venvs (block by block, order rotating); each child times
ROUNDS fresh executors after one untimed one.

    python benchmarks/bench_worker_start.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_worker_start.py --quick
"""

import argparse
import json
import os
import subprocess
import sys

import children
import measure
import venvs

GOAL = 1.02


# The modules of a main process that imported the pool, and of one of its spawn workers (the
# worker's list comes back from a builtin, eval, since a -c program has no importable functions).
_MODULES = """\
import json, multiprocessing, sys, concurrent.futures.process as process
with process.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
    worker = pool.submit(eval, "sorted(__import__('sys').modules)").result(timeout=60)
print(json.dumps({"main": sorted(sys.modules), "worker": worker}))
"""


def added_by_package(with_pkg, without_pkg, env):
    """{"main": [...], "worker": [...]}: modules a process has with the package installed and
    not without it, in a main process that imports the pool and in one of its pool workers."""
    found = [
        json.loads(
            subprocess.run(
                [python, "-c", _MODULES],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
        )
        for python in (with_pkg, without_pkg)
    ]
    return {
        where: sorted(set(found[0][where]) - set(found[1][where])) for where in ("main", "worker")
    }


# What a spawn or forkserver worker does with our module on its import path, alone: it imports
# the pool module while "inheriting" (unpickling its task), so the hook fires and defers. Timed
# as a whole process in both venvs, CPU time, many alternating rounds: the package's share of a
# worker start, resolvable to well under 1 %, which the end-to-end figures above are not.
_WORKER_IMPORT = (
    "import multiprocessing.process as p; p.current_process()._inheriting = True; "
    "import concurrent.futures.process"
)


def worker_import_cost(pythons, env, rounds):
    """{venv: [CPU seconds]} of _WORKER_IMPORT, rounds alternating."""
    cpu = {name: [] for name in pythons}
    for round_number in range(rounds):
        for name in measure.rotated(list(pythons), round_number):
            cpu[name].append(children.spawn_timed([pythons[name], "-c", _WORKER_IMPORT], env)[1])
    return cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--methods", nargs="+", default=["spawn", "forkserver"])
    parser.add_argument(
        "--blocks",
        type=int,
        default=20,
        help="child processes per venv and method, alternating (default 20)",
    )
    parser.add_argument(
        "--rounds", type=int, default=10, help="fresh executors timed in each child (default 10)"
    )
    parser.add_argument(
        "--stdlib",
        choices=["auto", "shipped", "overlay"],
        default="auto",
        help="auto: the pre-fix overlay (in both venvs) on an upstream-fixed "
        "interpreter, so the shim has something to apply",
    )
    parser.add_argument(
        "--import-rounds",
        type=int,
        default=1500,
        help="rounds of the worker import path measurement (default 1500)",
    )
    parser.add_argument("--wheel", help="an already built wheel (default: build from checkout)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 blocks of 3")
    args = parser.parse_args(argv)
    if args.wheel:
        args.wheel = os.path.abspath(args.wheel)
    children.leave_checkout()
    if args.quick:
        args.blocks, args.rounds, args.import_rounds = 2, 3, 30

    overlay = None
    if args.stdlib == "overlay" or (
        args.stdlib == "auto" and children.probe(args.python)["shape"] == "upstream"
    ):
        overlay = children.prefix_overlay(args.python)
        if overlay is None:
            raise SystemExit("no pre-fix overlay for %s" % args.python)
    with_pkg, without_pkg = venvs.pair(args.python, args.wheel)
    pythons = {"with": with_pkg, "without": without_pkg}
    env = children.clean_env([overlay])
    if overlay:
        # The overlay stands for an affected release of this line: open the .pth's gate, as
        # the tests do (the venv without the package ignores it).
        env["BACKPORT_GH115634"] = "1"
    script = children.workload("first_task.py")
    print(
        "Benchmark 2: worker start (submit() on a fresh executor -> first result), %s%s"
        % (args.python, ", pre-fix overlay in both venvs" if overlay else "")
    )
    print(
        "%d blocks x %d fresh executors per venv and method%s\n"
        % (args.blocks, args.rounds, " (QUICK: not a measurement)" if args.quick else "")
    )
    rows = []
    for method in args.methods:
        samples = {"with": [], "without": []}
        applied = {}
        for block in range(args.blocks):
            for name in measure.rotated(["with", "without"], block):
                result = children.run_json([pythons[name], script, method, str(args.rounds)], env)
                samples[name] += result["samples"]
                applied[name] = result["shim_applied"]
        with_median = measure.median(samples["with"])
        without_median = measure.median(samples["without"])
        headline = measure.ratio(with_median, without_median)
        # Executors in different children are not paired: resample each venv's own.
        low, high = measure.bootstrap_interval(
            samples["with"], samples["without"], resamples=200 if args.quick else 1000, paired=False
        )
        rows.append(
            [
                method,
                len(samples["with"]),
                measure.ms(with_median),
                measure.ms(without_median),
                "%.3f" % headline,
                measure.interval_text(low, high),
                "quick run" if args.quick else measure.goal_note(headline, GOAL),
            ]
        )
        if not applied.get("with"):
            print(
                "note: the shim was not applied in the venv with the package under %s "
                "(an unaffected stdlib?): the comparison then only covers the hook" % method
            )
    added = added_by_package(with_pkg, without_pkg, env)
    print(
        "modules the package adds to a main process that imports the pool: %s"
        % ", ".join(added["main"])
    )
    print("modules the package adds to a pool worker (spawn): %s\n" % ", ".join(added["worker"]))
    print(
        measure.table(
            [
                "start method",
                "executors each",
                "with: median ms",
                "without: median ms",
                "time ratio",
                "95 % interval",
                "goal",
            ],
            rows,
        )
    )

    cpu = worker_import_cost(pythons, env, args.import_rounds)
    with_cpu, without_cpu = measure.median(cpu["with"]), measure.median(cpu["without"])
    low, high = measure.bootstrap_interval(
        cpu["with"], cpu["without"], resamples=200 if args.quick else 1000
    )
    added = with_cpu - without_cpu
    print(
        "\nA worker's import path alone (a process that imports the pool module while "
        "'inheriting', as a spawn/forkserver worker does), CPU time, %d alternating rounds:"
        % args.import_rounds
    )
    print(
        "with %s ms, without %s ms: ratio %.3f, 95 %% interval %s; the package adds %.2f ms"
        % (
            measure.ms(with_cpu),
            measure.ms(without_cpu),
            measure.ratio(with_cpu, without_cpu),
            measure.interval_text(low, high),
            added * 1000,
        )
    )
    for row in rows:
        print(
            "  = %.1f %% of a %s worker start (%s ms without the package)"
            % (added * 1000 / float(row[3]) * 100, row[0], row[3])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
