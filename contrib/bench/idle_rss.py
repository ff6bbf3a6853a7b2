#!/usr/bin/python3
"""Memory per idle PostgreSQL session through a proxy.

usage: idle_rss.py PROXY_PORT PROXY_PID [N] [USER] [DATABASE]

Opens N (default 100) sessions through the proxy on 127.0.0.1:PROXY_PORT, each completing
PostgreSQL's start-up (trust authentication) and then staying idle, and prints the growth of
the proxy's resident memory (VmRSS of PROXY_PID) per session. One session is opened and
closed first so that one-time allocations are not counted. The database must accept N + 1
connections.
"""
import socket
import struct
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


def start_session(port, user, db):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
    body = struct.pack("!I", 196608) + params  # protocol 3.0
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    buf = b""
    while not buf.endswith(b"Z\0\0\0\x05I"):  # ReadyForQuery, idle
        d = s.recv(65536)
        if not d:
            raise SystemExit("the proxy or the database closed a session during start-up")
        if d[:1] == b"E":
            raise SystemExit("the database refused a session: " + repr(d[:200]))
        buf += d
    return s


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    user = sys.argv[4] if len(sys.argv) > 4 else "postgres"
    db = sys.argv[5] if len(sys.argv) > 5 else "postgres"
    start_session(port, user, db).close()
    time.sleep(0.5)
    before = rss_kib(pid)
    sessions = [start_session(port, user, db) for _ in range(n)]
    time.sleep(1)
    after = rss_kib(pid)
    print(f"idle sessions: {n}; proxy RSS {before} KiB -> {after} KiB; "
          f"{(after - before) / n:.2f} KiB per idle session")
    for s in sessions:
        s.close()


if __name__ == "__main__":
    main()
