"""What Linux's /proc says about this process's threads and its descendants.

For the fault suite's evidence when a run hangs: the Python stack of a stuck thread ends at the
C call it is in (``fork_exec()``, say) but not at what that call waits on, and a stuck child
cannot be asked for its stack if its signals are blocked. /proc tells both without a debugger:
the system call a thread sits in, its kernel wait channel, a process's blocked-signal mask, and
its command line (a vfork()ed child that has not yet exec'd still shows the parent's).

Every reader returns what it could read and never raises: evidence is best effort.
"""

import os
import platform

# The system calls worth naming when a thread is stuck (x86_64 numbering; others stay numbers).
X86_64_SYSCALLS = {
    0: "read",
    7: "poll",
    23: "select",
    35: "nanosleep",
    56: "clone",
    57: "fork",
    58: "vfork",
    59: "execve",
    61: "wait4",
    202: "futex",
    230: "clock_nanosleep",
    232: "epoll_wait",
    270: "pselect6",
    271: "ppoll",
    435: "clone3",
}


def _read(path, limit=4096):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError as error:
        return ("<%s>" % error.strerror).encode()


def _syscall(path):
    text = _read(path).decode(errors="replace").split()
    if not text or not text[0].lstrip("-").isdigit():
        return " ".join(text)  # "running", or an error
    number = int(text[0])
    if platform.machine() == "x86_64":
        return X86_64_SYSCALLS.get(number, "syscall %d" % number)
    return "syscall %d" % number


def _stat_fields(path):
    """The fields of a /proc stat file after the command name (state, ppid, ...): the name is
    in parentheses and may hold spaces. Empty when the file cannot be read."""
    try:
        with open(path) as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []  # exited meanwhile


def thread_state(native_id, pid="self"):
    """State, wait channel and current system call of one thread (by its native id)."""
    base = "/proc/%s/task/%d/" % (pid, native_id)
    return {
        "state": (_stat_fields(base + "stat") or ["?"])[0],
        "wchan": _read(base + "wchan").decode(errors="replace"),
        "syscall": _syscall(base + "syscall"),
    }


def process_state(pid):
    """Command line, blocked signals and each thread's state of one process."""
    status = {}
    for line in _read("/proc/%d/status" % pid, 8192).decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key in ("State", "SigBlk", "SigPnd", "ShdPnd", "Threads"):
            status[key] = value.strip()
    cmdline = _read("/proc/%d/cmdline" % pid, 300).replace(b"\0", b" ").decode(errors="replace")
    try:
        tids = sorted(int(tid) for tid in os.listdir("/proc/%d/task" % pid))
    except OSError:
        tids = []
    return {
        "cmdline": cmdline.strip(),
        "status": status,
        "threads": {tid: thread_state(tid, pid) for tid in tids[:16]},
    }


def live_descendants(exclude):
    """PIDs of live (non-zombie) processes below this one, minus the helpers in exclude.

    Read from /proc, so forkserver workers (children of the fork server) count too.
    """
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields("/proc/%s/stat" % entry)
        if fields and fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return sorted(found - set(exclude))
