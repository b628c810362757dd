"""Benchmark 3: the hot path. 5,000 trivial tasks through submit()/result() and through
map(chunksize=...), no max_tasks_per_child, patched against stock in the same interpreter
(apply()/revert() alternating inside one process). Goal: time ratio (patched / stock) <= 1.01.

On an upstream-fixed interpreter apply() changes nothing, so there the comparison runs on the
pre-fix overlay (--stdlib overlay, the default for such interpreters).

    python benchmarks/bench_hot_path.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_hot_path.py --python /opt/cpython/3.14/bin/python3.14
    python benchmarks/bench_hot_path.py --quick
"""

import argparse
import sys

import children
import measure

GOAL = 1.01


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument(
        "--reps",
        type=int,
        default=30,
        help="timed runs per mode and state, alternating (default 30)",
    )
    parser.add_argument("--chunksize", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--method", default="forkserver", choices=["spawn", "forkserver"])
    parser.add_argument(
        "--stdlib",
        choices=["auto", "shipped", "overlay"],
        default="auto",
        help="auto: the pre-fix overlay on an upstream-fixed interpreter",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 500 tasks, 2 reps")
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.reps = 500, 2

    shipped = children.probe(args.python)
    overlay = None
    if args.stdlib == "overlay" or (args.stdlib == "auto" and shipped["shape"] == "upstream"):
        overlay = children.prefix_overlay(args.python)
        if overlay is None:
            raise SystemExit("no pre-fix overlay for %s" % args.python)
    result = children.run_json(
        [
            args.python,
            children.workload("hot_path.py"),
            str(args.tasks),
            str(args.reps),
            str(args.chunksize),
            str(args.workers),
            args.method,
        ],
        children.checkout_env(overlay),
        deadline=3600,
    )
    print(
        "Benchmark 3: hot path, %s (%s stdlib%s), %d tasks, %d workers, %s"
        % (
            result["python"],
            result["shape"],
            ", pre-fix overlay" if overlay else "",
            args.tasks,
            args.workers,
            args.method,
        )
    )
    print(
        "%d alternating runs per mode and state%s\n"
        % (args.reps, " (QUICK: not a measurement)" if args.quick else "")
    )
    if not result["patched"]:
        print("note: apply() patched nothing here, so patched and stock are the same code\n")
    rows = []
    for mode, states in result["samples"].items():
        patched, stock = states["patched"], states["stock"]
        headline = measure.ratio(measure.median(patched), measure.median(stock))
        label = mode if mode != "map" else "map(chunksize=%d)" % args.chunksize
        rows.append(
            [
                label,
                measure.ms(measure.median(patched)),
                measure.ms(measure.median(stock)),
                "%.0f" % (args.tasks / measure.median(patched)),
                "%.3f" % headline,
                "%.3f" % measure.paired_ratio(patched, stock),
                "quick run" if args.quick else measure.goal_note(headline, GOAL),
            ]
        )
    print(
        measure.table(
            [
                "mode",
                "patched: median ms",
                "stock: median ms",
                "patched tasks/s",
                "time ratio",
                "paired ratio",
                "goal",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
