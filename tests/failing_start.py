"""multiprocessing contexts whose Process.start() can be made to fail.

How the tests make a worker, or a replacement worker, fail to start: before each start() the
context calls the function in `before_start` (if set), which raises to fail that start. Shared
by tests/scenarios/pool_scenario.py and tests/faults/fault_run.py; stdlib only, because pool
workers unpickle these classes (by this module's name) too.
"""

import multiprocessing.context as _context

# Set by the user of the contexts: called with no arguments before every start().
before_start = None


def _check():
    if before_start is not None:
        before_start()


class FailingSpawnProcess(_context.SpawnProcess):
    def start(self):
        _check()
        super().start()


class FailingSpawnContext(_context.SpawnContext):
    Process = FailingSpawnProcess


class FailingForkServerProcess(_context.ForkServerProcess):
    def start(self):
        _check()
        super().start()


class FailingForkServerContext(_context.ForkServerContext):
    Process = FailingForkServerProcess


def failing_context(method):
    """A new context of the given start method ("spawn" or "forkserver")."""
    return {"spawn": FailingSpawnContext, "forkserver": FailingForkServerContext}[method]()
