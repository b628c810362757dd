"""Install, in the running interpreter's site-packages, a start-up file that keeps coverage out
of multiprocessing's helper processes (pool workers, the forkserver, the resource tracker) that
run nothing of ours: those started with BACKPORT_GH115634=0, where the package's .pth imports
nothing.

tox.ini runs it before the tests of every env measured by coverage. A test's children that run
the package are measured as before; a pool's workers there only run the stdlib and the task,
yet coverage's own start-up file made each of them import coverage, trace and write a data file
(about 0.2 s of CPU per process, measured: a third of the CPU of a measured env). The file is
named to be read before coverage's a1_coverage.pth, which then finds no COVERAGE_PROCESS_START.
Where sys.orig_argv is missing (3.9), every process is measured as before.

    python dev/coverage_workers.py
"""

import os
import sysconfig

NAME = "a0_backport_gh115634_coverage_workers.pth"
# One line: site runs a .pth line that starts with "import". A helper is a "-c" process whose
# code is multiprocessing's own ("from multiprocessing.spawn import spawn_main; ...").
LINE = (
    "import os, sys; "
    "argv = list(getattr(sys, 'orig_argv', ())); "
    "code = argv[argv.index('-c') + 1] if '-c' in argv[:-1] else ''; "
    "os.environ.get('BACKPORT_GH115634') == '0' and code.startswith('from multiprocessing.') "
    "and os.environ.pop('COVERAGE_PROCESS_START', None)\n"
)


def main() -> None:
    path = os.path.join(sysconfig.get_paths()["purelib"], NAME)
    with open(path, "w") as out:
        out.write(LINE)
    print("coverage_workers: wrote %s" % path)


if __name__ == "__main__":
    main()
