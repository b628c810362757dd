"""README's first command: ``python3 dev/try.py``.

Makes ``.venv/`` in this checkout with the interpreter that runs this script (stdlib ``venv``;
nothing else needed: no pip outside the venv, so an externally managed system Python is fine),
installs the package from the checkout into it (a real, non-editable install: the wheel's start-up
files land in its site-packages as they would from the package index), then runs the doctor there
with ``--compare``. Arguments replace ``--compare``: ``python3 dev/try.py --json``.

Run it again after changing the code: the venv is kept, the package reinstalled. Exits with the
doctor's exit code (0: safe), or 4 when the venv or the install failed.
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
SETUP_FAILED = 4


def say(text):
    print("try.py: " + text, flush=True)


def venv_python(venv):
    return os.path.join(venv, "bin", "python")


def run(command, timeout):
    say("$ " + " ".join(command))
    try:
        return subprocess.run(command, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        say("timed out after %ds" % timeout)
        return SETUP_FAILED


def usable(python):
    """The venv exists, runs, and was made by this same interpreter version."""
    if not os.path.exists(python):
        return False
    try:
        done = subprocess.run(
            [python, "-c", "import sys, pip; print(sys.version)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == sys.version.strip()


def main(argv):
    started = time.monotonic()
    if sys.version_info < (3, 9):  # noqa: UP036 - run by whatever python3 a newcomer has
        say("needs Python 3.9 or later; this is %s" % sys.version.split()[0])
        return SETUP_FAILED
    python = venv_python(VENV)
    if usable(python):
        say("reusing %s" % os.path.relpath(VENV, os.getcwd()))
    else:
        say(
            "creating %s with %s (Python %s)"
            % (os.path.relpath(VENV, os.getcwd()), sys.executable, sys.version.split()[0])
        )
        # --clear: a venv left by another interpreter, or half made, is replaced.
        if run([sys.executable, "-m", "venv", "--clear", VENV], timeout=300) != 0:
            say("could not create the venv; on Debian and Ubuntu: apt install python3-venv")
            return SETUP_FAILED
    # --force-reinstall --no-deps: same version number, new code; the package has no deps.
    if (
        run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--force-reinstall",
                "--no-deps",
                ROOT,
            ],
            timeout=600,
        )
        != 0
    ):
        say("installing the package from %s failed" % ROOT)
        return SETUP_FAILED
    say("installed in %.0fs; the doctor:" % (time.monotonic() - started))
    doctor = [python, "-m", "backport_gh115634"] + (argv or ["--compare"])
    # The doctor bounds its own runs (--deadline, --compare-deadline); this is a backstop.
    code = run(doctor, timeout=900)
    say("done in %.0fs, doctor exit %d" % (time.monotonic() - started, code))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
