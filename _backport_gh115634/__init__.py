"""The implementation of backport_gh115634. Private: use the public package ``backport_gh115634``.

The principle: what a program can observe of the package is what it would observe on a fixed
CPython (3.14.7+), plus what it asks for (``status()``, and the log records its logging
configuration enables). So no thread, process or file descriptor of ours; no work for a log
record no handler will take; state per process (a forked child starts from a clean slate, every
module that keeps state registers with ``os.register_at_fork``); exit never waits on an
application's log handler beyond ``interventions.FLUSH_BUDGET``; and the manager's worker-exit
path is told by the pool's state, never by who called (a subclass delegating with ``super()``
gets what a plain pool gets). Sub-interpreters each have their own copy of all of it, and nothing
of ours outlives one.

Kept apart from the public package so that the start-up hook can apply the fix without importing
``backport_gh115634`` itself: that package's ``__init__`` runs only on a user's (or the doctor's)
own import, which is how an explicit ``import backport_gh115634`` is told from the hook's work.

Imports flow one way: ``backport_gh115634_startup`` <- ``patch`` <- ``detect``, ``seams``,
``replacement``, ``interventions``, ``status``, ``wakeup``, ``warning``; the public package and
its doctor sit on top. Nothing here imports ``concurrent.futures.process`` at module level.

Locks, in the one order they may be taken (a thread holding one may take those after it, never
one before it):

1. a pool's ``shutdown_lock`` (the stdlib's). Our seams run under it, and a done-callback under
   it may call ``apply()`` or ``status()``. We never wait for it while holding a lock of ours.
2. ``patch._lock``, the package's state lock (re-entrant): what is installed where, the detection
   cache, the last apply error. Held for reads and assignments only: never while importing
   (everything it needs is imported before it is taken), waiting for an import or a pool lock,
   logging or warning.
3. ``backport_gh115634_startup._lock``: the start-up records, the hook and a pending deferral.
   A leaf.
4. ``interventions._lock``: the counts. A leaf, held for an integer increment.

What runs on a pool's manager thread (the seams, ``replacement``) takes only lock 4, catches every
exception of its own, and never runs user code under a pool lock: log records are queued there
and emitted by the same thread once it holds no lock (``interventions.flush``, called from the
wait seam).
"""
