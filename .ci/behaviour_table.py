"""Print the interpreters x behaviours table from the tox envs' JUnit XML files.

usage: behaviour_table.py .tox/*/tmp/junit.xml
A row per interpreter and stdlib (as shipped, or the pre-fix overlay); a cell per behaviour of
issue 2: "pass N" when all its tests passed, "FAIL" if any failed, "-" when none ran (skipped:
no such API, or no max_tasks_per_child).
"""

import os
import re
import sys
import xml.etree.ElementTree as ElementTree

BEHAVIOURS = {
    "1 gh-115634": (
        "test_backlog_completes_with_shim",
        "test_stock_hangs_exactly",
        "test_idle_worker_is_reused",
        "test_executor_created_before_apply",
    ),
    "2 gh-119592": (
        "test_shutdown_without_wait_still_replaces_workers",
        "test_dropped_executor_fails_pending_work[*-shutdown_nowait_dropped]",
    ),
    "3 gh-152967": ("test_dropped_executor_fails_pending_work[*-garbage_collected]",),
    "4 failed spawn": ("test_failed_replacement",),
    "5 forced shutdown": ("test_no_replacement_during_forced_shutdown", "test_kill_workers_leaves"),
    "6 idle retirement": ("test_retirement_during_shutdown_spawns_nothing",),
    "7 CPython suite": ("test_cpython_process_pool_tests_pass_with_shim",),
}


def behaviour_of(name):
    for behaviour, patterns in BEHAVIOURS.items():
        for pattern in patterns:
            regex = re.escape(pattern).replace(r"\*", ".*")
            if re.match(regex, name):
                return behaviour
    return None


def variant_of(name):
    return "pre-fix overlay" if "prefix-overlay" in name else "shipped"


def main(paths):
    rows = {}
    for path in paths:
        parts = os.path.normpath(path).split(os.sep)
        env = parts[parts.index(".tox") + 1] if ".tox" in parts else path
        for case in ElementTree.parse(path).iter("testcase"):
            name = case.get("name")
            behaviour = behaviour_of(name)
            if behaviour is None:
                continue
            outcome = "pass"
            if case.find("skipped") is not None:
                outcome = "skip"
            elif case.find("failure") is not None or case.find("error") is not None:
                outcome = "fail"
            cells = rows.setdefault((env, variant_of(name)), {})
            cells.setdefault(behaviour, []).append(outcome)
    header = ["env", "stdlib"] + list(BEHAVIOURS)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for (env, variant), cells in sorted(rows.items()):
        out = []
        for behaviour in BEHAVIOURS:
            outcomes = cells.get(behaviour, [])
            passed = outcomes.count("pass")
            if "fail" in outcomes:
                out.append("FAIL %d/%d" % (outcomes.count("fail"), len(outcomes)))
            elif passed:
                out.append("pass %d" % passed)
            else:
                out.append("-")
        if variant != "shipped" and set(out) == {"-"}:
            continue  # the overlay only applies to an upstream-fixed stdlib
        print("| %s | %s | %s |" % (env, variant, " | ".join(out)))


if __name__ == "__main__":
    main(sys.argv[1:])
