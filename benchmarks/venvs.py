"""Venvs of one interpreter, identical but for what their site-packages hold: the wheel (its .pth
activates the shim in every process), nothing, and for scale a .pth holding only ``import sys``
(the floor any .pth costs) and setuptools' ``distutils-precedence.pth`` with its
``_distutils_hack`` (the .pth most environments already have).

The wheel is built from this checkout with ``pip wheel`` (hatchling comes from PyPI through pip's
build isolation). It is pure Python, so installing it is unpacking it into the venv's
site-packages and byte-compiling it, which is what pip does for such a wheel; that way the venvs
need no pip of their own. Both venvs are cached by interpreter and wheel hash.
"""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

import children


def build_wheel(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "*.whl")):
        os.remove(old)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out_dir, children.CHECKOUT],
        check=True,
        timeout=600,
    )
    (wheel,) = glob.glob(os.path.join(out_dir, "*.whl"))
    return wheel


def _purelib(python):
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=children.clean_env(),
        timeout=60,
    ).stdout.strip()


def _make_venv(python, path):
    subprocess.run([python, "-m", "venv", "--without-pip", path], check=True, timeout=300)
    return os.path.join(path, "bin", "python")


def _install(venv_python, wheel):
    site_packages = _purelib(venv_python)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site_packages)
    # Byte-compile with the venv's own interpreter, as pip would at install time.
    subprocess.run(
        [venv_python, "-m", "compileall", "-q", site_packages],
        check=True,
        env=children.clean_env(),
        timeout=300,
    )


def setuptools_wheel():
    """The newest setuptools wheel from the package index, cached (its .pth and hack only)."""
    out = os.path.join(children.CACHE, "setuptools")
    found = glob.glob(os.path.join(out, "setuptools-*.whl"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "--only-binary",
                ":all:",
                "-d",
                out,
                "setuptools",
            ],
            check=True,
            timeout=600,
        )
        found = glob.glob(os.path.join(out, "setuptools-*.whl"))
    return sorted(found)[-1]


def _install_setuptools_pth(venv_python):
    """Only what runs at start: distutils-precedence.pth and the _distutils_hack package."""
    site_packages = _purelib(venv_python)
    with zipfile.ZipFile(setuptools_wheel()) as archive:
        for name in archive.namelist():
            if name == "distutils-precedence.pth" or name.startswith("_distutils_hack/"):
                archive.extract(name, site_packages)
    subprocess.run(
        [venv_python, "-m", "compileall", "-q", site_packages],
        check=True,
        env=children.clean_env(),
        timeout=300,
    )


def _install_import_sys_pth(venv_python):
    with open(os.path.join(_purelib(venv_python), "floor.pth"), "w") as handle:
        handle.write("import sys\n")


def _install_ours_with_start(venv_python, wheel):
    """The wheel plus the PEP 829 .start file it no longer ships (what the .start would cost)."""
    _install(venv_python, wheel)
    with open(os.path.join(_purelib(venv_python), "backport_gh115634.start"), "w") as handle:
        handle.write("backport_gh115634_startup:activate\n")


def contenders(python, wheel=None, with_start=False):
    """{"none", "ours", "import-sys", "setuptools"} (and "ours+start" if asked) -> the python
    of a venv with just that."""
    if wheel is None:
        wheel = build_wheel(os.path.join(children.CACHE, "wheel"))
    with_pkg, without_pkg = pair(python, wheel)
    root = os.path.dirname(os.path.dirname(os.path.dirname(with_pkg)))
    pythons = {"none": without_pkg, "ours": with_pkg}
    extra = (
        [("ours+start", lambda venv: _install_ours_with_start(venv, wheel))] if with_start else []
    )
    for name, install in [
        ("import-sys", _install_import_sys_pth),
        ("setuptools", _install_setuptools_pth),
    ] + extra:
        path = os.path.join(root, name)
        ready = os.path.join(path, "ready")
        if not os.path.exists(ready):
            shutil.rmtree(path, ignore_errors=True)
            install(_make_venv(python, path))
            open(ready, "w").close()
        pythons[name] = os.path.join(path, "bin", "python")
    return pythons


def pair(python, wheel=None):
    """Return (python with the package, python without it), building what is missing."""
    if wheel is None:
        wheel = build_wheel(os.path.join(children.CACHE, "wheel"))
    with open(wheel, "rb") as stream:
        wheel_hash = hashlib.sha256(stream.read()).hexdigest()[:12]
    python_key = hashlib.sha256(os.path.realpath(python).encode()).hexdigest()[:12]
    root = os.path.join(children.CACHE, "venvs-%s-%s" % (python_key, wheel_hash))
    ready = os.path.join(root, "ready")
    with_pkg = os.path.join(root, "with", "bin", "python")
    without_pkg = os.path.join(root, "without", "bin", "python")
    if not os.path.exists(ready):
        shutil.rmtree(root, ignore_errors=True)
        _make_venv(python, os.path.join(root, "without"))
        _install(_make_venv(python, os.path.join(root, "with")), wheel)
        # Byte-compile the without-venv's site-packages as well, so both start from caches.
        subprocess.run(
            [without_pkg, "-m", "compileall", "-q", _purelib(without_pkg)],
            env=children.clean_env(),
            timeout=300,
        )
        with open(ready, "w") as marker:
            marker.write(wheel + "\n")
    return with_pkg, without_pkg
