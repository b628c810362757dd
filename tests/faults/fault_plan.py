"""A seed -> one randomised recycle workload with faults to inject: pure data, no side effects.

The same seed gives the same plan on every interpreter that has the same features (only
terminate_workers()/kill_workers() depend on the interpreter: before 3.14 the plan puts
shutdown(cancel_futures=True) and a SIGKILL of one worker in their place). Thread timing is not
part of the plan, so a seed reproduces the workload and the faults, not the interleaving.
"""

import random

START_METHODS = ("spawn", "forkserver")

# Faults that end the submitting phase: after one fires, nothing more is submitted.
ENDING = (
    "shutdown_nowait",
    "shutdown_cancel",
    "drop_executor",
    "terminate_workers",
    "kill_workers",
)
# Faults fired from the main thread at a point in the submission sequence.
TRIGGERED = ("sigkill_worker",) + ENDING
# Faults after which BrokenProcessPool is a legitimate outcome for pending work.
BREAKING = (
    "sigkill_task",
    "sigkill_worker",
    "initializer_raises",
    "spawn_fails",
    "drop_executor",
    "terminate_workers",
    "kill_workers",
)
# Faults after which CancelledError is a legitimate outcome.
CANCELLING = ("shutdown_cancel", "terminate_workers", "kill_workers")
CATALOG = (
    "task_raises",
    "sigkill_task",
    "sigkill_worker",
    "initializer_raises",
    "spawn_fails",
    "shutdown_nowait",
    "shutdown_cancel",
    "drop_executor",
    "terminate_workers",
    "kill_workers",
    "race",
)

# Delays before a triggered fault fires, in seconds: at once, while the first tasks run, or
# while the pool is recycling workers.
DELAY_SCALES = (0.0, 0.005, 0.1, 0.5)


def make_plan(seed, forced_shutdown_available, start_method=None):
    """Return the plan for seed as a JSON-friendly dict."""
    rng = random.Random(seed)
    method = rng.choice(START_METHODS)
    plan = {
        "seed": seed,
        "start_method": start_method or method,
        "max_workers": rng.randint(1, 4),
        "max_tasks_per_child": rng.randint(1, 4),
    }
    count = rng.randint(1, 50)
    # Half the tasks return at once, the others take up to 5 ms.
    plan["durations"] = [
        0.0 if rng.random() < 0.5 else round(rng.uniform(0, 0.005), 4) for _ in range(count)
    ]
    fault_count = rng.choices((0, 1, 2, 3), weights=(1, 5, 3, 1))[0]
    chosen = rng.sample(CATALOG, fault_count)
    if not forced_shutdown_available:
        # Before 3.14: the nearest public equivalents.
        substitutes = {"terminate_workers": "shutdown_cancel", "kill_workers": "sigkill_worker"}
        chosen = [substitutes.get(name, name) for name in chosen]
    if "race" in chosen and "spawn_fails" in chosen:
        # A failed spawn during a revert() window kills the stock manager thread (the bug
        # "failed-spawn"), which nothing can recover from: not a property of the shim.
        chosen.remove("spawn_fails")
    faults = {}
    for name in dict.fromkeys(chosen):  # keeps order, drops the duplicate a substitution made
        faults[name] = _parameters(name, rng, plan, count)
    plan["faults"] = faults
    plan["task_actions"] = _task_actions(faults, count)
    plan["use_initializer"] = "initializer_raises" in faults or rng.random() < 0.3
    return plan


def _parameters(name, rng, plan, count):
    if name == "task_raises":
        probability = rng.uniform(0.05, 0.4)
        return {"indices": [i for i in range(count) if rng.random() < probability]}
    if name == "sigkill_task":
        return {"index": rng.randrange(count)}
    if name == "initializer_raises":
        # The n-th worker start (counted over the whole run) has a failing initializer.
        return {"fail_at": rng.randint(1, plan["max_workers"] + 3)}
    if name == "spawn_fails":
        # The n-th start from the manager thread (a replacement) fails; "always": every later
        # one fails too.
        return {"fail_at": rng.randint(1, 4), "always": rng.random() < 0.5}
    if name == "race":
        # Threads that revert() and apply() again and again; reverted windows are kept short
        # so most worker exits still meet the fix.
        return {
            "threads": rng.randint(1, 2),
            "stop_after": round(rng.uniform(0.0, 1.5), 3),
            "reverted_max": 0.002,
            "applied_max": 0.02,
            "seed": rng.randrange(2**32),
        }
    parameters = {
        "at": rng.randint(0, count),
        "delay": round(rng.uniform(0, rng.choice(DELAY_SCALES)), 4),
    }
    if name == "sigkill_worker":
        # Killed from outside while it runs a task that waits to be killed: fired after that
        # task was submitted, so at >= 1. (A kill inside a queue operation is out of scope:
        # see fault_run.py, "SIGKILL".)
        parameters["at"] = max(1, parameters["at"])
        parameters["victim"] = rng.randrange(parameters["at"])
    elif name == "shutdown_cancel":
        parameters["wait"] = rng.random() < 0.5
    return parameters


def _task_actions(faults, count):
    """What each task does: "return", "raise" (ValueError), "sigkill" (kills its worker) or
    "victim" (reports its pid and waits for the runner to kill its worker)."""
    actions = ["return"] * count
    for index in faults.get("task_raises", {}).get("indices", ()):
        actions[index] = "raise"
    if "sigkill_task" in faults:
        actions[faults["sigkill_task"]["index"]] = "sigkill"
    if "sigkill_worker" in faults:
        actions[faults["sigkill_worker"]["victim"]] = "victim"
    return actions


def describe(plan):
    """One line for logs: the workload and its faults."""
    return "%s, max_workers=%d, max_tasks_per_child=%d, %d tasks, faults: %s" % (
        plan["start_method"],
        plan["max_workers"],
        plan["max_tasks_per_child"],
        len(plan["durations"]),
        ", ".join(plan["faults"]) or "none",
    )
