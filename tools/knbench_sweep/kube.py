"""kubectl as the cluster backend calls it: one command (KUBECTL may hold arguments),
every call bounded in time and started like any child of the sweep."""

import shutil
import subprocess
from typing import List, Optional, Sequence

from . import procs


class Kubectl:
    def __init__(self, command: Sequence[str], namespace: str = "default"):
        self.command = list(command) or ["kubectl"]
        self.namespace = namespace

    def found(self) -> bool:
        return shutil.which(self.command[0]) is not None

    def run(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess:
        """The call's result; a call that cannot start or times out is exit status 1."""
        try:
            return procs.run([*self.command, *args], timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            return subprocess.CompletedProcess(args, 1, "", str(e))

    def ok(self, *args: str, timeout: float = 180.0) -> bool:
        return self.run(*args, timeout=timeout).returncode == 0

    def out(self, *args: str, timeout: float = 180.0) -> Optional[str]:
        """stdout of a call that succeeded, else None."""
        r = self.run(*args, timeout=timeout)
        return r.stdout if r.returncode == 0 else None

    def lines(self, *args: str) -> List[str]:
        return [x for x in (self.out(*args) or "").splitlines() if x.strip()]
