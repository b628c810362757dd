"""Benchmark 4: recycling throughput. 2,000 trivial tasks with max_workers in {1, 2} and
max_tasks_per_child in {1, 10, 100}, under spawn and forkserver: the patched executor against
multiprocessing.Pool(maxtasksperchild=), pebble.ProcessPool(max_tasks=), and the floor (as many
bare processes started and joined with the same context). On an upstream-fixed 3.14/3.15 it also
runs the interpreter's own fix against ours on its pre-fix overlay.

Goals: (a) shim@overlay / upstream <= 1.03; (b) at max_tasks_per_child=1, executor / mp.Pool
<= 1.00; (c) report executor / bare, and explain the rest (BENCHMARKS.md).

Every measurement is one child process; rounds go over the whole matrix, contenders in rotating
order, and the tables show medians over the rounds.

    python benchmarks/bench_recycling.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_recycling.py --python /opt/cpython/3.14/bin/python3.14
    python benchmarks/bench_recycling.py --quick
"""

import argparse
import itertools
import json
import sys
import time

import children
import measure


def contenders(python, overlay_choice, with_pebble):
    """[(name, argv tail, env)] for this interpreter."""
    shipped, variants = children.executor_variants(python, overlay_choice)
    found = []
    for variant in variants:
        found.append(
            (
                variant.name,
                ["executor"],
                ["--apply"] if variant.apply else [],
                children.checkout_env(variant.overlay),
                variant.description,
            )
        )
    env = children.checkout_env()
    found.append(("mp.Pool", ["mp-pool"], [], env, "multiprocessing.Pool(maxtasksperchild=)"))
    if with_pebble and shipped["pebble"]:
        found.append(
            ("pebble", ["pebble"], [], env, "pebble %s ProcessPool(max_tasks=)" % shipped["pebble"])
        )
    elif with_pebble:
        print(
            "note: pebble is not installed for %s (python -m pip install pebble); "
            "its column is left out" % python,
            file=sys.stderr,
        )
    found.append(("bare", ["bare"], [], env, "bare Process start()+join(), same context"))
    return shipped, found


def ours(names):
    """The executor set-up carrying our fix: shim@overlay where there is one, else shim."""
    for name in ("shim@overlay", "shim"):
        if name in names:
            return name
    return names[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements per cell and contender (default 3)"
    )
    parser.add_argument("--methods", nargs="+", default=["spawn", "forkserver"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--per-child", nargs="+", type=int, default=[1, 10, 100])
    parser.add_argument("--prefix-overlay", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--no-pebble", action="store_true")
    parser.add_argument(
        "--preload",
        action="store_true",
        help="forkserver: preload each contender's module in the fork server",
    )
    parser.add_argument("--json", help="also write the raw samples to this file")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 40 tasks, 1 round, max_workers 2, per child 1 and 10",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks, args.rounds, args.workers, args.per_child = 40, 1, [2], [1, 10]

    shipped, found = contenders(args.python, args.prefix_overlay, not args.no_pebble)
    names = [item[0] for item in found]
    cells = list(itertools.product(args.methods, args.workers, args.per_child))
    print(
        "Benchmark 4: recycling throughput, %s, %d tasks, %d rounds%s%s"
        % (
            shipped["python"],
            args.tasks,
            args.rounds,
            ", forkserver preload" if args.preload else "",
            " (QUICK: not a measurement)" if args.quick else "",
        )
    )
    for name, _, _, _, description in found:
        print("  %-13s %s" % (name, description))
    print("%d child runs in all\n" % (len(cells) * len(found) * args.rounds), flush=True)

    samples = {}
    started = time.monotonic()
    for round_number in range(args.rounds):
        for cell_number, (method, workers, per_child) in enumerate(cells):
            for name, head, tail, env, _ in measure.rotated(found, round_number + cell_number):
                extra = ["--preload"] if args.preload else []
                result = children.run_json(
                    [args.python, children.workload("recycle.py")]
                    + head
                    + [method, str(workers), str(per_child), str(args.tasks)]
                    + tail
                    + extra,
                    env,
                    deadline=3600,
                )
                samples.setdefault(repr((method, workers, per_child, name)), []).append(
                    result["seconds"]
                )
        print(
            "round %d/%d done, %.0fs" % (round_number + 1, args.rounds, time.monotonic() - started),
            flush=True,
        )

    mine = ours(names)
    rate_rows, ratio_rows = [], []
    for method, workers, per_child in cells:
        medians = {
            name: measure.median(samples[repr((method, workers, per_child, name))])
            for name in names
        }
        rate_rows.append(
            [method, workers, per_child] + ["%.0f" % (args.tasks / medians[name]) for name in names]
        )
        ratio_rows.append(
            [method, workers, per_child]
            + [
                "%.3f" % measure.ratio(medians[mine], medians[name])
                for name in names
                if name != mine
            ]
        )
    print("\ntasks/s (median of %d)" % args.rounds)
    print(measure.table(["method", "max_workers", "max_tasks_per_child"] + names, rate_rows))
    print("\ntime ratio %s / other (> 1: %s is slower)" % (mine, mine))
    print(
        measure.table(
            ["method", "max_workers", "max_tasks_per_child"]
            + ["%s / %s" % (mine, name) for name in names if name != mine],
            ratio_rows,
        )
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "python": shipped["python"],
                    "tasks": args.tasks,
                    "preload": args.preload,
                    "samples": samples,
                },
                out,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
