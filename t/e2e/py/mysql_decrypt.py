"""mysql_decrypt.py CHECK HOST ACRA_PORT DB_PORT USER DB: PyMySQL (text protocol) through
acra server --mysql_enable in front of MariaDB. The password comes from MYSQL_PWD, the
expected plaintexts from the environment (PA_S, PA_B). Prints nothing on success; exits 1
with a message on the first mismatch."""
import os
import sys
import threading

import pymysql

check, host, aport, dport, user, db = sys.argv[1:7]
pw = os.environ["MYSQL_PWD"]


def connect(port, **kw):
    # latin1 bytes as they are: envelopes live in a latin1 TEXT column too
    opts = dict(charset="latin1", use_unicode=False)
    opts.update(kw)
    return pymysql.connect(host=host, port=int(port), user=user, password=pw, database=db,
                           **opts)


def rows(port, sql, **kw):
    c = connect(port, **kw)
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        c.close()


def expect(got, want, what):
    if got != want:
        print("%s: got %r, want %r" % (what, got, want)[:600], file=sys.stderr)
        sys.exit(1)


def to_b(v):
    return v.encode("latin1") if isinstance(v, str) else v


if check == "decrypt":
    pa_s = os.environ["PA_S"].encode()
    pa_b = os.environ["PA_B"].encode()
    got = rows(aport, "SELECT id, b, t FROM enc WHERE id IN (1, 2) ORDER BY id")
    expect([(r[0], to_b(r[1]), to_b(r[2])) for r in got], [(1, pa_s, pa_s), (2, pa_b, pa_b)],
           "clientA's AcraStruct and AcraBlock in BLOB and TEXT come back decrypted")
    direct = rows(dport, "SELECT id, b, t FROM enc WHERE id IN (3, 4) ORDER BY id")
    via = rows(aport, "SELECT id, b, t FROM enc WHERE id IN (3, 4) ORDER BY id")
    expect(via, direct, "clientB's envelopes come back unchanged")
elif check == "types":
    q = "SELECT * FROM types ORDER BY id"
    kw = dict(charset="utf8mb4", use_unicode=True)
    expect(rows(aport, q, **kw), rows(dport, q, **kw), "every column type equals the direct result")
elif check == "multi":
    c = connect(aport, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT b FROM enc WHERE id = 1; SELECT 42; SELECT t FROM enc WHERE id = 2")
            sets = [[to_b(x[0]) if isinstance(x[0], (bytes, str)) else x[0] for x in cur.fetchall()]]
            while cur.nextset():
                sets.append([to_b(x[0]) if isinstance(x[0], (bytes, str)) else x[0]
                             for x in cur.fetchall()])
    finally:
        c.close()
    expect(sets, [[os.environ["PA_S"].encode()], [42], [os.environ["PA_B"].encode()]],
           "multi-statement query: three result sets, envelopes decrypted")
elif check == "txn":
    c = connect(aport, autocommit=False)
    try:
        with c.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS txn (id INT PRIMARY KEY)")
            cur.execute("INSERT INTO txn VALUES (1)")
            try:
                cur.execute("INSERT INTO txn VALUES (1)")
                print("duplicate key accepted", file=sys.stderr)
                sys.exit(1)
            except pymysql.err.IntegrityError:
                pass
            c.rollback()
            cur.execute("SELECT COUNT(*) FROM txn")
            expect(cur.fetchone()[0], 0, "rollback after an error inside a transaction")
            cur.execute("SELECT b FROM enc WHERE id = 1")
            expect(to_b(cur.fetchone()[0]), os.environ["PA_S"].encode(),
                   "connection still decrypts after the failed transaction")
    finally:
        c.close()
elif check == "concurrent":
    errors = []
    pa_s = os.environ["PA_S"].encode()

    def worker(n):
        try:
            c = connect(aport)
            with c.cursor() as cur:
                for _ in range(5):
                    cur.execute("SELECT b FROM enc WHERE id = 1")
                    if to_b(cur.fetchone()[0]) != pa_s:
                        errors.append("connection %d: wrong value" % n)
                        return
            c.close()
        except Exception as e:  # noqa: BLE001 - report any driver failure
            errors.append("connection %d: %s" % (n, e))

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    expect(errors, [], "50 concurrent connections each read the decrypted value 5 times")
elif check == "big":
    size = int(sys.argv[7])
    c = connect(aport, max_allowed_packet=64 * 1024 * 1024)
    try:
        with c.cursor() as cur:
            cur.execute("DELETE FROM big")
            val = os.urandom(size)
            cur.execute("INSERT INTO big VALUES (1, %s)", (val,))
            c.commit()
            cur.execute("SELECT v FROM big WHERE id = 1")
            expect(to_b(cur.fetchone()[0]) == val, True, "a %d-byte value round-trips" % size)
    finally:
        c.close()
elif check == "bigenc":
    # argv[7]: file with an envelope, argv[8]: file with its plaintext
    env = open(sys.argv[7], "rb").read()
    plain = open(sys.argv[8], "rb").read()
    c = connect(dport, max_allowed_packet=64 * 1024 * 1024)
    with c.cursor() as cur:
        cur.execute("DELETE FROM big")
        cur.execute("INSERT INTO big VALUES (2, %s)", (env,))
    c.commit()
    c.close()
    got = rows(aport, "SELECT id, v, 'after' FROM big WHERE id = 2",
               max_allowed_packet=64 * 1024 * 1024)
    expect(len(got), 1, "one row")
    expect((got[0][0], len(to_b(got[0][1])), to_b(got[0][1]) == plain, got[0][2]),
           (2, len(plain), True, b"after"),
           "a %d-byte AcraStruct (%d-byte plaintext) comes back decrypted" % (len(env), len(plain)))
else:
    print("unknown check " + check, file=sys.stderr)
    sys.exit(2)
