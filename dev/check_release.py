"""Release readiness, run by ``tox -e packaging`` (CI requires it): is this checkout publishable?

1. ``python -m build`` makes an sdist and a wheel, both named with the one version
   (``__version__`` in backport_gh115634/__init__.py, which hatchling reads), and CHANGELOG.md
   has an entry for it;
2. ``twine check --strict`` passes on both, and every classifier is a known trove classifier;
3. the wheel carries the start-up files at its root and ``py.typed``;
4. installed from the sdist (not the wheel) into a fresh venv, the start-up files land at the root
   of site-packages, and the doctor (``python -m backport_gh115634``) exits 0 there.

Needs build, twine and trove-classifiers (the tox env installs them). Exit 0 when all hold.
"""

import email.parser
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_FILES = ("backport_gh115634.pth", "backport_gh115634_startup.py")
failures = []


def say(text):
    print("check_release.py: " + text, flush=True)


def check(ok, text):
    say(("ok    " if ok else "FAIL  ") + text)
    if not ok:
        failures.append(text)
    return ok


def run(command, timeout=900, **kwargs):
    say("$ " + " ".join(command))
    return subprocess.run(command, timeout=timeout, **kwargs)


def source_version():
    with open(os.path.join(ROOT, "backport_gh115634", "__init__.py")) as file:
        return re.search(r'^__version__ = "([^"]+)"$', file.read(), re.M).group(1)


def main():
    version = source_version()
    say("version %s (backport_gh115634/__init__.py)" % version)
    with open(os.path.join(ROOT, "CHANGELOG.md")) as file:
        changelog = file.read()
    check(
        # "## [0.1.0] - 2026-12-02" (Keep a Changelog), or a bare "## 0.1.0".
        re.search(r"^## \[?%s\]?(?![\w.])" % re.escape(version), changelog, re.M) is not None,
        "CHANGELOG.md has a '## [%s]' entry" % version,
    )

    out = tempfile.mkdtemp(prefix="backport-gh115634-release-")
    dist = os.path.join(out, "dist")
    if not check(
        run([sys.executable, "-m", "build", "--outdir", dist, ROOT]).returncode == 0,
        "python -m build",
    ):
        return 1
    sdists = glob.glob(os.path.join(dist, "*.tar.gz"))
    wheels = glob.glob(os.path.join(dist, "*.whl"))
    check(
        len(sdists) == 1 and len(wheels) == 1,
        "one sdist and one wheel: %s"
        % ", ".join(sorted(os.path.basename(path) for path in sdists + wheels)),
    )
    if not (sdists and wheels):
        return 1
    sdist, wheel = sdists[0], wheels[0]
    check(
        os.path.basename(sdist) == "backport_gh115634-%s.tar.gz" % version
        and os.path.basename(wheel) == "backport_gh115634-%s-py3-none-any.whl" % version,
        "both are version %s" % version,
    )
    check(
        run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel]).returncode == 0,
        "twine check --strict",
    )

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
    for name in STARTUP_FILES + ("backport_gh115634/py.typed", "_backport_gh115634/patch.py"):
        check(name in names, "the wheel has %s" % name)
    check(
        metadata["Version"] == version,
        "the wheel's metadata says Version: %s" % metadata["Version"],
    )
    from trove_classifiers import classifiers as known

    classifiers = metadata.get_all("Classifier") or []
    unknown = [name for name in classifiers if name not in known]
    check(
        classifiers and not unknown,
        "%d classifiers, all known trove classifiers%s"
        % (len(classifiers), ": unknown " + ", ".join(unknown) if unknown else ""),
    )

    venv = os.path.join(out, "sdist-venv")
    python = os.path.join(venv, "bin", "python")
    check(run([sys.executable, "-m", "venv", venv]).returncode == 0, "a fresh venv")
    # --no-binary: pip must build from the sdist itself, never reuse a wheel.
    done = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            "backport-gh115634",
            sdist,
        ]
    )
    if not check(done.returncode == 0, "pip install of the sdist"):
        return 1
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    for name in STARTUP_FILES:
        check(
            os.path.isfile(os.path.join(purelib, name)),
            "installed from the sdist: %s at the root of site-packages" % name,
        )
    check(
        os.path.isfile(os.path.join(purelib, "backport_gh115634", "py.typed")),
        "installed from the sdist: backport_gh115634/py.typed",
    )
    # Outside the checkout, so the installed package is the one imported.
    doctor = run([python, "-m", "backport_gh115634"], cwd=out, timeout=300)
    check(doctor.returncode == 0, "the doctor in that venv: exit %d" % doctor.returncode)

    if failures:
        say("%d check(s) failed: %s; kept %s" % (len(failures), "; ".join(failures), out))
        return 1
    say("ready: %s and %s" % (os.path.basename(sdist), os.path.basename(wheel)))
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
