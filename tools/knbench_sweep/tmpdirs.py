"""A backend's private temporary directory (0700, removed at teardown). Its name is
prefix.XXXXXX with letters and digits only, as mktemp makes them: the logs name it and
tests find it by that pattern."""

import os
import secrets
import shutil
import tempfile


def make(prefix: str) -> str:
    base = tempfile.gettempdir()
    for _ in range(100):
        path = os.path.join(base, f"{prefix}.{secrets.token_hex(3)}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise OSError(f"cannot create a temporary directory {prefix}.* in {base}")


def remove(path: str, prefix: str) -> None:
    """Remove a directory that make(prefix) created, and nothing else."""
    if path and os.path.basename(path).startswith(prefix + ".") and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


class OnDemand:
    """A temporary directory made on first use (path()) and removed by remove()."""

    def __init__(self, prefix: str):
        self.prefix, self._path = prefix, ""

    def path(self) -> str:
        if not self._path:
            self._path = make(self.prefix)
        return self._path

    def remove(self) -> None:
        remove(self._path, self.prefix)
        self._path = ""
