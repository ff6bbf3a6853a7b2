#!/usr/bin/python3
"""Opens N PostgreSQL sessions at once (all connected before any queries), runs a query on
each and checks every answer and that N distinct server backends served them.

usage: pg_concurrent.py DSN N
"""
import sys
import threading

import psycopg2


def main():
    dsn, n = sys.argv[1], int(sys.argv[2])
    barrier = threading.Barrier(n, timeout=60)
    results, errors = {}, []

    def worker(i):
        try:
            conn = psycopg2.connect(dsn, connect_timeout=30)
            barrier.wait()
            cur = conn.cursor()
            cur.execute("SELECT %s::int * 3, pg_backend_pid(), pg_sleep(0.2)::text", (i,))
            results[i] = cur.fetchone()
            barrier.wait()
            conn.close()
        except Exception as e:  # reported below
            errors.append("session %d: %r" % (i, e))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("\n".join(errors[:5]))
        return 1
    bad = [i for i in range(n) if results.get(i, (None,))[0] != i * 3]
    pids = {r[1] for r in results.values()}
    if bad or len(pids) != n:
        print("wrong answers for %r, %d distinct backends" % (bad, len(pids)))
        return 1
    print("%d concurrent sessions answered correctly by %d backends" % (n, len(pids)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
