#!/usr/bin/python3
"""One PostgreSQL session that spans an event: connects, runs a query, creates READYFILE,
waits (up to 60 s) for GOFILE to exist, runs a second query on the same connection and
prints both answers.

usage: session.py DSN READYFILE GOFILE
"""
import os
import sys
import time

import psycopg2


def main():
    dsn, ready, go = sys.argv[1:4]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid1 = cur.fetchone()[0]
    open(ready, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            print("no go signal")
            return 1
        time.sleep(0.05)
    cur.execute("SELECT 'still here', pg_backend_pid()")
    word, pid2 = cur.fetchone()
    print("%s same-backend=%s" % (word, pid1 == pid2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
