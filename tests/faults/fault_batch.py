"""Long fault runs outside pytest, with a summary: how many seeds, which failed (with the command
that reproduces each), how often each fault fired, how many race runs had a stranded pool
rescued by apply(), and what the shim counted in status().interventions over all runs.

    python tests/faults/fault_batch.py --python /root/.pyenv/versions/3.12.1/bin/python3.12 \\
        --runs 2000 --jobs 2
    python tests/faults/fault_batch.py --python /opt/cpython/3.14/bin/python3.14 \\
        --prefix-overlay --runs 2000

Runs on any Python 3.9+ (stdlib only); the seeds run on --python. Exit status 1 if any failed.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

import seed_run


def build_overlay(python, tools):
    out = tempfile.mkdtemp(prefix="fault-overlay-")
    done = subprocess.run(
        [
            sys.executable,
            os.path.join(tools, "prefix-overlay.py"),
            "--python",
            python,
            "--out",
            out,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        sys.exit("prefix-overlay.py refused %s: %s" % (python, done.stderr))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter to run the seeds on (default: this one)",
    )
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--start-method",
        choices=("spawn", "forkserver"),
        help="force one start method (default: the seed picks)",
    )
    parser.add_argument(
        "--prefix-overlay",
        action="store_true",
        help="run on the pre-fix overlay of an upstream-fixed 3.14/3.15",
    )
    parser.add_argument(
        "--shared-tools",
        default=os.environ.get("BACKPORT_SHARED_TOOLS")
        or os.path.join(os.path.dirname(seed_run.CHECKOUT), "shared", "tools"),
    )
    parser.add_argument("--deadline", type=float, default=seed_run.DEADLINE)
    args = parser.parse_args(argv)

    overlay = build_overlay(args.python, args.shared_tools) if args.prefix_overlay else None
    runner = seed_run.BatchRunner(args.jobs, args.python, seed_run.CHECKOUT, args.deadline)
    seeds = list(range(args.first_seed, args.first_seed + args.runs))
    runner.queue(seeds, overlay, args.start_method)
    started = time.monotonic()
    failures, planned, fired = [], collections.Counter(), collections.Counter()
    rescued, slowest, known = 0, (0.0, None), collections.Counter()
    interventions = collections.Counter()
    python_seen = None
    for done, seed in enumerate(seeds, 1):
        judgement = runner.result(seed, overlay, args.start_method)
        verdict = judgement.verdict or {}
        python_seen = python_seen or verdict.get("status")
        planned.update(verdict.get("faults_planned", ()))
        fired.update(verdict.get("faults_fired", ()))
        rescued += bool(verdict.get("interventions", {}).get("rescue"))
        interventions.update(verdict.get("interventions", {}))
        known.update(verdict.get("known_stock_bugs", ()))
        if verdict.get("stock_bug_forms"):
            print(
                "seed %d: known stock bug, not counted: %s"
                % (seed, "; ".join(verdict["stock_bug_forms"])),
                flush=True,
            )
        slowest = max(slowest, (judgement.elapsed, seed))
        if not judgement.passed:
            failures.append(judgement)
            print(judgement.report(), flush=True)
        if done % 100 == 0 or done == len(seeds):
            print(
                "[%d/%d] %d failed, %.0fs"
                % (done, len(seeds), len(failures), time.monotonic() - started),
                flush=True,
            )
    runner.close()
    if overlay:
        shutil.rmtree(overlay, ignore_errors=True)
    print("\ninterpreter: %s" % (python_seen or {}))
    print("stdlib: %s" % ("pre-fix overlay" if overlay else "as shipped"))
    print(
        "seeds %d..%d, %d jobs, %.0fs; slowest seed %s (%.1fs)"
        % (seeds[0], seeds[-1], args.jobs, time.monotonic() - started, slowest[1], slowest[0])
    )
    print("faults planned: %s" % ", ".join("%s %d" % item for item in sorted(planned.items())))
    print(
        "triggered faults that fired: %s"
        % ", ".join("%s %d" % item for item in sorted(fired.items()))
    )
    print("race runs whose stranded pool apply() rescued: %d" % rescued)
    print(
        "interventions, all runs: %s"
        % ", ".join("%s %d" % item for item in sorted(interventions.items()))
    )
    print(
        "known stock bugs hit (not counted as failures; a future the bug strands is reported "
        "above): %s" % (", ".join("%s x%d" % item for item in known.items()) or "none")
    )
    for judgement in failures:
        print("FAILED seed %d: %s" % (judgement.seed, judgement.command))
    print("%d passed, %d failed" % (len(seeds) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
