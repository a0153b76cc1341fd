"""Read a socket option on the far end of a loopback TCP connection, inside another process.

A client can only see its own socket's options; whether the broker really turned Nagle off on the
connection it accepted is visible only in the broker's process. Linux's ``pidfd_getfd`` (5.6+) copies
that descriptor into ours (a child process of ours, so ptrace permission holds), and we ask it.
"""

import ctypes
import os
import socket

_SYS_PIDFD_GETFD = 438  # the same number on x86-64 and arm64 (asm-generic)


def peer_tcp_nodelay(pid: int, local: tuple[str, int]) -> bool:
    """Whether process ``pid``'s socket connected to our address ``local`` has TCP_NODELAY on."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except FileNotFoundError:
                continue  # closed while we looked
            fd = libc.syscall(_SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                raise PermissionError(f"pidfd_getfd on process {pid}: {os.strerror(ctypes.get_errno())}; "
                                      "run the tests as the user that started the broker, on Linux 5.6+")
            with socket.socket(fileno=fd) as sock:
                if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
                    continue
                try:
                    peer = sock.getpeername()
                except OSError:
                    continue  # a listening socket
                if peer == local:
                    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        os.close(pidfd)
    raise LookupError(f"process {pid} has no TCP connection to {local}")
