#!/usr/bin/python3
"""Turn recorded MySQL sessions (t/unit/vectors/mysql-*.hex) into fuzz_mysql seeds."""
import os
import sys

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    if not (name.startswith('mysql-') and name.endswith('.hex')):
        continue
    out = bytearray([0x20])  # follow MariaDB metadata caching as recorded
    for line in open(os.path.join(src, name)):
        line = line.strip()
        if len(line) < 2:
            continue
        data = bytes.fromhex(line[2:])
        for i in range(0, max(len(data), 1), 0x7fff):
            part = data[i:i + 0x7fff]
            out += bytes([(0x80 if line[0] == 'S' else 0) | len(part) >> 8, len(part) & 0xff])
            out += part
    with open(os.path.join(dst, name[:-4]), 'wb') as f:
        f.write(out)
