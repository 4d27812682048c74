"""Quitting ends the process within a second even while a worker thread is blocked (8.5)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import threading, time
    from concurrent.futures import ThreadPoolExecutor
    from console.app import _end_if_threads_linger

    # A thread worker stuck in a slow request (Textual's thread workers run in a pool whose
    # threads the interpreter joins at exit).
    pool = ThreadPoolExecutor(1)
    pool.submit(time.sleep, 30)
    threading.Thread(target=time.sleep, args=(30,)).start()
    time.sleep(0.1)
    _end_if_threads_linger(0)
    print("not reached while threads linger")
    """
)


def test_lingering_worker_threads_do_not_keep_the_process_alive() -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=20, check=False
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert "not reached" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert elapsed < 15  # start-up included, on a loaded machine; the threads would take 30 s
