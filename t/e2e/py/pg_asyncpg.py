#!/usr/bin/python3
"""Runs one PostgreSQL workload with asyncpg (extended protocol, binary formats, named
prepared statements) against the database directly and through the proxy, checks results
against values computed here and that both connections agree.

usage: pg_asyncpg.py HOST DIRECT_PORT PROXY_PORT USER PASSWORD DB PLAINTEXT
"""
import asyncio
import hashlib
import sys

import asyncpg


async def run(host, port, user, password, db, suffix, plaintext):
    out = {}
    conn = await asyncpg.connect(host=host, port=int(port), user=user, password=password,
                                 database=db, ssl=False)
    out["whoami"] = await conn.fetchval("SELECT current_user")
    t = "apg_" + suffix
    await conn.execute("DROP TABLE IF EXISTS %s" % t)
    await conn.execute("CREATE TABLE %s (id int PRIMARY KEY, name text, data bytea, "
                       "ts timestamptz DEFAULT '2020-01-02 03:04:05+00')" % t)
    blob = bytes(range(256))
    rows = [(i, "row-%d-€" % i, blob[i % 256:] + blob[:i % 256]) for i in range(1, 301)]
    rows.append((1000, plaintext, plaintext.encode()))
    await conn.executemany("INSERT INTO %s (id, name, data) VALUES ($1, $2, $3)" % t, rows)
    got = await conn.fetch("SELECT id, name, data FROM %s ORDER BY id" % t)
    assert [tuple(r) for r in got] == rows, "rows read back differ from rows written"
    out["rows"] = len(got)

    stmt = await conn.prepare("SELECT name, ts FROM %s WHERE id = $1" % t)
    r = await stmt.fetchrow(42)
    out["prepared"] = [r["name"], r["ts"].isoformat()]
    assert r["name"] == "row-42-€"

    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO %s (id, name) VALUES (5000, 'gone')" % t)
            await conn.execute("SELECT 1/0")
        raise AssertionError("division by zero did not fail")
    except asyncpg.exceptions.DivisionByZeroError:
        pass
    out["after_rollback"] = await conn.fetchval("SELECT count(*) FROM %s WHERE id = 5000" % t)
    assert out["after_rollback"] == 0

    big = await conn.fetch("SELECT g, md5(g::text) FROM generate_series(1, 100000) g")
    assert len(big) == 100000, len(big)
    for i in (0, 777, 99999):
        assert tuple(big[i]) == (i + 1, hashlib.md5(str(i + 1).encode()).hexdigest())
    out["big"] = hashlib.sha256(repr([tuple(x) for x in big]).encode()).hexdigest()
    await conn.execute("DROP TABLE %s" % t)
    await conn.close()
    return out


async def main():
    if len(sys.argv) != 8:
        sys.stderr.write(__doc__)
        return 2
    host, dport, pport, user, password, db, plaintext = sys.argv[1:]
    direct = await run(host, dport, user, password, db, "direct", plaintext)
    proxied = await run(host, pport, user, password, db, "proxy", plaintext)
    if direct != proxied:
        print("direct and proxied results differ:\n%r\n%r" % (direct, proxied))
        return 1
    print("asyncpg: %d rows, prepared, rollback, 100000-row select: same through the proxy"
          % direct["rows"])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
