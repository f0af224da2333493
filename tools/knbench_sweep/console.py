"""What the sweep tells its user: timestamped log lines on stderr, result lines on
stdout (one lock, so the progress thread never splits a line), and the errors that end
it with one line and exit status 2."""

import sys
import threading
import time

_lock = threading.RLock()  # reentrant: a signal handler may log mid-line
NAME = "run_experiments"


def set_name(name: str) -> None:
    """The program name log and error lines carry (another entry point of the package)."""
    global NAME
    NAME = name


class UsageError(Exception):
    """Bad input or a sweep that cannot be carried out: one error line, exit 2."""


class RunFailed(Exception):
    """A run could not be carried out (a driver wrote no CSV, a Job failed): the sweep
    ends with exit 2; what was recorded so far stays."""


def log(msg: str) -> None:
    with _lock:
        sys.stderr.write(f"[{NAME} {time.strftime('%H:%M:%S', time.gmtime())}] {msg}\n")
        sys.stderr.flush()


def warn(msg: str) -> None:
    log(f"warning: {msg}")


def error_line(msg: str) -> None:
    with _lock:
        sys.stderr.write(f"{NAME}: error: {msg}\n")
        sys.stderr.flush()


def say(line: str) -> None:
    """A line on stdout (results, the runs' one-line summaries)."""
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def on_terminal() -> bool:
    """Live lines are rewritten in place (stdout is a terminal), not appended to a log."""
    return sys.stdout.isatty()


def live(line: str) -> None:
    """A progress line: rewritten in place on a terminal, a line of its own in a log."""
    with _lock:
        if on_terminal():
            sys.stdout.write("\r\033[K" + line)
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()


def clear_live() -> None:
    if on_terminal():
        with _lock:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()


def tail(path: str, lines: int = 15) -> None:
    """Show the last lines of a log (a process that failed to start, a run that failed)."""
    try:
        with open(path, errors="replace") as f:
            text = f.readlines()[-lines:]
    except OSError:
        return
    log(f"last lines of {path}:")
    with _lock:
        sys.stderr.write("".join(text))
        sys.stderr.flush()
