#!/usr/bin/python3
"""Checks acra server's decryption of PostgreSQL results with real drivers.

usage: pg_decrypt.py CHECK HOST PROXY_PORT DIRECT_PORT USER PASSWORD DB ACRA_PID
Plaintexts come from the environment: PA_S (clientA AcraStruct, table enc row 1),
PA_B (clientA AcraBlock, row 2). Row 3 holds clientB's AcraStruct (must come back as the
database sent it). Prints one `ok - ...` line per check; exits non-zero on the first failure.
"""
import asyncio
import os
import socket
import struct
import sys
import threading
import time

import psycopg2
import psycopg2.extensions

CHECK, HOST, PPORT, DPORT, USER, PW, DB, APID = sys.argv[1:9]
PA_S = os.environ["PA_S"].encode()
PA_B = os.environ["PA_B"].encode()


def dsn(port):
    return "host=%s port=%s user=%s password=%s dbname=%s sslmode=disable" % (
        HOST, port, USER, PW, DB)


def ok(what):
    print("ok - " + what, flush=True)


def expect(got, want, what):
    if got != want:
        raise SystemExit("not ok - %s: got %r, want %r" % (what, got[:200] if got else got,
                                                            want[:200] if want else want))
    ok(what)


def rss_kib():
    with open("/proc/%s/status" % APID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %s" % APID)


def direct_row3():
    c = psycopg2.connect(dsn(DPORT))
    cur = c.cursor()
    cur.execute("SELECT b FROM enc WHERE id = 3")
    v = bytes(cur.fetchone()[0])
    c.close()
    return v


def check_psycopg2():
    c = psycopg2.connect(dsn(PPORT))
    cur = c.cursor()
    cur.execute("SELECT id, b, t FROM enc WHERE id IN (1, 2, 3) ORDER BY id")
    rows = cur.fetchall()
    expect(bytes(rows[0][1]), PA_S, "psycopg2: AcraStruct bytea decrypted")
    expect(bytes(rows[1][1]), PA_B, "psycopg2: AcraBlock bytea decrypted")
    expect(rows[0][2], "\\x" + PA_S.hex(), "psycopg2: AcraStruct in a text column decrypted")
    expect(bytes(rows[2][1]), direct_row3(), "psycopg2: clientB's AcraStruct unchanged")
    # parameters go through the extended protocol (psycopg2 interpolates client-side, so
    # use a server-side prepared statement explicitly)
    cur.execute("PREPARE q(int) AS SELECT b FROM enc WHERE id = $1")
    cur.execute("EXECUTE q(2)")
    expect(bytes(cur.fetchone()[0]), PA_B, "psycopg2: SQL PREPARE/EXECUTE decrypted")
    c.close()


def check_psycopg3():
    import psycopg
    with psycopg.connect(dsn(PPORT)) as c:
        cur = c.cursor(binary=True)
        cur.execute("SELECT b FROM enc WHERE id = %s", (1,))
        expect(bytes(cur.fetchone()[0]), PA_S, "psycopg 3 binary=True: AcraStruct decrypted")
        cur.execute("SELECT b FROM enc WHERE id = %s", (2,))
        expect(bytes(cur.fetchone()[0]), PA_B, "psycopg 3 binary=True: AcraBlock decrypted")
        cur.execute("SELECT b FROM enc WHERE id = %s", (3,))
        expect(bytes(cur.fetchone()[0]), direct_row3(),
               "psycopg 3 binary=True: clientB's value unchanged")
        cur = c.cursor()
        cur.execute("SELECT b FROM enc WHERE id = %s", (1,))
        expect(bytes(cur.fetchone()[0]), PA_S, "psycopg 3 text format: AcraStruct decrypted")


async def asyncpg_main():
    import asyncpg
    c = await asyncpg.connect(host=HOST, port=int(PPORT), user=USER, password=PW, database=DB,
                              ssl=False)
    expect(await c.fetchval("SELECT b FROM enc WHERE id = $1", 1), PA_S,
           "asyncpg (binary format): AcraStruct decrypted")
    expect(await c.fetchval("SELECT b FROM enc WHERE id = $1", 2), PA_B,
           "asyncpg (binary format): AcraBlock decrypted")
    expect(await c.fetchval("SELECT b FROM enc WHERE id = $1", 3), direct_row3(),
           "asyncpg: clientB's value unchanged")
    stmt = await c.prepare("SELECT b FROM enc WHERE id = $1")
    for i in range(1000):  # warm up: buffers reach their working size
        await stmt.fetchval(1 + i % 2)
    before = rss_kib()
    for i in range(10000):
        v = await stmt.fetchval(1 + i % 2)
        if v != (PA_S if i % 2 == 0 else PA_B):
            raise SystemExit("not ok - prepared statement run %d: wrong value" % i)
    after = rss_kib()
    ok("asyncpg: one prepared statement run 10,000 times, every value decrypted")
    if os.environ.get("PGDEC_SANITIZED"):
        ok("proxy RSS not checked: sanitizer build (quarantine holds freed memory)")
    elif after - before >= 1024:
        raise SystemExit("not ok - proxy RSS grew %d KiB over 10,000 runs" % (after - before))
    else:
        ok("proxy RSS flat over 10,000 runs (%d KiB -> %d KiB)" % (before, after))
    await c.close()


def check_asyncpg():
    asyncio.run(asyncpg_main())


def check_copy():
    import io
    c = psycopg2.connect(dsn(PPORT))
    buf = io.StringIO()
    c.cursor().copy_expert("COPY (SELECT id, b, t FROM enc WHERE id IN (1, 2) ORDER BY id) "
                           "TO STDOUT", buf)
    want = "1\t\\\\x%s\t\\\\x%s\n2\t\\\\x%s\t\\\\x%s\n" % (PA_S.hex(), PA_S.hex(),
                                                        PA_B.hex(), PA_B.hex())
    expect(buf.getvalue(), want, "COPY TO STDOUT (text): encrypted rows decrypted")
    c.close()


def check_notify():
    a = psycopg2.connect(dsn(PPORT))
    b = psycopg2.connect(dsn(PPORT))
    a.autocommit = b.autocommit = True
    a.cursor().execute("LISTEN acra_ch")
    b.cursor().execute("NOTIFY acra_ch, 'hello through acra'")
    deadline = time.time() + 10
    while not a.notifies and time.time() < deadline:
        import select
        select.select([a], [], [], 1)
        a.poll()
    expect([(n.channel, n.payload) for n in a.notifies], [("acra_ch", "hello through acra")],
           "LISTEN/NOTIFY through the proxy")
    a.close()
    b.close()


def check_cancel():
    c = psycopg2.connect(dsn(PPORT))
    t = threading.Timer(0.5, c.cancel)
    t.start()
    start = time.time()
    code = None
    try:
        c.cursor().execute("SELECT pg_sleep(10)")
    except psycopg2.Error as e:
        code = e.pgcode
    took = time.time() - start
    expect(code, "57014", "pg_sleep(10) cancelled through the proxy (SQLSTATE 57014)")
    if took > 5:
        raise SystemExit("not ok - cancel took %.1f s" % took)
    ok("cancel returned after %.1f s" % took)
    c.rollback()
    cur = c.cursor()
    cur.execute("SELECT b FROM enc WHERE id = 1")
    expect(bytes(cur.fetchone()[0]), PA_S, "session works after the cancel")
    c.close()


def check_txn():
    c = psycopg2.connect(dsn(PPORT))
    cur = c.cursor()
    cur.execute("SELECT b FROM enc WHERE id = 1")
    try:
        cur.execute("SELECT 1/0")
        raise SystemExit("not ok - division by zero did not fail")
    except psycopg2.errors.DivisionByZero:
        pass
    try:
        cur.execute("SELECT 1")
        raise SystemExit("not ok - aborted transaction accepted a query")
    except psycopg2.errors.InFailedSqlTransaction:
        ok("error inside a transaction: later queries refused (25P02)")
    c.rollback()
    cur.execute("SELECT b FROM enc WHERE id = 2")
    expect(bytes(cur.fetchone()[0]), PA_B, "after ROLLBACK the session decrypts again")
    c.close()


def check_big():
    c = psycopg2.connect(dsn(PPORT))
    cur = c.cursor()
    cur.execute("SELECT g, e.b FROM generate_series(1, 100000) g, enc e WHERE e.id = 2")
    n = bad = 0
    while True:
        rows = cur.fetchmany(10000)
        if not rows:
            break
        for r in rows:
            n += 1
            if bytes(r[1]) != PA_B:
                bad += 1
    expect((n, bad), (100000, 0), "100,000-row result: every AcraBlock decrypted")
    c.close()


def check_concurrent():
    n = 50
    barrier = threading.Barrier(n, timeout=60)
    errors = []
    good = []

    def worker(i):
        try:
            c = psycopg2.connect(dsn(PPORT), connect_timeout=30)
            barrier.wait()
            cur = c.cursor()
            cur.execute("SELECT b FROM enc WHERE id = %s", (1 + i % 2,))
            if bytes(cur.fetchone()[0]) == (PA_S if i % 2 == 0 else PA_B):
                good.append(i)
            c.close()
        except Exception as e:
            errors.append(repr(e))
            barrier.abort()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expect((len(good), errors[:1]), (n, []), "50 concurrent connections all decrypted")


def recv_all(s, limit=65536):
    data = b""
    s.settimeout(5)
    try:
        while len(data) < limit:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    return data


def raw_session(payload, limit=65536):
    s = socket.create_connection((HOST, int(PPORT)), timeout=5)
    s.sendall(payload)
    data = recv_all(s, limit)
    s.close()
    return data


def startup():
    body = struct.pack("!I", 196608) + b"user\0" + USER.encode() + b"\0database\0" + \
        DB.encode() + b"\0\0"
    return struct.pack("!I", len(body) + 4) + body


def has_error(data, text):
    return b"E" in data and text.encode() in data


def check_malformed():
    d = raw_session(struct.pack("!II", 16, 0x12345678) + os.urandom(8))
    if not has_error(d, "invalid"):
        raise SystemExit("not ok - garbage startup packet: got %r" % d[:100])
    ok("garbage startup packet: ErrorResponse, session closed")
    d = raw_session(struct.pack("!I", 0x50000000) + struct.pack("!I", 196608))
    if not has_error(d, "too long"):
        raise SystemExit("not ok - over-long startup packet: got %r" % d[:100])
    ok("startup packet with a length over 1 GiB: ErrorResponse")
    d = raw_session(startup() + b"p" + struct.pack("!I", 0x50000000) + b"xx")
    if not has_error(d, "too long"):
        raise SystemExit("not ok - over-long message: got %r" % d[:100])
    ok("message with a length over 1 GiB: ErrorResponse, session closed")
    d = raw_session(startup() + b"\x01" + struct.pack("!I", 4))
    if not has_error(d, "invalid message"):
        raise SystemExit("not ok - unknown message type: got %r" % d[:100])
    ok("unknown message type: ErrorResponse, session closed")
    d = raw_session(struct.pack("!II", 8, 80877103), 1)
    expect(d, b"N", "SSLRequest answered 'N' by the proxy")
    d = raw_session(struct.pack("!II", 8, 80877104), 1)
    expect(d, b"N", "GSSENCRequest answered 'N' by the proxy")
    c = psycopg2.connect(dsn(PPORT))
    cur = c.cursor()
    cur.execute("SELECT b FROM enc WHERE id = 1")
    expect(bytes(cur.fetchone()[0]), PA_S, "another session keeps working")
    c.close()


CHECKS = {
    "psycopg2": check_psycopg2, "psycopg3": check_psycopg3, "asyncpg": check_asyncpg,
    "copy": check_copy, "notify": check_notify, "cancel": check_cancel, "txn": check_txn,
    "big": check_big, "concurrent": check_concurrent, "malformed": check_malformed,
}

if __name__ == "__main__":
    CHECKS[CHECK]()
