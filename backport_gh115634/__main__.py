"""``python -m backport_gh115634``: the doctor. Is this interpreter affected, is it protected, and
a live run of the gh-115634 reproducer to prove it. See ``--help``."""

import sys

from backport_gh115634._doctor import main

if __name__ == "__main__":
    code: int = main()
    sys.exit(code)
