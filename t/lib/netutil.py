#!/usr/bin/python3
"""Small network helpers for the shell test harness (t/lib/services.sh).

usage: netutil.py freeport
       netutil.py waitport PORT TIMEOUT_S          exit 0 once 127.0.0.1:PORT accepts
       netutil.py garbage PORT NBYTES              send random bytes, wait for close
       netutil.py partial PORT                     send half a startup message, disconnect
       netutil.py midquery PORT USER PASSWORD DB   log in, send half a Query, disconnect
       netutil.py hold DSN N READYFILE             open N PostgreSQL sessions, hold them
                                                   until SIGTERM
       netutil.py http URL                         print status code and body
"""
import os
import random
import signal
import socket
import struct
import sys
import time
import urllib.error
import urllib.request


def freeport():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def waitport(port, timeout):
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.05)
    return 1


def read_until_close(s, timeout):
    """Reads until the peer closes; returns the bytes received or None on timeout."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return got
            got += b
    except ConnectionResetError:
        return got
    except socket.timeout:
        return None


def garbage(port, n):
    rnd = random.Random(0xAC1A)
    data = bytes(rnd.getrandbits(8) for _ in range(int(n)))
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    try:
        s.sendall(data)
    except OSError:
        pass
    got = read_until_close(s, 15)
    s.close()
    if got is None:
        print("connection still open 15 s after garbage", file=sys.stderr)
        return 1
    return 0


def partial(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    # A StartupMessage announcing 100 bytes, of which only 10 are sent.
    s.sendall(struct.pack("!II", 100, 196608) + b"us")
    time.sleep(0.2)
    s.close()
    return 0


def startup_login(s, user, password, db):
    """Plain-socket PostgreSQL login supporting SCRAM-SHA-256 (no channel binding)."""
    import base64
    import hashlib
    import hmac

    params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + b"\0\0"
    s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
    buf = b""

    def msg():
        nonlocal buf
        while True:
            if len(buf) >= 5:
                t, ln = buf[0:1], struct.unpack("!I", buf[1:5])[0]
                if len(buf) >= 1 + ln:
                    body = buf[5:1 + ln]
                    buf = buf[1 + ln:]
                    return t, body
            b = s.recv(65536)
            if not b:
                raise EOFError("server closed during login")
            buf += b

    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=,r=" + nonce
    while True:
        t, body = msg()
        if t == b"E":
            raise RuntimeError("login error")
        if t == b"Z":
            return
        if t != b"R":
            continue
        code = struct.unpack("!I", body[:4])[0]
        if code == 10:
            first = ("n,," + first_bare).encode()
            payload = b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first
            s.sendall(b"p" + struct.pack("!I", 4 + len(payload)) + payload)
        elif code == 11:
            server_first = body[4:].decode()
            attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
            salt = base64.b64decode(attrs["s"])
            salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(attrs["i"]))
            ckey = hmac.new(salted, b"Client Key", "sha256").digest()
            skey = hashlib.sha256(ckey).digest()
            final_wo = "c=biws,r=" + attrs["r"]
            auth = (first_bare + "," + server_first + "," + final_wo).encode()
            sig = hmac.new(skey, auth, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(ckey, sig))
            final = (final_wo + ",p=" + base64.b64encode(proof).decode()).encode()
            s.sendall(b"p" + struct.pack("!I", 4 + len(final)) + final)
        elif code not in (0, 12):
            raise RuntimeError("unsupported auth request %d" % code)


def midquery(port, user, password, db):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    startup_login(s, user, password, db)
    q = b"SELECT 1;\0"
    # Announce 1000 bytes of query, send only the first few.
    s.sendall(b"Q" + struct.pack("!I", 1000) + q)
    time.sleep(0.2)
    s.close()
    return 0


def hold(dsn, n, readyfile):
    import psycopg2

    conns = []
    for _ in range(int(n)):
        c = psycopg2.connect(dsn)
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        conns.append(c)
    with open(readyfile, "w") as f:
        f.write("%d\n" % len(conns))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def http(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            print(r.status)
            sys.stdout.write(r.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        print(e.code)
        sys.stdout.write(e.read().decode("utf-8", "replace"))
    return 0


def main(argv):
    cmds = {
        "freeport": (freeport, 0),
        "waitport": (waitport, 2),
        "garbage": (garbage, 2),
        "partial": (partial, 1),
        "midquery": (midquery, 4),
        "hold": (hold, 3),
        "http": (http, 1),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    rc = cmds[argv[1]][0](*argv[2:])
    return rc or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
