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
elif check == "infile":
    path = sys.argv[7]
    with open(path, "wb") as f:
        for i in range(1000):
            f.write(b"%d\tline %d\n" % (i, i))
    c = connect(aport, local_infile=True)
    try:
        with c.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS loaded (id INT PRIMARY KEY, v VARCHAR(20))")
            cur.execute("LOAD DATA LOCAL INFILE '%s' INTO TABLE loaded" % path)
            expect(cur.rowcount, 1000, "LOAD DATA LOCAL INFILE loads 1000 rows")
            c.commit()
            cur.execute("SELECT COUNT(*), MAX(v) FROM loaded")
            expect(cur.fetchone(), (1000, b"line 999"), "the loaded rows are in the table")
            cur.execute("SELECT b FROM enc WHERE id = 1")
            expect(to_b(cur.fetchone()[0]), os.environ["PA_S"].encode(),
                   "the connection decrypts after LOAD DATA")
    finally:
        c.close()
elif check == "kill":
    import time
    victim = connect(aport)
    vid = victim.thread_id()
    result = {}

    def sleeper():
        t0 = time.time()
        try:
            with victim.cursor() as cur:
                cur.execute("SELECT SLEEP(30)")
                result["rows"] = cur.fetchall()
        except Exception as e:  # noqa: BLE001 - the interrupted query may raise
            result["error"] = str(e)
        result["took"] = time.time() - t0

    th = threading.Thread(target=sleeper)
    th.start()
    time.sleep(1)
    killer = connect(aport)
    with killer.cursor() as cur:
        cur.execute("KILL QUERY %d" % vid)
    th.join(15)
    expect(th.is_alive(), False, "the sleeping query ended")
    expect(result["took"] < 10, True, "KILL QUERY through acra ends SLEEP(30) early")
    with victim.cursor() as cur:
        cur.execute("SELECT b FROM enc WHERE id = 1")
        expect(to_b(cur.fetchone()[0]), os.environ["PA_S"].encode(),
               "the killed query's connection still works")
    killer.close()
    victim.close()
elif check == "mysqldb":
    import MySQLdb
    c = MySQLdb.connect(host=host, port=int(aport), user=user, passwd=pw, db=db,
                        charset="latin1", use_unicode=False)
    cur = c.cursor()
    cur.execute("SELECT id, b, t FROM enc WHERE id IN (1, 2) ORDER BY id")
    expect([tuple(r) for r in cur.fetchall()],
           [(1, os.environ["PA_S"].encode(), os.environ["PA_S"].encode()),
            (2, os.environ["PA_B"].encode(), os.environ["PA_B"].encode())],
           "mysqlclient: clientA's envelopes decrypted")
    cur.execute("SELECT b FROM enc WHERE id = %s", (3,))
    d = MySQLdb.connect(host=host, port=int(dport), user=user, passwd=pw, db=db,
                        charset="latin1", use_unicode=False)
    dc = d.cursor()
    dc.execute("SELECT b FROM enc WHERE id = %s", (3,))
    expect(cur.fetchall(), dc.fetchall(), "mysqlclient: clientB's envelope unchanged")
    cur.execute("SELECT * FROM types ORDER BY id")
    dc.execute("SELECT * FROM types ORDER BY id")
    expect(cur.fetchall(), dc.fetchall(), "mysqlclient: every column type as direct")
    c.close()
    d.close()
else:
    print("unknown check " + check, file=sys.stderr)
    sys.exit(2)
