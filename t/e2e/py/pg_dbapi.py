#!/usr/bin/python3
"""Runs one PostgreSQL workload through a DB-API driver (psycopg2 or psycopg 3) against the
database directly and through the proxy, checks each result against values computed here,
and checks that both connections give identical results.

usage: pg_dbapi.py psycopg2|psycopg DIRECT_DSN PROXY_DSN PLAINTEXT
"""
import hashlib
import importlib
import sys


def run(mod, dsn, suffix, plaintext):
    errors = importlib.import_module(mod.__name__ + ".errors")
    out = {}
    conn = mod.connect(dsn)  # SCRAM-SHA-256 login as the test user
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT current_user, current_setting('password_encryption')")
    out["whoami"] = list(cur.fetchone())
    t = "dbapi_%s_%s" % (mod.__name__, suffix)
    cur.execute("DROP TABLE IF EXISTS %s" % t)
    cur.execute("CREATE TABLE %s (id int PRIMARY KEY, name text, data bytea, n numeric)" % t)
    blob = bytes(range(256))
    rows = [(i, "name-%d-ünï" % i, blob[i % 256:] + blob[:i % 256], i * 1.5) for i in range(1, 501)]
    rows.append((1000, plaintext, plaintext.encode(), 0))
    cur.executemany("INSERT INTO %s VALUES (%%s, %%s, %%s, %%s)" % t, rows)
    cur.execute("SELECT id, name, data, n FROM %s ORDER BY id" % t)
    got = [(r[0], r[1], bytes(r[2]), float(r[3])) for r in cur.fetchall()]
    want = [(r[0], r[1], r[2], float(r[3])) for r in rows]
    assert got == want, "rows read back differ from rows written"
    out["rows"] = len(got)

    # Server-side prepared statement.
    cur.execute("PREPARE byid(int) AS SELECT name FROM %s WHERE id = $1" % t)
    cur.execute("EXECUTE byid(7)")
    out["prepared"] = cur.fetchone()[0]
    assert out["prepared"] == "name-7-ünï", out["prepared"]
    cur.execute("DEALLOCATE byid")
    if mod.__name__ == "psycopg":
        # Protocol-level named prepared statement (Parse/Bind/Execute), reused.
        for i in (8, 9, 10):
            cur.execute("SELECT name FROM %s WHERE id = %%s" % t, (i,), prepare=True)
            assert cur.fetchone()[0] == "name-%d-ünï" % i

    # A transaction that fails is rolled back and the session stays usable.
    conn.autocommit = False
    cur.execute("INSERT INTO %s VALUES (2000, 'rolled back', NULL, 0)" % t)
    try:
        cur.execute("SELECT 1/0")
        raise AssertionError("division by zero did not fail")
    except errors.DivisionByZero:
        conn.rollback()
    cur.execute("SELECT count(*) FROM %s WHERE id = 2000" % t)
    out["after_rollback"] = cur.fetchone()[0]
    assert out["after_rollback"] == 0, "rolled-back row is visible"
    cur.execute("INSERT INTO %s VALUES (2001, 'committed', NULL, 0)" % t)
    conn.commit()
    conn.autocommit = True
    cur.execute("SELECT name FROM %s WHERE id = 2001" % t)
    out["committed"] = cur.fetchone()[0]

    # A large result: 100,000 rows.
    cur.execute("SELECT g, md5(g::text) FROM generate_series(1, 100000) g")
    big = cur.fetchall()
    assert len(big) == 100000, len(big)
    for i in (0, 4242, 99999):
        assert big[i] == (i + 1, hashlib.md5(str(i + 1).encode()).hexdigest()), big[i]
    out["big"] = hashlib.sha256(repr(big).encode()).hexdigest()
    cur.execute("DROP TABLE %s" % t)
    conn.close()
    return out


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    mod = importlib.import_module(sys.argv[1])
    direct = run(mod, sys.argv[2], "direct", sys.argv[4])
    proxied = run(mod, sys.argv[3], "proxy", sys.argv[4])
    if direct != proxied:
        print("direct and proxied results differ:\n%r\n%r" % (direct, proxied))
        return 1
    print("%s: %d rows, prepared, rollback, 100000-row select: same through the proxy"
          % (sys.argv[1], direct["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
