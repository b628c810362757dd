"""Run the measured code in child processes, and describe the stdlib a child will see.

Each measurement runs in a child of the interpreter under test (--python), so one invocation can
alternate between set-ups that need different paths (the shipped stdlib, its pre-fix overlay, a
venv). A child prints ``BENCH-RESULT: {json}`` as its last line; it runs in its own session
under a deadline, and its whole process group is killed when it ends or overruns.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")
CHECKOUT = os.path.dirname(HERE)
SHARED_TOOLS = os.environ.get("BACKPORT_SHARED_TOOLS") or os.path.join(
    os.path.dirname(CHECKOUT), "shared", "tools"
)
sys.path.append(os.path.join(CHECKOUT, "tests"))
from procgroup import run_in_group  # noqa: E402  (tests/procgroup.py, shared with the tests)

CACHE = os.path.join(tempfile.gettempdir(), "backport_gh115634-bench")
RESULT_PREFIX = "BENCH-RESULT: "
# Variables that would change what a child imports or how it starts.
SCRUBBED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONWARNINGS",
    "PYTHONNOUSERSITE",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPROFILEIMPORTTIME",
    "BACKPORT_GH115634",
    "VIRTUAL_ENV",
)


class ChildFailed(RuntimeError):
    pass


def clean_env(extra_path=(), enabled=None):
    """os.environ without the variables above; extra_path becomes PYTHONPATH. enabled=False
    sets BACKPORT_GH115634=0 (children that apply() explicitly), None leaves it unset."""
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    path = [p for p in extra_path if p]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    if enabled is False:
        env["BACKPORT_GH115634"] = "0"
    return env


def leave_checkout():
    """Make CACHE the working directory of this process and so of every child it starts. A
    ``-c`` child puts its working directory first on sys.path: run from a checkout, the
    checkout's package would shadow the one installed in a venv once the hook hands over."""
    os.makedirs(CACHE, exist_ok=True)
    os.chdir(CACHE)


def checkout_env(overlay=None):
    """The package from this checkout importable, the pre-fix overlay (if any) in front of the
    stdlib, and activation left to the child's explicit apply()."""
    return clean_env((overlay, CHECKOUT), enabled=False)


def run_json(args, env, deadline=900):
    """Run args, return the JSON the child printed last; raise ChildFailed otherwise."""
    returncode, stdout, stderr, timed_out = run_in_group(
        args, deadline, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if timed_out:
        raise ChildFailed("%s: killed after its %ss deadline" % (" ".join(args), deadline))
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if returncode != 0 or not lines:
        raise ChildFailed(
            "%s: exit %s\n%s\n%s" % (" ".join(args), returncode, stdout[-2000:], stderr[-3000:])
        )
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def spawn_timed(argv, env):
    """(wall seconds, CPU seconds) of one run of argv, from spawn to exit status. posix_spawn and
    wait4 keep the parent's own share small and equal for every contender; CPU time is the
    child's user + system time, which other jobs on the machine disturb far less than wall."""
    import time

    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise ChildFailed("%s failed (wait status %d)" % (" ".join(argv), status))
    return elapsed, usage.ru_utime + usage.ru_stime


def workload(name):
    return os.path.join(WORKLOADS, name)


_PROBE = (
    """\
import json, sys
import concurrent.futures.process
import backport_gh115634
status = backport_gh115634.status()
try:
    import pebble
    pebble_version = pebble.__version__
except ImportError:
    pebble_version = None
print(%r + json.dumps({"python": status.python, "shape": status.shape,
                       "affected": status.affected, "pebble": pebble_version,
                       "executable": sys.executable}))
"""
    % RESULT_PREFIX
)


def probe(python, overlay=None):
    """What the stdlib of python (with overlay in front) looks like to the shim."""
    return run_json([python, "-c", _PROBE], checkout_env(overlay), deadline=120)


def prefix_overlay(python):
    """A cached pre-fix overlay (../shared/tools/prefix-overlay.py) for an upstream-fixed
    python, or None when the tool is missing or refuses the interpreter."""
    tool = os.path.join(SHARED_TOOLS, "prefix-overlay.py")
    if not os.path.exists(tool):
        return None
    key = hashlib.sha256(os.path.realpath(python).encode()).hexdigest()[:12]
    out = os.path.join(CACHE, "overlay-" + key)
    if os.path.exists(os.path.join(out, "concurrent", "futures", "process.py")):
        return out
    done = subprocess.run(
        [sys.executable, tool, "--python", python, "--out", out],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out if done.returncode == 0 else None


class Variant:
    """One way to run ProcessPoolExecutor: which stdlib, and whether the shim is applied."""

    def __init__(self, name, overlay, apply, description):
        self.name = name
        self.overlay = overlay
        self.apply = apply
        self.description = description


def executor_variants(python, overlay_choice="auto"):
    """The executor set-ups worth measuring on python.

    An affected stdlib: the shim on it ("shim"). An upstream-fixed one: its own fix
    ("upstream") and, with the pre-fix overlay, ours on the same interpreter ("shim@overlay").
    overlay_choice: "auto" (overlay when upstream-fixed), "yes" or "no".
    """
    shipped = probe(python)
    variants = []
    if shipped["shape"] == "upstream":
        variants.append(
            Variant("upstream", None, False, "%s, its own upstream fix" % shipped["python"])
        )
    elif shipped["affected"]:
        variants.append(
            Variant(
                "shim",
                None,
                True,
                "%s (%s stdlib), shim applied" % (shipped["python"], shipped["shape"]),
            )
        )
    else:
        variants.append(
            Variant(
                "stock",
                None,
                False,
                "%s (%s stdlib), nothing to patch" % (shipped["python"], shipped["shape"]),
            )
        )
    wants_overlay = overlay_choice == "yes" or (
        overlay_choice == "auto" and shipped["shape"] == "upstream"
    )
    if wants_overlay:
        overlay = prefix_overlay(python)
        if overlay is None:
            print(
                "note: no pre-fix overlay for %s (../shared/tools missing or refused)" % python,
                file=sys.stderr,
            )
        else:
            variants.append(
                Variant(
                    "shim@overlay",
                    overlay,
                    True,
                    "%s, pre-fix overlay, shim applied" % shipped["python"],
                )
            )
    return shipped, variants
