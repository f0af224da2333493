#!/usr/bin/python3
"""Every TCP listener of the given processes is on 127.0.0.1 (or ::1).

Local mode must not serve on all interfaces: the worker spins a CPU for up
to 10 minutes per call, unauthenticated. Maps each process's socket inodes
(/proc/PID/fd) to the listening sockets of /proc/net/tcp and tcp6.

Usage: check_loopback_listeners.py PID...
Exit: 0 all on loopback (prints each listener), 1 one line per listener
elsewhere, 2 bad usage or no listener at all (nothing was checked).
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts", "lib"))
from knbench_proc import listening_sockets  # noqa: E402

# 127.0.0.1 and ::1, as knbench_proc.listening_sockets gives them.
LOOPBACK = {"0100007F", "00000000000000000000000001000000"}


def readable(addr):
    """/proc/net/tcp's hex address (32-bit words in host order) as text."""
    raw = b"".join(struct.pack("=I", int(addr[i:i + 8], 16)) for i in range(0, len(addr), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def socket_inodes(pid):
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:  # gone, or not ours to read
        return inodes
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def command(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help") or not all(a.isdigit() for a in argv[1:]):
        print(__doc__, file=sys.stderr if len(argv) < 2 else sys.stdout)
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 2
    table = listening_sockets()
    bad = checked = 0
    for pid in argv[1:]:
        for inode in sorted(socket_inodes(pid)):
            if inode not in table:
                continue
            addr, port = table[inode]
            checked += 1
            where = f"{command(pid)} (pid {pid}) listens on {readable(addr)} port {port}"
            if addr in LOOPBACK:
                print(f"ok: {where}")
            else:
                print(f"check_loopback_listeners: {where}, not 127.0.0.1")
                bad += 1
    if not checked:
        print("check_loopback_listeners: none of these processes listens", file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
