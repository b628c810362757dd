"""Run a command in its own session under a hard deadline, then kill its whole process group.

The one copy of this for the tests, the fault suite's scripts and the benchmarks: stdlib only
and free of pytest, so any of them can import it. (The doctor keeps its own: the package must
not depend on its tests.) Killing the group, not just the child, is what makes a hang cost one
deadline: pool workers and fork servers the child started go with it.
"""

import os
import signal
import subprocess


def run_in_group(args, deadline, **popen_kwargs):
    """Popen(args, **popen_kwargs) in a new session; wait at most `deadline` seconds.

    Returns (returncode, stdout, stderr, timed_out), with stdout/stderr as communicate() gives
    them (None where not piped). The group is killed at the deadline, and after a normal exit
    too, for workers that a child which exited early left behind.
    """
    proc = subprocess.Popen(args, start_new_session=True, **popen_kwargs)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    return proc.returncode, stdout, stderr, timed_out


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
