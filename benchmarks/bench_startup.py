"""Benchmark 1: interpreter start, ``python -c pass``, in four venvs of one interpreter that differ
only in site-packages: nothing ("none"), this package's wheel ("ours"), a .pth holding only
``import sys`` ("import-sys", the floor any .pth costs) and setuptools' distutils-precedence.pth
with _distutils_hack ("setuptools", the .pth most environments already carry).

Goals: on a release that cannot need the fix, ours / import-sys <= 1.01; on an affected release,
ours / none <= 1.02 and ours / setuptools <= 1.00.

Each round starts every venv once, in rotating order; wall time from spawn to exit and the
child's CPU time (user + system, from wait4) are both recorded. A ratio is the ratio of the
medians; its 95 % interval comes from resampling the rounds (measure.bootstrap_interval), so the
output says whether the runs were enough: the half-width must be well under the claim.

    python benchmarks/bench_startup.py --python /root/.pyenv/versions/3.12.1/bin/python3.12
    python benchmarks/bench_startup.py --quick      # a smoke run: proves it works, no figures
"""

import argparse
import json
import os
import subprocess
import sys
import time

import children
import measure
import venvs

CONTENDERS = ("none", "ours", "import-sys", "setuptools")
# (numerator, denominator) pairs reported, with the goal each is held to (None: for scale).
RATIOS = (
    ("ours", "none", 1.02),
    ("ours", "import-sys", 1.01),
    ("ours", "setuptools", 1.00),
    ("import-sys", "none", None),
    ("setuptools", "none", None),
)
_STATE = (
    "import sys, json; print(json.dumps({'modules': sorted(sys.modules), "
    "'meta_path': [type(f).__module__ + '.' + type(f).__qualname__ "
    "for f in sys.meta_path]}))"
)


def time_start(python, env):
    """(wall seconds, CPU seconds) of one `python -c pass`."""
    return children.spawn_timed([python, "-c", "pass"], env)


def added(python, baseline, env):
    states = [
        json.loads(
            subprocess.run(
                [p, "-c", _STATE], env=env, capture_output=True, text=True, check=True, timeout=60
            ).stdout
        )
        for p in (python, baseline)
    ]
    return {
        key: [item for item in states[0][key] if item not in states[1][key]]
        for key in ("modules", "meta_path")
    }


def import_lines(python, env):
    """`-X importtime -c pass` lines of modules that a venv without any .pth does not import."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", "pass"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [
        line.split(":", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure")
    parser.add_argument(
        "--runs", type=int, default=2000, help="rounds; each starts every venv once (default 2000)"
    )
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set in every child (e.g. BACKPORT_GH115634=1)",
    )
    parser.add_argument(
        "--with-start",
        action="store_true",
        help="also a venv with the wheel plus a PEP 829 .start file, to show "
        "what shipping one would cost (3.15+)",
    )
    parser.add_argument("--wheel", help="an already built wheel (default: build from checkout)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 rounds")
    args = parser.parse_args(argv)
    if args.wheel:
        args.wheel = os.path.abspath(args.wheel)
    children.leave_checkout()
    if args.quick:
        args.runs, args.warmup = 30, 3

    pythons = venvs.contenders(args.python, args.wheel, args.with_start)
    names = list(CONTENDERS) + (["ours+start"] if args.with_start else [])
    ratios = list(RATIOS) + ([("ours+start", "none", None)] if args.with_start else [])
    env = children.clean_env()
    env.update(item.split("=", 1) for item in args.env)
    for _ in range(args.warmup):  # page cache, .pyc files, CPU frequency
        for name in names:
            time_start(pythons[name], env)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    started = time.monotonic()
    for round_number in range(args.runs):
        for name in measure.rotated(names, round_number):
            elapsed, used = time_start(pythons[name], env)
            wall[name].append(elapsed)
            cpu[name].append(used)
    seconds = time.monotonic() - started

    print(
        "Benchmark 1: interpreter start (python -c pass), %s%s"
        % (args.python, "".join(" " + item for item in args.env))
    )
    print(
        "%d rounds (%d starts, %.0f s)%s\n"
        % (
            args.runs,
            args.runs * len(names),
            seconds,
            " (QUICK: not a measurement)" if args.quick else "",
        )
    )
    rows = [
        [
            name,
            measure.ms(measure.median(wall[name])),
            measure.ms(measure.percentile(wall[name], 0.1)),
            measure.ms(measure.percentile(wall[name], 0.9)),
            measure.ms(measure.median(cpu[name])),
        ]
        for name in names
    ]
    print(
        measure.table(
            ["venv", "wall median ms", "wall p10 ms", "wall p90 ms", "CPU median ms"], rows
        )
    )
    print()
    rows = []
    for first, second, goal in ratios:
        cells, values = [first + " / " + second], []
        resamples = 200 if args.quick else 1000
        for samples in (wall, cpu):
            value = measure.ratio(measure.median(samples[first]), measure.median(samples[second]))
            low, high = measure.bootstrap_interval(
                samples[first], samples[second], resamples=resamples
            )
            cells += ["%.3f" % value, measure.interval_text(low, high)]
        # The headline: CPU time, median of the per-round ratios (each round ran all venvs
        # back to back, so drift of the machine between rounds cancels).
        paired = measure.paired_ratio(cpu[first], cpu[second])
        values = [paired]
        low, high = measure.bootstrap_paired(cpu[first], cpu[second], resamples=resamples)
        cells += ["%.3f" % paired, measure.interval_text(low, high)]
        verdict = (
            "for scale"
            if goal is None
            else ("quick run" if args.quick else "meets" if values[0] <= goal else "OVER")
        )
        rows.append(cells + ["" if goal is None else "<= %.2f: %s" % (goal, verdict)])
    print(
        measure.table(
            [
                "ratio",
                "wall",
                "wall 95 % interval",
                "CPU",
                "CPU 95 % interval",
                "CPU paired",
                "paired 95 % interval",
                "goal (CPU paired)",
            ],
            rows,
        )
    )
    extra = added(pythons["ours"], pythons["none"], env)
    print("\nmodules ours adds to `python -c pass`: %s" % (", ".join(extra["modules"]) or "none"))
    print("meta path finders ours adds: %s" % (", ".join(extra["meta_path"]) or "none"))
    base = {line.rsplit("|", 1)[1].strip() for line in import_lines(pythons["none"], env)}
    print(
        "-X importtime lines of ours that the bare venv lacks (self us | cumulative us | module):"
    )
    for line in import_lines(pythons["ours"], env):
        if line.rsplit("|", 1)[1].strip() not in base:
            print("    " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
