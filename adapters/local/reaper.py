"""Keep a model server's whole process tree on a leash: ``python reaper.py CMD ARGS...``.

The supervisor does not start the model server directly but through this small process
(the gateway's interpreter: the standard library and psutil; Linux):

- it makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``), so every
  process the server forks stays its descendant even when its parent dies: BentoML's
  workers, which each run in a session of their own, are re-parented here rather than
  to init when the BentoML root dies;
- it reads its stdin, a pipe from the gateway: end of file means the gateway is gone
  (stopped, crashed or killed with SIGKILL), and so must the model server be;
- when the server's root exits, when stdin closes, or on SIGTERM/SIGINT, it stops every
  descendant (SIGTERM, then SIGKILL after a grace period), reaps them, and exits with the
  root's status. No worker is ever left holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = float(os.environ.get("OMNISENSE_REAPER_GRACE_S", "10"))


def descendants(root: int) -> list[int]:
    """Every live process below ``root``, parents before children (psutil walks the tree)."""
    try:
        return [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap() -> None:
    """Collect every exited child (orphans re-parented here included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_tree(me: int, grace_s: float) -> None:
    """SIGTERM every descendant, wait up to ``grace_s``, then SIGKILL what is left."""
    _signal_all(descendants(me), signal.SIGTERM)
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        _reap()
        if not descendants(me):
            return
        time.sleep(0.05)
    while left := descendants(me):
        _signal_all(left, signal.SIGKILL)
        time.sleep(0.05)
        _reap()


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: reaper.py COMMAND [ARGS...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    done = threading.Event()
    reason: list[str] = []

    def finish(why: str) -> None:
        reason.append(why)
        done.set()

    signal.signal(signal.SIGTERM, lambda *_: finish("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: finish("SIGINT"))

    def watch_stdin() -> None:
        # os.read on the descriptor, not sys.stdin.buffer: a daemon thread blocked inside the
        # buffered reader holds its lock, and the interpreter aborts at exit when it finds it
        # taken ("could not acquire lock for <_io.BufferedReader name='<stdin>'>").
        fd = sys.stdin.fileno()
        while os.read(fd, 4096):
            pass
        finish("the gateway is gone")

    root = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    threading.Thread(target=watch_stdin, daemon=True).start()

    def watch_root() -> None:
        root.wait()
        finish(f"the model server exited with status {root.returncode}")

    threading.Thread(target=watch_root, daemon=True).start()
    while not done.wait(0.5):
        pass
    print(f"reaper: {reason[0]}: stopping the model server's processes", file=sys.stderr, flush=True)
    stop_tree(os.getpid(), GRACE_S)
    code = root.poll()
    return 0 if code is None else (code if code >= 0 else 128 - code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
