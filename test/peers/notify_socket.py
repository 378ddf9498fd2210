#!/usr/bin/python3
"""A service manager's NOTIFY_SOCKET, for tests (the test listens; the agent never does).

  notify_socket.py PATH

Binds a unix datagram socket at PATH, prints {"listening": true}, then one JSON
line per datagram: {"pid": <sender pid from SCM_CREDENTIALS>, "fields": ["READY=1", ...]}.
File descriptors passed along (sd_notify_barrier's BARRIER=1) are closed at once,
which is what releases a waiting systemd-notify, as systemd itself does.
Ends when stdin closes (the test ended) or on SIGTERM.
"""

import array
import json
import os
import select
import socket
import struct
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
ancillary = socket.CMSG_SPACE(struct.calcsize("3i")) + socket.CMSG_SPACE(16 * array.array("i").itemsize)

while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sys.stdin in ready and not sys.stdin.buffer.read1(4096):
        break
    if sock not in ready:
        continue
    data, anc, _flags, _addr = sock.recvmsg(65536, ancillary)
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    fields = [f for f in data.decode("utf-8", "replace").split("\n") if f]
    print(json.dumps({"pid": pid, "fields": fields}), flush=True)
