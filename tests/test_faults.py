"""The fault suite: seeded random recycle workloads with injected faults (tests/faults/).

Each seed runs in its own child process under a hard deadline (see faults/seed_run.py for what is
checked and why); two run at a time. CI runs the first CI_RUNS seeds; the long run sets
BACKPORT_FAULT_RUNS (e.g. 2000) and the extra seeds carry the "slow" marker:

    BACKPORT_FAULT_RUNS=2000 python -m pytest -q tests/test_faults.py

BACKPORT_FAULT_FIRST_SEED moves the window of seeds, BACKPORT_FAULT_JOBS sets the parallelism.
On an upstream-fixed stdlib the shim does nothing, so the "shipped" runs there hold upstream
CPython to the same invariants; the "prefix-overlay" runs test the shim on its pre-fix shape.
"""

import os
import sys

import pytest

from childproc import PACKAGE_ROOT, sized

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
import seed_run

# 10 in the envs tox.ini marks short (childproc.sized): the same seeds run in full elsewhere.
CI_RUNS = sized(40, 10)
RUNS_SET = os.environ.get("BACKPORT_FAULT_RUNS")
RUNS = int(RUNS_SET or CI_RUNS)
# Where the stdlib as shipped has every fix the package patches nothing: there the "shipped"
# seeds hold the stdlib's own fix to the invariants, 10 of them (childproc.sized), while the
# "prefix-overlay" variant runs them all with the package.
SHORT_RUNS = 10
FIRST_SEED = int(os.environ.get("BACKPORT_FAULT_FIRST_SEED", "0"))
JOBS = int(os.environ.get("BACKPORT_FAULT_JOBS", "2"))

SEEDS = [
    pytest.param(
        FIRST_SEED + n, id=str(FIRST_SEED + n), marks=[pytest.mark.slow] if n >= CI_RUNS else []
    )
    for n in range(RUNS)
]


@pytest.fixture(scope="session")
def fault_runner():
    runner = seed_run.BatchRunner(jobs=JOBS, package_root=PACKAGE_ROOT)
    yield runner
    runner.close()


def _runs(stdlib):
    return RUNS if RUNS_SET else sized(RUNS, SHORT_RUNS, stdlib)


def _selected_seeds(session, variant, stdlib):
    """The seeds this session will run for one stdlib variant, in collection order."""
    seeds = []
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (
            item.originalname == "test_fault_run"
            and params.get("stdlib") == variant
            and params["seed"] < FIRST_SEED + _runs(stdlib)
        ):
            seeds.append(params["seed"])
    return seeds


@pytest.mark.parametrize("seed", SEEDS)
def test_fault_run(seed, stdlib, fault_runner, request):
    if seed >= FIRST_SEED + _runs(stdlib):
        pytest.skip("the stdlib has every fix: the package patches nothing, 10 seeds run here")
    variant = request.node.callspec.params["stdlib"]
    # Queue every selected seed of this variant at once, so JOBS of them run in parallel.
    fault_runner.queue(_selected_seeds(request.session, variant, stdlib), stdlib)
    judgement = fault_runner.result(seed, stdlib)
    if not judgement.passed:
        pytest.fail(judgement.report(), pytrace=False)
