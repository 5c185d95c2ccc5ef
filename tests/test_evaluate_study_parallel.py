"""The parallel study's workers die with their coordinator (a killed study leaves no run training
on unseen into the folders a restarted study redoes): a real coordinator process, a real spawned
worker pool with the study's initializer, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

COORDINATOR = '''
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from seqclr.evaluate.study_parallel import _init_worker


def job(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)


if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(1, os.getpid())) as pool:
        pool.submit(job, sys.argv[1]).result()
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait(cond, seconds: float) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def test_workers_exit_when_the_coordinator_is_killed(tmp_path):
    script, pid_file = tmp_path / "coordinator.py", tmp_path / "worker.pid"
    script.write_text(COORDINATOR)
    coordinator = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=Path(__file__).parents[1])
    try:
        assert _wait(lambda: pid_file.exists() and pid_file.read_text(), 120), "the worker never started its job"
        worker = int(pid_file.read_text())
        time.sleep(1.0)
        assert _alive(worker)  # running its job while the coordinator lives
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait(10)
        assert _wait(lambda: not _alive(worker), 15), "the worker outlived its killed coordinator"
    finally:
        coordinator.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
