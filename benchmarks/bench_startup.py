"""Benchmark 1: interpreter start, ``python -c pass``, in a venv with the package installed
against the same venv without it. Goal: time ratio (with / without) <= 1.02.

Also lists what the start-up hook adds to a bare interpreter: the modules in sys.modules and the
finders on sys.meta_path that only the venv with the package has.

    python benchmarks/bench_startup.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_startup.py --quick      # a smoke run: proves it works, no figures
"""
import argparse
import json
import os
import subprocess
import time

import children
import measure
import venvs

GOAL = 1.02
_STATE = ("import sys, json; print(json.dumps({'modules': sorted(sys.modules), "
          "'meta_path': [type(f).__module__ + '.' + type(f).__qualname__ "
          "for f in sys.meta_path]}))")


def time_start(python, env):
    """Seconds for one `python -c pass`, from spawn to exit status. posix_spawn keeps the
    parent's own share of the cost as small (and as equal between the two) as it gets."""
    argv = [python, "-c", "pass"]
    started = time.perf_counter()
    pid = os.posix_spawn(python, argv, env)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError("%s -c pass failed (wait status %d)" % (python, status))
    return elapsed


def added_by_hook(with_pkg, without_pkg, env):
    states = [json.loads(subprocess.run([python, "-c", _STATE], env=env, capture_output=True,
                                        text=True, check=True, timeout=60).stdout)
              for python in (with_pkg, without_pkg)]
    return {key: [item for item in states[0][key] if item not in states[1][key]]
            for key in ("modules", "meta_path")}


def import_times(python, env):
    """The hook's own lines from -X importtime (self and cumulative microseconds)."""
    done = subprocess.run([python, "-X", "importtime", "-c", "pass"], env=env,
                          capture_output=True, text=True, timeout=60)
    return [line.split(":", 1)[1].strip() for line in done.stderr.splitlines()
            if "backport" in line]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=None, help="interpreter to measure (default: this)")
    parser.add_argument("--runs", type=int, default=400,
                        help="starts per venv, alternating (default 400)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--wheel", help="an already built wheel (default: build from checkout)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 starts each")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 20, 3
    python = args.python or __import__("sys").executable

    with_pkg, without_pkg = venvs.pair(python, args.wheel)
    env = children.clean_env()
    pythons = {"with": with_pkg, "without": without_pkg}
    for _ in range(args.warmup):  # page cache, .pyc files, CPU frequency
        for path in pythons.values():
            time_start(path, env)
    samples = {"with": [], "without": []}
    for round_number in range(args.runs):
        for name in measure.rotated(["with", "without"], round_number):
            samples[name].append(time_start(pythons[name], env))

    added = added_by_hook(with_pkg, without_pkg, env)
    with_median = measure.median(samples["with"])
    without_median = measure.median(samples["without"])
    headline = measure.ratio(with_median, without_median)
    print("Benchmark 1: interpreter start (python -c pass), %s" % python)
    print("venv with the package: %s\nvenv without:          %s" % (with_pkg, without_pkg))
    print("%d alternating starts each%s\n" % (args.runs, " (QUICK: not a measurement)"
                                             if args.quick else ""))
    rows = [[name, measure.ms(measure.median(values)), measure.ms(measure.percentile(values, 0.1)),
             measure.ms(measure.percentile(values, 0.9))] for name, values in samples.items()]
    print(measure.table(["venv", "median ms", "p10 ms", "p90 ms"], rows))
    print("\ntime ratio with/without: %.3f (median of paired ratios %.3f): %s"
          % (headline, measure.paired_ratio(samples["with"], samples["without"]),
             "quick run, no verdict" if args.quick else measure.goal_note(headline, GOAL)))
    print("modules the start-up hook adds to `python -c pass`: %s"
          % (", ".join(added["modules"]) or "none"))
    print("meta path finders it adds: %s" % (", ".join(added["meta_path"]) or "none"))
    print("-X importtime lines (self us | cumulative us | module):")
    for line in import_times(with_pkg, env):
        print("    " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
