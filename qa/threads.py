"""Names for the threads policy-qa starts, as the operating system shows them.

Python (before 3.14) names threads only for itself; `top -H`, py-spy and
/proc/PID/task/*/comm show every thread as the interpreter. `name_os_thread` gives
the calling thread its Python name there too ("policy-qa-delivery" becomes
"pqa-delivery": Linux keeps 15 bytes), so `policy-qa bench` can say which thread an
idle server's CPU went to. A no-op where prctl is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from functools import cache

__all__ = ["Daemon", "name_os_thread"]

PR_SET_NAME = 15


@cache
def _prctl() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def name_os_thread(name: str | None = None) -> str:
    """Give the calling thread `name` (default: its Python name) in the OS; return the
    name set ("" when the platform has no prctl)."""
    short = (name or threading.current_thread().name).replace("policy-qa-", "pqa-")
    short = short.encode("ascii", "replace")[:15]
    prctl = _prctl()
    if prctl is None:
        return ""
    prctl(PR_SET_NAME, ctypes.c_char_p(short), 0, 0, 0)  # type: ignore[operator]
    return short.decode()


class Daemon:
    """A background daemon thread running `_run`, named `thread_name` (in Python and,
    from inside `_run` via name_os_thread, in the OS). Subclasses set `_stop` (a
    threading.Event) and may prepare more in `_before_start`."""

    thread_name = "policy-qa-daemon"
    _thread: threading.Thread | None = None
    _stop: threading.Event

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._before_start()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def _before_start(self) -> None:
        """Anything the thread needs before it starts (nothing by default)."""

    def _run(self) -> None:
        raise NotImplementedError
