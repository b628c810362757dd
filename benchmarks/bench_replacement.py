"""Benchmark 5: replacement latency. From a worker's exit at its max_tasks_per_child limit to
its replacement running the next task (median and p95 over the recycles), split into the result
reaching the parent and the rest; against multiprocessing.Pool(maxtasksperchild=1) doing the
same, and against the bare cost of ending one process and starting the next with the same
context.

    python benchmarks/bench_replacement.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_replacement.py --python /opt/cpython/3.14/bin/python3.14
    python benchmarks/bench_replacement.py --quick
"""

import argparse
import sys

import children
import measure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--recycles", type=int, default=100, help="recycles per child run (default 100)"
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=5,
        help="child runs per contender and method, alternating (default 5)",
    )
    parser.add_argument("--methods", nargs="+", default=["spawn", "forkserver"])
    parser.add_argument("--prefix-overlay", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument(
        "--preload",
        action="store_true",
        help="forkserver: the fork server preloads each pool's module",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 block of 10")
    args = parser.parse_args(argv)
    if args.quick:
        args.recycles, args.blocks = 10, 1

    shipped, variants = children.executor_variants(args.python, args.prefix_overlay)
    runs = [
        (
            variant.name,
            ["executor", "--apply"] if variant.apply else ["executor"],
            children.checkout_env(variant.overlay),
        )
        for variant in variants
    ]
    runs.append(("mp.Pool", ["mp-pool"], children.checkout_env()))
    runs.append(("bare", ["bare"], children.checkout_env()))
    print(
        "Benchmark 5: replacement latency, %s, %d recycles x %d blocks%s%s"
        % (
            shipped["python"],
            args.recycles,
            args.blocks,
            ", forkserver preloads each pool's module" if args.preload else "",
            " (QUICK: not a measurement)" if args.quick else "",
        )
    )
    for variant in variants:
        print("  %-13s %s" % (variant.name, variant.description))
    print("  %-13s multiprocessing.Pool(1, maxtasksperchild=1), apply_async()" % "mp.Pool")
    print("  %-13s bare Process start()+join() in a loop, same context\n" % "bare")

    rows = []
    for method in args.methods:
        gaps = {}
        for block in range(args.blocks):
            for name, head, env in measure.rotated(runs, block):
                argv_ = (
                    [
                        args.python,
                        children.workload("replacement.py"),
                        head[0],
                        method,
                        str(args.recycles),
                    ]
                    + head[1:]
                    + (["--preload"] if args.preload else [])
                )
                result = children.run_json(argv_, env, deadline=1800)
                for key, values in result["gaps"].items():
                    gaps.setdefault(name, {}).setdefault(key, []).extend(values)
        floor = measure.median(gaps["bare"]["gap"])
        for name, _, _ in runs:
            parts = gaps[name]
            gap = parts["gap"]
            if name == "bare":
                split = "start() -> target: %s ms" % measure.ms(measure.median(parts["start"]))
            else:
                split = "result to parent %s ms, then %s ms" % (
                    measure.ms(measure.median(parts["to_parent"])),
                    measure.ms(measure.median(parts["to_next"])),
                )
            rows.append(
                [
                    method,
                    name,
                    len(gap),
                    measure.ms(measure.median(gap)),
                    measure.ms(measure.percentile(gap, 0.95)),
                    "%.2f" % measure.ratio(measure.median(gap), floor),
                    split,
                ]
            )
    print(
        measure.table(
            [
                "method",
                "contender",
                "recycles",
                "median ms",
                "p95 ms",
                "median / bare",
                "where the time goes (medians)",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
