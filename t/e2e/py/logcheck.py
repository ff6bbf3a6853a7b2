#!/usr/bin/python3
"""Checks that every line of the given log files is a well-formed acra log record in FORMAT
and prints how many records were checked.

usage: logcheck.py json|cef|plaintext PRODUCT FILE...
"""
import datetime
import json
import re
import sys

PLAIN = re.compile(r'^time="[^"]+" level=(debug|info|warning|error|fatal|panic) msg=')
LEVELS = {"debug", "info", "warning", "error", "fatal", "panic"}


def split_cef_header(line):
    """Splits at unescaped '|' (header escapes are \\| and \\\\) into at most 8 fields."""
    fields, cur, i = [], "", 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and len(fields) < 7:
            cur += line[i:i + 2]
            i += 2
            continue
        if c == "|" and len(fields) < 7:
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur)
    return fields


def check(fmt, product, line):
    if fmt == "json":
        rec = json.loads(line)
        for k in ("level", "msg", "product", "timestamp"):
            if k not in rec:
                raise ValueError("no %s" % k)
        if rec["level"] not in LEVELS:
            raise ValueError("level %r" % rec["level"])
        if rec["product"] != product:
            raise ValueError("product %r" % rec["product"])
        datetime.datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
    elif fmt == "cef":
        f = split_cef_header(line)
        if len(f) != 8 or f[0] != "CEF:0" or f[1] != "cossacklabs" or f[2] != product:
            raise ValueError("header %r" % f[:3])
        if not f[4].isdigit() or not f[6].isdigit():
            raise ValueError("code %r / severity %r" % (f[4], f[6]))
        if int(f[6]) not in (0, 1, 3, 6, 8, 10):
            raise ValueError("severity %r" % f[6])
    elif fmt == "plaintext":
        if not PLAIN.match(line):
            raise ValueError("not logfmt")
    else:
        raise SystemExit("unknown format " + fmt)


def main():
    fmt, product, files = sys.argv[1].lower(), sys.argv[2], sys.argv[3:]
    n = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                line = line.rstrip("\n")
                try:
                    check(fmt, product, line)
                except Exception as e:
                    print("%s:%d: not a %s record (%s): %.200s" % (path, no, fmt, e, line))
                    return 1
                n += 1
    if n == 0:
        print("no records")
        return 1
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
