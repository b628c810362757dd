"""The fault suite's /proc evidence (tests/faults/proc_state.py): what it reads for a stuck run."""

import os
import platform
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
import proc_state

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")


def test_a_thread_blocked_on_a_lock_is_seen_in_its_system_call():
    lock = threading.Lock()
    lock.acquire()
    waiter = threading.Thread(target=lock.acquire, args=(True, 30), daemon=True)
    waiter.start()
    try:
        state = {}
        for _ in range(200):  # until it is asleep in the kernel (at most 2 s)
            state = proc_state.thread_state(waiter.native_id)
            if state["state"] == "S":
                break
            threading.Event().wait(0.01)
        assert state["state"] == "S"
        if platform.machine() == "x86_64" and not state["syscall"].startswith("<"):
            assert state["syscall"] == "futex"
    finally:
        lock.release()
        waiter.join(5)


def test_a_child_shows_its_command_line_signal_mask_and_threads():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        state = {}
        for _ in range(500):  # until it has exec'd and started (at most 5 s)
            state = proc_state.process_state(child.pid)
            if "time.sleep" in state["cmdline"] and state["status"].get("State", "").startswith(
                "S"
            ):
                break
            threading.Event().wait(0.01)
        assert "time.sleep(30)" in state["cmdline"]
        assert set(state["status"]) >= {"State", "SigBlk", "Threads"}
        assert state["threads"] and all(
            set(t) == {"state", "wchan", "syscall"} for t in state["threads"].values()
        )
        assert child.pid in proc_state.live_descendants(exclude=())
    finally:
        child.kill()
        child.wait(10)


def test_a_process_that_is_gone_reads_as_errors_not_exceptions():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(30)
    state = proc_state.process_state(child.pid)
    assert state["threads"] == {} and state["status"] == {}
    assert state["cmdline"].startswith("<")


class StuckManager(threading.Thread):
    """Stands in for a pool's manager thread that never returns: blocked on a lock."""

    def __init__(self, lock):
        super().__init__(target=lock.acquire, args=(True, 30), daemon=True)
        self.processes = {}
        self.pending_work_items = {7: None}


class Shim:
    def status(self):
        class Status:
            interventions: "dict[str, int]" = {}  # noqa: RUF012 - a stand-in, never mutated

        return Status()


def test_a_run_whose_manager_is_stuck_records_what_the_kernel_says(monkeypatch):
    import fault_run

    lock = threading.Lock()
    lock.acquire()
    manager = StuckManager(lock)
    manager.start()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for _ in range(500):  # until it has exec'd (at most 5 s): before, its command line is
            if "time.sleep" in proc_state.process_state(child.pid)["cmdline"]:  # not yet its own
                break
            threading.Event().wait(0.01)
        plan = {
            "seed": 0,
            "faults": {},
            "start_method": "spawn",
            "workers": 1,
            "tasks": 0,
            "max_tasks_per_child": 1,
            "task_actions": [],
            "durations": [],
        }
        monkeypatch.setattr(fault_run.fault_plan, "describe", lambda plan: "synthetic")
        run = fault_run.FaultRun(plan, Shim(), fault_run.Errors())
        run.manager_thread = manager
        # The evidence step waits up to 10 s for children to exit: let that time pass at once.
        clock = iter(range(0, 10**6, 5))
        monkeypatch.setattr(
            fault_run,
            "time",
            type(
                "Clock",
                (),
                {
                    "monotonic": staticmethod(lambda: next(clock)),
                    "sleep": staticmethod(lambda seconds: None),
                },
            ),
        )
        monkeypatch.setattr(fault_run, "live_descendants", lambda exclude: [child.pid])
        run._collect_evidence()
        verdict = run.verdict
        assert verdict["manager_alive"]
        assert set(verdict["manager_native"]) == {"state", "wchan", "syscall"}
        assert "time.sleep(30)" in verdict["children_native"][child.pid]["cmdline"]
    finally:
        lock.release()
        manager.join(5)
        child.kill()
        child.wait(10)
